"""One stage of tuneforge: its Foundation and Pipeline stacks, composed the same way wherever they are built.

``make synth`` builds every stage at the top of the app (``make deploy STAGE=…`` deploys those); the delivery
pipeline (``stacks/delivery_stack.py``) builds the same stages again inside CDK Pipelines ``Stage``s, which it
deploys. Both call ``compose_stage``, so what the pipeline deploys is what the gates and the emulator checked.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import StageConfig
from stacks.foundation_stack import FoundationStack
from stacks.pipeline_stack import PipelineStack
from stacks.service_principals import add_confused_deputy_conditions


def compose_stage(scope: Construct, stage: StageConfig) -> tuple[FoundationStack, PipelineStack]:
    """The stage's two stacks under ``scope`` (the App, or a CDK Pipelines Stage), tagged and conditioned."""
    env = Environment(account=stage.account, region=stage.region)
    foundation = FoundationStack(
        scope,
        stage.foundation_stack_name,
        stack_name=stage.foundation_stack_name,  # inside a Stage, CDK would prefix the stage's name
        stage=stage,
        env=env,
        description=f"tuneforge {stage.name}: key, buckets, tables, isolated network, Bedrock service role",
    )
    pipeline = PipelineStack(
        scope,
        stage.pipeline_stack_name,
        stack_name=stage.pipeline_stack_name,
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
                iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", stage.permissions_boundary_arn)
            )
    add_confused_deputy_conditions(foundation, pipeline)
    return foundation, pipeline


class TuneforgeStage(Stage):
    """A configured stage as the delivery pipeline deploys it: the same stacks, with the same CloudFormation stack
    names in the stage's account and region, so a sandbox deployed with ``make deploy`` and the pipeline's
    deployment are the same stacks."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, env=Environment(account=stage.account, region=stage.region), **kwargs)
        self.foundation, self.pipeline = compose_stage(self, stage)
