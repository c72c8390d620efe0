"""Billable endpoints of a run: the evaluation endpoint, the promoted throughput, the champion.

Custom models answer only behind provisioned throughput or (Nova) an on-demand custom-model
deployment, and both bill while they exist. So every endpoint is recorded in the run registry under
a deterministic name *before* it is requested: whatever happens next (a crash, a timeout, a request
that reached Bedrock but whose answer was lost), ``lambdas.domain.cleanup`` finds it by that name.

Clients are passed in (boto3 ``bedrock``, ``ssm``, a DynamoDB ``Table``), so the same code runs
against AWS, moto and the offline emulator.
"""

from __future__ import annotations

import re
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from lambdas.domain.catalogue import on_demand_eligibility
from lambdas.domain.champion import claim_champion, publish_champion
from lambdas.domain.profiles import Commitment, StartFrom
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import RunInput, client_request_token_for, lineage_tags, utc_now

PROVISIONED = "provisioned-throughput"
DEPLOYMENT = "custom-model-deployment"
EndpointKind = Literal["provisioned-throughput", "custom-model-deployment"]
Purpose = Literal["evaluation", "production"]

_READY = {"InService", "Active"}
_IN_PROGRESS = {"Creating", "Updating"}


# Provisioned throughput for a custom model usually takes minutes, sometimes much longer; past this
# something is wrong and every further hour is a bill for nothing. CheckEndpoint polls at most every
# MAX_CHECK_INTERVAL_SECONDS, so an endpoint is given up on within the sum of the two.
READY_WITHIN_SECONDS = 3 * 3600
MIN_CHECK_INTERVAL_SECONDS, MAX_CHECK_INTERVAL_SECONDS = 30, 600


class Endpoint(BaseModel):
    kind: EndpointKind
    name: str
    purpose: Purpose
    model_arn: str
    requested_at: str
    arn: str | None = None
    model_units: int | None = None
    commitment: str | None = None
    why: str | None = None  # why this kind of endpoint (an evaluation endpoint's on-demand eligibility)

    @property
    def identifier(self) -> str:
        """What Bedrock's get/delete calls take: the ARN, or the name while the ARN is unknown."""
        return self.arn or self.name


class EndpointStatus(NamedTuple):
    status: str
    ready: bool
    failed: bool


class EndpointFailed(RuntimeError):
    """The endpoint ended Failed or disappeared: the run goes to cleanup."""


class EndpointTimedOut(RuntimeError):
    """The endpoint did not become ready within the bounded wait: the run goes to cleanup."""


def endpoint_name_for(run_id: str, purpose: Purpose) -> str:
    """1-63 characters of ``([0-9a-zA-Z][_-]?)+`` (both endpoint kinds), unique per run and purpose.

    Names are unique per account, so the run id's hash suffix must survive shortening.
    """
    tag = "eval" if purpose == "evaluation" else "prod"
    cleaned = re.sub(r"[-_]{2,}", "-", re.sub(r"[^a-zA-Z0-9\-_]", "-", f"tf-{tag}-{run_id}")).strip("-_")
    if len(cleaned) > 63:
        cleaned = f"{cleaned[:30].rstrip('-_')}-{cleaned[-32:].lstrip('-_')}"
    return cleaned


# --- registry bookkeeping -----------------------------------------------------------------------
def _recorded(registry: RunRegistry, run_id: str) -> list[dict[str, Any]]:
    return list((registry.get(run_id) or {}).get("endpoints", []))


def _record_before_request(registry: RunRegistry, run_id: str, endpoint: Endpoint) -> None:
    # A retried step finds its own entry and must not add a second one for the same name.
    if any(entry.get("name") == endpoint.name for entry in _recorded(registry, run_id)):
        return
    registry.append_endpoint(run_id, endpoint.model_dump(exclude_none=True))


def _set_fields(registry: RunRegistry, run_id: str, name: str, **fields: Any) -> None:
    endpoints = _recorded(registry, run_id)
    for entry in endpoints:
        if entry.get("name") == name:
            entry.update(fields)
    registry.update(run_id, endpoints=endpoints)


