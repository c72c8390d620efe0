"""Confused-deputy conditions on what CDK grants AWS services for us.

Some constructs grant a service principal on the stage key with no condition: an SNS-topic target lets
``events.amazonaws.com`` use the key of the encrypted topic, the state machine's log delivery lets
``delivery.logs.amazonaws.com``; and the VPC flow-log role trusts ``vpc-flow-logs.amazonaws.com`` with
none. Unconditioned, any account's rule, log delivery or flow log could have the service act on our key
or role. Each gets ``aws:SourceAccount`` (this account) and, where the service sends one, ``aws:SourceArn``
limited to this account's resources of that service:

* vended log delivery: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
  (key policy for ``delivery.logs.amazonaws.com`` with ``aws:SourceAccount`` and ``aws:SourceArn``
  ``arn:aws:logs:<region>:<account>:*``), read 2026-12-04;
* flow logs: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html (trust with
  ``aws:SourceAccount`` and ``aws:SourceArn`` ``arn:aws:ec2:<region>:<account>:vpc-flow-log/*``), read 2026-12-04;
* EventBridge sets ``aws:SourceAccount`` on the calls it makes for a rule's target.

Applied once both stacks of a stage are built (``stacks/stage.py``), because the grants come from constructs of
both stacks.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

# service principal -> the aws:SourceArn pattern (format with partition, region, account), or None
SOURCE_ARNS: dict[str, str | None] = {
    "delivery.logs.amazonaws.com": "arn:{partition}:logs:{region}:{account}:*",
    "vpc-flow-logs.amazonaws.com": "arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*",
    "events.amazonaws.com": None,
}


def _services(statement: dict[str, Any]) -> list[str]:
    service = (
        (statement.get("Principal") or {}).get("Service") if isinstance(statement.get("Principal"), dict) else None
    )
    return [service] if isinstance(service, str) else list(service or [])


def _condition(stack: Stack, services: list[str]) -> dict[str, Any]:
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": stack.account}}
    arns = [
        pattern.format(partition=stack.partition, region=stack.region, account=stack.account)
        for s in services
        if (pattern := SOURCE_ARNS.get(s))
    ]
    if arns:
        condition["ArnLike"] = {"aws:SourceArn": arns[0] if len(arns) == 1 else arns}
    return condition


def _condition_statements(resource: Any, stack: Stack, path: str, document: Any) -> None:
    resolved = stack.resolve(document)
    for index, statement in enumerate(resolved.get("Statement", [])):
        services = _services(statement)
        if (
            statement.get("Effect") == "Allow"
            and not statement.get("Condition")
            and services
            and all(s in SOURCE_ARNS for s in services)
        ):
            resource.add_property_override(f"{path}.Statement.{index}.Condition", _condition(stack, services))


def add_confused_deputy_conditions(*stacks: Stack) -> None:
    for stack in stacks:
        for construct in stack.node.find_all():
            if isinstance(construct, kms.CfnKey):
                _condition_statements(construct, stack, "KeyPolicy", construct.key_policy)
            elif isinstance(construct, iam.CfnRole) and construct.assume_role_policy_document is not None:
                _condition_statements(
                    construct, stack, "AssumeRolePolicyDocument", construct.assume_role_policy_document
                )
