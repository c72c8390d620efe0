"""Evaluate: the candidate against its baseline on the profile's evaluation set, and the reports."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.evaluation import EVALUATE_TIMEOUT_SECONDS, invocable_model
from lambdas.domain.names import EVALUATION_PREFIX, Env
from stacks.steps.base import TRAINED_RUN, WHY_ENDPOINTS, PipelineStep, StepContext, lambda_task


class EvaluateStep(PipelineStep):
    HANDLER = "evaluate"
    DESCRIPTION = "Evaluates the candidate against its baseline on the profile's evaluation set and writes the reports"

    TIMEOUT = Duration.seconds(EVALUATE_TIMEOUT_SECONDS)
    MEMORY_MB = 1024

    def environment(self, context: StepContext) -> Mapping[str, str]:
        storage = context.storage
        return {Env.ARTIFACTS_BUCKET: storage.artifacts_bucket_name, Env.DATA_BUCKET: storage.data_bucket_name}

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        bedrock = context.bedrock
        self.add_statements(
            # Foundation models and inference profiles carry no tags of ours; the candidate's endpoint does.
            iam.PolicyStatement(
                sid="InvokeBaselinesAndJudges",
                actions=["bedrock:InvokeModel"],
                resources=self._baselines_and_judges(context),
            ),
            iam.PolicyStatement(
                sid="InvokeThisStagesCandidates",
                actions=["bedrock:InvokeModel"],
                resources=[bedrock.provisioned_models, bedrock.deployments],
                conditions=context.this_stages_resources,
            ),
            wildcards={bedrock.provisioned_models: WHY_ENDPOINTS, bedrock.deployments: WHY_ENDPOINTS},
        )
        storage.grant_evaluation_read(self, sid="ReadEvaluationSets")
        storage.grant_evaluation_images_read(self)
        storage.grant_data_listing(self, sid="TellMissingFromForbidden", prefix=EVALUATION_PREFIX)
        storage.grant_report_write(self)
        storage.grant_held_out_read(self)
        storage.grant_object_encryption(self)
        storage.grant_custom_model_key(self)
        storage.grant_champions_read(self)
        storage.grant_run_registry(self)

    def _baselines_and_judges(self, context: StepContext) -> list[str]:
        """The baselines and judges, each as Bedrock requires it to be invoked from this Region: its own
        foundation model, or an inference profile and every model it may route to (the catalogue's facts)."""
        stage = context.stage
        models = [p.base_model for p in stage.profiles.values()]
        models += [p.evaluation.judge_model for p in stage.profiles.values() if p.evaluation.judge_model]
        arn = f"arn:{Stack.of(self).partition}"
        return sorted(
            {
                resource.replace("arn:aws:", f"{arn}:", 1)
                for model in models
                for resource in invocable_model(model, stage.region, stage.account).iam_resources
            }
        )

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "Evaluate",
            self.function,
            {**TRAINED_RUN, "endpoint.$": "$.endpoint.value"},
            result_path="$.evaluation",
        )
