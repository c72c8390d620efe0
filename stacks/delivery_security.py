"""What keeps the delivery pipeline's own data safe: its keys, its artifact bucket, its build logs; and the
acknowledgements of what CDK Pipelines generates, each on its one resource with its reason."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Stage
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from stacks.config import DeliveryConfig
from stacks.nag import acknowledge, checkov_skip
from stacks.storage import access_logs_bucket, logs_key_statement


@dataclass(frozen=True)
class ArtifactStorage:
    artifact_key: kms.Key
    artifact_bucket: s3.Bucket
    access_logs_bucket: s3.Bucket
    log_key: kms.Key
    log_group: logs.LogGroup


def artifact_storage(stack: Stack, delivery: DeliveryConfig) -> ArtifactStorage:
    """The artifact bucket (its own rotating key, TLS only, versioned, access-logged) and the encrypted build logs.

    Two keys: the pipeline grants the stage accounts' CDK deploy roles the artifact key, and those roles have no
    business with the build logs.
    """
    artifact_key = kms.Key(
        stack, "ArtifactKey", description="tuneforge delivery: pipeline artifacts", enable_key_rotation=True
    )
    artifact_bucket, access_logs = artifact_buckets(stack, delivery, artifact_key)
    log_key = kms.Key(stack, "LogKey", description="tuneforge delivery: build logs", enable_key_rotation=True)
    log_key.add_to_resource_policy(logs_key_statement(stack))
    log_group = logs.LogGroup(
        stack,
        "BuildLogs",
        encryption_key=log_key,
        retention=delivery.log_retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
    return ArtifactStorage(artifact_key, artifact_bucket, access_logs, log_key, log_group)


def artifact_buckets(
    stack: Stack, delivery: DeliveryConfig, key: kms.IKey, *, bucket_name: str | None = None
) -> tuple[s3.Bucket, s3.Bucket]:
    """An artifact bucket encrypted with ``key`` and the SSE-S3 bucket its server access logs go to."""
    access_logs = access_logs_bucket(
        stack, retention_days=delivery.log_retention_days, removal_policy=RemovalPolicy.RETAIN
    )
    artifact_bucket = s3.Bucket(
        stack,
        "Artifacts",
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_name=bucket_name,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="artifacts/",
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(id="expire-noncurrent-versions", noncurrent_version_expiration=Duration.days(90)),
            s3.LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
        ],
    )
    _acknowledge_storage(artifact_bucket, access_logs)
    return artifact_bucket, access_logs


def _acknowledge_storage(artifact_bucket: s3.Bucket, access_logs: s3.Bucket) -> None:
    acknowledge(
        access_logs,
        "This bucket is the destination of server access logging for the pipeline's artifact bucket; logging it into itself would loop, and its writes are recorded by CloudTrail management events.",
        "AwsSolutions-S1",
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "HIPAA.Security-S3BucketLoggingEnabled",
    )
    acknowledge(
        access_logs,
        "S3 server access logging only delivers to buckets encrypted with SSE-S3, so this log bucket uses S3-managed keys while blocking public access and denying non-TLS requests.",
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "HIPAA.Security-S3DefaultEncryptionKMS",
    )
    checkov_skip(
        access_logs,
        "CKV_AWS_18",
        "Server access log destination; logging it into itself would loop and CloudTrail records its management events.",
    )
    for bucket in (artifact_bucket, access_logs):
        acknowledge(
            bucket,
            "Pipeline artifacts are rebuilt from the source repository by the next execution, so cross-region replication adds nothing; versioning and retention on stack deletion keep what exists.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )


# Why each kind of wildcard CDK Pipelines writes into its roles' policies is bounded, matched against the finding as
# cdk-nag renders it (`Action::s3:GetObject*`, `Resource::<Artifacts82DD59A1.Arn>/*`). A wildcard that matches none
# stays an open finding and fails synth: a new kind needs its reason here first. `{wildcard}` in a reason is the
# wildcard itself, so a reason for an action group names the action (the report holds it to its statement).
WILDCARD_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"Action::s3:(GetBucket|GetObject|List|Abort|DeleteObject)\*",
        # Named by s3:GetObject*, which every such grant holds: writing the List group as an action would also
        # name the self-mutation role's s3:ListBucket, another statement of the same policy.
        "CDK's artifact grant gives s3:GetObject* with the GetBucket and List groups (and, to writers, Abort and "
        "DeleteObject); its resources are only this pipeline's artifact bucket, KMS-encrypted and reachable only over "
        "TLS, or the one configured source object.",
    ),
    (
        r"Action::kms:(GenerateDataKey|ReEncrypt)\*",
        "CDK's grant to encrypt pipeline artifacts uses the KMS action group {wildcard} on only this pipeline's "
        "artifact keys, whose key policies limit them to this account and the stage accounts' CDK deploy roles.",
    ),
    (
        r"Resource::(<Artifacts[0-9A-F]{8}\.Arn>|arn:<AWS::Partition>:s3:::tuneforge-delivery-artifacts-\d{12}-[a-z0-9-]+)/.*\*",
        "CodePipeline names every artifact object when an execution runs, so the grant covers objects of only "
        "this pipeline's KMS-encrypted, TLS-only artifact bucket of that region.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/.*\*",
        "CodeBuild's default log group is named after the project when it first builds; this project logs to "
        "the KMS-encrypted BuildLogs group with retention instead, so this grant, scoped to this account, stays unused.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:codebuild:[a-z0-9-]+:\d{12}:report-group/.*\*",
        "CodeBuild names test report groups after the project at build time; the grant is limited to report "
        "groups of this account, and these builds publish no reports.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:kms:[a-z0-9-]+:\d{12}:key/\*",
        "The artifact key of another region is known to the pipeline only by its alias; a condition on "
        "kms:ResourceAliases limits the grant to the key of this account in that region that carries the alias.",
    ),
    (
        r"Resource::arn:\*:iam::\d{12}:role/\*",
        "The self-mutation build assumes the CDK bootstrap roles of this account only, and a condition on the "
        "aws-cdk:bootstrap-role tag limits it to the deploy and publishing roles `cdk bootstrap` created.",
    ),
    (
        r"Resource::\*",
        "The self-mutation build calls cloudformation:DescribeStacks and lists buckets, both read-only, to find the "
        "CDK bootstrap stack and bucket of this account before it updates the pipeline.",
    ),
)
INLINE_POLICY_REASON = (
    "CDK Pipelines generates this policy from the pipeline's actions and it is attached only to its one role; "
    "every statement is listed in the security report, with a reason for each wildcard."
)
PROJECT_SOURCE_REASON = (
    "The project's source is the pipeline's KMS-encrypted artifact, not a repository URL with credentials: the "
    "source action reaches the repository through the configured connection and no token is stored in the project."
)


def acknowledge_pipeline_findings(stack: Stack) -> None:
    """The findings on what CDK Pipelines generates (roles, policies, projects), each on its one resource."""
    for construct in _own_constructs(stack):
        if isinstance(construct, iam.CfnPolicy):
            _acknowledge_policy(stack, construct)
        elif isinstance(construct, codebuild.CfnProject):
            acknowledge(construct, PROJECT_SOURCE_REASON, "HIPAA.Security-CodeBuildProjectSourceRepoUrl")


# The alias of the artifact key in every other region a stage deploys to (DeliveryRegionStack).
ARTIFACT_KEY_ALIAS = "alias/tuneforge-delivery-artifacts"


def tighten_generated_resources(stack: Stack, *, other_regions: list[str]) -> None:
    """Fixes to what CDK Pipelines generates, made on the template once the pipeline is built."""
    own = _own_constructs(stack)
    for pipeline in (c for c in own if isinstance(c, codepipeline.CfnPipeline)):
        _deploy_role_arns_as_sub(stack, pipeline)
    projects = [c for c in own if isinstance(c, codebuild.CfnProject)]
    for policy in (c for c in own if isinstance(c, iam.CfnPolicy)):
        _builds_of_own_projects(stack, policy, projects)
        if other_regions:
            _other_region_keys_by_alias(stack, policy, other_regions)


def _other_region_keys_by_alias(stack: Stack, policy: iam.CfnPolicy, regions: list[str]) -> None:
    """The pipeline's role may use the artifact key of each other region, which it knows only by its alias, so CDK
    grants the KMS actions on ``*``: every key of the account whose key policy defers to IAM. Instead, the keys of
    those regions in this account that carry the alias: ``kms:ResourceAliases`` "allows or denies access to a KMS key
    based on the aliases associated with the KMS key"
    (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html, read 2026-12-07)."""
    document = stack.resolve(policy.policy_document)
    statements = document.get("Statement", [])
    for statement in list(statements):
        resources, actions = _as_list(statement.get("Resource")), _as_list(statement.get("Action"))
        if "*" not in resources or not actions or not all(a.startswith("kms:") for a in actions):
            continue
        remaining = [r for r in resources if r != "*"]
        statement["Resource"] = remaining if len(remaining) != 1 else remaining[0]
        statements.append(
            {
                "Sid": "ArtifactKeysOfOtherRegions",
                "Effect": "Allow",
                "Action": actions,
                "Resource": [
                    {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":kms:{region}:{stack.account}:key/*"]]}
                    for region in regions
                ],
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ARTIFACT_KEY_ALIAS}},
            }
        )
        policy.policy_document = document


def _deploy_role_arns_as_sub(stack: Stack, pipeline: codepipeline.CfnPipeline) -> None:
    """The CloudFormation actions name the stage accounts' CDK execution roles with Fn::Join on an empty delimiter,
    which cfn-lint refuses (E3703, prefer Fn::Sub); the same ARN as Fn::Sub."""
    for stage_index, stage in enumerate(stack.resolve(pipeline.stages)):
        for action_index, action in enumerate(stage.get("actions", [])):
            role_arn = (action.get("configuration") or {}).get("RoleArn")
            joined = _as_sub(role_arn)
            if joined is not None:
                pipeline.add_property_override(
                    f"Stages.{stage_index}.Actions.{action_index}.Configuration.RoleArn", {"Fn::Sub": joined}
                )


def _as_sub(value: Any) -> str | None:
    """``{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::…"]]}`` as the Fn::Sub string, else None."""
    if not (isinstance(value, dict) and "Fn::Join" in value and value["Fn::Join"][0] == ""):
        return None
    parts = []
    for part in value["Fn::Join"][1]:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and str(part.get("Ref", "")).startswith("AWS::"):
            parts.append("${" + part["Ref"] + "}")
        else:
            return None
    return "".join(parts)


def _builds_of_own_projects(stack: Stack, policy: iam.CfnPolicy, projects: list[codebuild.CfnProject]) -> None:
    """CDK Pipelines lets its shared asset-publishing role start, stop and read builds of every project (``*``, to
    keep the policy small for many asset projects); that role needs only the projects it is the service role of."""
    roles = stack.resolve(policy.roles) or []
    own = [
        project.attr_arn
        for project in projects
        if {"Ref": _logical_id_of(stack.resolve(project.service_role))} in roles
    ]
    document = stack.resolve(policy.policy_document)
    statements = document.get("Statement", [])
    for statement in statements:
        actions = _as_list(statement.get("Action"))
        if own and statement.get("Resource") == "*" and actions and all(a.startswith("codebuild:") for a in actions):
            statement["Resource"] = own
            # The document itself, not an override, so the acknowledgements below see the wildcard is gone.
            policy.policy_document = document


def _logical_id_of(role_arn: Any) -> str | None:
    get_att = role_arn.get("Fn::GetAtt") if isinstance(role_arn, dict) else None
    return get_att[0] if isinstance(get_att, list) else None


def _own_constructs(scope: IConstruct) -> list[IConstruct]:
    """``scope`` and its descendants, but not the stages' stacks inside the pipeline's Stages: those are the stage
    stacks, which acknowledge their own findings."""
    found = [scope]
    for child in scope.node.children:
        if not isinstance(child, Stage):
            found += _own_constructs(child)
    return found


def _acknowledge_policy(stack: Stack, policy: iam.CfnPolicy) -> None:
    acknowledge(policy, INLINE_POLICY_REASON, "NIST.800.53.R5-IAMNoInlinePolicy", "HIPAA.Security-IAMNoInlinePolicy")
    statements = stack.resolve(policy.policy_document).get("Statement", [])
    findings = sorted(
        {
            f"{kind}::{_rendered(value)}"
            for statement in statements
            for kind, key in (("Action", "Action"), ("Resource", "Resource"))
            for value in _as_list(statement.get(key))
            if "*" in _rendered(value)
        }
    )
    for finding in findings:
        reason = next((why for pattern, why in WILDCARD_REASONS if re.fullmatch(pattern, finding)), None)
        if reason is not None:
            wildcard = finding.partition("::")[2]
            acknowledge(policy, reason.replace("{wildcard}", wildcard), f"AwsSolutions-IAM5[{finding}]")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _rendered(value: Any) -> str:
    """A policy value as cdk-nag writes it in an IAM5 finding: references as <LogicalId> or <LogicalId.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<" + ".".join(value["Fn::GetAtt"]) + ">"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_rendered(part) for part in parts)
    return json.dumps(value)
