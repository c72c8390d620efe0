"""Alarms and a dashboard for the pipeline: failed or timed-out runs and dead letters page someone."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class PipelineObservability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        dead_letters: sqs.IQueue,
        functions: list[lambda_.IFunction],
        topic: sns.ITopic,
        dashboard_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        alarm_action = actions.SnsAction(topic)
        self.alarms = [
            cloudwatch.Alarm(
                self,
                "ExecutionsFailed",
                metric=state_machine.metric_failed(period=period),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="A retraining run failed; its notification carries the cause.",
            ),
            cloudwatch.Alarm(
                self,
                "ExecutionsTimedOut",
                metric=state_machine.metric_timed_out(period=period),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="A retraining run hit its overall timeout; cleanup ran from the status event.",
            ),
            cloudwatch.Alarm(
                self,
                "DeadLetters",
                metric=dead_letters.metric_approximate_number_of_messages_visible(period=period),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="An upload or job event could not be delivered; inspect the dead-letter queue.",
            ),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(alarm_action)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Runs",
                left=[
                    state_machine.metric_started(period=period),
                    state_machine.metric_succeeded(period=period),
                    state_machine.metric_failed(period=period),
                    state_machine.metric_timed_out(period=period),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Pipeline events",
                left=[
                    cloudwatch.Metric(namespace="tuneforge", metric_name=name, statistic="Sum", period=period)
                    for name in (
                        "RunsStarted",
                        "UploadsIgnored",
                        "DatasetsRejected",
                        "JobsStarted",
                        "JobsFinishedByFallback",
                        "EndpointsDeletedByCleanup",
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda errors", left=[function.metric_errors(period=period) for function in functions], width=12
            ),
            cloudwatch.SingleValueWidget(
                title="Dead letters",
                metrics=[dead_letters.metric_approximate_number_of_messages_visible(period=period)],
                width=12,
            ),
        )
