"""Leave nothing billable behind: stop the run's job if it still trains, delete its endpoints.

Idempotent: a second cleanup finds everything already stopped or gone and fails on nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from lambdas.domain.champion import current_champion
from lambdas.domain.cost import actual_cost
from lambdas.domain.endpoints import delete_endpoint
from lambdas.domain.janitor import leaves_billable
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import utc_now


class CleanupResult(BaseModel):
    run_id: str
    stopped_job: str | None = None
    stopped_judge_jobs: list[str] = []  # the managed judge's evaluation jobs still running
    deleted_endpoints: list[str] = []
    already_gone: list[str] = []
    kept_endpoints: list[str] = []
    undeletable: dict[str, str] = {}  # endpoint -> why Bedrock refused (e.g. a commitment term still running)
    actual_cost: dict[str, Any] = {}  # what the run spent, beside its estimate (cost.actual_cost)
    outcome: str | None = None  # outcomes.Outcome, where the run ends here (RECORD_DECISION and Notify read it)


def cleanup_run(registry: RunRegistry, bedrock: Any, run_id: str, champions: Any = None) -> CleanupResult:
    """``champions`` (the champions table) protects the endpoint a champion item names even when the
    run failed between winning the champion and marking its endpoint promoted."""
    item = registry.get(run_id) or {}
    result = CleanupResult(run_id=run_id)
    champion_arn = None
    if champions is not None and item.get("profile"):
        champion_arn = (current_champion(champions, item["profile"]) or {}).get("invocable_arn")
    job_arn = item.get("job_arn")
    if job_arn:
        try:
            status = bedrock.get_model_customization_job(jobIdentifier=job_arn)["status"]
        except bedrock.exceptions.ResourceNotFoundException:
            status = "missing"
        if status == "InProgress":
            try:
                bedrock.stop_model_customization_job(jobIdentifier=job_arn)
                result.stopped_job = job_arn
            except bedrock.exceptions.ValidationException:
                pass  # it ended between the read and the stop
    result.stopped_judge_jobs = _stop_judge_jobs(bedrock, item.get("judge_jobs", []))
    endpoints = item.get("endpoints", [])
    for endpoint in endpoints:
        # Endpoints are recorded by name before they are requested; Bedrock deletes by name or ARN.
        arn = endpoint.get("arn") or endpoint.get("name")
        if not arn:
            continue
        if endpoint.get("promoted") or (champion_arn and endpoint.get("arn") == champion_arn):
            result.kept_endpoints.append(arn)
            continue
        if endpoint.get("deleted_at"):
            result.already_gone.append(arn)
            continue
        try:
            delete_endpoint(bedrock, endpoint["kind"], arn)
            result.deleted_endpoints.append(arn)
        except bedrock.exceptions.ResourceNotFoundException:
            result.already_gone.append(arn)
        except (bedrock.exceptions.ValidationException, bedrock.exceptions.ConflictException) as refused:
            # A committed throughput cannot be deleted before its term ends: report it, keep trying later.
            result.undeletable[arn] = refused.response.get("Error", {}).get("Message", str(refused))
            endpoint["delete_refused"] = result.undeletable[arn]
            continue
        endpoint["deleted_at"] = utc_now()
    # Priced once everything the run will give back is gone, so its hours are final (a kept champion's so far).
    result.actual_cost = actual_cost({**item, "endpoints": endpoints}, now=datetime.fromisoformat(utc_now()))
    registry.update(run_id, actual_cost=result.actual_cost, **({"endpoints": endpoints} if endpoints else {}))
    # What is left (a refused delete, a model kept for its retention) is the scheduled janitor's to retry.
    if leaves_billable(item):
        registry.mark_for_sweep(run_id, after=utc_now())
    elif "sweep" in item:
        registry.clear_sweep(run_id)
    return result


def _stop_judge_jobs(bedrock: Any, job_arns: list[str]) -> list[str]:
    """Stop the managed judge's evaluation jobs still running: a run that ends without its decision no longer
    needs their scores, and they bill the evaluator's tokens until they finish."""
    stopped = []
    for arn in job_arns:
        try:
            status = bedrock.get_evaluation_job(jobIdentifier=arn)["status"]
        except bedrock.exceptions.ResourceNotFoundException:
            continue
        if status != "InProgress":
            continue
        try:
            bedrock.stop_evaluation_job(jobIdentifier=arn)
            stopped.append(arn)
        except (bedrock.exceptions.ValidationException, bedrock.exceptions.ConflictException):
            pass  # it ended between the read and the stop
    return stopped
