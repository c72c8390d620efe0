"""Security gates wired into synth, and the one way this project acknowledges a finding.

Every acknowledgement is scoped to a single resource and carries a full-sentence reason that names the
compensating control; tests/security/test_acknowledgements.py fails on any that is not.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Acknowledgment, App, Aws, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

NAG_PACKS: tuple[Callable[..., NagPack], ...] = (
    AwsSolutionsChecks,
    NIST80053R5Checks,
    HIPAASecurityChecks,
    ServerlessChecks,
)


def add_security_gates(app: App) -> None:
    # One pack writes every acknowledgement (of all packs) into the template metadata, the audit trail
    # reviewers and checkov read; the others would only repeat that walk over the whole app.
    first, *others = NAG_PACKS
    Validations.of(app).add_plugins(
        first(app, write_suppressions_to_cloud_formation=True), *(pack(app) for pack in others)
    )


def acknowledge(resource: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge nag findings on exactly this resource (never a stack or the app)."""
    Validations.of(resource).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def acknowledge_wildcard(resource: IConstruct, reason: str, resource_arn: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one wildcard resource ARN on exactly this policy."""
    rendered = resource_arn.replace(Stack.of(resource).partition, "<AWS::Partition>").replace(
        Aws.PARTITION, "<AWS::Partition>"
    )
    acknowledge(resource, reason, f"AwsSolutions-IAM5[Resource::{rendered}]")


STATEMENT_REASONS = "tuneforge_statement_reasons"


def acknowledge_statements(policy: IConstruct, rule_id: str, reasons: dict[str, str]) -> None:
    """Acknowledge one nag finding that several statements of ``policy`` share, with each statement's own reason.

    nag keys an acknowledgement by resource and finding id, so ``AwsSolutions-IAM5[Resource::*]`` on a policy
    covers every statement on ``*`` there: a read-only ``ec2:Describe*`` and an interface-deleting statement
    would share one reason, true of only one of them. ``reasons`` maps each such statement's Sid to the reason
    for that statement; they go into the policy's metadata, where tuneforge_audit shows each beside its
    statement, and the acknowledgement's own reason names them all, Sid by Sid.
    """
    if len(reasons) < 2:
        raise ValueError(
            f"{rule_id}: acknowledge_statements is for a finding shared by several statements; use acknowledge for one"
        )
    acknowledge(policy, " ".join(f"Statement {sid}: {reason}" for sid, reason in reasons.items()), rule_id)
    cfn = cfn_of(policy)
    metadata = dict(cfn.cfn_options.metadata or {})
    metadata.setdefault(STATEMENT_REASONS, {})[rule_id] = dict(reasons)
    cfn.cfn_options.metadata = metadata


def checkov_skip(resource: IConstruct, check_id: str, comment: str) -> None:
    """Record a checkov skip in the resource's metadata, where checkov reads it, with its reason."""
    cfn = cfn_of(resource)
    metadata = dict(cfn.cfn_options.metadata or {})
    skips = metadata.setdefault("checkov", {}).setdefault("skip", [])
    skips.append({"id": check_id, "comment": comment})
    cfn.cfn_options.metadata = metadata


def cfn_of(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource of an L2 construct (its default child), or the construct if it is one."""
    cfn = construct.node.default_child or construct
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{construct.node.path} is not a CloudFormation resource and has no default child that is one")
    return cfn


def logical_id(construct: IConstruct) -> str:
    return Stack.of(construct).get_logical_id(cfn_of(construct))
