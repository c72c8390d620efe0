"""Evaluate: the evaluation concluded from the batches' results (metrics, the gate, the reports)."""

from __future__ import annotations

from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import TRAINED_RUN, PipelineStep, StepContext, lambda_task


class EvaluateStep(PipelineStep):
    HANDLER = "evaluate"
    DESCRIPTION = "Concludes the evaluation from the batches' results: metrics, the gate's decision, the reports"
    MEMORY_MB = 1024  # every example's answers are read back (up to 10,000 examples)

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        storage.grant_evaluation_batches(self, read_results=True)
        storage.grant_judge_scores_read(self)
        # The report's thumbnails: the examples' pictures, read back where they live.
        storage.grant_evaluation_read(self, sid="ReadEvaluationSets")
        storage.grant_evaluation_images_read(self)
        storage.grant_report_write(self)
        storage.grant_object_encryption(self)
        storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "Evaluate",
            self.function,
            {
                **TRAINED_RUN,
                "evaluation_plan.$": "$.evaluation_plan.value",
                "judge_scores_uri.$": "$.judge_check.value.scores_uri",
            },
            result_path="$.evaluation",
        )
