"""DeployEndpoint: the customized model behind an evaluation endpoint, recorded before it is requested."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import TRAINED_RUN, WHY_ENDPOINTS, WHY_MODELS, PipelineStep, StepContext, lambda_task


class DeployEndpointStep(PipelineStep):
    HANDLER = "deploy_endpoint"
    DESCRIPTION = "Puts the customized model behind an evaluation endpoint, recorded before it is requested"

    def grant(self, context: StepContext) -> None:
        bedrock = context.bedrock
        self.add_statements(
            iam.PolicyStatement(
                sid="CreateEvaluationEndpoints",
                actions=["bedrock:CreateCustomModelDeployment", "bedrock:CreateProvisionedModelThroughput"],
                resources=[bedrock.provisioned_models, bedrock.deployments, bedrock.custom_models],
            ),
            iam.PolicyStatement(
                sid="TagEndpoints",
                actions=["bedrock:TagResource"],
                resources=[bedrock.provisioned_models, bedrock.deployments],
            ),
            # On-demand deployment depends on the day the model was customized (GetCustomModel's creationTime).
            iam.PolicyStatement(
                sid="ReadModelCreationDate", actions=["bedrock:GetCustomModel"], resources=[bedrock.custom_models]
            ),
            wildcards={
                bedrock.provisioned_models: WHY_ENDPOINTS,
                bedrock.deployments: WHY_ENDPOINTS,
                bedrock.custom_models: WHY_MODELS,
            },
        )
        context.storage.grant_custom_model_key(self)
        context.storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(scope, "DeployForEvaluation", self.function, TRAINED_RUN, result_path="$.endpoint")
