"""Bedrock control plane: what moto 5.2.5 lacks or gets wrong (see /work/shared/local-emulation.md §1).

Customization jobs
    * ARNs shaped like AWS's: ``model-customization-job/<base-model-id>/<12 chars>``; lookups (get,
      stop) accept the job name or the ARN (moto matched the URL-encoded ARN against names).
    * ``clientRequestToken``: the same token returns the same job, no error.
    * base model, customization type and hyperparameters are checked against the project catalogue
      (``lambdas.domain.catalogue``): what Bedrock would refuse is a ValidationException.
    * lifecycle on the emulated clock: InProgress for ``settings.job_duration`` emulated seconds, then
      Completed (or Failed / Stopped when a fault says so, or Failed when the training data is not in
      S3); Stop -> Stopping -> Stopped. Completed jobs get training (and validation) loss, a
      ``step_wise_training_metrics.csv`` in the output location, and a custom model that exists:
      ``custom-model/<base-model-id>/<12 chars>`` = the job's ``outputModelArn`` (moto pointed at a
      model it never registered). The model only exists once the job has completed, as in AWS.
    * ``customizationConfig`` and ``vpcConfig`` round-trip.
    * on a terminal status the ``Model Customization Job State Change`` event goes to the default bus
      (unless a lost-event fault is armed).

Provisioned throughput (Creating -> InService | Failed, or Creating until deleted when a stall fault
says so), custom-model deployments (Creating -> Active | Failed), evaluation jobs (InProgress ->
Completed, minimal), foundation models from the catalogue. :func:`next_due` tells the emulated clock
when the next of these changes is due.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import state

LOCK = threading.RLock()
_APPLIED = False
_CONTEXT_SUFFIX = re.compile(r"^(?P<base>.+:\d+):\d+k$")
_FM_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*::foundation-model/(?P<id>.+)$")
_CUSTOM_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model/.+$")
# The s3Uri constraint of TrainingDataConfig, Validator and OutputDataConfig (read 2026-12-03):
# https://docs.aws.amazon.com/bedrock/latest/APIReference/API_TrainingDataConfig.html. Key segments may
# hold only ASCII letters, digits and -!_*'(). : no space, '+', '%' or non-ASCII letter.


def _suffix(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def _iso(ts: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _catalogue():
    from lambdas.domain import catalogue

    return catalogue


# ------------------------------------------------------------------------------------------------
# Extension state kept on each moto BedrockBackend (cleared with it by moto's reset)
# ------------------------------------------------------------------------------------------------
@dataclass
class _JobMeta:
    created: float
    due: float
    stop_due: float | None = None
    outcome: dict | None = None  # fault: {"status", "message"}
    pending_model: Any = None  # moto CustomModel, registered on completion
    customization_config: dict | None = None
    event_sent: bool = False


@dataclass
class _Endpoint:
    kind: str  # provisioned | deployment
    arn: str
    name: str
    model_arn: str
    foundation_model_arn: str
    created: float
    due: float
    status: str
    failure: str | None = None
    model_units: int = 1
    commitment: str | None = None
    description: str | None = None
    updated: float = 0.0
    tags: dict = field(default_factory=dict)  # what IAM sees as aws:ResourceTag/<key> (local.authz)

    def commitment_expires(self) -> float | None:
        """When a committed throughput's term ends (emulated months of 30 days), else None."""
        if not self.commitment:
            return None
        return self.created + (1 if self.commitment == "OneMonth" else 6) * 30 * 86400


@dataclass
class _Evaluation:
    arn: str
    name: str
    params: dict
    created: float
    due: float
    status: str = "InProgress"
    updated: float = 0.0


@dataclass
class _Ext:
    jobs: dict[str, _JobMeta] = field(default_factory=dict)  # by job name
    job_tokens: dict[str, str] = field(default_factory=dict)  # clientRequestToken -> job name
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)  # by ARN
    endpoint_tokens: dict[str, str] = field(default_factory=dict)
    evaluations: dict[str, _Evaluation] = field(default_factory=dict)
    evaluation_tokens: dict[str, str] = field(default_factory=dict)


def ext(backend) -> _Ext:
    data = backend.__dict__.get("_tuneforge")
    if data is None:
        data = backend.__dict__["_tuneforge"] = _Ext()
    return data


def _exc():
    from moto.bedrock import exceptions

    return exceptions


class ConflictException(Exception):
    pass


def _error(code: str, message: str, status: int = 400):
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError(code, message)
    err.code = status
    return err


def _validation(message: str):
    return _error("ValidationException", message, 400)


def _not_found(message: str):
    return _error("ResourceNotFoundException", message, 404)


