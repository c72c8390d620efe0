"""Cleanup: stops the run's job and deletes every endpoint it created but did not promote, on every path."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import Env
from lambdas.domain.runs import RunStatus
from stacks.steps.base import RUN_ID, PipelineStep, StepContext, lambda_task

WHY_JUDGE_JOBS = "The managed judge's evaluation jobs get Bedrock-generated ids when a run starts them and carry no tags, so they cannot be named in advance; the statement is limited to this account and Region and to reading and stopping the jobs the run recorded."


class CleanupStep(PipelineStep):
    HANDLER = "cleanup"
    DESCRIPTION = "Stops the run's job and deletes every endpoint it created but did not promote"

    INVOKED_ASYNCHRONOUSLY = True  # also the target of the execution status-change rule

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return {Env.NOTIFICATION_TOPIC_ARN: context.topic.topic_arn, Env.STATE_MACHINE_ARN: context.retraining.arn}

    def grant(self, context: StepContext) -> None:
        bedrock, storage, this_stages = context.bedrock, context.storage, context.this_stages_resources
        bedrock.grant_job_read(self)
        why_delete = "Evaluation endpoints get Bedrock-generated ids when a run creates them; cleanup may only delete them, in this account and region, and deletes only those its run recorded."
        self.add_statements(
            iam.PolicyStatement(
                sid="StopJobs",
                actions=["bedrock:StopModelCustomizationJob"],
                resources=[bedrock.jobs],
                conditions=this_stages,
            ),
            *bedrock.endpoint_deletes(sid_prefix="DeleteEvaluation", conditions=this_stages),
            wildcards={bedrock.provisioned_models: why_delete, bedrock.deployments: why_delete},
        )
        judge_jobs = Stack.of(self).format_arn(service="bedrock", resource="evaluation-job", resource_name="*")
        self.add_statements(
            iam.PolicyStatement(
                sid="StopJudgeJobs",
                actions=["bedrock:GetEvaluationJob", "bedrock:StopEvaluationJob"],
                resources=[judge_jobs],
            ),
            wildcards={judge_jobs: WHY_JUDGE_JOBS},
        )
        # Never delete the endpoint a champion item names, even one its run did not mark promoted.
        storage.grant_champions_read(self)
        # A timed-out or aborted execution runs no Catch: cleanup itself tells the topic.
        context.grant_publish(self, sid="NotifyAbnormalEnds")
        # A status-change event is acted on only once Step Functions confirms the execution ended abnormally.
        context.retraining.grant_describe_executions(self)
        storage.grant_run_registry(self)

    def after_failure(self, scope: Construct) -> tasks.LambdaInvoke:
        """Where every Catch goes: the error is in ``$.error``."""
        return lambda_task(
            scope, "Cleanup", self.function, {"run_id": RUN_ID, "error.$": "$.error"}, result_path="$.cleanup"
        )

    def teardown(self, scope: Construct) -> tasks.LambdaInvoke:
        """Every decided run ends here, so nothing but a promoted endpoint outlives it."""
        return lambda_task(
            scope,
            "Teardown",
            self.function,
            {"run_id": RUN_ID, "final_status": RunStatus.SUCCEEDED.value, "decision.$": "$.decision"},
            result_path="$.teardown",
        )