# --- the requests, built in one place so Validate can check them before money is spent ----------
def evaluation_endpoint_request(run: RunInput, model_arn: str, *, on_demand: bool) -> tuple[str, dict[str, Any]]:
    """(operation, request) of the run's evaluation endpoint: on-demand when the model may be deployed so
    (``lambdas.domain.catalogue.on_demand_eligibility``).

    On-demand deployments bill per token, so they are preferred; the others get a no-commitment
    provisioned throughput of the profile's ``evaluation_model_units``, deleted after evaluation.
    """
    name, tags = endpoint_name_for(run.run_id, "evaluation"), lineage_tags(run)
    if on_demand:
        return "CreateCustomModelDeployment", {
            "modelDeploymentName": name,
            "modelArn": model_arn,
            "description": f"tuneforge evaluation of run {run.run_id}"[:2048],
            "tags": tags,
            "clientRequestToken": client_request_token_for(run.run_id, "CreateCustomModelDeployment:evaluation"),
        }
    return "CreateProvisionedModelThroughput", {
        "modelUnits": run.profile.evaluation_model_units,
        "provisionedModelName": name,
        "modelId": model_arn,
        "tags": tags,
        "clientRequestToken": client_request_token_for(run.run_id, "CreateProvisionedModelThroughput:evaluation"),
    }


def production_throughput_request(run: RunInput, model_arn: str) -> dict[str, Any]:
    throughput = run.profile.throughput
    request: dict[str, Any] = {
        "modelUnits": throughput.model_units,
        "provisionedModelName": endpoint_name_for(run.run_id, "production"),
        "modelId": model_arn,
        "tags": lineage_tags(run),
        "clientRequestToken": client_request_token_for(run.run_id, "CreateProvisionedModelThroughput:production"),
    }
    if throughput.commitment is not Commitment.NONE:
        request["commitmentDuration"] = (
            throughput.commitment.value
        )  # omitted means no commitment; "none" is not a value
    return request


# --- evaluation endpoint ------------------------------------------------------------------------
def on_demand_for(bedrock: Any, run: RunInput, model_arn: str, region: str) -> tuple[bool, str]:
    """Whether the custom model may be deployed on demand, and why: its family, the Region, and the day
    it was customized (GetCustomModel's creationTime), by the catalogue's dated rule."""
    created = bedrock.get_custom_model(modelIdentifier=model_arn).get("creationTime")
    return on_demand_eligibility(run.profile.base_model, region, created.date() if created else None)


def deploy_for_evaluation(
    bedrock: Any, registry: RunRegistry, run: RunInput, model_arn: str, *, region: str
) -> Endpoint:
    """An endpoint serving the candidate for evaluation (see evaluation_endpoint_request); the endpoint
    records why it is on demand or provisioned."""
    on_demand, why = on_demand_for(bedrock, run, model_arn, region)
    operation, request = evaluation_endpoint_request(run, model_arn, on_demand=on_demand)
    if operation == "CreateCustomModelDeployment":
        endpoint = Endpoint(
            kind=DEPLOYMENT,
            name=request["modelDeploymentName"],
            purpose="evaluation",
            model_arn=model_arn,
            requested_at=utc_now(),
            why=why,
        )
        _record_before_request(registry, run.run_id, endpoint)
        endpoint.arn = bedrock.create_custom_model_deployment(**request)["customModelDeploymentArn"]
    else:
        endpoint = Endpoint(
            kind=PROVISIONED,
            name=request["provisionedModelName"],
            purpose="evaluation",
            model_arn=model_arn,
            requested_at=utc_now(),
            model_units=request["modelUnits"],
            why=why,
        )
        _record_before_request(registry, run.run_id, endpoint)
        endpoint.arn = bedrock.create_provisioned_model_throughput(**request)["provisionedModelArn"]
    _set_fields(registry, run.run_id, endpoint.name, arn=endpoint.arn)
    return endpoint


def describe_endpoint(bedrock: Any, endpoint: Endpoint) -> tuple[EndpointStatus, str | None]:
    """(status, failure message). An endpoint that no longer exists counts as failed ("Missing")."""
    try:
        if endpoint.kind == PROVISIONED:
            response = bedrock.get_provisioned_model_throughput(provisionedModelId=endpoint.identifier)
        else:
            response = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=endpoint.identifier)
    except bedrock.exceptions.ResourceNotFoundException:
        return EndpointStatus("Missing", ready=False, failed=True), f"{endpoint.name} no longer exists"
    status = response["status"]
    failed = status not in _READY and status not in _IN_PROGRESS
    return EndpointStatus(status, ready=status in _READY, failed=failed), response.get("failureMessage")


def endpoint_status(bedrock: Any, endpoint: Endpoint) -> EndpointStatus:
    """Provisioned throughput (Creating | InService | Updating | Failed) and deployments
    (Creating | Active | Failed) on one scale: ready, still coming, or failed."""
    return describe_endpoint(bedrock, endpoint)[0]


