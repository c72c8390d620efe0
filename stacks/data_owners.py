"""The role data owners upload through: the one way into a stage's data bucket from outside its VPC."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from lambdas.domain.names import (
    EVALUATION_PREFIX,
    INCOMING_PREFIX,
    REPORTS_PREFIX,
    RUNS_BY_PROFILE_INDEX,
    RUNS_BY_START_INDEX,
)
from stacks.nag import acknowledge_wildcard
from stacks.storage import Storage


def uploader_role_name(stage_name: str) -> str:
    """Fixed, so the bucket perimeter (in the same stack) and data owners' AWS profiles can name it."""
    return f"tuneforge-{stage_name}-data-uploader"


def uploader_role_arn(stack: Stack, stage_name: str) -> str:
    return f"arn:{stack.partition}:iam::{stack.account}:role/{uploader_role_name(stage_name)}"


class DataUploaderRole(Construct):
    """Assumable by principals of this account whose own policies allow it (the account's choice of data
    owners): it may put objects under ``incoming/`` and ``evaluation/`` of the data bucket, read reports
    under ``reports/`` of the artifacts bucket, and read what ``tuneforge submit``, ``evaluation-set``,
    ``watch``, ``runs`` and ``compare`` need to report back. It cannot read datasets or models, so the perimeter's exemptions for it
    (uploads to the data bucket, reads of the artifacts bucket) do not open the buckets."""

    def __init__(self, scope: Construct, construct_id: str, *, stage_name: str, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        key, runs_table = storage.key, storage.runs_table
        data_bucket = f"{arn}:s3:::{storage.data_bucket_name}"
        artifacts_bucket = f"{arn}:s3:::{storage.artifacts_bucket_name}"
        incoming, evaluation = (
            storage.object_arn(storage.data_bucket_name, f"{INCOMING_PREFIX}*"),
            storage.object_arn(storage.data_bucket_name, f"{EVALUATION_PREFIX}*"),
        )
        reports = storage.object_arn(storage.artifacts_bucket_name, f"{REPORTS_PREFIX}*")
        profiles = f"{arn}:ssm:{stack.region}:{stack.account}:parameter/tuneforge/{stage_name}/profiles/*"
        state_machine_arn = (
            f"{arn}:states:{stack.region}:{stack.account}:stateMachine:tuneforge-{stage_name}-retraining"
        )
        executions = f"{arn}:states:{stack.region}:{stack.account}:execution:tuneforge-{stage_name}-retraining:*"
        stacks = [
            f"{arn}:cloudformation:{stack.region}:{stack.account}:stack/Tuneforge-{stage_name}-{part}/*"
            for part in ("Foundation", "Pipeline")
        ]
        self.role = iam.Role(
            self,
            "Role",
            role_name=uploader_role_name(stage_name),
            description=f"Data owners upload datasets and evaluation sets to tuneforge {stage_name} and follow their runs",
            assumed_by=iam.AccountRootPrincipal(),
        )
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"What a tuneforge {stage_name} data owner may do",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(sid="UploadDatasets", actions=["s3:PutObject"], resources=[incoming]),
                iam.PolicyStatement(sid="UploadEvaluationSets", actions=["s3:PutObject"], resources=[evaluation]),
                # SSE-KMS uploads need a data key from the bucket's key, asked for by S3 for this bucket only.
                iam.PolicyStatement(
                    sid="EncryptUploads",
                    actions=["kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                        "ArnLike": {"kms:EncryptionContext:aws:s3:arn": [data_bucket, f"{data_bucket}/*"]},
                    },
                ),
                iam.PolicyStatement(sid="ReadReports", actions=["s3:GetObject"], resources=[reports]),
                iam.PolicyStatement(
                    sid="ListReports",
                    actions=["s3:ListBucket"],
                    resources=[artifacts_bucket],
                    conditions={"StringLike": {"s3:prefix": [f"{REPORTS_PREFIX}*"]}},
                ),
                iam.PolicyStatement(
                    sid="DecryptReports",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                        "ArnLike": {"kms:EncryptionContext:aws:s3:arn": [artifacts_bucket, f"{artifacts_bucket}/*"]},
                    },
                ),
                iam.PolicyStatement(sid="FindTheStage", actions=["cloudformation:DescribeStacks"], resources=stacks),
                iam.PolicyStatement(sid="ReadProfiles", actions=["ssm:GetParameter"], resources=[profiles]),
                iam.PolicyStatement(
                    sid="FollowRuns",
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"],
                    resources=[executions],
                ),
                iam.PolicyStatement(
                    sid="ReadEncryptedHistory",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"states.{stack.region}.amazonaws.com",
                            "kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn,
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="ReadRunRecords", actions=["dynamodb:GetItem"], resources=[runs_table.table_arn]
                ),
                # `tuneforge runs`: the two listing indexes, newest first; not the janitor's or the job lookups.
                iam.PolicyStatement(
                    sid="ListRuns",
                    actions=["dynamodb:Query"],
                    resources=[
                        f"{runs_table.table_arn}/index/{RUNS_BY_START_INDEX}",
                        f"{runs_table.table_arn}/index/{RUNS_BY_PROFILE_INDEX}",
                    ],
                ),
                iam.PolicyStatement(
                    sid="DecryptRunRecords",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
                ),
            ],
        )
        reasons = {
            incoming: "Data owners name their datasets at upload time, so uploads are allowed anywhere under incoming/ of this stage's data bucket and nowhere else; the role cannot read, list or delete.",
            evaluation: "Evaluation sets are put at the key their profile names under evaluation/, so uploads are allowed under that prefix of this stage's data bucket only; the role cannot read, list or delete.",
            reports: "Validation and evaluation reports are written per run under reports/<profile>/<run-id>/, keys known only when the run starts; data owners may read, not write or list, that prefix of the artifacts bucket.",
            profiles: "The evaluation-set command reads, with read-only GetParameter, the profile a data owner names; the path holds only this stage's profiles.",
            executions: "A run's execution is named after its run id, known only after the upload; the role may only describe this stage's executions and read their history.",
            **{
                s: "The CLI finds a stage's buckets and state machine through the outputs of its two stacks; the stack id suffix is generated by CloudFormation, so read-only DescribeStacks is allowed on those two stack names only."
                for s in stacks
            },
        }
        for resource, reason in reasons.items():
            acknowledge_wildcard(policy, reason, resource)
        CfnOutput(
            stack,
            "DataUploaderRoleArn",
            value=self.role.role_arn,
            description="Data owners assume this role to upload (tuneforge submit, evaluation-set) and to follow their runs",
        )
