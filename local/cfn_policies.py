"""Resource policies and encryption settings moto's CloudFormation drops, applied as CloudFormation would.

moto 5.2.5 has no CloudFormation support for ``AWS::S3::BucketPolicy``, ``AWS::SQS::QueuePolicy`` and
``AWS::SNS::TopicPolicy`` (it logs "No Moto CloudFormation support" and creates nothing), and its
``AWS::StepFunctions::StateMachine`` ignores ``EncryptionConfiguration``. Without them the authorization
layer would evaluate a bucket with no perimeter and a state machine with no key: everything here puts
the deployed policy where the service's API would have put it.
"""

from __future__ import annotations

import json
from typing import Any

_APPLIED = False


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    # moto judges a bucket policy by itself, ignoring conditions, so the perimeter's conditional Deny
    # would refuse every request; local.authz evaluates bucket policies (with their conditions) instead.
    FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL

    class BucketPolicy(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        def __init__(self, bucket: str) -> None:
            self.bucket = bucket
            self.physical_resource_id = f"{bucket}-policy"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            from moto.s3.models import s3_backends

            properties = cloudformation_json["Properties"]
            bucket = properties["Bucket"]
            s3_backends[account_id]["aws"].put_bucket_policy(bucket, _document(properties["PolicyDocument"]).encode())
            return cls(bucket)

    def policy_of_targets(resource_type: str, targets: str, attach):
        """A model for a policy resource that sets one document on each of ``Properties[targets]``."""

        class TargetsPolicy(CloudFormationModel):
            @staticmethod
            def cloudformation_type() -> str:
                return resource_type

            @staticmethod
            def cloudformation_name_type() -> str:
                return ""

            def __init__(self, names: list[str]) -> None:
                self.physical_resource_id = ",".join(names)

            @classmethod
            def create_from_cloudformation_json(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            ):
                properties = cloudformation_json["Properties"]
                for target in properties[targets]:
                    attach(account_id, region_name, target, _document(properties["PolicyDocument"]))
                return cls(list(properties[targets]))

        return TargetsPolicy

    def attach_queue_policy(account_id, region_name, url, document):
        from moto.sqs.models import sqs_backends

        sqs_backends[account_id][region_name].set_queue_attributes(
            url.rstrip("/").rsplit("/", 1)[-1], {"Policy": document}
        )

    def attach_topic_policy(account_id, region_name, arn, document):
        from moto.sns.models import sns_backends

        sns_backends[account_id][region_name].set_topic_attribute(arn, "Policy", document)

    # moto finds CloudFormation models as subclasses of CloudFormationModel: creating them registers them
    QueuePolicy = policy_of_targets("AWS::SQS::QueuePolicy", "Queues", attach_queue_policy)
    TopicPolicy = policy_of_targets("AWS::SNS::TopicPolicy", "Topics", attach_topic_policy)

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()

    from moto.stepfunctions import models as sfn_models

    original_create = sfn_models.StateMachine.create_from_cloudformation_json.__func__

    @classmethod  # type: ignore[misc]
    def create_state_machine(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        machine = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        config = cloudformation_json["Properties"].get("EncryptionConfiguration")
        if config:
            machine.encryptionConfiguration = {
                "type": config.get("Type"),
                **({"kmsKeyId": config["KmsKeyId"]} if config.get("KmsKeyId") else {}),
                **(
                    {"kmsDataKeyReusePeriodSeconds": config["KmsDataKeyReusePeriodSeconds"]}
                    if config.get("KmsDataKeyReusePeriodSeconds")
                    else {}
                ),
            }
        return machine

    sfn_models.StateMachine.create_from_cloudformation_json = create_state_machine
    _APPLIED = True