# ------------------------------------------------------------------------------------------------
# Model resolution
# ------------------------------------------------------------------------------------------------
def foundation_model_ids() -> dict[str, dict]:
    """Every foundation model the emulator knows: catalogue ids (customizable, provisioned only),
    their on-demand base ids (context suffix stripped) and the distillation teachers."""
    cat = _catalogue()
    models: dict[str, dict] = {}
    for spec in cat.MODELS.values():
        models[spec.model_id] = {
            "modelName": spec.name,
            "providerName": spec.provider.capitalize() if spec.provider != "amazon" else "Amazon",
            "customizationsSupported": sorted(t.value for t in spec.customization_types),
            "inferenceTypesSupported": ["PROVISIONED"],
            "lifecycle": spec.lifecycle,
        }
        match = _CONTEXT_SUFFIX.match(spec.model_id)
        if match:
            # on-demand ids: "amazon.nova-micro-v1:0"; Titan and Cohere drop the version too
            # ("amazon.titan-text-express-v1"), so both spellings are accepted
            for on_demand in (match.group("base"), match.group("base").rsplit(":", 1)[0]):
                models.setdefault(
                    on_demand,
                    {
                        "modelName": spec.name,
                        "providerName": spec.provider.capitalize() if spec.provider != "amazon" else "Amazon",
                        "customizationsSupported": [],
                        "inferenceTypesSupported": ["ON_DEMAND"],
                        "lifecycle": spec.lifecycle,
                    },
                )
    for teacher in cat.TEACHER_MODELS.values():
        models.setdefault(
            teacher.model_id,
            {
                "modelName": teacher.name,
                "providerName": teacher.model_id.split(".", 1)[0].capitalize(),
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND"],
                "lifecycle": teacher.lifecycle,
            },
        )
    return models


def fm_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def fm_id(identifier: str) -> str | None:
    """Foundation-model id of an id or ARN, or None when it is not a known foundation model."""
    match = _FM_ARN.match(identifier)
    model_id = match.group("id") if match else identifier
    return model_id if model_id in foundation_model_ids() else None


def find_custom_model(backend, identifier: str):
    for model in backend.custom_models.values():
        if identifier in (model.model_arn, model.model_name):
            return model
    return None


def find_job(backend, identifier: str):
    identifier = unquote(identifier)
    if identifier in backend.model_customization_jobs:
        return backend.model_customization_jobs[identifier]
    for job in backend.model_customization_jobs.values():
        if job.job_arn == identifier:
            return job
    raise _not_found(f"Model customization job {identifier} not found")


def root_foundation_model(backend, identifier: str) -> str | None:
    """The foundation model a model identifier (FM id/ARN or custom-model ARN/name) derives from."""
    if fm_id(identifier):
        return fm_id(identifier)
    model = find_custom_model(backend, identifier)
    if model is not None:
        return getattr(model, "_tf_base_id", None)
    return None


# ------------------------------------------------------------------------------------------------
# Customization jobs
# ------------------------------------------------------------------------------------------------
def _refuse_what_the_service_model_refuses(operation: str, params: dict) -> None:
    """Every pattern, length, range and enum of botocore's Bedrock service model, as Bedrock's own
    request validation applies them before anything else (the same checker Validate runs, so a
    request Validate lets through and Bedrock would refuse fails here too)."""
    from lambdas.domain.bedrock_requests import request_problems

    problems = request_problems(operation, params)
    if problems:
        raise _validation(
            f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: " + "; ".join(problems)
        )


def _validate_job(backend, params: dict) -> str:
    """Checks Bedrock does up front; returns the root foundation-model id."""
    _refuse_what_the_service_model_refuses("CreateModelCustomizationJob", params)
    cat = _catalogue()
    base = params.get("baseModelIdentifier") or ""
    if _CUSTOM_ARN.match(base):
        model = find_custom_model(backend, base)
        if model is None:
            raise _validation(f"The provided base model {base} does not exist or is not a custom model.")
        root = model._tf_base_id
    else:
        root = fm_id(base)
        if root is None or root not in cat.MODELS:
            raise _validation(f"The provided base model identifier {base} is not supported for customization.")
    spec = cat.MODELS[root]
    if lifecycle_status(foundation_model_ids()[root]) == "END_OF_LIFE":
        raise _validation(
            f"The provided base model identifier {base} has reached end of life and can no longer be customized."
        )
    ctype = params.get("customizationType") or "FINE_TUNING"
    try:
        if not spec.supports(cat.parse_customization_type(ctype)):
            raise _validation(f"Model {root} does not support customization type {ctype}.")
    except cat.CatalogueError as exc:
        raise _validation(str(exc)) from None
    problems = spec.hyperparameter_problems(params.get("hyperParameters") or {})
    if problems:
        raise _validation("; ".join(f"Hyperparameter {name} {reason}" for name, reason in problems))
    for value in (params.get("hyperParameters") or {}).values():
        if not isinstance(value, str):
            raise _validation("hyperParameters values must be strings")
    if ctype == "DISTILLATION" and not (params.get("customizationConfig") or {}).get("distillationConfig"):
        raise _validation("customizationConfig.distillationConfig is required for DISTILLATION jobs.")
    return root


def _s3_location(uri: str) -> tuple[str, str] | None:
    """(bucket, key or prefix) of an ``s3://`` URI, or None."""
    match = re.match(r"^s3://([^/]+)/?(.*)$", uri or "")
    return (match.group(1), match.group(2)) if match else None


