"""Model customization jobs: Bedrock's checks up front, the lifecycle on the emulated clock, the custom
model a completed job leaves and the state-change event a finished job sends."""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote

from lambdas.domain import catalogue, training_metrics
from lambdas.domain.bedrock_requests import request_problems

from .. import state
from . import invocation_logs, rft, s3, store
from .models import custom_model_root, find_custom_model, fm_id, foundation_models, lifecycle_status
from .store import LOCK, JobMeta, error, ext, iso, not_found, validation


def find_job(backend: Any, identifier: str) -> Any:
    """The moto ModelCustomizationJob a name or ARN names (moto matched the URL-encoded ARN against names)."""
    identifier = unquote(identifier)
    if identifier in backend.model_customization_jobs:
        return backend.model_customization_jobs[identifier]
    for job in backend.model_customization_jobs.values():
        if job.job_arn == identifier:
            return job
    raise not_found(f"Model customization job {identifier} not found")


def refuse_what_the_service_model_refuses(operation: str, params: dict[str, Any]) -> None:
    """Every pattern, length, range and enum of botocore's Bedrock service model, as Bedrock's own
    request validation applies them before anything else (the same checker Validate runs, so a
    request Validate lets through and Bedrock would refuse fails here too)."""
    problems = request_problems(operation, params)
    if problems:
        raise validation(
            f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: " + "; ".join(problems)
        )


def _base_root(backend: Any, base: str) -> str:
    """The catalogue model a job's base model (foundation model or custom-model ARN) derives from."""
    root = custom_model_root(base)
    if root is not None and find_custom_model(backend, base) is None:
        raise validation(f"The provided base model {base} does not exist or is not a custom model.")
    if root is None:
        root = fm_id(base)
        if root is None or root not in catalogue.MODELS:
            raise validation(f"The provided base model identifier {base} is not supported for customization.")
    if lifecycle_status(foundation_models()[root]) == "END_OF_LIFE":
        raise validation(
            f"The provided base model identifier {base} has reached end of life and can no longer be customized."
        )
    return root


def _validate_job(backend: Any, params: dict[str, Any]) -> str:
    """Checks Bedrock does up front; returns the root foundation-model id."""
    refuse_what_the_service_model_refuses("CreateModelCustomizationJob", params)
    root = _base_root(backend, params.get("baseModelIdentifier") or "")
    spec = catalogue.MODELS[root]
    ctype = params.get("customizationType") or "FINE_TUNING"
    try:
        if not spec.supports(catalogue.parse_customization_type(ctype)):
            raise validation(f"Model {root} does not support customization type {ctype}.")
    except catalogue.CatalogueError as exc:
        raise validation(str(exc)) from None
    if ctype == rft.RFT.value:
        rft.validate(backend, params, spec)
        return root
    if rft.rft_config(params):
        raise validation(f"customizationConfig.rftConfig is only for REINFORCEMENT_FINE_TUNING jobs, not {ctype}.")
    hyperparameters = params.get("hyperParameters") or {}
    problems = spec.hyperparameter_problems(hyperparameters)
    if problems:
        raise validation("; ".join(f"Hyperparameter {name} {reason}" for name, reason in problems))
    if any(not isinstance(value, str) for value in hyperparameters.values()):
        raise validation("hyperParameters values must be strings")
    if ctype == "DISTILLATION" and not (params.get("customizationConfig") or {}).get("distillationConfig"):
        raise validation("customizationConfig.distillationConfig is required for DISTILLATION jobs.")
    return root


def metrics_location(job: Any, split: str = "training") -> tuple[str, str] | None:
    """Where a completed job writes its ``split`` ("training" or "validation") metrics: (bucket, key) under
    its output, as lambdas.domain.training_metrics documents Bedrock's layout."""
    try:
        bucket, training, validation = training_metrics.metrics_keys(
            (job.output_data_config or {}).get("s3Uri", ""), job.job_arn
        )
    except training_metrics.TrainingMetricsError:
        return None
    return bucket, training if split == "training" else validation


def _losses(job: Any, records: int) -> tuple[float, float]:
    epochs = int(float((job.hyper_parameters or {}).get("epochCount", 2)))
    training = round(1.6 / (1 + 0.4 * epochs) + 0.9 / math.sqrt(records + 1), 4)
    return training, round(training * 1.08, 4)


