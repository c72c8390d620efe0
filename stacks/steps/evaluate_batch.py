"""EvaluateBatch: one batch of the evaluation set, candidate and baseline (and judge) through Converse."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.evaluation import invocable_model
from lambdas.domain.evaluation_batches import BATCH_ATTEMPTS, EVALUATE_BATCH_TIMEOUT_SECONDS, BatchThrottled
from stacks.steps.base import WHY_ENDPOINTS, PipelineStep, StepContext, lambda_task

# lambdas.domain.catalogue.questions.invocation_for: a model reached through a geographic inference profile (us.…)
# needs bedrock:InvokeModel on the model in every Region the profile may route to, which AWS may change.
WHY_PROFILE_AREA = "The baseline answers only through a geographic inference profile, which may route each request to the model in any Region of its area (us-*); the statement is scoped to that one foundation model and to the profile in this account and Region, and invokes nothing else."


class EvaluateBatchStep(PipelineStep):
    HANDLER = "evaluate_batch"
    DESCRIPTION = "Answers and scores one batch of the evaluation set with the candidate and its baseline"

    # Under five minutes by design: batches are sized to about half of it (evaluation_batches.py).
    TIMEOUT = Duration.seconds(EVALUATE_BATCH_TIMEOUT_SECONDS)

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        bedrock = context.bedrock
        baselines = self._baselines_and_judges(context)
        self.add_statements(
            # Foundation models and inference profiles carry no tags of ours; the candidate's endpoint does.
            iam.PolicyStatement(
                sid="InvokeBaselinesAndJudges",
                actions=["bedrock:InvokeModel"],
                resources=baselines,
            ),
            iam.PolicyStatement(
                sid="InvokeThisStagesCandidates",
                actions=["bedrock:InvokeModel"],
                resources=[bedrock.provisioned_models, bedrock.deployments],
                conditions=context.this_stages_resources,
            ),
            wildcards={
                bedrock.provisioned_models: WHY_ENDPOINTS,
                bedrock.deployments: WHY_ENDPOINTS,
                **{arn: WHY_PROFILE_AREA for arn in baselines if "*" in arn},
            },
        )
        storage.grant_evaluation_batches(self, read_inputs=True, write_results=True)
        # The examples' pictures, sent to both models: under evaluation/ with the set, or incoming/ for a
        # held-out split of an upload.
        storage.grant_evaluation_read(self, sid="ReadEvaluationSets")
        storage.grant_evaluation_images_read(self)
        storage.grant_object_encryption(self)
        storage.grant_custom_model_key(self)

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
        """The Map iteration's one state: its input is the ItemSelector's {job, batch}."""
        task = lambda_task(
            scope,
            "EvaluateBatch",
            self.function,
            {"job.$": "$.job", "batch.$": "$.batch", "attempt.$": "$$.State.RetryCount"},
            result_path=sfn.JsonPath.DISCARD,
        )
        task.add_retry(
            errors=[BatchThrottled.__name__],
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=BATCH_ATTEMPTS - 1,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task
