"""StartRun: an upload's S3 event starts exactly one execution per dataset object version."""

from __future__ import annotations

from collections.abc import Mapping

from lambdas.domain.names import Env
from stacks.steps.base import PipelineStep, StepContext


class StartRunStep(PipelineStep):
    HANDLER = "start_run"
    DESCRIPTION = "Starts exactly one pipeline execution per uploaded dataset object version"
    INVOKED_BY_STATE_MACHINE = False
    INVOKED_ASYNCHRONOUSLY = True

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return {
            Env.STATE_MACHINE_ARN: context.retraining.arn,
            Env.PROFILE_PARAMETER_PREFIX: context.profiles.prefix,
            Env.NOTIFICATION_TOPIC_ARN: context.topic.topic_arn,
        }

    def grant(self, context: StepContext) -> None:
        storage = context.storage
        context.profiles.grant_read(self)
        storage.grant_dataset_read(self, sid="ReadManifests")
        storage.grant_object_encryption(self)
        storage.grant_run_registry(self)
        context.retraining.grant_start(self)
        # An upload that starts nothing is announced to the data owners, never only logged.
        context.grant_publish(self, sid="NotifyIgnoredUploads")
