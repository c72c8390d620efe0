"""Validate: the dataset against its profile's model, a line-numbered report, and the run's snapshot."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import EVALUATION_PREFIX, INCOMING_PREFIX, Env
from lambdas.domain.profiles import fingerprints_variable
from stacks.nag import checkov_skip
from stacks.steps.base import RUN, PipelineStep, StepContext, lambda_task


class ValidateStep(PipelineStep):
    HANDLER = "validate"
    DESCRIPTION = "Validates a dataset against its profile's model and writes the line-numbered report"

    TIMEOUT = Duration.minutes(15)
    MEMORY_MB = 1024

    def environment(self, context: StepContext) -> Mapping[str, str]:
        # Validate builds the job request StartJob will send, to check it against Bedrock's service model.
        # PROFILE_FINGERPRINTS: what this deployment installed, which a run's profile must match.
        return {
            **context.job_environment,
            Env.DATA_BUCKET: context.storage.data_bucket_name,
            Env.PROFILE_FINGERPRINTS: fingerprints_variable(context.stage.profiles.values()),
        }

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        storage.grant_dataset_read(self)
        storage.grant_data_listing(self, sid="CheckMediaExists", prefix=INCOMING_PREFIX)
        storage.grant_report_write(self)
        storage.grant_evaluation_read(self, sid="CheckEvaluationSets")
        storage.grant_snapshot_write(self)
        storage.grant_data_listing(self, sid="TellMissingEvaluationSets", prefix=EVALUATION_PREFIX)
        storage.grant_object_encryption(self)
        storage.grant_run_registry(self)
        checkov_skip(
            self.function,
            "CKV_AWS_45",
            "PROFILE_FINGERPRINTS holds SHA-256 digests of this stage's profiles, which are public configuration, not secrets; the entropy scan reads the hex digits as a key, and the environment is encrypted with the stage key like every function's.",
        )

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(scope, "Validate", self.function, RUN, result_path="$.validation")
