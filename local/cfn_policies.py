"""Resource policies and encryption settings moto's CloudFormation drops, applied as CloudFormation would.

moto 5.2.5 has no CloudFormation support for ``AWS::S3::BucketPolicy``, ``AWS::SQS::QueuePolicy`` and
``AWS::SNS::TopicPolicy`` (it logs "No Moto CloudFormation support" and creates nothing), and its
``AWS::StepFunctions::StateMachine`` ignores ``EncryptionConfiguration``. Without them the authorization
layer would evaluate a bucket with no perimeter and a state machine with no key: everything here puts
the deployed policy where the service's API would have put it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .monkey import replace

_APPLIED = False


def _document(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.cloudformation import parsing
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    # moto judges a bucket policy by itself, ignoring conditions, so the perimeter's conditional Deny
    # would refuse every request; local.authz evaluates bucket policies (with their conditions) instead.
    replace(FakeBucket, "get_permission", lambda self, action, resource: PermissionResult.NEUTRAL)
    # moto finds CloudFormation models as subclasses of CloudFormationModel, which Python tracks weakly:
    # creating the classes registers them, and the list keeps them alive.
    _POLICY_MODELS.extend(
        [
            _bucket_policy_model(),
            _policy_of_targets("AWS::SQS::QueuePolicy", "Queues", _attach_queue_policy),
            _policy_of_targets("AWS::SNS::TopicPolicy", "Topics", _attach_topic_policy),
        ]
    )
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    _state_machine_encryption()
    _APPLIED = True


_POLICY_MODELS: list[type] = []


def _bucket_policy_model() -> type:
    from moto.core.common_models import CloudFormationModel

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
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> BucketPolicy:
            from moto.s3.models import s3_backends

            properties = cloudformation_json["Properties"]
            bucket = properties["Bucket"]
            s3_backends[account_id]["aws"].put_bucket_policy(bucket, _document(properties["PolicyDocument"]).encode())
            return cls(bucket)

    return BucketPolicy


def _policy_of_targets(resource_type: str, targets: str, attach: Callable[[str, str, str, str], None]) -> type:
    """A model for a policy resource that sets one document on each of ``Properties[targets]``."""
    from moto.core.common_models import CloudFormationModel

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
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> TargetsPolicy:
            properties = cloudformation_json["Properties"]
            for target in properties[targets]:
                attach(account_id, region_name, target, _document(properties["PolicyDocument"]))
            return cls(list(properties[targets]))

    return TargetsPolicy


def _attach_queue_policy(account_id: str, region_name: str, url: str, document: str) -> None:
    from moto.sqs.models import sqs_backends

    sqs_backends[account_id][region_name].set_queue_attributes(url.rstrip("/").rsplit("/", 1)[-1], {"Policy": document})


def _attach_topic_policy(account_id: str, region_name: str, arn: str, document: str) -> None:
    from moto.sns.models import sns_backends

    sns_backends[account_id][region_name].set_topic_attribute(arn, "Policy", document)


def _encryption(config: dict[str, Any]) -> dict[str, Any]:
    """A template's EncryptionConfiguration as DescribeStateMachine returns it."""
    out: dict[str, Any] = {"type": config.get("Type")}
    if config.get("KmsKeyId"):
        out["kmsKeyId"] = config["KmsKeyId"]
    if config.get("KmsDataKeyReusePeriodSeconds"):
        out["kmsDataKeyReusePeriodSeconds"] = config["KmsDataKeyReusePeriodSeconds"]
    return out


def _state_machine_encryption() -> None:
    from moto.stepfunctions import models as sfn_models

    # the classmethod's function, called with our cls
    original_create = sfn_models.StateMachine.__dict__["create_from_cloudformation_json"].__func__

    def create_state_machine(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        machine = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        config = cloudformation_json["Properties"].get("EncryptionConfiguration")
        if config:
            machine.encryptionConfiguration = _encryption(config)
        return machine

    replace(sfn_models.StateMachine, "create_from_cloudformation_json", classmethod(create_state_machine))
