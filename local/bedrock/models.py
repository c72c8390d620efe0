"""Foundation and custom models as Bedrock answers for them, every id taken from the project catalogue
(``lambdas.domain.catalogue``), so the emulator accepts exactly the ids the product produces and
refuses the rest as Bedrock does.

Bedrock names a customizable model two ways, and the catalogue records both, each with its source
(``catalogue._MODEL_IDS``: model-ids.html, read 2026-12-04): ``ModelSpec.model_id`` with its context
window (``amazon.nova-micro-v1:0:128k``: provisioned throughput and customization only) and
``ModelSpec.invocation.on_demand_id`` (``amazon.nova-micro-v1:0``; Titan Express and Cohere have no
version there: ``amazon.titan-text-express-v1``). Any other spelling is not a Bedrock model here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any

from lambdas.domain import catalogue

from .. import state
from . import store
from .store import LOCK, ext, not_found, validation

_FM_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*::foundation-model/(?P<id>.+)$")
# What Converse answers for an id it does not serve on demand in the Region, and for an unknown id. The
# wording is the emulator's since its first version; it was not re-checked against AWS.
NOT_ON_DEMAND = (
    "Invocation of model ID {model} with on-demand throughput isn't supported. Retry your request with the"
    " ID or ARN of an inference profile that contains this model."
)
INVALID_MODEL = "The provided model identifier is invalid."


@dataclass(frozen=True)
class FoundationModel:
    model_id: str
    name: str
    provider: str
    customizations: tuple[str, ...]
    on_demand: bool  # False: provisioned throughput (and customization) only
    lifecycle: catalogue.Lifecycle
    route: catalogue.InvocationRoute | None  # how it is invoked on demand; None when it is not


def _provider(provider: str) -> str:
    return "Amazon" if provider == "amazon" else provider.capitalize()


@cache
def foundation_models() -> dict[str, FoundationModel]:
    """Every foundation model the emulator knows, by id: the catalogue's customizable models (provisioned
    only), their on-demand ids and the distillation teachers."""
    models: dict[str, FoundationModel] = {}
    for spec in catalogue.MODELS.values():
        customizations = tuple(sorted(t.value for t in spec.customization_types))
        models[spec.model_id] = FoundationModel(
            spec.model_id, spec.name, _provider(spec.provider), customizations, False, spec.lifecycle, None
        )
        on_demand = spec.invocation.on_demand_id
        models.setdefault(
            on_demand,
            FoundationModel(on_demand, spec.name, _provider(spec.provider), (), True, spec.lifecycle, spec.invocation),
        )
    for teacher in catalogue.TEACHER_MODELS.values():
        provider = _provider(teacher.model_id.split(".", 1)[0])
        models.setdefault(
            teacher.model_id,
            FoundationModel(teacher.model_id, teacher.name, provider, (), True, teacher.lifecycle, teacher.invocation),
        )
    return models


def fm_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def fm_id(identifier: str) -> str | None:
    """Foundation-model id of an id or ARN, or None when it is not a known foundation model."""
    match = _FM_ARN.match(identifier)
    model_id = match.group("id") if match else identifier
    return model_id if model_id in foundation_models() else None


def lifecycle_status(model: FoundationModel) -> str:
    """The model's lifecycle on the emulated day, from the catalogue's dated facts: ACTIVE, LEGACY or
    END_OF_LIFE (an end-of-life model is gone from Bedrock: not found, not customizable). A model whose
    lifecycle AWS does not document is taken as ACTIVE."""
    today = datetime.fromtimestamp(state.current().clock.now(), tz=timezone.utc).date()
    status = model.lifecycle.status_on(today)
    return {
        catalogue.LifecycleStatus.LEGACY: "LEGACY",
        catalogue.LifecycleStatus.END_OF_LIFE: "END_OF_LIFE",
    }.get(status, "ACTIVE")


def custom_model_root(identifier: str) -> str | None:
    """The catalogue model a custom-model ARN was trained from (through any chain of custom models), or
    None when ``identifier`` is not such an ARN. The ARN is read by the domain's one parser
    (``catalogue.resolve_base_model``), the one the handlers use."""
    if not identifier.startswith("arn:"):
        return None  # a bare id resolves to itself; only ARNs name a custom model
    try:
        return catalogue.resolve_base_model(identifier).model_id
    except catalogue.CatalogueError:
        return None


def find_custom_model(backend: Any, identifier: str) -> Any:
    """The moto CustomModel an ARN or name names, or None."""
    for model in backend.custom_models.values():
        if identifier in (model.model_arn, model.model_name):
            return model
    return None


def invoked_foundation_model(model_id: str, region: str, account: str) -> str:
    """The foundation model a Converse ``modelId`` (id, ARN or inference-profile id) invokes on demand in
    ``region``; raises what Bedrock answers for an id it does not serve there. Where an id answers by
    itself is the domain's rule (``catalogue.invocation_for``); a geographic profile (``us.<id>``)
    answers wherever the catalogue names one for the model."""
    models = foundation_models()
    for model in models.values():
        route = model.route
        if route is not None and route.profile_prefix and model_id == f"{route.profile_prefix}.{model.model_id}":
            return model.model_id
    found = fm_id(model_id)
    if found is None:
        raise validation(INVALID_MODEL)
    if not models[found].on_demand or _only_through_a_profile(found, region, account):
        raise validation(NOT_ON_DEMAND.format(model=found))
    return found


def _only_through_a_profile(model_id: str, region: str, account: str) -> bool:
    try:
        return catalogue.invocation_for(model_id, region, account=account).via_profile
    except catalogue.CatalogueError:  # answers in no Region the caller can reach from here
        return True


# --- handlers: foundation models ----------------------------------------------------------------
def _fm_details(region: str, model: FoundationModel) -> dict[str, Any]:
    return {
        "modelArn": fm_arn(region, model.model_id),
        "modelId": model.model_id,
        "modelName": model.name,
        "providerName": model.provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": list(model.customizations),
        "inferenceTypesSupported": ["ON_DEMAND" if model.on_demand else "PROVISIONED"],
        "modelLifecycle": {"status": lifecycle_status(model)},
    }


def get_foundation_model(response: Any) -> str:
    identifier = store.identifier(response, "modelIdentifier")
    model_id = fm_id(identifier)
    if model_id is None or lifecycle_status(foundation_models()[model_id]) == "END_OF_LIFE":
        raise not_found(f"Foundation model {identifier} not found")
    return json.dumps({"modelDetails": _fm_details(response.region, foundation_models()[model_id])})


def _listed(model: FoundationModel, response: Any) -> bool:
    provider, ctype, modality, itype = (
        store.query(response, k) for k in ("byProvider", "byCustomizationType", "byOutputModality", "byInferenceType")
    )
    return (
        (not provider or model.provider.lower() == provider.lower())
        and (not ctype or ctype in model.customizations)
        and (not modality or modality == "TEXT")
        and (not itype or itype == ("ON_DEMAND" if model.on_demand else "PROVISIONED"))
    )


def list_foundation_models(response: Any) -> str:
    out = [
        _fm_details(response.region, model)
        for _, model in sorted(foundation_models().items())
        if _listed(model, response)
    ]
    return json.dumps({"modelSummaries": out})


# --- handlers: custom models --------------------------------------------------------------------
def get_custom_model(response: Any) -> str:
    from .lifecycle import tick_backend

    backend = response.bedrock_backend
    tick_backend(backend)
    identifier = store.identifier(response, "modelIdentifier")
    model = find_custom_model(backend, identifier)
    if model is None:
        raise not_found(f"Custom model {identifier} not found")
    return json.dumps(model.to_dict())


def delete_custom_model(response: Any) -> str:
    backend = response.bedrock_backend
    identifier = store.identifier(response, "modelIdentifier")
    with LOCK:
        model = find_custom_model(backend, identifier)
        if model is None:
            raise not_found(f"Custom model {identifier} not found")
        for ep in ext(backend).endpoints.values():
            if ep.model_arn == model.model_arn:
                raise validation(f"Custom model {model.model_name} is in use by {ep.arn}; delete it first.")
        del backend.custom_models[model.model_name]
    return json.dumps({})
