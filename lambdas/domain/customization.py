"""Starting a Bedrock customization job for a run, exactly once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from lambdas.domain.bedrock_requests import check_request
from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.names import JOB_OUTPUT_PREFIX
from lambdas.domain.profiles import StartFrom
from lambdas.domain.runs import (
    Infrastructure,
    RunInput,
    RunSource,
    client_request_token_for,
    custom_model_name_for,
    job_name_for,
    lineage_tags,
)

# Bedrock's default for maxResponseLengthForInference when distilling.
DISTILLATION_MAX_RESPONSE_LENGTH = 1000


class GraderNotDeployed(ValueError):
    """A reinforcement fine-tuning run whose profile has no grader function in this deployment."""


def grader_arns_variable(graders: Iterable[tuple[str, str]]) -> str:
    """``profile=arn,...``: how a deployment hands StartJob and Validate each RFT profile's grader function
    (names and ARNs only, like PROFILE_FINGERPRINTS)."""
    return ",".join(f"{profile}={arn}" for profile, arn in sorted(graders))


def parse_grader_arns(variable: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in variable.split(",") if pair)


def rft_customization_config(run: RunInput, grader_arns: Mapping[str, str]) -> dict[str, Any]:
    """customizationConfig of a REINFORCEMENT_FINE_TUNING job: the grader function Bedrock invokes and the
    hyperparameters as typed numbers. The shape is botocore's service model (RFTConfig: graderConfig.lambdaGrader
    .lambdaArn, hyperParameters of RFTHyperParameters) and
    https://docs.aws.amazon.com/bedrock/latest/APIReference/API_LambdaGraderConfig.html (read 2026-12-07)."""
    profile = run.profile
    arn = grader_arns.get(profile.name)
    if not arn:
        deployed = ", ".join(sorted(grader_arns)) or "none"
        raise GraderNotDeployed(
            f"profile {profile.name}: no grader function is deployed for it in this stage (grader functions: {deployed}); "
            "give the profile a grader in config/tuneforge.yaml and deploy the stage"
        )
    config: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": arn}}}
    hyperparameters = profile.model.rft_hyperparameters(profile.hyperparameters)
    if hyperparameters:  # absent: Bedrock applies the model's defaults
        config["hyperParameters"] = hyperparameters
    return {"rftConfig": config}


class ModelNotCustomizable(RuntimeError):
    """Bedrock no longer offers the profile's base model for customization (Legacy or end of life)."""


def check_base_model_lifecycle(bedrock: Any, run: RunInput) -> None:
    """Refuse before the job when the base model is not ACTIVE in Bedrock today.

    Synth already refuses a model the catalogue dates past its end of life; this is the run-time word
    (GetFoundationModel's modelLifecycle: ACTIVE or LEGACY, and an end-of-life model is gone:
    https://docs.aws.amazon.com/bedrock/latest/APIReference/API_FoundationModelLifecycle.html and
    https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html, read 2026-12-04). A Legacy
    model is refused too: its end of life is set, and no new provisioned throughput can be bought for it.
    """
    model = run.profile.base_model
    try:
        details = bedrock.get_foundation_model(modelIdentifier=model)["modelDetails"]
    except bedrock.exceptions.ResourceNotFoundException:
        raise ModelNotCustomizable(
            f"profile {run.profile.name}: Bedrock no longer offers {model} in this Region (end of life); set base_model to a current model"
        ) from None
    status = (details.get("modelLifecycle") or {}).get("status", "ACTIVE")
    if status != "ACTIVE":
        raise ModelNotCustomizable(
            f"profile {run.profile.name}: {model} is {status} in Bedrock, on its way to end of life; set base_model to a current model"
        )


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


