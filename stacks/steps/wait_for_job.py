"""WaitForJob: the task-token wait for the customization job; JobEvents completes it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import RUN_ID, PipelineStep, StepContext, retry_transient_errors


class WaitForJobStep(PipelineStep):
    HANDLER = "wait_for_job"
    DESCRIPTION = "Stores the WaitForJob task token with the run and finishes at once if the job already ended"

    def grant(self, context: StepContext) -> None:
        context.storage.grant_run_registry(self)
        context.bedrock.grant_job_read(self)
        context.retraining.grant_task_completion(self)

    def task(self, scope: Construct, *, heartbeat: Duration, timeout: Duration) -> tasks.LambdaInvoke:
        """``heartbeat``: JobEvents' fallback check sends one each interval, so silence means it is gone."""
        task = tasks.LambdaInvoke(
            scope,
            "WaitForJob",
            lambda_function=self.function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"run_id": RUN_ID, "job_arn.$": "$.job.value.job_arn", "task_token": sfn.JsonPath.task_token}
            ),
            heartbeat_timeout=sfn.Timeout.duration(heartbeat),
            task_timeout=sfn.Timeout.duration(timeout),
            result_path="$.training",
            retry_on_service_exceptions=False,
        )
        retry_transient_errors(task)
        return task