def _objects_at(account_id: str, uri: str) -> tuple[Any, list[str]]:
    """The bucket and the keys Bedrock reads at ``uri``: the object itself if it exists, else every
    object under the prefix; (None, []) when there is no such bucket."""
    from moto.s3.models import s3_backends

    location = _s3_location(uri)
    if location is None:
        return None, []
    try:
        bucket = s3_backends[account_id]["aws"].get_bucket(location[0])
    except Exception:
        return None, []
    key = location[1]
    keys = (
        [key]
        if key and bucket.keys.get(key) is not None
        else sorted(k for k in bucket.keys.keys() if k.startswith(key) and not k.endswith("/"))
    )
    return bucket, keys


def _read_s3_text(account_id: str, uri: str) -> list[str] | None:
    """Lines of the JSONL object(s) at ``uri`` (an object or a prefix), or None when nothing is there."""
    bucket, keys = _objects_at(account_id, uri)
    if not keys:
        return None
    lines: list[str] = []
    for k in keys:
        obj = bucket.keys.get(k)
        if obj is None:
            continue
        lines.extend(line for line in obj.value.decode("utf-8", "replace").splitlines() if line.strip())
    return lines


def _metrics_location(job) -> tuple[str, str] | None:
    """Where a completed job writes its step-wise training metrics: (bucket, key) under its output."""
    location = _s3_location((job.output_data_config or {}).get("s3Uri", ""))
    if location is None:
        return None
    job_id = job.job_arn.rsplit("/", 1)[-1]
    name = f"model-customization-job-{job_id}/training_artifacts/step_wise_training_metrics.csv"
    return location[0], "/".join(p.strip("/") for p in (location[1], name) if p.strip("/"))


def _write_s3(account_id: str, location: tuple[str, str] | None, body: str) -> None:
    from moto.s3.models import s3_backends

    if location is None:
        return
    try:
        s3_backends[account_id]["aws"].put_object(location[0], location[1], body.encode())
    except Exception:
        pass  # no output bucket: AWS would have failed the job earlier; keep the run going


def _metrics(job, records: int) -> tuple[float, float]:
    epochs = int(float((job.hyper_parameters or {}).get("epochCount", 2)))
    training = round(1.6 / (1 + 0.4 * epochs) + 0.9 / math.sqrt(records + 1), 4)
    return training, round(training * 1.08, 4)


def _finish_job(backend, job, meta: _JobMeta, now: float) -> None:
    st = state.current()
    outcome = meta.outcome or {}
    status = outcome.get("status", "Completed")
    message = outcome.get("message")
    lines = None
    if status == "Completed":
        denied = _service_role_denial(backend, job, meta)
        if denied:
            status, message = "Failed", denied
    if status == "Completed":
        lines = _read_s3_text(backend.account_id, (job.training_data_config or {}).get("s3Uri", ""))
        if lines is None:
            status, message = "Failed", f"Training data not found at {(job.training_data_config or {}).get('s3Uri')}."
    job.status = status
    job.end_time = _iso(now)
    job.last_modified_time = _iso(now)
    job.failure_message = message if status == "Failed" else None
    if status == "Completed":
        training, validation = _metrics(job, len(lines or []))
        job.training_metrics = {"trainingLoss": training}
        job.validation_metrics = [{"validationLoss": validation}] if job.validation_data_config else None
        model = meta.pending_model
        model.training_metrics = job.training_metrics
        model.validation_metrics = job.validation_metrics
        model.creation_time = _iso(now)
        backend.custom_models[model.model_name] = model
        job.output_model_arn = model.model_arn
        csv = "step_number,epoch_number,training_loss\n" + "".join(
            f"{i},{i // 2},{round(training + 0.5 / (i + 1), 4)}\n" for i in range(1, 9)
        )
        _write_s3(backend.account_id, _metrics_location(job), csv)
    st.note("bedrock.job", job=job.job_arn, status=status)
    _send_job_event(backend, job, meta, now)


def _service_role_denial(backend, job, meta: _JobMeta) -> str | None:
    """What the job's service role may not do of what the job does (local.authz), as AWS fails the job."""
    from .authz import services
    from .authz.world import World

    world = World(backend.account_id, backend.region_name)
    uris = [(job.training_data_config or {}).get("s3Uri", "")] + [
        v.get("s3Uri", "") for v in (job.validation_data_config or {}).get("validators") or []
    ]
    objects: list[tuple[str, str]] = []
    for uri in uris:
        bucket, keys = _objects_at(backend.account_id, uri)
        objects += [(bucket.name, key) for key in keys]
    teacher = (
        ((meta.customization_config or {}).get("distillationConfig") or {})
        .get("teacherModelConfig", {})
        .get("teacherModelIdentifier")
    )
    if teacher and teacher.startswith("arn:"):
        teacher = teacher.rsplit("/", 1)[-1]
    return services.bedrock_job_access(
        job, world, data_objects=objects, output_object=_metrics_location(job), teacher_model=teacher
    )


def _send_job_event(backend, job, meta: _JobMeta, now: float) -> None:
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
    detail = {k: v for k, v in detail.items() if v not in (None, {}, [])}
    from .events_ext import put_event

    put_event(
        backend.account_id,
        backend.region_name,
        source="aws.bedrock",
        detail_type="Model Customization Job State Change",
        detail=detail,
        resources=[job.job_arn],
        time=now,
    )


