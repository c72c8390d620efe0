"""JobEvents: completes WaitForJob from Bedrock's job state-change events and from the scheduled fallback check."""

from __future__ import annotations

from stacks.steps.base import PipelineStep, StepContext


class JobEventsStep(PipelineStep):
    HANDLER = "job_events"
    DESCRIPTION = "Completes WaitForJob from Bedrock job events and from the scheduled fallback check"
    INVOKED_BY_STATE_MACHINE = False

    INVOKED_ASYNCHRONOUSLY = True

    def grant(self, context: StepContext) -> None:
        context.storage.grant_run_registry(self)
        context.storage.grant_run_lookup(self)
        context.bedrock.grant_job_read(self)
        context.retraining.grant_task_completion(self)
