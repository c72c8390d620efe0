"""Lookups the requirement table needs from the emulator's own state: which state machine a task
token belongs to, which KMS key encrypts a custom model (the job's ``customModelKmsKeyId``), and the
tags of a Bedrock resource (what a policy's ``aws:ResourceTag/<key>`` condition compares)."""

from __future__ import annotations

from .world import World


def machine_of_token(token: str, world: World) -> str | None:
    """AWS's task tokens carry their state machine, so a callback is authorized against it even when its
    execution has ended (the call then fails with TaskTimedOut, not AccessDenied)."""
    backend = world.backend("stepfunctions")
    for execution in list(backend._get_executions()):
        worker = getattr(execution, "exec_worker", None)
        pool = getattr(getattr(getattr(worker, "env", None), "callback_pool_manager", None), "_pool", {})
        if token in pool:
            return execution.state_machine_arn
    return None


def custom_model_key(model_arn: str, world: World) -> str | None:
    """The customer managed key a custom model was encrypted with at creation, if any."""
    if ":custom-model/" not in model_arn:
        return None
    backend = world.backend("bedrock", model_arn.split(":")[3])
    for job in list(backend.model_customization_jobs.values()):
        if getattr(job, "output_model_arn", None) == model_arn:
            return getattr(job, "output_model_kms_key_arn", None)
    return None


def invoked_custom_model(model_arn: str, world: World) -> str | None:
    """The custom model behind an invoked ARN: itself, or the model of a provisioned throughput or
    custom-model deployment."""
    if ":custom-model/" in model_arn:
        return model_arn
    if ":provisioned-model/" in model_arn or ":custom-model-deployment/" in model_arn:
        from local import bedrock

        backend = world.backend("bedrock", model_arn.split(":")[3])
        endpoint = bedrock.ext(backend).endpoints.get(model_arn)
        if endpoint is not None and ":custom-model/" in endpoint.model_arn:
            return endpoint.model_arn
    return None


def bedrock_resource_tags(kind: str, identifier: str, world: World) -> dict[str, str]:
    """The tags of a customization job, custom model, provisioned throughput or custom-model deployment (by ARN or name);
    {} when it does not exist, which is how IAM sees a resource without tags."""
    from local import bedrock

    region = identifier.split(":")[3] if identifier.startswith("arn:") else None
    backend = world.backend("bedrock", region)
    if kind == "model-customization-job":
        jobs = list(backend.model_customization_jobs.values())
        job = next((j for j in jobs if identifier in (j.job_arn, j.job_name)), None)
        if job is None:
            return {}
        return {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(job.job_arn).get("Tags", [])}
    if kind == "custom-model":
        model = bedrock.find_custom_model(backend, identifier)
        if model is None:
            return {}
        return {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(model.model_arn).get("Tags", [])}
    wanted = "provisioned" if kind == "provisioned-model" else "deployment"
    for endpoint in list(bedrock.ext(backend).endpoints.values()):
        if endpoint.kind == wanted and identifier in (endpoint.arn, endpoint.name):
            return dict(endpoint.tags)
    return {}
