"""What the deployed account says about a resource, read from moto's backends: identity policies of a
role, resource policies (bucket, key, topic, queue, function), VPC endpoints and their policies, and
which KMS key protects a bucket, table, topic, queue or state machine.

Everything here reads; nothing decides (``local.authz.engine`` decides).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..backends import moto_backend


def _json(document: Any) -> Any:
    if document is None or document == "":
        return None
    if isinstance(document, (bytes, bytearray)):
        document = document.decode()
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return None
    return document


@dataclass(frozen=True)
class IdentityPolicies:
    documents: list[tuple[str, Any]]  # (name, document)
    boundary: Any | None


class World:
    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    def backend(self, service: str, region: str | None = None):
        return moto_backend(service, self.account, region or self.region)

    # -- identities ---------------------------------------------------------------------------
    def role(self, role_arn: str):
        iam = self.backend("iam")
        name = role_arn.rsplit("/", 1)[-1]
        for role in iam.roles.values():
            if role.arn == role_arn or role.name == name:
                return role
        return None

    def identity_policies(self, principal_arn: str) -> IdentityPolicies | None:
        """Inline and attached managed policies and the permissions boundary of an IAM role."""
        role = self.role(principal_arn)
        if role is None:
            return None
        iam = self.backend("iam")
        documents: list[tuple[str, Any]] = []
        for name, document in role.policies.items():
            documents.append((f"inline policy {name}", _json(document)))
        for arn in role.managed_policies:
            policy = iam.managed_policies.get(arn) or role.managed_policies[arn]
            documents.append((f"managed policy {arn}", _json(_default_document(policy))))
        boundary = None
        boundary_arn = getattr(role, "permissions_boundary", None)
        if boundary_arn:
            policy = iam.managed_policies.get(boundary_arn)
            boundary = _json(_default_document(policy)) if policy is not None else {"Statement": []}
        return IdentityPolicies(documents, boundary)

    def trust_policy(self, role_arn: str) -> Any:
        role = self.role(role_arn)
        return _json(role.assume_role_policy_document) if role is not None else None

    # -- resource policies ----------------------------------------------------------------------
    def bucket(self, name: str):
        try:
            return self.backend("s3").get_bucket(name)
        except Exception:
            return None

    def bucket_policy(self, name: str) -> Any:
        bucket = self.bucket(name)
        return _json(bucket.policy) if bucket is not None else None

    def bucket_key(self, name: str) -> str | None:
        """The KMS key of the bucket's default encryption (SSE-KMS), if any."""
        bucket = self.bucket(name)
        encryption = getattr(bucket, "encryption", None) if bucket is not None else None
        if not encryption:
            return None
        rules = encryption.get("Rule")
        rules = rules if isinstance(rules, list) else [rules]
        for rule in rules:
            default = (rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
                return self.key_arn(default.get("KMSMasterKeyID"))
        return None

    def object_key(self, bucket: str, key: str, version_id: str | None = None) -> str | None:
        """The KMS key an existing object was written with (SSE-KMS), else None."""
        b = self.bucket(bucket)
        if b is None:
            return None
        try:
            obj = self.backend("s3").get_object(bucket, key, version_id=version_id)
        except Exception:
            obj = None
        if obj is None:
            return None
        if getattr(obj, "encryption", None) in ("aws:kms", "aws:kms:dsse"):
            return self.key_arn(getattr(obj, "kms_key_id", None)) or self.bucket_key(bucket)
        return None

    def key_arn(self, key_id: str | None) -> str | None:
        if not key_id:
            return None
        kms = self.backend("kms", key_id.split(":")[3] if key_id.startswith("arn:") else None)
        try:
            return kms.describe_key(key_id).arn
        except Exception:
            return key_id if key_id.startswith("arn:") else None

    def key_policy(self, key_arn: str) -> Any:
        kms = self.backend("kms", key_arn.split(":")[3])
        try:
            return _json(kms.describe_key(key_arn).policy)
        except Exception:
            return None

    def table_key(self, table_name: str) -> str | None:
        try:
            table = self.backend("dynamodb").get_table(table_name)
        except Exception:
            return None
        sse = getattr(table, "sse_specification", None) or {}
        if sse.get("SSEType") == "KMS" or sse.get("KMSMasterKeyId"):
            return self.key_arn(sse.get("KMSMasterKeyId"))
        return None

    def topic(self, topic_arn: str):
        try:
            return self.backend("sns", topic_arn.split(":")[3]).get_topic(topic_arn)
        except Exception:
            return None

    def topic_policy(self, topic_arn: str) -> Any:
        topic = self.topic(topic_arn)
        return _json(getattr(topic, "_policy_json", None)) if topic is not None else None

    def topic_key(self, topic_arn: str) -> str | None:
        topic = self.topic(topic_arn)
        return self.key_arn(getattr(topic, "kms_master_key_id", None)) if topic is not None else None

    def queue(self, queue_arn_or_url: str):
        sqs = self.backend("sqs")
        name = queue_arn_or_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return sqs.queues.get(name)

    def queue_policy(self, queue: str) -> Any:
        q = self.queue(queue)
        return _json(getattr(q, "policy", None)) if q is not None else None

    def queue_key(self, queue: str) -> str | None:
        q = self.queue(queue)
        return self.key_arn(getattr(q, "kms_master_key_id", None)) if q is not None else None

    def function(self, name_or_arn: str):
        try:
            return self.backend("lambda").get_function(name_or_arn)
        except Exception:
            return None

    def function_policy(self, name_or_arn: str) -> Any:
        fn = self.function(name_or_arn)
        if fn is None or fn.policy is None:
            return None
        return {"Statement": [dict(s) for s in fn.policy.statements]}

    def state_machine(self, arn: str):
        backend = self.backend("stepfunctions", arn.split(":")[3])
        for machine in backend.state_machines:
            if machine.arn == arn:
                return machine
        return None

    def state_machine_key(self, arn: str) -> str | None:
        machine = self.state_machine(arn)
        config = getattr(machine, "encryptionConfiguration", None) or {}
        if config.get("type") == "CUSTOMER_MANAGED_KMS_KEY":
            return self.key_arn(config.get("kmsKeyId"))
        return None

    def execution_state_machine(self, execution_arn: str) -> str:
        # arn:aws:states:r:a:execution:<machine>:<name>
        parts = execution_arn.split(":")
        return ":".join(parts[:5] + ["stateMachine", parts[6]])

    # -- network ----------------------------------------------------------------------------------
    def vpc_endpoint(self, vpc_id: str, endpoint_service: str):
        """The VPC endpoint through which a caller in ``vpc_id`` reaches ``endpoint_service`` (the
        endpoint prefix: s3, dynamodb, bedrock-runtime, states ...), if the VPC has one."""
        ec2 = self.backend("ec2")
        wanted = f"com.amazonaws.{self.region}.{endpoint_service}"
        for endpoint in ec2.vpc_end_points.values():
            if endpoint.vpc_id != vpc_id or endpoint.service_name != wanted:
                continue
            if endpoint.vpc_endpoint_type == "Interface" and not endpoint.private_dns_enabled:
                continue  # without private DNS the SDK's default hostname does not resolve to it
            return endpoint
        return None

    def endpoint_policy(self, endpoint) -> Any:
        return _json(getattr(endpoint, "policy_document", None)) or {
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]
        }

    def function_vpc(self, fn) -> str | None:
        config = getattr(fn, "_vpc_config", None) or {}
        subnets = config.get("SubnetIds") or []
        return self.subnet_vpc(subnets[0]) if subnets else None

    def subnet_vpc(self, subnet_id: str) -> str | None:
        try:
            return self.backend("ec2").get_subnet(subnet_id).vpc_id
        except Exception:
            return None


def _default_document(policy) -> Any:
    """The document of a managed policy's default version (moto keeps versions in a list)."""
    for version in policy.versions:
        if version.version_id == policy.default_version_id:
            return version.document
    raise LookupError(f"{policy.arn} has no default version {policy.default_version_id}")