def _to_second(iso: str | None) -> str | None:
    """``2023-08-11T10:11:12.345Z`` -> ``2023-08-11T10:11:12Z``."""
    return re.sub(r"\.\d+Z$", "Z", iso) if iso else iso


def tick_backend(backend, now: float | None = None) -> None:
    """Advance every lifecycle in one Bedrock backend to emulated ``now``."""
    st = state.current()
    now = st.clock.now() if now is None else now
    with LOCK:
        data = ext(backend)
        for name, meta in list(data.jobs.items()):
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
                job.end_time = job.last_modified_time = _iso(now)
                job.failure_message = None
                st.note("bedrock.job", job=job.job_arn, status="Stopped")
                _send_job_event(backend, job, meta, now)
        for ep in data.endpoints.values():
            if ep.status == "Creating" and now >= ep.due:
                ep.status = "Failed" if ep.failure else ("InService" if ep.kind == "provisioned" else "Active")
                ep.updated = now
                st.note(f"bedrock.{ep.kind}", arn=ep.arn, status=ep.status)
        for ev in data.evaluations.values():
            if ev.status == "InProgress" and now >= ev.due:
                ev.status, ev.updated = "Completed", now
            elif ev.status == "Stopping":
                ev.status, ev.updated = "Stopped", now


def _extended_backends():
    from moto.bedrock.models import bedrock_backends

    for _account, _region, backend in list(bedrock_backends.iter_backends()):
        if backend.__dict__.get("_tuneforge") is not None:
            yield backend


def tick_all() -> None:
    now = state.current().clock.now()
    for backend in _extended_backends():
        tick_backend(backend, now)


def next_due() -> float | None:
    """Emulated time of the next lifecycle change in any Bedrock backend (None: nothing pending);
    the clock jumps there when nothing else is due first (see local.clock)."""
    dues: list[float] = []
    with LOCK:
        for backend in _extended_backends():
            data = ext(backend)
            for name, meta in data.jobs.items():
                job = backend.model_customization_jobs.get(name)
                if job is None:
                    continue
                if job.status == "InProgress":
                    dues.append(meta.due)
                elif job.status == "Stopping" and meta.stop_due is not None:
                    dues.append(meta.stop_due)
            dues.extend(ep.due for ep in data.endpoints.values() if ep.status == "Creating")
            for ev in data.evaluations.values():
                if ev.status == "InProgress":
                    dues.append(ev.due)
                elif ev.status == "Stopping":
                    dues.append(state.current().clock.now())
    return min(dues, default=None)


# ------------------------------------------------------------------------------------------------
# HTTP handlers added to moto's BedrockResponse
# ------------------------------------------------------------------------------------------------
def _identifier(self, key: str, index: int = -1) -> str:
    value = (getattr(self, "uri_match", None) or {}).get(key)
    if not value:
        value = self.path.rstrip("/").split("/")[index]
    return unquote(value)


def _params(self) -> dict:
    try:
        return json.loads(self.body or "{}")
    except ValueError:
        return {}


def _qs(self, name: str) -> str | None:
    values = self.querystring.get(name)
    if isinstance(values, list):
        return values[0] if values else None
    return values


def create_model_customization_job(self) -> str:
    params = _params(self)
    backend = self.bedrock_backend
    st = state.current()
    with LOCK:
        data = ext(backend)
        token = params.get("clientRequestToken")
        if token and token in data.job_tokens and data.job_tokens[token] in backend.model_customization_jobs:
            return json.dumps({"jobArn": backend.model_customization_jobs[data.job_tokens[token]].job_arn})
        root = _validate_job(backend, params)
        name = params.get("customModelName")
        if any(job.custom_model_name == name for job in backend.model_customization_jobs.values()):
            raise _error("ConflictException", f"A custom model named {name} already exists or is being created.", 409)
        now = st.clock.now()
        job_arn = backend.create_model_customization_job(
            job_name=params.get("jobName"),
            custom_model_name=name,
            role_arn=params.get("roleArn"),
            client_request_token=token,
            base_model_identifier=params.get("baseModelIdentifier"),
            customization_type=params.get("customizationType") or "FINE_TUNING",
            custom_model_kms_key_id=params.get("customModelKmsKeyId"),
            job_tags=params.get("jobTags"),
            custom_model_tags=params.get("customModelTags"),
            training_data_config=params.get("trainingDataConfig") or {},
            validation_data_config=params.get("validationDataConfig"),
            output_data_config=params.get("outputDataConfig") or {},
            hyper_parameters=params.get("hyperParameters") or {},
            vpc_config=params.get("vpcConfig"),
        )
        job = backend.model_customization_jobs[params.get("jobName")]
        model = backend.custom_models.pop(name)  # exists only once the job completes
        from .authz import services
        from .authz.world import World

        refused = services.bedrock_may_assume(job.role_arn, job_arn, World(backend.account_id, backend.region_name))
        if refused:
            del backend.model_customization_jobs[params.get("jobName")]
            raise _error("AccessDeniedException", refused, 403)
        model._tf_base_id = root
        job._tf_root = root
        job.creation_time = job.last_modified_time = _iso(now)
        job.end_time = None
        job.failure_message = None
        job.output_model_arn = None
        job.training_metrics = None
        job.validation_metrics = None
        job._tf_customization_config = params.get("customizationConfig")
        meta = _JobMeta(
            created=now,
            due=now + st.settings.job_duration,
            pending_model=model,
            customization_config=params.get("customizationConfig"),
        )
        meta.outcome = st.faults.take_job_outcome(job.job_name, job_arn)
        data.jobs[job.job_name] = meta
        if token:
            data.job_tokens[token] = job.job_name
        st.note("bedrock.job", job=job_arn, status="InProgress")
    return json.dumps({"jobArn": job_arn})


