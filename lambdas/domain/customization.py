"""Starting a Bedrock customization job for a run, exactly once."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.profiles import StartFrom
from lambdas.domain.runs import Infrastructure, RunInput, client_request_token_for, custom_model_name_for, job_name_for, lineage_tags

JOB_OUTPUT_PREFIX = "jobs/"
# Bedrock's default for maxResponseLengthForInference when distilling.
DISTILLATION_MAX_RESPONSE_LENGTH = 1000


class StartedJob(BaseModel):
    job_arn: str
    job_name: str
    custom_model_name: str
    base_model_identifier: str
    output_uri: str


def base_model_identifier(run: RunInput, champion_model_arn: str | None) -> str:
    """Incremental profiles tune their current champion; until one exists, the base model."""
    if run.profile.start_from is StartFrom.CHAMPION and champion_model_arn:
        return champion_model_arn
    return run.profile.base_model


def build_job_request(run: RunInput, infra: Infrastructure, *, base_model: str, execution_arn: str | None, training_uri: str | None = None) -> dict[str, Any]:
    """The CreateModelCustomizationJob request, in the exact shape botocore validates."""
    profile = run.profile
    job_name = job_name_for(run.run_id)
    tags = lineage_tags(run, execution_arn)
    request: dict[str, Any] = {
        "jobName": job_name,
        "customModelName": custom_model_name_for(run.run_id),
        "roleArn": infra.bedrock_role_arn,
        "baseModelIdentifier": base_model,
        "customizationType": profile.customization_type.value,
        "trainingDataConfig": {"s3Uri": training_uri or run.dataset.training.uri},
        "outputDataConfig": {"s3Uri": f"s3://{infra.artifacts_bucket}/{JOB_OUTPUT_PREFIX}{job_name}/"},
        "hyperParameters": profile.bedrock_hyperparameters,  # strings only: Bedrock rejects numbers
        "vpcConfig": {"subnetIds": list(infra.subnet_ids), "securityGroupIds": list(infra.security_group_ids)},
        "customModelKmsKeyId": infra.kms_key_arn,
        "clientRequestToken": client_request_token_for(run.run_id, "CreateModelCustomizationJob"),
        "jobTags": tags,
        "customModelTags": tags,
    }
    if not request["hyperParameters"]:
        del request["hyperParameters"]  # let Bedrock apply the model's defaults
    if run.dataset.validation:
        request["validationDataConfig"] = {"validators": [{"s3Uri": run.dataset.validation.uri}]}
    if profile.customization_type is CustomizationType.DISTILLATION:
        request["customizationConfig"] = {
            "distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": profile.teacher_model, "maxResponseLengthForInference": DISTILLATION_MAX_RESPONSE_LENGTH}}
        }
    return request


def start_customization_job(bedrock: Any, run: RunInput, infra: Infrastructure, *, champion_model_arn: str | None, execution_arn: str | None, training_uri: str | None = None) -> StartedJob:
    base = base_model_identifier(run, champion_model_arn)
    request = build_job_request(run, infra, base_model=base, execution_arn=execution_arn, training_uri=training_uri)
    response = bedrock.create_model_customization_job(**request)
    return StartedJob(job_arn=response["jobArn"], job_name=request["jobName"], custom_model_name=request["customModelName"], base_model_identifier=base, output_uri=request["outputDataConfig"]["s3Uri"])
