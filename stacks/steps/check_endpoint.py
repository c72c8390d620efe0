"""CheckEndpoint: an endpoint's status for the state machine's back-off loop; fails a dead or slow one."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import WHY_ENDPOINTS, PipelineStep, StepContext, lambda_task


class CheckEndpointStep(PipelineStep):
    HANDLER = "check_endpoint"
    DESCRIPTION = "Reads an endpoint's status for the state machine's back-off loop and fails a dead or slow one"

    def grant(self, context: StepContext) -> None:
        bedrock = context.bedrock
        self.add_statements(
            iam.PolicyStatement(
                sid="ReadEndpoints",
                actions=["bedrock:GetProvisionedModelThroughput", "bedrock:GetCustomModelDeployment"],
                resources=[bedrock.provisioned_models, bedrock.deployments],
            ),
            wildcards={bedrock.provisioned_models: WHY_ENDPOINTS, bedrock.deployments: WHY_ENDPOINTS},
        )

    def task(self, scope: Construct, state_name: str, *, endpoint_path: str, result_path: str) -> tasks.LambdaInvoke:
        """One check of the endpoint at ``endpoint_path``; the interval it chose last time is in ``result_path``."""
        return lambda_task(
            scope,
            state_name,
            self.function,
            {
                "run.$": "$$.Execution.Input",
                "endpoint.$": endpoint_path,
                "previous_interval.$": f"{result_path}.value.next_check_seconds",
            },
            result_path=result_path,
        )
