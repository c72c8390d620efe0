"""The retraining pipeline: trigger, functions, state machine, job-event wiring, notifications, alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambdas.domain.names import INCOMING_PREFIX
from stacks.config import StageConfig
from stacks.foundation_stack import FoundationStack
from stacks.functions import FunctionPlacement
from stacks.grader_functions import GraderFunctions
from stacks.invocation_logs import LogsRunSchedules
from stacks.janitor import Janitor
from stacks.nag import acknowledge, cfn_of
from stacks.observability import PipelineObservability
from stacks.profiles import ProfileParameters
from stacks.state_machine import RetrainingStateMachine
from stacks.steps import PipelineSteps, StepContext
from stacks.steps.base import BedrockArns, Retraining

TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(2)


class PipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, foundation: FoundationStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage, network = foundation.storage, foundation.network
        key = storage.key
        profiles = ProfileParameters(self, stage)

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.topic = sns.Topic(
            self, "Notifications", display_name=f"tuneforge {stage.name}", master_key=key, enforce_ssl=True
        )
        if stage.alert_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(stage.alert_email, dead_letter_queue=self.dead_letters)
            )
        acknowledge(
            self.dead_letters,
            "This queue is itself the dead-letter queue for undeliverable events and failed asynchronous invocations; an alarm fires on its first message.",
            "AwsSolutions-SQS3",
            "Serverless-SQSRedrivePolicy",
        )

        placement = FunctionPlacement(
            vpc=network.vpc,
            subnets=network.function_subnet_selection,
            security_group=network.lambda_security_group,
            key=key,
            log_retention=stage.log_retention,
            removal_policy=storage.removal_policy,
            service_prefix=f"tuneforge-{stage.name}",
        )
        retraining = Retraining(self, stage, key)
        # Built before the steps: StartJob names each reinforcement fine-tuning profile's grader in its job request.
        self.graders = GraderFunctions(
            self, "Graders", stage=stage, placement=placement, bedrock_role=foundation.bedrock_role
        )
        self.steps = PipelineSteps.build(
            self,
            StepContext(
                stage=stage,
                foundation=foundation,
                placement=placement,
                bedrock=BedrockArns(self),
                retraining=retraining,
                profiles=profiles,
                topic=self.topic,
                dead_letters=self.dead_letters,
                graders=self.graders,
            ),
        )
        self.janitor = Janitor(
            self,
            "Janitor",
            stage=stage,
            placement=placement,
            storage=storage,
            topic=self.topic,
            dead_letters=self.dead_letters,
        )

        # One fallback check interval without news from a job is normal; three mean the checker is gone.
        heartbeat = Duration.minutes(3 * stage.job_fallback_check_minutes)
        self.retraining = RetrainingStateMachine(
            self,
            "Retraining",
            state_machine_name=retraining.name,
            steps=self.steps,
            runs_table=storage.runs_table,
            topic=self.topic,
            key=key,
            timeout=Duration.hours(stage.execution_timeout_hours),
            job_heartbeat=heartbeat,
            log_retention=stage.log_retention,
            removal_policy=storage.removal_policy,
        )
        data_name, state_machine_arn = storage.data_bucket_name, retraining.arn
        start_run, job_events, cleanup = self.steps.start_run, self.steps.job_events, self.steps.cleanup

        # Uploads: only Object Created in this bucket under incoming/; StartRun ignores what is not a dataset.
        self.upload_rule = events.Rule(
            self,
            "DatasetUploaded",
            description="A dataset object was created under incoming/ of the data bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [data_name]}, "object": {"key": [{"prefix": INCOMING_PREFIX}]}},
            ),
            targets=[self._delivered_to(start_run.function)],
        )
        # Profiles that learn from invocation logs on a schedule: StartRun starts their runs.
        self.logs_schedules = LogsRunSchedules(
            self,
            "LogsRunSchedules",
            profiles=stage.profiles.values(),
            start_run=start_run.function,
            target=self._delivered_to,
        )
        self.job_state_rule = events.Rule(
            self,
            "JobStateChanged",
            description="A Bedrock customization job reached a terminal status",
            event_pattern=events.EventPattern(
                source=["aws.bedrock"],
                detail_type=["Model Customization Job State Change"],
                detail={"jobStatus": ["Completed", "Failed", "Stopped"]},
            ),
            targets=[self._delivered_to(job_events.function)],
        )
        self.fallback_rule = events.Rule(
            self,
            "FallbackJobCheck",
            description="Finishes runs whose job ended without a delivered event, and keeps waiting tasks alive",
            schedule=events.Schedule.rate(Duration.minutes(stage.job_fallback_check_minutes)),
            targets=[self._delivered_to(job_events.function)],
        )
        # An execution that times out or is aborted runs no Catch: clean up after it from its status event.
        self.execution_end_rule = events.Rule(
            self,
            "ExecutionEndedAbnormally",
            description="A retraining execution timed out, was aborted or failed",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine_arn], "status": ["TIMED_OUT", "ABORTED", "FAILED"]},
            ),
            targets=[self._delivered_to(cleanup.function)],
        )
        # A profile parameter changed outside a deployment: runs of it are refused (Validate checks the
        # deployed fingerprint), and the platform team hears of the change when it happens.
        self.profile_change_rule = events.Rule(
            self,
            "ProfileParameterChanged",
            description="A tuning profile parameter of this stage was created, changed or deleted",
            event_pattern=events.EventPattern(
                source=["aws.ssm"],
                detail_type=["Parameter Store Change"],
                detail={"name": [{"prefix": f"{profiles.prefix}/"}]},
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=TARGET_RETRY_ATTEMPTS,
                    max_event_age=TARGET_MAX_EVENT_AGE,
                    message=events.RuleTargetInput.from_object(
                        {
                            "outcome": "PROFILE_PARAMETER_CHANGED",
                            "parameter": events.EventField.from_path("$.detail.name"),
                            "operation": events.EventField.from_path("$.detail.operation"),
                            "time": events.EventField.time,
                            "what_happens": "runs of this profile are refused until the parameter matches the deployed configuration again; change config/tuneforge.yaml and deploy",
                        }
                    ),
                )
            ],
        )
        _only_from_rule(self.topic, self.profile_change_rule)
        self.dead_letters.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesOfThisStack",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
                conditions={
                    "ArnEquals": {
                        "aws:SourceArn": [
                            rule.rule_arn
                            for rule in (
                                self.upload_rule,
                                self.job_state_rule,
                                self.fallback_rule,
                                self.execution_end_rule,
                                self.profile_change_rule,
                                self.janitor.rule,
                            )
                        ]
                    }
                },
            )
        )

        CfnOutput(self, "StateMachineArn", value=self.retraining.state_machine.state_machine_arn)
        CfnOutput(self, "NotificationTopicArn", value=self.topic.topic_arn)
        self.observability = PipelineObservability(
            self,
            "Observability",
            state_machine=self.retraining.state_machine,
            dead_letters=self.dead_letters,
            functions=[
                *self.steps.functions(),
                self.janitor.function.function,
                *(grader.function for grader in self.graders.functions.values()),
            ],
            topic=self.topic,
            dashboard_name=f"tuneforge-{stage.name}",
        )

    def _delivered_to(
        self, function: lambda_.IFunction, event: events.RuleTargetInput | None = None
    ) -> targets.LambdaFunction:
        """An event target that retries, then keeps what it could not deliver in the dead-letter queue."""
        return targets.LambdaFunction(
            function,
            event=event,
            dead_letter_queue=self.dead_letters,
            retry_attempts=TARGET_RETRY_ATTEMPTS,
            max_event_age=TARGET_MAX_EVENT_AGE,
        )


def _only_from_rule(topic: sns.Topic, rule: events.Rule) -> None:
    """The SnsTopic target lets events.amazonaws.com publish with no condition: only this stack's rule may
    (aws:SourceArn), so no other account's or application's rule can use the topic (confused deputy)."""
    policy = cfn_of(topic.node.find_child("Policy"))
    assert isinstance(policy, sns.CfnTopicPolicy)
    document = Stack.of(topic).resolve(policy.policy_document)
    [index] = [
        i
        for i, statement in enumerate(document["Statement"])
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    policy.add_property_override(
        f"PolicyDocument.Statement.{index}.Condition", {"ArnEquals": {"aws:SourceArn": rule.rule_arn}}
    )
    policy.add_property_override(f"PolicyDocument.Statement.{index}.Sid", "ProfileChangeRuleOfThisStack")
