"""StartJudgeEvaluation: the run's responses to Bedrock's managed judge, one evaluation job per side."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import JUDGE_DATASETS_PREFIX, Env
from stacks.steps.base import RUN, PipelineStep, StepContext, lambda_task

WHY_EVALUATION_JOBS = "Evaluation job ARNs end in an id Bedrock generates when the job is created, so they cannot be named in advance; the statement stays in this account and Region and covers only the evaluation-job action this function calls."
WHY_JUDGE_DATASETS = "The judge's datasets go to judge-datasets/<profile>/<run id>/, a folder known only at run time, which only this function writes and only Bedrock's managed-judge role reads."


def evaluation_jobs(stack: Stack) -> str:
    return stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")


class StartJudgeEvaluationStep(PipelineStep):
    HANDLER = "start_judge_evaluation"
    DESCRIPTION = "Writes the run's responses as Bedrock evaluation datasets and starts the managed judge's jobs"

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return {
            Env.ARTIFACTS_BUCKET: context.storage.artifacts_bucket_name,
            Env.JUDGE_ROLE_ARN: context.foundation.judge_role.role.role_arn,
        }

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        jobs = evaluation_jobs(Stack.of(self))
        datasets = storage.object_arn(storage.artifacts_bucket_name, f"{JUDGE_DATASETS_PREFIX}*")
        self.add_statements(
            iam.PolicyStatement(sid="StartJudgeJobs", actions=["bedrock:CreateEvaluationJob"], resources=[jobs]),
            iam.PolicyStatement(
                sid="PassOnlyTheManagedJudgeRole",
                actions=["iam:PassRole"],
                resources=[context.foundation.judge_role.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
            iam.PolicyStatement(sid="WriteJudgeDatasets", actions=["s3:PutObject"], resources=[datasets]),
            wildcards={
                jobs: WHY_EVALUATION_JOBS,
                datasets: WHY_JUDGE_DATASETS,
            },
        )
        storage.grant_evaluation_batches(self, read_results=True)  # the manifest and the batches' results
        storage.grant_object_encryption(self)
        storage.grant_run_registry(self)  # the jobs, for Cleanup to stop

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "StartJudgeEvaluation",
            self.function,
            {**RUN, "evaluation_plan.$": "$.evaluation_plan.value"},
            result_path="$.judge",
            quota_retry=True,
        )