# --- promotion ----------------------------------------------------------------------------------
def _reusable(run: RunInput, evaluation: Endpoint, model_arn: str) -> bool:
    throughput = run.profile.throughput
    return (
        evaluation.kind == PROVISIONED
        and evaluation.arn is not None
        and evaluation.model_arn == model_arn
        and throughput.commitment is Commitment.NONE
        and evaluation.model_units == throughput.model_units
    )


def promote(
    bedrock: Any, registry: RunRegistry, run: RunInput, model_arn: str, evaluation: Endpoint | None = None
) -> Endpoint:
    """Provision the throughput the profile buys for a winner; recorded before it is requested.

    When the evaluation endpoint already is exactly that (a no-commitment provisioned throughput of
    the same model units), it is kept instead of buying a second one.
    """
    if evaluation is not None and _reusable(run, evaluation, model_arn):
        return evaluation
    request = production_throughput_request(run, model_arn)
    endpoint = Endpoint(
        kind=PROVISIONED,
        name=request["provisionedModelName"],
        purpose="production",
        model_arn=model_arn,
        requested_at=utc_now(),
        model_units=request["modelUnits"],
        commitment=request.get("commitmentDuration"),
    )
    _record_before_request(registry, run.run_id, endpoint)
    endpoint.arn = bedrock.create_provisioned_model_throughput(**request)["provisionedModelArn"]
    _set_fields(registry, run.run_id, endpoint.name, arn=endpoint.arn)
    return endpoint


class PromotionResult(BaseModel):
    profile: str
    run_id: str
    custom_model_arn: str
    invocable_arn: str
    provisioned_model_arn: str
    parameter_name: str
    promoted_at: str
    # False when a newer upload's run holds the champion (lambdas.domain.champion): this run gave back
    # its throughput and the champion stays.
    promoted: bool = True
    superseded_by: str | None = None
    released_endpoint: str | None = None
    release_error: str | None = None
    evaluation_endpoint_deleted: str | None = None
    previous_champion: dict[str, Any] | None = None
    previous_champion_retired: str | None = None
    retire_error: str | None = None


def champion_parameter_name(prefix: str, profile: str) -> str:
    return f"{prefix.rstrip('/')}/{profile}"


def baseline_model_for(run: RunInput, champion: dict[str, Any] | None, on_demand_base_model: str) -> str:
    """The model the candidate must beat: the base model, or for incremental profiles the champion."""
    invocable_arn = champion.get("invocable_arn") if champion else None
    if run.profile.start_from is StartFrom.CHAMPION and isinstance(invocable_arn, str) and invocable_arn:
        return invocable_arn
    return on_demand_base_model


def delete_endpoint(bedrock: Any, kind: str, identifier: str) -> None:
    """Delete a provisioned throughput or custom-model deployment (``kind``) by name or ARN: the one
    delete that promotion, cleanup and the janitor share; Bedrock's refusals reach the caller."""
    if kind == PROVISIONED:
        bedrock.delete_provisioned_model_throughput(provisionedModelId=identifier)
    else:
        bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=identifier)


