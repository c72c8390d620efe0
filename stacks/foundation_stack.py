"""The secure foundation every run stands on: key, buckets, tables, isolated network, Bedrock role."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.evaluation import invocable_model
from lambdas.domain.names import EVALUATION_PREFIX, INCOMING_PREFIX, REPORTS_PREFIX
from stacks.bedrock_role import BedrockCustomizationRole
from stacks.config import StageConfig
from stacks.data_owners import DataUploaderRole, uploader_role_arn
from stacks.data_perimeter import (
    OutsideAccess,
    ServiceRoleAccess,
    deploy_role_arn,
    restrict_key_decryption,
    restrict_to_vpc_endpoint,
)
from stacks.invocation_logs import allow_through_endpoint, log_locations
from stacks.judge_role import OBJECT_ACTIONS as JUDGE_OBJECT_ACTIONS
from stacks.judge_role import PREFIXES as JUDGE_PREFIXES
from stacks.judge_role import ManagedJudgeRole
from stacks.network import Network
from stacks.storage import Storage


class FoundationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = Storage(self, "Storage", stage=stage)
        self.network = Network(
            self,
            "Network",
            stage=stage,
            key=self.storage.key,
            buckets=[self.storage.data_bucket, self.storage.artifacts_bucket],
            tables=[self.storage.runs_table, self.storage.champions_table],
        )
        self.bedrock_role = BedrockCustomizationRole(
            self,
            "BedrockCustomization",
            key=self.storage.key,
            data_bucket=self.storage.data_bucket,
            artifacts_bucket=self.storage.artifacts_bucket,
            subnets=self.network.subnets.subnets,
            security_groups=[self.network.job_security_group],
            teacher_models=sorted(
                {
                    p.teacher_model
                    for p in stage.profiles.values()
                    if p.customization_type is CustomizationType.DISTILLATION and p.teacher_model
                }
            ),
            invocation_logs=log_locations(stage.profiles.values()),
        )
        allow_through_endpoint(self.network.s3_endpoint, self.bedrock_role.role, log_locations(stage.profiles.values()))
        # Bedrock's managed judge (profiles with evaluation.managed_judge): the role its evaluation jobs run as, allowed
        # to invoke the evaluators the profiles name, as Bedrock requires them invoked from this Region.
        partition = f"arn:{self.partition}:"
        self.judge_role = ManagedJudgeRole(
            self,
            "BedrockManagedJudge",
            key=self.storage.key,
            artifacts_bucket=self.storage.artifacts_bucket,
            evaluator_resources=sorted(
                {
                    resource.replace("arn:aws:", partition, 1)
                    for p in stage.profiles.values()
                    if p.evaluation.managed_judge
                    for resource in invocable_model(
                        p.evaluation.managed_judge.evaluator_model, stage.region, stage.account
                    ).iam_resources
                }
            ),
        )
        # Data owners upload from outside the VPC through this role and read their runs' reports; the buckets
        # let it put objects (data) and get objects (artifacts) and nothing else from outside.
        self.uploader = DataUploaderRole(self, "DataUploader", stage_name=stage.name, storage=self.storage)
        # Datasets and models leave the buckets only through this VPC's S3 endpoint. Data owners (this
        # stage's uploader role and the principals the platform team names) may, from outside it, only
        # upload under incoming/ and evaluation/ and read and list reports/, whatever their own policies grant.
        owners = (uploader_role_arn(self, stage.name), *stage.data_uploader_arns)
        limits = "the bucket policy's DataOwnersOnly statements limit it, whatever its own policies grant, to uploads under incoming/ and evaluation/ of the data bucket and to reading and listing reports/ of the artifacts bucket"
        reasons = {
            owners[
                0
            ]: f"Data owners upload datasets and read their runs' reports from outside the VPC through this stage's uploader role; {limits}.",
            **{
                arn: f"The platform team names this principal in config/tuneforge.yaml (data_uploader_arns of stage {stage.name}) as a data owner of its own; {limits}."
                for arn in stage.data_uploader_arns
            },
        }
        deployment = deploy_role_arn(self)
        restrict_to_vpc_endpoint(
            self.storage.data_bucket,
            endpoint=self.network.s3_endpoint,
            outside=OutsideAccess(
                owners,
                object_actions=("s3:PutObject",),
                object_prefixes=(INCOMING_PREFIX, EVALUATION_PREFIX),
                reasons=reasons,
            ),
            deploy_role=deployment,
        )
        restrict_to_vpc_endpoint(
            self.storage.artifacts_bucket,
            endpoint=self.network.s3_endpoint,
            outside=OutsideAccess(
                owners,
                object_actions=("s3:GetObject",),
                object_prefixes=(REPORTS_PREFIX,),
                list_prefixes=(REPORTS_PREFIX,),
                reasons=reasons,
            ),
            deploy_role=deployment,
            service_roles=(
                ServiceRoleAccess(
                    "EvaluationJobs",
                    self.judge_role.role.role_arn,
                    object_actions=JUDGE_OBJECT_ACTIONS,
                    prefixes=JUDGE_PREFIXES,
                    reason="Bedrock's evaluation jobs take no VPC configuration, so they reach the bucket from outside the VPC as the managed-judge role; the EvaluationJobsOnly statements limit it to reading and writing under judge-datasets/ and judge-output/.",
                ),
            ),
        )
        # The key backs the perimeter: whoever reaches a dataset's bytes some other way still cannot decrypt them.
        restrict_key_decryption(
            self.storage.key,
            stack=self,
            stack_names=(stage.foundation_stack_name, stage.pipeline_stack_name),
            owners=owners,
        )
        # The CLI finds a stage's resources through these outputs, in AWS and in the offline emulator alike.
        CfnOutput(self, "DataBucketName", value=self.storage.data_bucket.bucket_name)
        CfnOutput(self, "ArtifactsBucketName", value=self.storage.artifacts_bucket.bucket_name)
        CfnOutput(self, "RunsTableName", value=self.storage.runs_table.table_name)
        CfnOutput(self, "ChampionsTableName", value=self.storage.champions_table.table_name)
