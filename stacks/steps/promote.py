"""Promote: buys the profile's provisioned throughput for a candidate that passed the gate."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import TRAINED_RUN, WHY_ENDPOINTS, WHY_MODELS, PipelineStep, StepContext, lambda_task


class PromoteStep(PipelineStep):
    HANDLER = "promote"
    DESCRIPTION = "Buys the profile's provisioned throughput for a candidate that passed the gate"

    def grant(self, context: StepContext) -> None:
        bedrock = context.bedrock
        self.add_statements(
            iam.PolicyStatement(
                sid="ProvisionThroughput",
                actions=["bedrock:CreateProvisionedModelThroughput"],
                resources=[bedrock.custom_models, bedrock.provisioned_models],
            ),
            iam.PolicyStatement(
                sid="TagThroughput", actions=["bedrock:TagResource"], resources=[bedrock.provisioned_models]
            ),
            wildcards={bedrock.custom_models: WHY_MODELS, bedrock.provisioned_models: WHY_ENDPOINTS},
        )
        # A newer upload's champion supersedes the run before it buys anything (lambdas/domain/champion.py).
        context.storage.grant_champions_read(self)
        context.storage.grant_custom_model_key(self)
        context.storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "Promote",
            self.function,
            {**TRAINED_RUN, "endpoint.$": "$.endpoint.value", "evaluation.$": "$.evaluation.value"},
            result_path="$.promoted",
        )
