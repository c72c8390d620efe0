"""CheckJudgeEvaluation: the managed judge's jobs polled (Bedrock sends no event for them); when done, the
per-example scores written to the run's report folder for the aggregate step."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import JUDGE_DATASETS_PREFIX, JUDGE_OUTPUT_PREFIX, JUDGE_SCORES_FILE, REPORTS_PREFIX, Env
from stacks.steps.base import PipelineStep, StepContext, lambda_task
from stacks.steps.start_judge_evaluation import WHY_EVALUATION_JOBS, WHY_JUDGE_DATASETS, evaluation_jobs

WHY_JUDGE_OUTPUT = "Bedrock writes each evaluation job's results under judge-output/<profile>/<run id>/<job name>/<ids Bedrock generates>/, known only once the job has run; the read is limited to that prefix."
WHY_JUDGE_SCORES = "Each run's judge scores go to reports/<profile>/<run id>/judge-scores.json, in a folder known only at run time; the write is limited to that one file name."


class CheckJudgeEvaluationStep(PipelineStep):
    HANDLER = "check_judge_evaluation"
    DESCRIPTION = "Checks the managed judge's evaluation jobs and, when done, writes the per-example judge scores"

    def environment(self, context: StepContext) -> dict[str, str]:
        return {Env.ARTIFACTS_BUCKET: context.storage.artifacts_bucket_name}

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        bucket = storage.artifacts_bucket_name
        jobs = evaluation_jobs(Stack.of(self))
        datasets = storage.object_arn(bucket, f"{JUDGE_DATASETS_PREFIX}*")
        output = storage.object_arn(bucket, f"{JUDGE_OUTPUT_PREFIX}*")
        scores = storage.object_arn(bucket, f"{REPORTS_PREFIX}*/{JUDGE_SCORES_FILE}")
        self.add_statements(
            iam.PolicyStatement(sid="DescribeJudgeJobs", actions=["bedrock:GetEvaluationJob"], resources=[jobs]),
            iam.PolicyStatement(
                sid="ReadJudgeDatasetsAndResults", actions=["s3:GetObject"], resources=[datasets, output]
            ),
            iam.PolicyStatement(
                sid="ListJudgeResults",
                actions=["s3:ListBucket"],
                resources=[f"arn:{Stack.of(self).partition}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{JUDGE_OUTPUT_PREFIX}*"]}},
            ),
            iam.PolicyStatement(sid="WriteJudgeScores", actions=["s3:PutObject"], resources=[scores]),
            wildcards={
                jobs: WHY_EVALUATION_JOBS,
                datasets: WHY_JUDGE_DATASETS,
                output: WHY_JUDGE_OUTPUT,
                scores: WHY_JUDGE_SCORES,
            },
        )
        storage.grant_object_encryption(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "CheckJudgeEvaluation",
            self.function,
            {"run.$": "$$.Execution.Input", "judge.$": "$.judge.value"},
            result_path="$.judge_check",
        )
