"""StartJob: the Bedrock customization job for a run, inside the VPC, idempotently."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import RUN, WHY_JOBS, PipelineStep, StepContext, lambda_task


class StartJobStep(PipelineStep):
    HANDLER = "start_job"
    DESCRIPTION = "Starts the Bedrock customization job for a run inside the VPC, idempotently"

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return context.job_environment

    def grant(self, context: StepContext) -> None:
        bedrock, storage = context.bedrock, context.storage
        base_models = [
            bedrock.foundation_model(model)
            for model in sorted({profile.base_model for profile in context.stage.profiles.values()})
        ]
        self.add_statements(
            iam.PolicyStatement(
                sid="CreateJobsOnPinnedModels",
                actions=["bedrock:CreateModelCustomizationJob"],
                resources=[*base_models, bedrock.custom_models, bedrock.jobs],
            ),
            iam.PolicyStatement(
                sid="TagJobsAndModels", actions=["bedrock:TagResource"], resources=[bedrock.custom_models, bedrock.jobs]
            ),
            # The base model's lifecycle is checked at run time before the job (GetFoundationModel).
            iam.PolicyStatement(
                sid="ReadBaseModelLifecycle", actions=["bedrock:GetFoundationModel"], resources=base_models
            ),
            iam.PolicyStatement(
                sid="PassOnlyTheBedrockRole",
                actions=["iam:PassRole"],
                resources=[context.foundation.bedrock_role.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
            # Creating a job whose model is encrypted with customModelKmsKeyId needs these four key actions
            # through Bedrock (PermissionsModelCustomization in
            # https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html, read 2026-12-03).
            iam.PolicyStatement(
                sid="EncryptCustomModels",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                resources=[storage.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"bedrock.{context.region}.amazonaws.com"}},
            ),
            wildcards={
                bedrock.jobs: WHY_JOBS,
                bedrock.custom_models: "Incremental profiles start from their champion, a custom model whose ARN is only known at run time, and new models get Bedrock-generated ids; creation stays limited to the pinned foundation models and this account's custom models.",
            },
        )
        storage.grant_champions_read(self)
        storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "StartCustomization",
            self.function,
            {
                **RUN,
                "training_uri.$": "$.validation.value.training_uri",
                "validation_uri.$": "$.validation.value.validation_uri",
            },
            result_path="$.job",
            quota_retry=True,
        )