def get_model_customization_job(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    job = find_job(backend, _identifier(self, "jobIdentifier"))
    return json.dumps(job.to_dict())


def stop_model_customization_job(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    with LOCK:
        job = find_job(backend, _identifier(self, "jobIdentifier", -2))
        if job.status != "InProgress":
            raise _validation(f"Job {job.job_name} is {job.status}; only an InProgress job can be stopped.")
        meta = ext(backend).jobs.get(job.job_name)
        job.status = "Stopping"
        job.last_modified_time = _iso(state.current().clock.now())
        if meta is not None:
            meta.stop_due = state.current().clock.now() + state.current().settings.stop_duration
    return json.dumps({})


def list_model_customization_jobs_wrapper(original):
    def list_model_customization_jobs(self) -> str:
        tick_backend(self.bedrock_backend)
        return original(self)

    return list_model_customization_jobs


def get_custom_model(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    identifier = _identifier(self, "modelIdentifier")
    model = find_custom_model(backend, identifier)
    if model is None:
        raise _not_found(f"Custom model {identifier} not found")
    return json.dumps(model.to_dict())


def delete_custom_model(self) -> str:
    backend = self.bedrock_backend
    identifier = _identifier(self, "modelIdentifier")
    with LOCK:
        model = find_custom_model(backend, identifier)
        if model is None:
            raise _not_found(f"Custom model {identifier} not found")
        for ep in ext(backend).endpoints.values():
            if ep.model_arn == model.model_arn:
                raise _validation(f"Custom model {model.model_name} is in use by {ep.arn}; delete it first.")
        del backend.custom_models[model.model_name]
    return json.dumps({})


# --- provisioned throughput and custom-model deployments ----------------------------------------
def _find_endpoint(backend, kind: str, identifier: str) -> _Endpoint:
    identifier = unquote(identifier)
    for ep in ext(backend).endpoints.values():
        if ep.kind == kind and identifier in (ep.arn, ep.name):
            return ep
    label = "Provisioned model" if kind == "provisioned" else "Custom model deployment"
    raise _not_found(f"{label} {identifier} not found")


def _create_endpoint(
    self, kind: str, name: str, model_id: str, token: str | None, tags: list | None, **extra
) -> _Endpoint:
    backend = self.bedrock_backend
    st = state.current()
    with LOCK:
        data = ext(backend)
        if token and (kind, token) in data.endpoint_tokens:
            return data.endpoints[data.endpoint_tokens[(kind, token)]]
        if any(ep.kind == kind and ep.name == name for ep in data.endpoints.values()):
            raise _error("ConflictException", f"{name} already exists.", 409)
        model = find_custom_model(backend, model_id)
        if model is not None:
            model_arn, root = model.model_arn, model._tf_base_id
        elif kind == "provisioned" and fm_id(model_id):
            root = fm_id(model_id)
            model_arn = fm_arn(backend.region_name, root)
        else:
            raise _validation(
                f"The provided model identifier {model_id} is not a custom model that exists"
                + ("" if kind == "deployment" else " or a foundation model")
                + "."
            )
        if kind == "deployment":
            spec = _catalogue().MODELS.get(root)
            if spec is None or not spec.supports_on_demand_deployment:
                raise _validation(
                    f"On-demand deployment is not supported for models customized from {root}; use provisioned throughput."
                )
        now = st.clock.now()
        prefix = "provisioned-model" if kind == "provisioned" else "custom-model-deployment"
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:{prefix}/{_suffix(f'{kind}/{name}/{now}')}"
        duration = st.settings.provisioned_duration if kind == "provisioned" else st.settings.deployment_duration
        failure = st.faults.take_endpoint_failure(kind, name)
        if st.faults.take_endpoint_stall(kind, name):
            duration = math.inf  # stays Creating until deleted
        ep = _Endpoint(
            kind,
            arn,
            name,
            model_arn,
            fm_arn(backend.region_name, root),
            now,
            now + duration,
            "Creating",
            failure,
            updated=now,
            tags={t["key"]: t["value"] for t in tags or []},
            **extra,
        )
        data.endpoints[arn] = ep
        if token:
            data.endpoint_tokens[(kind, token)] = arn
        st.note(f"bedrock.{kind}", arn=arn, status="Creating")
        return ep


def _endpoint_dict(ep: _Endpoint) -> dict:
    if ep.kind == "provisioned":
        out = {
            "modelUnits": ep.model_units,
            "desiredModelUnits": ep.model_units,
            "provisionedModelName": ep.name,
            "provisionedModelArn": ep.arn,
            "modelArn": ep.model_arn,
            "desiredModelArn": ep.model_arn,
            "foundationModelArn": ep.foundation_model_arn,
            "status": ep.status,
            "creationTime": _iso(ep.created),
            "lastModifiedTime": _iso(ep.updated),
        }
        if ep.commitment:
            out["commitmentDuration"] = ep.commitment
            out["commitmentExpirationTime"] = _iso(ep.commitment_expires())
    else:
        out = {
            "customModelDeploymentArn": ep.arn,
            "modelDeploymentName": ep.name,
            "modelArn": ep.model_arn,
            "createdAt": _iso(ep.created),
            "status": ep.status,
            "lastUpdatedAt": _iso(ep.updated),
        }
        if ep.description:
            out["description"] = ep.description
    if ep.failure and ep.status == "Failed":
        out["failureMessage"] = ep.failure
    return out


def create_provisioned_model_throughput(self):
    params = _params(self)
    _refuse_what_the_service_model_refuses("CreateProvisionedModelThroughput", params)
    if not params.get("provisionedModelName") or not params.get("modelId") or int(params.get("modelUnits") or 0) < 1:
        raise _validation("modelUnits (>= 1), provisionedModelName and modelId are required.")
    ep = _create_endpoint(
        self,
        "provisioned",
        params["provisionedModelName"],
        params["modelId"],
        params.get("clientRequestToken"),
        params.get("tags"),
        model_units=int(params["modelUnits"]),
        commitment=params.get("commitmentDuration"),
    )
    return 201, {"status": 201}, json.dumps({"provisionedModelArn": ep.arn})


def get_provisioned_model_throughput(self) -> str:
    tick_backend(self.bedrock_backend)
    return json.dumps(
        _endpoint_dict(_find_endpoint(self.bedrock_backend, "provisioned", _identifier(self, "provisionedModelId")))
    )


def delete_provisioned_model_throughput(self) -> str:
    backend = self.bedrock_backend
    with LOCK:
        ep = _find_endpoint(backend, "provisioned", _identifier(self, "provisionedModelId"))
        # Refused only while the term runs; afterwards it bills by the hour until deleted (the facts and
        # their sources: lambdas/domain/janitor.py).
        expires = ep.commitment_expires()
        if expires is not None and state.current().clock.now() < expires:
            raise _validation(
                f"Provisioned model {ep.name} has a {ep.commitment} commitment and cannot be deleted before its term ends ({_iso(expires)})."
            )
        del ext(backend).endpoints[ep.arn]
        state.current().note("bedrock.provisioned", arn=ep.arn, status="Deleted")
    return json.dumps({})


def list_provisioned_model_throughputs(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    status, name, model = _qs(self, "statusEquals"), _qs(self, "nameContains"), _qs(self, "modelArnEquals")
    items = [
        _endpoint_dict(ep)
        for ep in ext(backend).endpoints.values()
        if ep.kind == "provisioned"
        and (not status or ep.status == status)
        and (not name or name in ep.name)
        and (not model or ep.model_arn == model)
    ]
    for item in items:
        item.pop("failureMessage", None)
    return json.dumps({"provisionedModelSummaries": items})


def create_custom_model_deployment(self):
    params = _params(self)
    _refuse_what_the_service_model_refuses("CreateCustomModelDeployment", params)
    if not params.get("modelDeploymentName") or not params.get("modelArn"):
        raise _validation("modelDeploymentName and modelArn are required.")
    ep = _create_endpoint(
        self,
        "deployment",
        params["modelDeploymentName"],
        params["modelArn"],
        params.get("clientRequestToken"),
        params.get("tags"),
        description=params.get("description"),
    )
    return 202, {"status": 202}, json.dumps({"customModelDeploymentArn": ep.arn})


def get_custom_model_deployment(self) -> str:
    tick_backend(self.bedrock_backend)
    return json.dumps(
        _endpoint_dict(
            _find_endpoint(self.bedrock_backend, "deployment", _identifier(self, "customModelDeploymentIdentifier"))
        )
    )


def delete_custom_model_deployment(self) -> str:
    backend = self.bedrock_backend
    with LOCK:
        ep = _find_endpoint(backend, "deployment", _identifier(self, "customModelDeploymentIdentifier"))
        del ext(backend).endpoints[ep.arn]
        state.current().note("bedrock.deployment", arn=ep.arn, status="Deleted")
    return json.dumps({})


def list_custom_model_deployments(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    status, name, model = _qs(self, "statusEquals"), _qs(self, "nameContains"), _qs(self, "modelArnEquals")
    items = []
    for ep in ext(backend).endpoints.values():
        if (
            ep.kind == "deployment"
            and (not status or ep.status == status)
            and (not name or name in ep.name)
            and (not model or ep.model_arn == model)
        ):
            item = _endpoint_dict(ep)
            items.append(
                {
                    "customModelDeploymentArn": ep.arn,
                    "customModelDeploymentName": ep.name,
                    "modelArn": ep.model_arn,
                    "createdAt": item["createdAt"],
                    "status": ep.status,
                    "lastUpdatedAt": item["lastUpdatedAt"],
                    **({"failureMessage": ep.failure} if ep.failure and ep.status == "Failed" else {}),
                }
            )
    return json.dumps({"modelDeploymentSummaries": items})


# --- evaluation jobs (minimal) ----------------------------------------------------------------
def create_evaluation_job(self):
    params = _params(self)
    backend = self.bedrock_backend
    st = state.current()
    for key in ("jobName", "roleArn", "evaluationConfig", "inferenceConfig", "outputDataConfig"):
        if not params.get(key):
            raise _validation(f"{key} is required.")
    with LOCK:
        data = ext(backend)
        token = params.get("clientRequestToken")
        if token and token in data.evaluation_tokens:
            return 202, {"status": 202}, json.dumps({"jobArn": data.evaluation_tokens[token]})
        for model in params["inferenceConfig"].get("models") or []:
            identifier = (model.get("bedrockModel") or {}).get("modelIdentifier")
            if identifier and (_CUSTOM_ARN.match(identifier) or ":custom-model-deployment/" in identifier):
                raise _validation(
                    f"Model identifier {identifier} is not supported by evaluation jobs: use a provisioned model ARN."
                )
        now = st.clock.now()
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:evaluation-job/{_suffix('eval/' + params['jobName'] + str(now))}"
        data.evaluations[arn] = _Evaluation(
            arn, params["jobName"], params, now, now + st.settings.evaluation_duration, updated=now
        )
        if token:
            data.evaluation_tokens[token] = arn
    return 202, {"status": 202}, json.dumps({"jobArn": arn})


def _find_evaluation(backend, identifier: str) -> _Evaluation:
    identifier = unquote(identifier)
    for ev in ext(backend).evaluations.values():
        if identifier in (ev.arn, ev.name):
            return ev
    raise _not_found(f"Evaluation job {identifier} not found")


def get_evaluation_job(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    ev = _find_evaluation(backend, _identifier(self, "jobIdentifier"))
    p = ev.params
    return json.dumps(
        {
            "jobName": ev.name,
            "status": ev.status,
            "jobArn": ev.arn,
            "roleArn": p["roleArn"],
            "jobType": "Automated" if "automated" in p["evaluationConfig"] else "Human",
            "applicationType": p.get("applicationType", "ModelEvaluation"),
            "evaluationConfig": p["evaluationConfig"],
            "inferenceConfig": p["inferenceConfig"],
            "outputDataConfig": p["outputDataConfig"],
            "creationTime": _iso(ev.created),
            "lastModifiedTime": _iso(ev.updated),
        }
    )


def list_evaluation_jobs(self) -> str:
    backend = self.bedrock_backend
    tick_backend(backend)
    status = _qs(self, "statusEquals")
    summaries = []
    for ev in ext(backend).evaluations.values():
        if status and ev.status != status:
            continue
        tasks = [
            c.get("taskType")
            for c in ev.params["evaluationConfig"].get("automated", {}).get("datasetMetricConfigs", [])
        ]
        models = [
            (m.get("bedrockModel") or {}).get("modelIdentifier") for m in ev.params["inferenceConfig"].get("models", [])
        ]
        summaries.append(
            {
                "jobArn": ev.arn,
                "jobName": ev.name,
                "status": ev.status,
                "creationTime": _iso(ev.created),
                "jobType": "Automated",
                "evaluationTaskTypes": [t for t in tasks if t],
                "modelIdentifiers": [m for m in models if m],
            }
        )
    return json.dumps({"jobSummaries": summaries})


def stop_evaluation_job(self) -> str:
    backend = self.bedrock_backend
    with LOCK:
        ev = _find_evaluation(backend, _identifier(self, "jobIdentifier", -2))
        if ev.status == "InProgress":
            ev.status = "Stopping"
    return json.dumps({})


# --- foundation models --------------------------------------------------------------------------
def lifecycle_status(info: dict) -> str:
    """The model's lifecycle on the emulated day, from the catalogue's dated facts: ACTIVE, LEGACY or
    END_OF_LIFE (an end-of-life model is gone from Bedrock: not found, not customizable). A model whose
    lifecycle AWS does not document is taken as ACTIVE."""
    from datetime import datetime, timezone

    cat = _catalogue()
    status = info["lifecycle"].status_on(datetime.fromtimestamp(state.current().clock.now(), tz=timezone.utc).date())
    return {cat.LifecycleStatus.LEGACY: "LEGACY", cat.LifecycleStatus.END_OF_LIFE: "END_OF_LIFE"}.get(status, "ACTIVE")


def _fm_details(region: str, model_id: str, info: dict) -> dict:
    return {
        "modelArn": fm_arn(region, model_id),
        "modelId": model_id,
        "modelName": info["modelName"],
        "providerName": info["providerName"],
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": info["customizationsSupported"],
        "inferenceTypesSupported": info["inferenceTypesSupported"],
        "modelLifecycle": {"status": lifecycle_status(info)},
    }


def get_foundation_model(self) -> str:
    identifier = _identifier(self, "modelIdentifier")
    model_id = fm_id(identifier)
    if model_id is None or lifecycle_status(foundation_model_ids()[model_id]) == "END_OF_LIFE":
        raise _not_found(f"Foundation model {identifier} not found")
    return json.dumps({"modelDetails": _fm_details(self.region, model_id, foundation_model_ids()[model_id])})


def list_foundation_models(self) -> str:
    provider, ctype, modality, itype = (
        _qs(self, k) for k in ("byProvider", "byCustomizationType", "byOutputModality", "byInferenceType")
    )
    out = []
    for model_id, info in sorted(foundation_model_ids().items()):
        if provider and info["providerName"].lower() != provider.lower():
            continue
        if ctype and ctype not in info["customizationsSupported"]:
            continue
        if modality and modality != "TEXT":
            continue
        if itype and itype not in info["inferenceTypesSupported"]:
            continue
        out.append(_fm_details(self.region, model_id, info))
    return json.dumps({"modelSummaries": out})


# ------------------------------------------------------------------------------------------------
def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.bedrock import models as bedrock_models
    from moto.bedrock.responses import BedrockResponse

    _catalogue()  # import now, outside any Lambda invocation's module swap

    original_job_init = bedrock_models.ModelCustomizationJob.__init__

    def job_init(self, *args, **kwargs):
        original_job_init(self, *args, **kwargs)
        base = self.base_model_identifier
        root_match = _FM_ARN.match(base)
        base_id = root_match.group("id") if root_match else base
        if _CUSTOM_ARN.match(base):
            self.base_model_arn = base
            base_id = base.split(":custom-model/", 1)[1].rsplit("/", 1)[0]
        else:
            self.base_model_arn = fm_arn(self.region_name, base_id)
        self.job_arn = f"arn:aws:bedrock:{self.region_name}:{self.account_id}:model-customization-job/{base_id}/{_suffix('job/' + self.job_name)}"
        self.output_model_name = self.custom_model_name
        self.output_model_kms_key_arn = None
        if self.custom_model_kms_key_id:
            key = self.custom_model_kms_key_id
            self.output_model_kms_key_arn = (
                key if key.startswith("arn:") else f"arn:aws:kms:{self.region_name}:{self.account_id}:key/{key}"
            )

    bedrock_models.ModelCustomizationJob.__init__ = job_init

    original_to_dict = bedrock_models.ModelCustomizationJob.to_dict

    def job_to_dict(self):
        out = original_to_dict(self)
        out["outputModelName"] = self.custom_model_name
        for key in ("failureMessage", "endTime", "outputModelArn", "trainingMetrics", "validationMetrics"):
            if getattr(
                self,
                {
                    "failureMessage": "failure_message",
                    "endTime": "end_time",
                    "outputModelArn": "output_model_arn",
                    "trainingMetrics": "training_metrics",
                    "validationMetrics": "validation_metrics",
                }[key],
            ) in (None, {}, []):
                out.pop(key, None)
        out.setdefault("validationDataConfig", {"validators": []})
        if getattr(self, "_tf_customization_config", None):
            out["customizationConfig"] = self._tf_customization_config
        return out

    bedrock_models.ModelCustomizationJob.to_dict = job_to_dict

    original_model_init = bedrock_models.CustomModel.__init__

    def model_init(self, *args, **kwargs):
        original_model_init(self, *args, **kwargs)
        base = self.base_model_arn
        if ":custom-model/" in base:
            base_id = base.split(":custom-model/", 1)[1].rsplit("/", 1)[0]
        else:
            base_id = base.rsplit("foundation-model/", 1)[-1]
        self.model_arn = f"arn:aws:bedrock:{self.region_name}:{self.account_id}:custom-model/{base_id}/{_suffix('model/' + self.job_arn)}"

    bedrock_models.CustomModel.__init__ = model_init

    handlers = {
        "create_model_customization_job": create_model_customization_job,
        "get_model_customization_job": get_model_customization_job,
        "stop_model_customization_job": stop_model_customization_job,
        "list_model_customization_jobs": list_model_customization_jobs_wrapper(
            BedrockResponse.list_model_customization_jobs
        ),
        "get_custom_model": get_custom_model,
        "delete_custom_model": delete_custom_model,
        "create_provisioned_model_throughput": create_provisioned_model_throughput,
        "get_provisioned_model_throughput": get_provisioned_model_throughput,
        "delete_provisioned_model_throughput": delete_provisioned_model_throughput,
        "list_provisioned_model_throughputs": list_provisioned_model_throughputs,
        "create_custom_model_deployment": create_custom_model_deployment,
        "get_custom_model_deployment": get_custom_model_deployment,
        "delete_custom_model_deployment": delete_custom_model_deployment,
        "list_custom_model_deployments": list_custom_model_deployments,
        "create_evaluation_job": create_evaluation_job,
        "get_evaluation_job": get_evaluation_job,
        "list_evaluation_jobs": list_evaluation_jobs,
        "stop_evaluation_job": stop_evaluation_job,
        "get_foundation_model": get_foundation_model,
        "list_foundation_models": list_foundation_models,
    }
    for name, func in handlers.items():
        setattr(BedrockResponse, name, func)
    _APPLIED = True
