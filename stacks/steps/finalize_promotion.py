"""FinalizePromotion: the candidate becomes the profile's champion; what it replaces is retired."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import Env, champion_parameter_prefix
from stacks.steps.base import TRAINED_RUN, WHY_ENDPOINTS, PipelineStep, StepContext, lambda_task


class FinalizePromotionStep(PipelineStep):
    HANDLER = "finalize_promotion"
    DESCRIPTION = "Makes the candidate the profile's champion and retires what the promotion replaces"

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return {Env.CHAMPION_PARAMETER_PREFIX: champion_parameter_prefix(context.stage.name)}

    def grant(self, context: StepContext) -> None:
        champion_prefix = champion_parameter_prefix(context.stage.name)
        bedrock, this_stages = context.bedrock, context.this_stages_resources
        champion_parameters = Stack.of(self).format_arn(
            service="ssm", resource="parameter", resource_name=f"{champion_prefix[1:]}/*"
        )
        self.add_statements(
            iam.PolicyStatement(
                sid="ReadEndpoints",
                actions=["bedrock:GetProvisionedModelThroughput"],
                resources=[bedrock.provisioned_models],
            ),
            *bedrock.endpoint_deletes(sid_prefix="RetireThisStages", conditions=this_stages),
            wildcards={bedrock.provisioned_models: WHY_ENDPOINTS, bedrock.deployments: WHY_ENDPOINTS},
        )
        context.storage.grant_champions_write(self)
        self.add_statements(
            iam.PolicyStatement(
                sid="PublishChampionArn", actions=["ssm:PutParameter"], resources=[champion_parameters]
            ),
            wildcards={
                champion_parameters: "Applications read each profile's champion from one parameter under this stage's champions path; the function writes only there, one parameter per profile named at run time."
            },
        )
        context.storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "FinalizePromotion",
            self.function,
            {**TRAINED_RUN, "endpoint.$": "$.endpoint.value", "promoted.$": "$.promoted.value.endpoint"},
            result_path="$.champion",
        )
