"""Where the emulator's Bedrock meets moto 5.2.5: moto's job and custom-model classes get AWS-shaped
ARNs and fields, and moto's BedrockResponse gets the handlers of this package for what moto lacks or
gets wrong."""

from __future__ import annotations

from typing import Any

from moto.bedrock import models as moto_bedrock
from moto.bedrock.responses import BedrockResponse

from ..monkey import replace
from . import endpoints, evaluations, jobs, models
from .lifecycle import tick_backend
from .models import custom_model_root, fm_arn, fm_id
from .store import suffix

_APPLIED = False
# The fields moto's to_dict always sends that Bedrock leaves out while they are empty.
_OMITTED_WHEN_EMPTY = {
    "failureMessage": "failure_message",
    "endTime": "end_time",
    "outputModelArn": "output_model_arn",
    "trainingMetrics": "training_metrics",
    "validationMetrics": "validation_metrics",
}


def _root_of(base: str) -> str:
    """The catalogue id a base model (foundation-model id or ARN, or custom-model ARN) names; the id as
    given when it is neither (moto checked nothing, and Validate already refused it)."""
    return custom_model_root(base) or fm_id(base) or base


def _shape_job(job: Any) -> None:
    """``model-customization-job/<base-model-id>/<12 chars>``, as AWS names jobs (moto: the job name)."""
    base = job.base_model_identifier
    root = _root_of(base)
    job.base_model_arn = base if custom_model_root(base) else fm_arn(job.region_name, root)
    job.job_arn = f"arn:aws:bedrock:{job.region_name}:{job.account_id}:model-customization-job/{root}/{suffix('job/' + job.job_name)}"
    job.output_model_name = job.custom_model_name
    job.output_model_kms_key_arn = None
    job.customization_config = None
    key = job.custom_model_kms_key_id
    if key:
        job.output_model_kms_key_arn = (
            key if key.startswith("arn:") else f"arn:aws:kms:{job.region_name}:{job.account_id}:key/{key}"
        )


def _job_dict(job: Any, moto_dict: dict[str, Any]) -> dict[str, Any]:
    out = dict(moto_dict, outputModelName=job.custom_model_name)
    for key, attribute in _OMITTED_WHEN_EMPTY.items():
        if getattr(job, attribute) in (None, {}, []):
            out.pop(key, None)
    out.setdefault("validationDataConfig", {"validators": []})
    if getattr(job, "customization_config", None):
        out["customizationConfig"] = job.customization_config
    return out


def _shape_model(model: Any) -> None:
    """``custom-model/<base-model-id>/<12 chars>``, as AWS names custom models (moto: the model name)."""
    root = _root_of(model.base_model_arn)
    model.model_arn = (
        f"arn:aws:bedrock:{model.region_name}:{model.account_id}:custom-model/{root}/{suffix('model/' + model.job_arn)}"
    )


def _patch_moto_classes() -> None:
    original_job_init = moto_bedrock.ModelCustomizationJob.__init__
    original_job_dict = moto_bedrock.ModelCustomizationJob.to_dict
    original_model_init = moto_bedrock.CustomModel.__init__

    def job_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_job_init(self, *args, **kwargs)
        _shape_job(self)

    def job_to_dict(self: Any) -> dict[str, Any]:
        return _job_dict(self, original_job_dict(self))

    def model_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_model_init(self, *args, **kwargs)
        _shape_model(self)

    replace(moto_bedrock.ModelCustomizationJob, "__init__", job_init)
    replace(moto_bedrock.ModelCustomizationJob, "to_dict", job_to_dict)
    replace(moto_bedrock.CustomModel, "__init__", model_init)


def _list_jobs_after_tick(original: Any) -> Any:
    def list_model_customization_jobs(self: Any) -> str:
        tick_backend(self.bedrock_backend)
        return original(self)

    return list_model_customization_jobs


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    _patch_moto_classes()
    handlers = {
        "create_model_customization_job": jobs.create_model_customization_job,
        "get_model_customization_job": jobs.get_model_customization_job,
        "stop_model_customization_job": jobs.stop_model_customization_job,
        "list_model_customization_jobs": _list_jobs_after_tick(BedrockResponse.list_model_customization_jobs),
        "get_custom_model": models.get_custom_model,
        "delete_custom_model": models.delete_custom_model,
        "create_provisioned_model_throughput": endpoints.create_provisioned_model_throughput,
        "get_provisioned_model_throughput": endpoints.get_provisioned_model_throughput,
        "delete_provisioned_model_throughput": endpoints.delete_provisioned_model_throughput,
        "list_provisioned_model_throughputs": endpoints.list_provisioned_model_throughputs,
        "create_custom_model_deployment": endpoints.create_custom_model_deployment,
        "get_custom_model_deployment": endpoints.get_custom_model_deployment,
        "delete_custom_model_deployment": endpoints.delete_custom_model_deployment,
        "list_custom_model_deployments": endpoints.list_custom_model_deployments,
        "create_evaluation_job": evaluations.create_evaluation_job,
        "get_evaluation_job": evaluations.get_evaluation_job,
        "list_evaluation_jobs": evaluations.list_evaluation_jobs,
        "stop_evaluation_job": evaluations.stop_evaluation_job,
        "get_foundation_model": models.get_foundation_model,
        "list_foundation_models": models.list_foundation_models,
    }
    for name, handler in handlers.items():
        replace(BedrockResponse, name, handler)
    _APPLIED = True
