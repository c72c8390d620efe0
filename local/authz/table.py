"""The requirement table's frame: one :class:`Row` per (service, operation), registered with :func:`row`
by local.authz.operations and local.authz.bedrock_operations, and the AWS pages the rows cite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .engine import Requirement
from .world import World

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
S3_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms"
S3_BUCKET_KEY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html#bucket-key-encryption-context"
DDB_KMS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html"
SNS_KMS = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#sns-what-permissions-for-sse"
SQS_KMS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"
SFN_KMS = "https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html"
BEDROCK_KMS = "https://docs.aws.amazon.com/bedrock/latest/userguide/encryption-custom-job.html"
#: the key policy statements a CMK-encrypted custom model needs: PermissionsModelCustomization (the job's
#: creator: Decrypt, GenerateDataKey, DescribeKey, CreateGrant) and PermissionsModelInvocation (whoever
#: deploys or invokes the model: Decrypt, GenerateDataKey), all through Bedrock (read 2026-12-03)
NOVA_KMS = "https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html"
CUSTOM_MODEL_CREATION_KMS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant")
CUSTOM_MODEL_USE_KMS = ("kms:Decrypt", "kms:GenerateDataKey")
PASS_ROLE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"


@dataclass
class Call:
    service: str  # endpoint prefix: s3, dynamodb, states, bedrock, bedrock-runtime ...
    operation: str  # botocore operation name
    params: dict[str, Any]
    world: World

    @property
    def region(self) -> str:
        return self.world.region

    @property
    def account(self) -> str:
        return self.world.account

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:{self.account if account is None else account}:{resource}"


Rule = Callable[[Call], list[Requirement]]


@dataclass(frozen=True)
class Row:
    rule: Rule
    source: str


OPERATIONS: dict[tuple[str, str], Row] = {}


def row(service: str, *operations: str, source: str):
    def register(rule: Rule) -> Rule:
        for operation in operations:
            OPERATIONS[(service, operation)] = Row(rule, source)
        return rule

    return register


def via(call: Call, service: str) -> str:
    """The host name a service calls another through (kms:ViaService)."""
    return f"{service}.{call.region}.amazonaws.com"
