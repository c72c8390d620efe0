"""Composes the stacks of each stage into one CDK app, with the security gates attached."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Environment, Tags
from aws_cdk import aws_iam as iam

from stacks.config import StageConfig
from stacks.foundation_stack import FoundationStack
from stacks.nag import add_security_gates
from stacks.pipeline_stack import PipelineStack
from stacks.service_principals import add_confused_deputy_conditions


def new_app(*, context: dict[str, Any], outdir: str | None = None) -> App:
    """An App as tuneforge synthesizes it.

    CDK's built-in CloudFormation schema check is off: cfn-lint checks every template in the security
    gates (zero errors required), and the built-in check, which only warns, tripled synth time.
    """
    return App(context=context, outdir=outdir, builtin_cloud_formation_validation=False)


def build_app(
    stages: list[StageConfig], *, context: dict[str, Any], outdir: str | None = None, nag: bool = True
) -> App:
    app = new_app(context=context, outdir=outdir)
    for stage in stages:
        env = Environment(account=stage.account, region=stage.region)
        foundation = FoundationStack(
            app,
            stage.foundation_stack_name,
            stage=stage,
            env=env,
            description=f"tuneforge {stage.name}: key, buckets, tables, isolated network, Bedrock service role",
        )
        pipeline = PipelineStack(
            app,
            stage.pipeline_stack_name,
            stage=stage,
            foundation=foundation,
            env=env,
            description=f"tuneforge {stage.name}: retraining pipeline, triggers, notifications, alarms",
        )
        for stack in (foundation, pipeline):
            Tags.of(stack).add("app", "tuneforge")
            Tags.of(stack).add("stage", stage.name)
            if stage.permissions_boundary_arn:
                iam.PermissionsBoundary.of(stack).apply(
                    iam.ManagedPolicy.from_managed_policy_arn(
                        stack, "PermissionsBoundary", stage.permissions_boundary_arn
                    )
                )
    add_confused_deputy_conditions(app)
    if nag:
        add_security_gates(app)
    return app
