"""Provisioned throughput (Creating -> InService | Failed, or Creating until deleted when a stall fault
says so) and custom-model deployments (Creating -> Active | Failed): what a custom model answers behind."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote

from lambdas.domain import catalogue

from .. import state
from . import store
from .jobs import refuse_what_the_service_model_refuses
from .models import custom_model_root, find_custom_model, fm_arn, fm_id, foundation_models
from .store import LOCK, Endpoint, error, ext, iso, not_found, validation

PROVISIONED, DEPLOYMENT = "provisioned", "deployment"
_LABEL = {PROVISIONED: "Provisioned model", DEPLOYMENT: "Custom model deployment"}
_ARN_TYPE = {PROVISIONED: "provisioned-model", DEPLOYMENT: "custom-model-deployment"}
_READY = {PROVISIONED: "InService", DEPLOYMENT: "Active"}


def ready_status(kind: str) -> str:
    return _READY[kind]


def find_endpoint(backend: Any, kind: str, identifier: str) -> Endpoint:
    identifier = unquote(identifier)
    for ep in ext(backend).endpoints.values():
        if ep.kind == kind and identifier in (ep.arn, ep.name):
            return ep
    raise not_found(f"{_LABEL[kind]} {identifier} not found")


def _provisionable(model_id: str) -> bool:
    """A foundation model takes provisioned throughput by its context-window id only (``models``)."""
    found = fm_id(model_id)
    return found is not None and not foundation_models()[found].on_demand


def _served_model(backend: Any, kind: str, model_id: str) -> tuple[str, str]:
    """(model ARN, root catalogue model) an endpoint of ``kind`` may serve, or what Bedrock refuses."""
    model = find_custom_model(backend, model_id)
    if model is not None:
        model_arn, root = model.model_arn, custom_model_root(model.model_arn)
    elif kind == PROVISIONED and _provisionable(model_id):
        root = str(fm_id(model_id))
        model_arn = fm_arn(backend.region_name, root)
    else:
        raise validation(
            f"The provided model identifier {model_id} is not a custom model that exists"
            + ("" if kind == DEPLOYMENT else " or a foundation model")
            + "."
        )
    if kind == DEPLOYMENT:
        spec = catalogue.MODELS.get(str(root))
        if spec is None or not spec.supports_on_demand_deployment:
            raise validation(
                f"On-demand deployment is not supported for models customized from {root}; use provisioned throughput."
            )
    return model_arn, str(root)


def _create_endpoint(
    backend: Any, kind: str, name: str, model_id: str, token: str | None, tags: list[Any] | None, **extra: Any
) -> Endpoint:
    st = state.current()
    with LOCK:
        data = ext(backend)
        if token and (kind, token) in data.endpoint_tokens:
            return data.endpoints[data.endpoint_tokens[(kind, token)]]
        if any(ep.kind == kind and ep.name == name for ep in data.endpoints.values()):
            raise error("ConflictException", f"{name} already exists.", 409)
        model_arn, root = _served_model(backend, kind, model_id)
        now = st.clock.now()
        arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:{_ARN_TYPE[kind]}/{store.suffix(f'{kind}/{name}/{now}')}"
        duration = st.settings.provisioned_duration if kind == PROVISIONED else st.settings.deployment_duration
        failure = st.faults.take_endpoint_failure(kind, name)
        if st.faults.take_endpoint_stall(kind, name):
            duration = math.inf  # stays Creating until deleted
        ep = Endpoint(
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


def _delete_endpoint(backend: Any, kind: str, identifier: str) -> str:
    """One delete for both kinds: a committed throughput is refused only while its term runs;
    afterwards it bills by the hour until deleted (the facts and their sources: lambdas/domain/janitor.py)."""
    with LOCK:
        ep = find_endpoint(backend, kind, identifier)
        expires = ep.commitment_expires()
        if expires is not None and state.current().clock.now() < expires:
            raise validation(
                f"Provisioned model {ep.name} has a {ep.commitment} commitment and cannot be deleted before its term ends ({iso(expires)})."
            )
        del ext(backend).endpoints[ep.arn]
        state.current().note(f"bedrock.{kind}", arn=ep.arn, status="Deleted")
    return json.dumps({})


def _endpoint_dict(ep: Endpoint) -> dict[str, Any]:
    out: dict[str, Any]
    if ep.kind == PROVISIONED:
        out = {
            "modelUnits": ep.model_units,
            "desiredModelUnits": ep.model_units,
            "provisionedModelName": ep.name,
            "provisionedModelArn": ep.arn,
            "modelArn": ep.model_arn,
            "desiredModelArn": ep.model_arn,
            "foundationModelArn": ep.foundation_model_arn,
            "status": ep.status,
            "creationTime": iso(ep.created),
            "lastModifiedTime": iso(ep.updated),
        }
        expires = ep.commitment_expires()
        if expires is not None:
            out["commitmentDuration"] = ep.commitment
            out["commitmentExpirationTime"] = iso(expires)
    else:
        out = {
            "customModelDeploymentArn": ep.arn,
            "modelDeploymentName": ep.name,
            "modelArn": ep.model_arn,
            "createdAt": iso(ep.created),
            "status": ep.status,
            "lastUpdatedAt": iso(ep.updated),
        }
        if ep.description:
            out["description"] = ep.description
    if ep.failure and ep.status == "Failed":
        out["failureMessage"] = ep.failure
    return out


def _listed(backend: Any, kind: str, response: Any) -> list[Endpoint]:
    from .lifecycle import tick_backend

    tick_backend(backend)
    status, name, model = (store.query(response, k) for k in ("statusEquals", "nameContains", "modelArnEquals"))
    return [
        ep
        for ep in ext(backend).endpoints.values()
        if ep.kind == kind
        and (not status or ep.status == status)
        and (not name or name in ep.name)
        and (not model or ep.model_arn == model)
    ]


def tick_endpoints(backend: Any, now: float) -> None:
    """Finish every endpoint creation due by emulated ``now`` (caller holds LOCK)."""
    for ep in ext(backend).endpoints.values():
        if ep.status == "Creating" and now >= ep.due:
            ep.status = "Failed" if ep.failure else _READY[ep.kind]
            ep.updated = now
            state.current().note(f"bedrock.{ep.kind}", arn=ep.arn, status=ep.status)


def endpoints_due(backend: Any) -> list[float]:
    return [ep.due for ep in ext(backend).endpoints.values() if ep.status == "Creating"]


# --- handlers: provisioned throughput -------------------------------------------------------
def create_provisioned_model_throughput(response: Any) -> tuple[int, dict[str, Any], str]:
    params = store.params(response)
    refuse_what_the_service_model_refuses("CreateProvisionedModelThroughput", params)
    if not params.get("provisionedModelName") or not params.get("modelId") or int(params.get("modelUnits") or 0) < 1:
        raise validation("modelUnits (>= 1), provisionedModelName and modelId are required.")
    ep = _create_endpoint(
        response.bedrock_backend,
        PROVISIONED,
        params["provisionedModelName"],
        params["modelId"],
        params.get("clientRequestToken"),
        params.get("tags"),
        model_units=int(params["modelUnits"]),
        commitment=params.get("commitmentDuration"),
    )
    return 201, {"status": 201}, json.dumps({"provisionedModelArn": ep.arn})


def get_provisioned_model_throughput(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    found = find_endpoint(backend, PROVISIONED, store.identifier(response, "provisionedModelId"))
    return json.dumps(_endpoint_dict(found))


def delete_provisioned_model_throughput(response: Any) -> str:
    return _delete_endpoint(response.bedrock_backend, PROVISIONED, store.identifier(response, "provisionedModelId"))


def list_provisioned_model_throughputs(response: Any) -> str:
    items = [_endpoint_dict(ep) for ep in _listed(response.bedrock_backend, PROVISIONED, response)]
    for item in items:
        item.pop("failureMessage", None)
    return json.dumps({"provisionedModelSummaries": items})


# --- handlers: custom-model deployments -----------------------------------------------------
def create_custom_model_deployment(response: Any) -> tuple[int, dict[str, Any], str]:
    params = store.params(response)
    refuse_what_the_service_model_refuses("CreateCustomModelDeployment", params)
    if not params.get("modelDeploymentName") or not params.get("modelArn"):
        raise validation("modelDeploymentName and modelArn are required.")
    ep = _create_endpoint(
        response.bedrock_backend,
        DEPLOYMENT,
        params["modelDeploymentName"],
        params["modelArn"],
        params.get("clientRequestToken"),
        params.get("tags"),
        description=params.get("description"),
    )
    return 202, {"status": 202}, json.dumps({"customModelDeploymentArn": ep.arn})


def get_custom_model_deployment(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    found = find_endpoint(backend, DEPLOYMENT, store.identifier(response, "customModelDeploymentIdentifier"))
    return json.dumps(_endpoint_dict(found))


def delete_custom_model_deployment(response: Any) -> str:
    identifier = store.identifier(response, "customModelDeploymentIdentifier")
    return _delete_endpoint(response.bedrock_backend, DEPLOYMENT, identifier)


def list_custom_model_deployments(response: Any) -> str:
    items = []
    for ep in _listed(response.bedrock_backend, DEPLOYMENT, response):
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
