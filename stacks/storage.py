"""The app's customer-managed key, its buckets and its tables."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lambdas.domain.names import (
    BATCH_INPUT_SUFFIX,
    BATCH_MANIFEST_FILE,
    BATCH_RESULTS_SUFFIX,
    EVALUATION_BATCHES_FOLDER,
    EVALUATION_PREFIX,
    HELD_OUT_FILE,
    INCOMING_PREFIX,
    JUDGE_SCORES_FILE,
    REPORTS_PREFIX,
    RUNS_BY_JOB_INDEX,
    RUNS_BY_PROFILE_INDEX,
    RUNS_BY_START_INDEX,
    RUNS_BY_STATUS_INDEX,
    SNAPSHOT_PREFIX,
    SWEEP_INDEX,
)
from lambdas.domain.registry import RUNS_LISTED_ATTRIBUTE
from stacks.config import StageConfig
from stacks.functions import PipelineFunction
from stacks.nag import acknowledge, cfn_of, checkov_skip

# Why each prefix a function reads or writes is a wildcard, for nag's IAM5 acknowledgement on every policy
# that holds it; a grant method below brings its reason with its statement.
WHY_INCOMING = "Datasets arrive under incoming/<profile>/ with names chosen by the data owners at upload time, so access is limited to that prefix of this stage's data bucket."
WHY_REPORTS = "Reports are written under reports/<profile>/<run-id>/, a key known only when the run starts, and this function can write nowhere else in the artifacts bucket."
WHY_SNAPSHOTS = "Validate copies each valid run's data to snapshots/<run-id>/, a folder known only when the run starts, and the write is limited to that prefix of this stage's data bucket; no other principal of the stage writes there, so a job trains on exactly the versions validated."
WHY_BATCHES = "Evaluation batches are written under reports/<profile>/<run-id>/batches/, a key known only when the run starts; the statement is limited to that folder of the artifacts bucket."
WHY_JUDGE_SCORES = "The managed judge's per-example scores are written as reports/<profile>/<run-id>/judge-scores.json, a key known only when the run starts; the read is limited to files of that name under reports/ of the artifacts bucket."
WHY_HELD_OUT = "Validate sets each run's held-out split aside as reports/<profile>/<run-id>/holdout.jsonl, a key known only when the run starts; the read is limited to files of that name under reports/ of the artifacts bucket."
WHY_EVALUATION_IMAGES = "An evaluation set's examples may name images data owners uploaded under incoming/<profile>/ with names of their choosing, and Evaluate sends them to the models it compares; reads only, limited to that prefix of this stage's data bucket (images beside an evaluation set are under evaluation/, read by the evaluation-set grant)."
WHY_HELD_OUT_IMAGES = "A held-out split's images are copied by Validate to snapshots/<run-id>/media/, a folder known only when the run starts, and Evaluate sends them to the models it compares; reads only, limited to the media folders of that prefix of this stage's data bucket."
WHY_EVALUATION = "Evaluation sets live under evaluation/ of the data bucket, one per profile as configured; reads are limited to that prefix, which data owners do not write through the upload trigger."


def access_logs_bucket(
    scope: Construct, *, retention_days: int, removal_policy: RemovalPolicy, construct_id: str = "AccessLogs"
) -> s3.Bucket:
    """The bucket server access logs go to: SSE-S3, private, TLS only, versioned, expiring after ``retention_days``."""
    return s3.Bucket(
        scope,
        construct_id,
        # S3 server access logging cannot deliver to a bucket whose default encryption is SSE-KMS.
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        removal_policy=removal_policy,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=Duration.days(retention_days),
                noncurrent_version_expiration=Duration.days(7),
            )
        ],
    )


def logs_key_statement(stack: Stack) -> iam.PolicyStatement:
    """The key-policy statement that lets CloudWatch Logs encrypt with a key: only this account's log groups,
    proven by the encryption context CloudWatch Logs sends."""
    return iam.PolicyStatement(
        sid="CloudWatchLogsForThisAccountsLogGroups",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey",
        ],
        resources=["*"],
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
            }
        },
    )


class Storage(Construct):
    """One KMS key for everything at rest; data, artifacts and access-log buckets; run registry tables."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.removal_policy = RemovalPolicy.RETAIN if stage.removal_policy == "retain" else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "Key",
            description=f"tuneforge {stage.name}: training data, models, logs, queues, topics and tables",
            enable_key_rotation=True,
            removal_policy=self.removal_policy,
        )
        self.key.add_to_resource_policy(logs_key_statement(stack))
        # Alarms publish to the encrypted topic, and EventBridge and SNS write failed deliveries to the
        # encrypted dead-letter queue; these services use the key only on behalf of this account.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmAndEventDeliveryForThisAccount",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("sns.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

        self.access_logs_bucket = access_logs_bucket(
            self, retention_days=max(stage.log_retention_days, 30), removal_policy=self.removal_policy
        )
        acknowledge(
            self.access_logs_bucket,
            "This bucket is the destination of server access logging for the data and artifact buckets; logging it into itself would loop, and its writes are recorded by CloudTrail management events.",
            "AwsSolutions-S1",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "HIPAA.Security-S3BucketLoggingEnabled",
        )
        acknowledge(
            self.access_logs_bucket,
            "S3 server access logging only delivers to buckets encrypted with SSE-S3, so this log bucket uses S3-managed keys while blocking public access and denying non-TLS requests.",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "HIPAA.Security-S3DefaultEncryptionKMS",
        )
        self._acknowledge_replication(self.access_logs_bucket)
        checkov_skip(
            self.access_logs_bucket,
            "CKV_AWS_18",
            "Server access log destination; logging it into itself would loop and CloudTrail records its management events.",
        )

        # Named buckets: policies in other stacks and the reviewers' report can name them literally.
        self.data_bucket_name = f"tuneforge-{stage.name}-data-{stage.account}-{stage.region}"
        self.artifacts_bucket_name = f"tuneforge-{stage.name}-artifacts-{stage.account}-{stage.region}"
        self.data_bucket = self._bucket(
            "Data", stage, name=self.data_bucket_name, access_log_prefix="data/", event_bridge=True
        )
        self.artifacts_bucket = self._bucket(
            "Artifacts", stage, name=self.artifacts_bucket_name, access_log_prefix="artifacts/", event_bridge=False
        )

        # One item per run; the GSI answers "runs of profile P, newest first" and the token index lets the
        # job-event handler find the waiting execution from a job ARN.
        self.runs_table = self._table("Runs", partition_key="run_id", time_to_live_attribute="expires_at")
        self.runs_table.add_global_secondary_index(
            index_name=RUNS_BY_PROFILE_INDEX,
            partition_key=dynamodb.Attribute(name="profile", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="started_at", type=dynamodb.AttributeType.STRING),
        )
        # Every run, newest first (`tuneforge runs`): all items share one partition key value; why one partition
        # is enough is with RUNS_LISTED in lambdas/domain/registry.py. Projects everything, so the listing's
        # columns need no read of the table.
        self.runs_table.add_global_secondary_index(
            index_name=RUNS_BY_START_INDEX,
            partition_key=dynamodb.Attribute(name=RUNS_LISTED_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="started_at", type=dynamodb.AttributeType.STRING),
        )
        self.runs_table.add_global_secondary_index(
            index_name=RUNS_BY_JOB_INDEX,
            partition_key=dynamodb.Attribute(name="job_arn", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.runs_table.add_global_secondary_index(
            index_name=RUNS_BY_STATUS_INDEX,
            partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="started_at", type=dynamodb.AttributeType.STRING),
        )
        # The janitor's sparse index: only runs that may still hold something billable carry `sweep` (one constant
        # value: a handful of runs are marked at a time, one partition is plenty), sorted by when to look again.
        self.runs_table.add_global_secondary_index(
            index_name=SWEEP_INDEX,
            partition_key=dynamodb.Attribute(name="sweep", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sweep_after", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=["sweep_deadlines"],
        )
        # Champions: one item per profile holding the invocable ARN of its current winner.
        self.champions_table = self._table("Champions", partition_key="profile")
        for table, what in ((self.runs_table, "run registry"), (self.champions_table, "champion registry")):
            acknowledge(
                table,
                f"The {what} is protected by point-in-time recovery with 35 days of restore points, which covers the recovery need without a separate AWS Backup plan.",
                "NIST.800.53.R5-DynamoDBInBackupPlan",
                "HIPAA.Security-DynamoDBInBackupPlan",
            )

    def _table(
        self, construct_id: str, *, partition_key: str, time_to_live_attribute: str | None = None
    ) -> dynamodb.Table:
        """On demand, encrypted with the stage key, with point-in-time recovery."""
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=time_to_live_attribute,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=self.removal_policy,
        )

    def _bucket(
        self, construct_id: str, stage: StageConfig, *, name: str, access_log_prefix: str, event_bridge: bool
    ) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            construct_id,
            bucket_name=name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=access_log_prefix,
            removal_policy=self.removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-noncurrent-versions", noncurrent_version_expiration=Duration.days(90)),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
        )
        if event_bridge:
            # Set on the L1 so CloudFormation enables it natively; the L2 flag adds a custom-resource Lambda.
            cfn_of(bucket).add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
        self._acknowledge_replication(bucket)
        return bucket

    def object_arn(self, bucket_name: str, pattern: str) -> str:
        return f"arn:{Stack.of(self).partition}:s3:::{bucket_name}/{pattern}"

    @property
    def incoming_objects(self) -> str:
        return self.object_arn(self.data_bucket_name, f"{INCOMING_PREFIX}*")

    @property
    def evaluation_objects(self) -> str:
        return self.object_arn(self.data_bucket_name, f"{EVALUATION_PREFIX}*")

    @property
    def snapshot_objects(self) -> str:
        return self.object_arn(self.data_bucket_name, f"{SNAPSHOT_PREFIX}*")

    @property
    def report_objects(self) -> str:
        return self.object_arn(self.artifacts_bucket_name, f"{REPORTS_PREFIX}*")

    @property
    def held_out_objects(self) -> str:
        return self.object_arn(self.artifacts_bucket_name, f"{REPORTS_PREFIX}*/{HELD_OUT_FILE}")

    # Grants. Each adds one statement, with the Sid reviewers read in the report, to the function's policy.

    def grant_run_registry(self, fn: PipelineFunction) -> None:
        """Read and update run items by key, through the stage key (the table is encrypted with it)."""
        fn.add_statements(
            iam.PolicyStatement(
                sid="UpdateRunRegistry",
                actions=["dynamodb:UpdateItem", "dynamodb:GetItem"],
                resources=[self.runs_table.table_arn],
            ),
            self._key_via("TableEncryption", "dynamodb", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
        )

    def grant_run_lookup(self, fn: PipelineFunction) -> None:
        """Find runs by job ARN and by status (the job-event handler and its fallback check)."""
        fn.add_statements(
            iam.PolicyStatement(
                sid="FindRuns",
                actions=["dynamodb:Query"],
                resources=[
                    f"{self.runs_table.table_arn}/index/{RUNS_BY_JOB_INDEX}",
                    f"{self.runs_table.table_arn}/index/{RUNS_BY_STATUS_INDEX}",
                ],
            )
        )

    def grant_champions_read(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(
                sid="ReadChampions", actions=["dynamodb:GetItem"], resources=[self.champions_table.table_arn]
            )
        )

    def grant_champions_write(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(
                sid="WriteChampion",
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.champions_table.table_arn],
            )
        )

    def grant_object_encryption(self, fn: PipelineFunction) -> None:
        """Read and write objects encrypted with the stage key, through S3 only."""
        fn.add_statements(self._key_via("ObjectEncryption", "s3", "kms:Decrypt", "kms:GenerateDataKey"))

    def grant_custom_model_key(self, fn: PipelineFunction) -> None:
        # Custom models are encrypted with the stage key (customModelKmsKeyId): whoever deploys or invokes one
        # needs Decrypt and GenerateDataKey through Bedrock (PermissionsModelInvocation in
        # https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html, read 2026-12-03).
        fn.add_statements(self._key_via("UseCustomModelKey", "bedrock", "kms:Decrypt", "kms:GenerateDataKey"))

    def grant_dataset_read(self, fn: PipelineFunction, *, sid: str = "ReadDatasets") -> None:
        fn.add_statements(
            iam.PolicyStatement(
                sid=sid, actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[self.incoming_objects]
            ),
            wildcards={self.incoming_objects: WHY_INCOMING},
        )

    def grant_report_write(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"], resources=[self.report_objects]),
            wildcards={self.report_objects: WHY_REPORTS},
        )

    def grant_evaluation_batches(
        self,
        fn: PipelineFunction,
        *,
        read_inputs: bool = False,
        write_results: bool = False,
        read_results: bool = False,
    ) -> None:
        """The evaluation's batch files under reports/<profile>/<run-id>/batches/: a batch reads its input and
        writes its results; the conclusion lists and reads the results (S3 answers a missing key with
        AccessDenied to a reader that may not list, so it lists to tell a failed batch from a forbidden read)."""
        batches = self.object_arn(self.artifacts_bucket_name, f"{REPORTS_PREFIX}*/{EVALUATION_BATCHES_FOLDER}")
        if read_inputs:
            inputs = f"{batches}*{BATCH_INPUT_SUFFIX}"
            fn.add_statements(
                iam.PolicyStatement(sid="ReadEvaluationBatches", actions=["s3:GetObject"], resources=[inputs]),
                wildcards={inputs: WHY_BATCHES},
            )
        if write_results:
            results = f"{batches}*{BATCH_RESULTS_SUFFIX}"
            fn.add_statements(
                iam.PolicyStatement(sid="WriteBatchResults", actions=["s3:PutObject"], resources=[results]),
                wildcards={results: WHY_BATCHES},
            )
        if read_results:
            manifest, results = f"{batches}{BATCH_MANIFEST_FILE}", f"{batches}*{BATCH_RESULTS_SUFFIX}"
            fn.add_statements(
                iam.PolicyStatement(sid="ReadBatchResults", actions=["s3:GetObject"], resources=[manifest, results]),
                iam.PolicyStatement(
                    sid="ListBatchResults",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{Stack.of(self).partition}:s3:::{self.artifacts_bucket_name}"],
                    conditions={"StringLike": {"s3:prefix": [f"{REPORTS_PREFIX}*/{EVALUATION_BATCHES_FOLDER}*"]}},
                ),
                wildcards={manifest: WHY_BATCHES, results: WHY_BATCHES},
            )

    def grant_judge_scores_read(self, fn: PipelineFunction) -> None:
        scores = self.object_arn(self.artifacts_bucket_name, f"{REPORTS_PREFIX}*/{JUDGE_SCORES_FILE}")
        fn.add_statements(
            iam.PolicyStatement(sid="ReadJudgeScores", actions=["s3:GetObject"], resources=[scores]),
            wildcards={scores: WHY_JUDGE_SCORES},
        )

    def grant_held_out_read(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid="ReadHeldOutSplits", actions=["s3:GetObject"], resources=[self.held_out_objects]),
            wildcards={self.held_out_objects: WHY_HELD_OUT},
        )

    def grant_evaluation_read(self, fn: PipelineFunction, *, sid: str) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid=sid, actions=["s3:GetObject"], resources=[self.evaluation_objects]),
            wildcards={self.evaluation_objects: WHY_EVALUATION},
        )

    def grant_evaluation_images_read(self, fn: PipelineFunction) -> None:
        """The images of evaluation examples, wherever the media rules let them be: under evaluation/ beside the
        set (the evaluation-set grant covers it) or incoming/; and a held-out split's, in the run's snapshot."""
        held_out_images = self.object_arn(self.data_bucket_name, f"{SNAPSHOT_PREFIX}*/media/*")
        fn.add_statements(
            iam.PolicyStatement(
                sid="ReadEvaluationImages", actions=["s3:GetObject"], resources=[self.incoming_objects]
            ),
            # A held-out split's images, as Validate snapshotted them (lambdas.domain.holdout).
            iam.PolicyStatement(sid="ReadHeldOutImages", actions=["s3:GetObject"], resources=[held_out_images]),
            wildcards={self.incoming_objects: WHY_EVALUATION_IMAGES, held_out_images: WHY_HELD_OUT_IMAGES},
        )

    def grant_snapshot_write(self, fn: PipelineFunction) -> None:
        # The snapshot: server-side copies of the validated versions (CopyObject reads the source version
        # and writes the target) and rewritten files whose records name media.
        fn.add_statements(
            iam.PolicyStatement(sid="WriteSnapshots", actions=["s3:PutObject"], resources=[self.snapshot_objects]),
            wildcards={self.snapshot_objects: WHY_SNAPSHOTS},
        )

    def grant_data_listing(self, fn: PipelineFunction, *, sid: str, prefix: str) -> None:
        """List the data bucket under one prefix only (to tell a missing object from a forbidden one)."""
        fn.add_statements(
            iam.PolicyStatement(
                sid=sid,
                actions=["s3:ListBucket"],
                resources=[f"arn:{Stack.of(self).partition}:s3:::{self.data_bucket_name}"],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )

    def _key_via(self, sid: str, service: str, *actions: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=sid,
            actions=list(actions),
            resources=[self.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"{service}.{Stack.of(self).region}.amazonaws.com"}},
        )

    def _acknowledge_replication(self, bucket: s3.Bucket) -> None:
        acknowledge(
            bucket,
            "Cross-region replication is a disaster-recovery choice left to the platform team; durability comes from S3's multi-AZ storage, versioning and retention on stack deletion.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "HIPAA.Security-S3BucketReplicationEnabled",
        )