def _curves(job: Any, records: int, final: tuple[float, float]) -> tuple[list[Any], list[Any]]:
    """Step-wise training loss falling to the job's reported ``final`` loss, with a little deterministic
    noise, and one validation point per epoch ending at the reported validation loss."""
    hyper = job.hyper_parameters or {}
    epochs = max(1, int(float(hyper.get("epochCount", 2))))
    batch = max(1, int(float(hyper.get("batchSize", 1))))
    per_epoch = max(1, min(40, math.ceil(records / batch)))  # capped: a big dataset's file stays small
    steps = epochs * per_epoch
    point = training_metrics.LossPoint

    def loss(step: int, end: float) -> float:
        progress = step / max(steps - 1, 1)
        wobble = 0.03 * math.sin(step * 2.3) * (1 - progress)
        return round(end + 1.4 * end * math.exp(-3.5 * progress) - 1.4 * end * math.exp(-3.5) + wobble, 4)

    training = [
        point(
            step=s,
            epoch=s // per_epoch,
            loss=(loss_value := loss(s, final[0])),
            perplexity=round(math.exp(loss_value), 4),
        )
        for s in range(steps)
    ]
    validation = [
        point(
            step=(e + 1) * per_epoch - 1,
            epoch=e,
            loss=(loss_value := round(loss((e + 1) * per_epoch - 1, final[1]), 4)),
            perplexity=round(math.exp(loss_value), 4),
        )
        for e in range(epochs)
    ]
    return training, validation


def _outcome(backend: Any, job: Any, meta: JobMeta) -> tuple[str, str | None, list[str] | None]:
    """(status, failure message, training lines) the job ends with."""
    outcome = meta.outcome or {}
    status, message = outcome.get("status", "Completed"), outcome.get("message")
    if status != "Completed":
        return status, message, None
    denied = _service_role_denial(backend, job, meta)
    if denied:
        return "Failed", denied, None
    if invocation_logs.logs_config(job.training_data_config):
        lines, failure = invocation_logs.training_lines(
            backend.account_id,
            job.training_data_config,
            invocation_logs.teacher_of(meta.customization_config),
            job=job.job_arn,
        )
        return ("Failed", failure, None) if lines is None else ("Completed", None, lines)
    uri = (job.training_data_config or {}).get("s3Uri", "")
    lines = s3.read_lines(backend.account_id, uri)
    if lines is None:
        return "Failed", f"Training data not found at {uri}.", None
    return "Completed", None, lines


def _is_rft(job: Any) -> bool:
    return getattr(job, "customization_type", None) == rft.RFT.value


def _finish_job(backend: Any, job: Any, meta: JobMeta, now: float) -> None:
    status, message, lines = _outcome(backend, job, meta)
    if status == "Completed" and _is_rft(job):
        if meta.rft is None:  # the job trains against its grader now, and completes once that is done
            rft.start(backend, job, meta, lines or [])
            return
        if not meta.rft.done:
            return
        if meta.rft.failure:
            status, message = "Failed", meta.rft.failure
    job.status = status
    job.end_time = job.last_modified_time = iso(now)
    job.failure_message = message if status == "Failed" else None
    if status == "Completed" and _is_rft(job):
        _complete_model(backend, job, meta, now)
        s3.write(
            backend.account_id,
            _reward_location(job),
            training_metrics.reward_csv(meta.rft.rewards),
        )
    elif status == "Completed":
        training, validation_loss = _losses(job, len(lines or []))
        validated = bool((job.validation_data_config or {}).get("validators"))
        job.training_metrics = {"trainingLoss": training}
        job.validation_metrics = [{"validationLoss": validation_loss}] if validated else None
        _complete_model(backend, job, meta, now)
        training_points, validation_points = _curves(job, len(lines or []), (training, validation_loss))
        s3.write(
            backend.account_id, metrics_location(job), training_metrics.metrics_csv(training_points, "training_loss")
        )
        if validated:
            s3.write(
                backend.account_id,
                metrics_location(job, "validation"),
                training_metrics.metrics_csv(validation_points, "validation_loss"),
            )
    state.current().note("bedrock.job", job=job.job_arn, status=status)
    _send_job_event(backend, job, meta, now)