def build_job_request(
    run: RunInput,
    infra: Infrastructure,
    *,
    base_model: str,
    execution_arn: str | None,
    training_uri: str,
    validation_uri: str | None = None,
) -> dict[str, Any]:
    """The CreateModelCustomizationJob request, in the exact shape botocore validates.

    ``training_uri`` and ``validation_uri`` are the run's snapshot (``lambdas.domain.snapshot``), never
    the upload: Bedrock reads a key at job start, not the version that was validated.
    """
    profile = run.profile
    job_name = job_name_for(run.run_id)
    tags = lineage_tags(run, execution_arn)
    rft = profile.customization_type is CustomizationType.REINFORCEMENT_FINE_TUNING
    request: dict[str, Any] = {
        "jobName": job_name,
        "customModelName": custom_model_name_for(run.run_id),
        "roleArn": infra.bedrock_role_arn,
        "baseModelIdentifier": base_model,
        "customizationType": profile.customization_type.value,
        "trainingDataConfig": {"s3Uri": training_uri},
        "outputDataConfig": {"s3Uri": f"s3://{infra.artifacts_bucket}/{JOB_OUTPUT_PREFIX}{job_name}/"},
        # strings only: Bedrock rejects numbers; RFT's typed numbers go in customizationConfig.rftConfig instead
        "hyperParameters": {} if rft else profile.bedrock_hyperparameters,
        "vpcConfig": {"subnetIds": list(infra.subnet_ids), "securityGroupIds": list(infra.security_group_ids)},
        "customModelKmsKeyId": infra.kms_key_arn,
        "clientRequestToken": client_request_token_for(run.run_id, "CreateModelCustomizationJob"),
        "jobTags": tags,
        "customModelTags": tags,
    }
    if not request["hyperParameters"]:
        del request["hyperParameters"]  # let Bedrock apply the model's defaults
    if run.dataset.validation:
        if not validation_uri:
            raise ValueError(f"run {run.run_id} has a validation file but no snapshot of it")
        request["validationDataConfig"] = {"validators": [{"s3Uri": validation_uri}]}
    request["trainingDataConfig"] = training_data_config(run, training_uri)
    if profile.customization_type is CustomizationType.DISTILLATION:
        request["customizationConfig"] = {
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": profile.teacher_model,
                    "maxResponseLengthForInference": DISTILLATION_MAX_RESPONSE_LENGTH,
                }
            }
        }
    if rft:
        request["customizationConfig"] = rft_customization_config(run, infra.grader_arns)
    return request


def training_data_config(run: RunInput, training_uri: str) -> dict[str, Any]:
    """What the job trains on: the run's snapshot, or for a run from invocation logs the profile's log location
    (``invocationLogsConfig``, the other member of Bedrock's TrainingDataConfig; lambdas/domain/invocation_logs.py).
    The location is the deployed profile's, never the execution input's."""
    settings = run.profile.invocation_logs
    if run.source is not RunSource.INVOCATION_LOGS:
        return {"s3Uri": training_uri}
    if settings is None:
        raise ValueError(f"run {run.run_id} is from invocation logs, but profile {run.profile.name} names none")
    return {"invocationLogsConfig": settings.to_bedrock()}


def start_customization_job(
    bedrock: Any,
    run: RunInput,
    infra: Infrastructure,
    *,
    champion_model_arn: str | None,
    execution_arn: str | None,
    training_uri: str,
    validation_uri: str | None = None,
) -> StartedJob:
    check_base_model_lifecycle(bedrock, run)
    base = base_model_identifier(run, champion_model_arn)
    request = build_job_request(
        run,
        infra,
        base_model=base,
        execution_arn=execution_arn,
        training_uri=training_uri,
        validation_uri=validation_uri,
    )
    check_request("CreateModelCustomizationJob", request)  # Validate checked it too; the deployment may have changed
    response = bedrock.create_model_customization_job(**request)
    return StartedJob(
        job_arn=response["jobArn"],
        job_name=request["jobName"],
        custom_model_name=request["customModelName"],
        base_model_identifier=base,
        output_uri=request["outputDataConfig"]["s3Uri"],
    )
