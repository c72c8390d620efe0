"""PrepareEvaluation: the evaluation set checked once and written as batches with the manifest the Map reads."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import EVALUATION_PREFIX, Env
from stacks.steps.base import TRAINED_RUN, PipelineStep, StepContext, lambda_task


class PrepareEvaluationStep(PipelineStep):
    HANDLER = "prepare_evaluation"
    DESCRIPTION = "Reads the evaluation set once and writes it as batches, with the manifest the Map state reads"
    MEMORY_MB = 1024  # the evaluation set is read whole (at most MAX_EVALUATION_SET_BYTES)

    def environment(self, context: StepContext) -> Mapping[str, str]:
        storage = context.storage
        return {Env.ARTIFACTS_BUCKET: storage.artifacts_bucket_name, Env.DATA_BUCKET: storage.data_bucket_name}

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        storage.grant_evaluation_read(self, sid="ReadEvaluationSets")
        storage.grant_data_listing(self, sid="TellMissingFromForbidden", prefix=EVALUATION_PREFIX)
        storage.grant_held_out_read(self)
        storage.grant_report_write(self)
        storage.grant_object_encryption(self)
        storage.grant_champions_read(self)
        storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "PrepareEvaluation",
            self.function,
            {**TRAINED_RUN, "endpoint.$": "$.endpoint.value"},
            result_path="$.evaluation_plan",
        )