def _complete_model(backend: Any, job: Any, meta: JobMeta, now: float) -> None:
    model = meta.pending_model
    model.training_metrics = job.training_metrics
    model.validation_metrics = job.validation_metrics
    model.creation_time = iso(now)
    backend.custom_models[model.model_name] = model
    job.output_model_arn = model.model_arn


def _reward_location(job: Any) -> tuple[str, str] | None:
    try:
        return training_metrics.reward_key((job.output_data_config or {}).get("s3Uri", ""), job.job_arn)
    except training_metrics.TrainingMetricsError:
        return None


def _service_role_denial(backend: Any, job: Any, meta: JobMeta) -> str | None:
    """What the job's service role may not do of what the job does (local.authz), as AWS fails the job."""
    from ..authz import services
    from ..authz.world import World

    world = World(backend.account_id, backend.region_name)
    # A job from invocation logs reads the records under invocationLogSource.s3Uri as the service role.
    training = invocation_logs.source_uri(job.training_data_config) or (job.training_data_config or {}).get("s3Uri", "")
    uris = [training] + [v.get("s3Uri", "") for v in (job.validation_data_config or {}).get("validators") or []]
    objects: list[tuple[str, str]] = []
    for uri in uris:
        bucket, keys = s3.objects_at(backend.account_id, uri)
        objects += [(bucket.name, key) for key in keys]
    teacher = invocation_logs.teacher_of(meta.customization_config)
    return services.bedrock_job_access(
        job, world, data_objects=objects, output_object=metrics_location(job), teacher_model=teacher
    )


def _to_second(iso_time: str | None) -> str | None:
    """``2023-08-11T10:11:12.345Z`` -> ``2023-08-11T10:11:12Z``."""
    return re.sub(r"\.\d+Z$", "Z", iso_time) if iso_time else iso_time


def _send_job_event(backend: Any, job: Any, meta: JobMeta, now: float) -> None:
    st = state.current()
    if meta.event_sent:
        return
    meta.event_sent = True
    if st.faults.take_lost_event(job.job_name, job.job_arn):
        st.note("bedrock.event_lost", job=job.job_arn, status=job.status)
        return
    # The detail as documented (read 2026-12-03), field for field:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-eventbridge-how-it-works.html
    # ("Model Customization Job State Change"): times to the second ("2023-08-11T10:11:12Z"), and
    # validationDataConfig as {"s3Uri": ...}, not the API's {"validators": [...]}.
    validators = (job.validation_data_config or {}).get("validators") or []
    detail = {
        "version": "0.0",
        "jobName": job.job_name,
        "jobArn": job.job_arn,
        "outputModelName": job.custom_model_name,
        "outputModelArn": job.output_model_arn,
        "roleArn": job.role_arn,
        "jobStatus": job.status,
        "failureMessage": job.failure_message,
        "creationTime": _to_second(job.creation_time),
        "lastModifiedTime": _to_second(job.last_modified_time),
        "endTime": _to_second(job.end_time),
        "baseModelArn": job.base_model_arn,
        "hyperParameters": job.hyper_parameters,
        "trainingDataConfig": job.training_data_config,
        "validationDataConfig": {"s3Uri": validators[0]["s3Uri"]} if validators else None,
        "outputDataConfig": job.output_data_config,
    }
    from ..events_ext import put_event

    put_event(
        backend.account_id,
        backend.region_name,
        source="aws.bedrock",
        detail_type="Model Customization Job State Change",
        detail={k: v for k, v in detail.items() if v not in (None, {}, [])},
        resources=[job.job_arn],
        time=now,
    )


def tick_jobs(backend: Any, now: float) -> None:
    """Move every job of ``backend`` on to emulated ``now`` (caller holds LOCK)."""
    st = state.current()
    for name, meta in list(ext(backend).jobs.items()):
        job = backend.model_customization_jobs.get(name)
        if job is None:
            continue
        if job.status == "InProgress" and now >= meta.due:
            if meta.outcome and meta.outcome.get("status") == "Stopped":
                job.status = "Stopping"
                meta.stop_due = now
            else:
                _finish_job(backend, job, meta, now)
        if job.status == "Stopping" and meta.stop_due is not None and now >= meta.stop_due:
            job.status = "Stopped"
            job.end_time = job.last_modified_time = iso(now)
            job.failure_message = None
            st.note("bedrock.job", job=job.job_arn, status="Stopped")
            _send_job_event(backend, job, meta, now)