def finalize_promotion(
    bedrock: Any,
    registry: RunRegistry,
    champions: Any,
    ssm: Any,
    run: RunInput,
    *,
    custom_model_arn: str,
    promoted: Endpoint,
    evaluation: Endpoint | None,
    parameter_prefix: str,
) -> PromotionResult:
    """Make the candidate the profile's champion by the champion rule, then drop what the run no longer needs.

    Order matters for retries and for cleanup: the champion being replaced is remembered in the run's
    item before the conditional write replaces it (a retried step still knows what to retire); cleanup
    never deletes the endpoint the champion item names, so the endpoint is safe from the moment the
    write succeeds, and only then is it marked ``promoted`` and the old endpoints deleted. A run that
    loses to a newer upload gives its throughput back instead.
    """
    if not promoted.arn:
        raise ValueError(f"promoted endpoint {promoted.name} has no ARN")
    item = registry.get(run.run_id) or {}

    def remember(previous: dict[str, Any] | None) -> None:
        if item.get("previous_champion") != (previous or {}):
            registry.update(run.run_id, previous_champion=previous or {})
            item["previous_champion"] = previous or {}

    promoted_at = utc_now()
    candidate = {
        "custom_model_arn": custom_model_arn,
        "invocable_arn": promoted.arn,
        "provisioned_model_arn": promoted.arn,
        "promoted_at": promoted_at,
    }
    decision = claim_champion(champions, run, candidate, before_write=remember)
    parameter = champion_parameter_name(parameter_prefix, run.profile.name)
    result = PromotionResult(
        profile=run.profile.name,
        run_id=run.run_id,
        custom_model_arn=custom_model_arn,
        invocable_arn=promoted.arn,
        provisioned_model_arn=promoted.arn,
        parameter_name=parameter,
        promoted_at=(decision.champion or {}).get("promoted_at", promoted_at) if decision.won else promoted_at,
        promoted=decision.won,
    )
    if not decision.won:
        result.superseded_by = (decision.champion or {}).get("run_id")
        result.released_endpoint, result.release_error = _release(bedrock, registry, run.run_id, promoted)
        if evaluation is not None and evaluation.name != promoted.name:
            result.evaluation_endpoint_deleted = _delete_recorded(bedrock, registry, run.run_id, evaluation)
        registry.update(run.run_id, outcome="superseded", superseded_by=result.superseded_by)
        return result

    previous = decision.replaced if decision.replaced is not None else (item.get("previous_champion") or None)
    result.previous_champion = previous
    _set_fields(registry, run.run_id, promoted.name, promoted=True, arn=promoted.arn, purpose="production")
    publish_champion(champions, ssm, run.profile.name, parameter)

    if evaluation is not None and evaluation.name != promoted.name:
        result.evaluation_endpoint_deleted = _delete_recorded(bedrock, registry, run.run_id, evaluation)

    old = (previous or {}).get("provisioned_model_arn")
    if run.profile.throughput.retire_previous_champion and old and old != promoted.arn:
        result.previous_champion_retired, result.retire_error = _retire(bedrock, registry, previous or {}, old)
    registry.update(
        run.run_id,
        outcome="promoted",
        champion_invocable_arn=promoted.arn,
        promoted_at=result.promoted_at,
        champion_parameter=parameter,
    )
    return result


def _delete_recorded(bedrock: Any, registry: RunRegistry, run_id: str, endpoint: Endpoint) -> str:
    try:
        delete_endpoint(bedrock, endpoint.kind, endpoint.identifier)
    except bedrock.exceptions.ResourceNotFoundException:
        pass  # a retried step, or cleanup got there first
    _set_fields(registry, run_id, endpoint.name, deleted_at=utc_now())
    return endpoint.identifier


def _release(bedrock: Any, registry: RunRegistry, run_id: str, endpoint: Endpoint) -> tuple[str | None, str | None]:
    """A superseded run gives back the throughput it bought; a committed term is recorded as refused
    (cleanup and the janitor find it there), not failed on."""
    try:
        return _delete_recorded(bedrock, registry, run_id, endpoint), None
    except (bedrock.exceptions.ValidationException, bedrock.exceptions.ConflictException) as refused:
        message = refused.response.get("Error", {}).get("Message", str(refused))
        _set_fields(registry, run_id, endpoint.name, delete_refused=message)
        return None, f"could not delete {endpoint.identifier}: {message}"


def _retire(bedrock: Any, registry: RunRegistry, previous: dict[str, Any], arn: str) -> tuple[str | None, str | None]:
    """Delete the previous champion's throughput; (retired ARN, error) — a committed term is an error
    to report, not to fail on: the new champion is already in place. The old run is marked for the
    janitor, which deletes a refused throughput when its term ends and the model after the retention."""
    previous_run = previous.get("run_id")
    refusal = None
    try:
        bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    except bedrock.exceptions.ResourceNotFoundException:
        pass
    except (bedrock.exceptions.ValidationException, bedrock.exceptions.ConflictException) as refused:
        refusal = refused.response["Error"].get("Message", str(refused))
    if previous_run and registry.get(previous_run):
        endpoints = _recorded(registry, previous_run)
        for entry in endpoints:
            if entry.get("arn") == arn:
                entry.update(
                    promoted=False,
                    retired_at=utc_now(),
                    **({"delete_refused": refusal} if refusal else {"deleted_at": utc_now()}),
                )
        # No longer the champion: its model goes the way of any unpromoted run's, after the retention.
        registry.update(previous_run, endpoints=endpoints, retired_at=utc_now())
        registry.mark_for_sweep(previous_run, after=utc_now())
    if refusal:
        return None, f"could not delete the previous champion's throughput {arn}: {refusal}"
    return arn, None
