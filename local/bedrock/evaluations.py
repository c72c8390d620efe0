"""Bedrock evaluation jobs: InProgress -> Completed (or Failed) on the emulated clock, Stop -> Stopped.

Every request is held to botocore's service model, as Bedrock validates it. Jobs with the caller's own
inference responses (``precomputedInferenceSource``: the managed judge, lambdas.domain.managed_judge) are
emulated in full (local/bedrock/judge_jobs.py); a job on a Bedrock model only changes status."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from .. import state
from . import judge_jobs, store
from .jobs import refuse_what_the_service_model_refuses
from .models import custom_model_root
from .store import LOCK, Evaluation, error, ext, iso, not_found, validation

_REQUIRED = ("jobName", "roleArn", "evaluationConfig", "inferenceConfig", "outputDataConfig")


def _refuse_custom_models(params: dict[str, Any]) -> None:
    for model in params["inferenceConfig"].get("models") or []:
        identifier = (model.get("bedrockModel") or {}).get("modelIdentifier")
        if identifier and (custom_model_root(identifier) or ":custom-model-deployment/" in identifier):
            raise validation(
                f"Model identifier {identifier} is not supported by evaluation jobs: use a provisioned model ARN."
            )


def create_evaluation_job(response: Any) -> tuple[int, dict[str, Any], str]:
    params = store.params(response)
    backend = response.bedrock_backend
    st = state.current()
    for key in _REQUIRED:
        if not params.get(key):
            raise validation(f"{key} is required.")
    refuse_what_the_service_model_refuses("CreateEvaluationJob", params)
    judge_jobs.refuse_what_bedrock_refuses(params)
    with LOCK:
        data = ext(backend)
        token = params.get("clientRequestToken")
        if token and token in data.evaluation_tokens:
            return 202, {"status": 202}, json.dumps({"jobArn": data.evaluation_tokens[token]})
        _refuse_custom_models(params)
        if any(ev.name == params["jobName"] for ev in data.evaluations.values()):
            raise error("ConflictException", f"An evaluation job named {params['jobName']} already exists.", 409)
        now = st.clock.now()
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:evaluation-job/{store.suffix('eval/' + params['jobName'] + str(now))}"
        refused = judge_jobs.may_assume(backend, params, arn)
        if refused:
            raise error("AccessDeniedException", refused, 403)
        data.evaluations[arn] = Evaluation(
            arn, params["jobName"], params, now, now + st.settings.evaluation_duration, updated=now
        )
        if token:
            data.evaluation_tokens[token] = arn
    return 202, {"status": 202}, json.dumps({"jobArn": arn})


def _find_evaluation(backend: Any, identifier: str) -> Evaluation:
    identifier = unquote(identifier)
    for ev in ext(backend).evaluations.values():
        if identifier in (ev.arn, ev.name):
            return ev
    raise not_found(f"Evaluation job {identifier} not found")


def get_evaluation_job(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    ev = _find_evaluation(backend, store.identifier(response, "jobIdentifier"))
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
            "creationTime": iso(ev.created),
            "lastModifiedTime": iso(ev.updated),
            **({"failureMessages": ev.failure_messages} if ev.failure_messages else {}),
        }
    )


def _summary(ev: Evaluation) -> dict[str, Any]:
    configs = ev.params["evaluationConfig"].get("automated", {}).get("datasetMetricConfigs", [])
    models = [
        (m.get("bedrockModel") or {}).get("modelIdentifier") for m in ev.params["inferenceConfig"].get("models", [])
    ]
    return {
        "jobArn": ev.arn,
        "jobName": ev.name,
        "status": ev.status,
        "creationTime": iso(ev.created),
        "jobType": "Automated",
        "evaluationTaskTypes": [c.get("taskType") for c in configs if c.get("taskType")],
        "modelIdentifiers": [m for m in models if m],
    }


def list_evaluation_jobs(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    status = store.query(response, "statusEquals")
    summaries = [_summary(ev) for ev in ext(backend).evaluations.values() if not status or ev.status == status]
    return json.dumps({"jobSummaries": summaries})


def stop_evaluation_job(response: Any) -> str:
    with LOCK:
        ev = _find_evaluation(response.bedrock_backend, store.identifier(response, "jobIdentifier", -2))
        if ev.status == "InProgress":
            ev.status = "Stopping"
    return json.dumps({})


def tick_evaluations(backend: Any, now: float) -> None:
    """Finish what is due by emulated ``now`` (caller holds LOCK)."""
    for ev in ext(backend).evaluations.values():
        if ev.status == "InProgress" and now >= ev.due:
            ev.failure_messages = judge_jobs.finish(backend, ev)
            ev.status, ev.updated = ("Failed" if ev.failure_messages else "Completed"), now
        elif ev.status == "Stopping":
            ev.status, ev.updated = "Stopped", now


def evaluations_due(backend: Any, now: float) -> list[float]:
    """A stopping evaluation is due at once; a running one when its duration is over."""
    return [
        ev.due if ev.status == "InProgress" else now
        for ev in ext(backend).evaluations.values()
        if ev.status in ("InProgress", "Stopping")
    ]