def jobs_due(backend: Any) -> list[float]:
    """When each running job of ``backend`` next changes (caller holds LOCK)."""
    dues: list[float] = []
    for name, meta in ext(backend).jobs.items():
        job = backend.model_customization_jobs.get(name)
        if job is None:
            continue
        if job.status == "InProgress" and not (meta.rft is not None and not meta.rft.done):  # grading: not due
            dues.append(meta.due)
        elif job.status == "Stopping" and meta.stop_due is not None:
            dues.append(meta.stop_due)
    return dues


# --- handlers -------------------------------------------------------------------------------
def _register(backend: Any, params: dict[str, Any]) -> Any:
    """The job as moto creates it (its ARN and the custom model it will leave shaped by local.bedrock.glue)."""
    training = params.get("trainingDataConfig") or {}
    logged = invocation_logs.source_uri(training)
    backend.create_model_customization_job(
        job_name=params.get("jobName"),
        custom_model_name=params.get("customModelName"),
        role_arn=params.get("roleArn"),
        client_request_token=params.get("clientRequestToken"),
        base_model_identifier=params.get("baseModelIdentifier"),
        customization_type=params.get("customizationType") or "FINE_TUNING",
        custom_model_kms_key_id=params.get("customModelKmsKeyId"),
        job_tags=params.get("jobTags"),
        custom_model_tags=params.get("customModelTags"),
        # moto's job insists on an s3Uri; Bedrock's union takes invocationLogsConfig instead (restored below).
        training_data_config={"s3Uri": logged} if logged else training,
        validation_data_config=params.get("validationDataConfig"),
        output_data_config=params.get("outputDataConfig") or {},
        hyper_parameters=params.get("hyperParameters") or {},
        vpc_config=params.get("vpcConfig"),
    )
    job = backend.model_customization_jobs[params.get("jobName")]
    job.training_data_config = training
    backend.custom_models[params.get("customModelName")].training_data_config = training
    return job


def create_model_customization_job(response: Any) -> str:
    from ..authz import services
    from ..authz.world import World

    params = store.params(response)
    backend = response.bedrock_backend
    st = state.current()
    with LOCK:
        data = ext(backend)
        token = params.get("clientRequestToken")
        if token and token in data.job_tokens and data.job_tokens[token] in backend.model_customization_jobs:
            return json.dumps({"jobArn": backend.model_customization_jobs[data.job_tokens[token]].job_arn})
        _validate_job(backend, params)
        name = params.get("customModelName")
        if any(job.custom_model_name == name for job in backend.model_customization_jobs.values()):
            raise error("ConflictException", f"A custom model named {name} already exists or is being created.", 409)
        job = _register(backend, params)
        model = backend.custom_models.pop(name)  # exists only once the job completes
        refused = services.bedrock_may_assume(job.role_arn, job.job_arn, World(backend.account_id, backend.region_name))
        if refused:
            del backend.model_customization_jobs[job.job_name]
            raise error("AccessDeniedException", refused, 403)
        now = st.clock.now()
        job.creation_time = job.last_modified_time = iso(now)
        job.end_time = job.failure_message = job.output_model_arn = None
        job.training_metrics = job.validation_metrics = None
        job.customization_config = params.get("customizationConfig")
        meta = JobMeta(
            due=now + st.settings.job_duration,
            pending_model=model,
            customization_config=params.get("customizationConfig"),
            outcome=st.faults.take_job_outcome(job.job_name, job.job_arn),
        )
        data.jobs[job.job_name] = meta
        if token:
            data.job_tokens[token] = job.job_name
        st.note("bedrock.job", job=job.job_arn, status="InProgress")
    return json.dumps({"jobArn": job.job_arn})


def get_model_customization_job(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    return json.dumps(find_job(backend, store.identifier(response, "jobIdentifier")).to_dict())


def stop_model_customization_job(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    with LOCK:
        job = find_job(backend, store.identifier(response, "jobIdentifier", -2))
        if job.status != "InProgress":
            raise validation(f"Job {job.job_name} is {job.status}; only an InProgress job can be stopped.")
        now = state.current().clock.now()
        job.status = "Stopping"
        job.last_modified_time = iso(now)
        meta = ext(backend).jobs.get(job.job_name)
        if meta is not None:
            meta.stop_due = now + state.current().settings.stop_duration
    return json.dumps({})
