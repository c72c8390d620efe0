"""Questions the synth step, the handlers, the CLI and the emulator ask of the catalogue."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date

from lambdas.domain.catalogue.availability import INFERENCE_PROFILES, NOVA_ON_DEMAND
from lambdas.domain.catalogue.models import MODELS, TEACHER_MODELS
from lambdas.domain.catalogue.schema import (
    CatalogueError,
    CustomizationType,
    InvocationRoute,
    Lifecycle,
    LifecycleStatus,
    ModelSpec,
    PriceInputs,
)
from lambdas.domain.report import Severity

_CUSTOM_MODEL_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model/(?P<base>[^/]+)/(?P<suffix>[a-z0-9]+)$"
)


def get_model(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        raise CatalogueError(
            f"unknown base model {model_id!r}{did_you_mean(model_id)}; customizable models: {', '.join(sorted(MODELS))}"
        ) from None


def model_suggestions(identifier: str, limit: int = 3) -> list[str]:
    """Customizable ids a mistyped or near-miss ``identifier`` probably meant, best first; empty when none.

    A model's on-demand id (``amazon.nova-micro-v1:0``, the id reports print for the baseline), an inference
    profile's id (``us.amazon.nova-micro-v1:0``) or a prefix of a catalogue id names that model: Bedrock
    customizes it only under the id with its context suffix. Anything else gets the closest spellings.
    """
    wanted = identifier.strip()
    same_model = [
        spec.model_id
        for spec in MODELS.values()
        if wanted
        and (
            wanted == spec.invocation.on_demand_id
            or wanted.endswith(f".{spec.invocation.on_demand_id}")
            or spec.model_id.startswith(wanted)
        )
    ]
    if same_model:
        return sorted(same_model)[:limit]
    close = difflib.get_close_matches(wanted, sorted(MODELS), n=limit, cutoff=0.6)
    if not close:
        return []
    # A typo of one id should name that id alone, not every sibling that shares most of its letters.
    best = difflib.SequenceMatcher(None, wanted, close[0]).ratio()
    return [match for match in close if difflib.SequenceMatcher(None, wanted, match).ratio() >= best - 0.05]


def did_you_mean(identifier: str) -> str:
    """``"; did you mean X?"`` for an unknown model id, or "" when nothing is close."""
    suggestions = model_suggestions(identifier)
    return f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""


def resolve_base_model(identifier: str) -> ModelSpec:
    """Resolve a foundation-model id or a custom-model ARN (incremental tuning) to its base model.

    Custom-model ARNs name the base model they were trained from:
    ``arn:aws:bedrock:<region>:<account>:custom-model/<base-model-id>/<suffix>``.
    """
    match = _CUSTOM_MODEL_ARN.match(identifier)
    return get_model(match.group("base") if match else identifier)


def on_demand_prices(model_id: str) -> PriceInputs | None:
    """The recorded prices of a model invoked on demand (a baseline, judge or teacher), named by its
    catalogue id, its on-demand id or an inference profile's id (``us.<on-demand id>``); None when the
    catalogue holds no figures for it."""
    for spec in MODELS.values():
        on_demand_id = spec.invocation.on_demand_id
        if model_id in (spec.model_id, on_demand_id) or (
            model_id.endswith(f".{on_demand_id}") and model_id.count(".") == on_demand_id.count(".") + 1
        ):
            return spec.prices
    return None


def parse_customization_type(value: str) -> CustomizationType:
    try:
        return CustomizationType(value)
    except ValueError:
        raise CatalogueError(
            f"unknown customization type {value!r}; valid: {', '.join(t.value for t in CustomizationType)}"
        ) from None


# --- Questions the synth step and the handlers ask ---------------------------------------------------
LIFECYCLE_WARNING_DAYS = 90


def _lifecycle_subject(model_id: str) -> tuple[str, Lifecycle]:
    if model_id in TEACHER_MODELS:
        teacher = TEACHER_MODELS[model_id]
        return f"{teacher.name} ({teacher.model_id})", teacher.lifecycle
    for spec in MODELS.values():
        if model_id == spec.invocation.on_demand_id:  # a baseline invoked by its on-demand id
            return f"{spec.name} ({model_id})", spec.lifecycle
    spec = resolve_base_model(model_id)
    return f"{spec.name} ({spec.model_id})", spec.lifecycle


def lifecycle_problem(model_id: str, today: date) -> tuple[Severity, str] | None:
    """(severity, one line naming the date) when ``model_id`` is or will soon be end of life, else None.

    ``model_id`` is a customizable base model, a custom-model ARN (its base model's lifecycle applies:
    AWS's lifecycle page says a custom model is usable until its base model's EOL) or a teacher. An error on
    and after the end-of-life date, a warning within 90 days of it, and a warning when AWS's pages state no
    lifecycle for the model (GetFoundationModel then decides at run time).
    """
    subject, lifecycle = _lifecycle_subject(model_id)
    eol = lifecycle.end_of_life
    if lifecycle.status_on(today) is LifecycleStatus.END_OF_LIFE:
        when = f"on {eol.isoformat()}" if eol else "(no date published)"
        return Severity.ERROR, f"{subject} reached end of life {when} ({lifecycle.source})"
    if eol is not None and (eol - today).days <= LIFECYCLE_WARNING_DAYS:
        days = (eol - today).days
        return (
            Severity.WARNING,
            f"{subject} reaches end of life on {eol.isoformat()}, in {days} day{'' if days == 1 else 's'} ({lifecycle.source})",
        )
    if lifecycle.status is LifecycleStatus.UNKNOWN:
        return (
            Severity.WARNING,
            f"{subject}: no lifecycle found in AWS's documentation as read on {lifecycle.source.read}; GetFoundationModel's modelLifecycle decides at run time",
        )
    return None


def customization_region_problem(model_id: str, customization_type: CustomizationType | str, region: str) -> str | None:
    """Why Bedrock would not run this customization in ``region``, or None when its table lists it there."""
    spec = resolve_base_model(model_id)
    ctype = (
        customization_type
        if isinstance(customization_type, CustomizationType)
        else parse_customization_type(customization_type)
    )
    if not spec.supports(ctype):
        supported = ", ".join(sorted(t.value for t in spec.customization_types))
        return f"{spec.name} does not support {ctype.value}; it supports: {supported}"
    listed = spec.customization_regions.get(ctype)
    if listed is None or not listed.regions:
        source = listed.source if listed else None
        return f"{spec.name} {ctype.value} is not in AWS's current customization table in any Region" + (
            f" ({source})" if source else ""
        )
    if region not in listed.regions:
        return f"{spec.name} {ctype.value} is available only in {', '.join(sorted(listed.regions))}, not {region} ({listed.source})"
    return None


@dataclass(frozen=True)
class Invocation:
    """What to put in Converse's modelId, and the IAM resources ``bedrock:InvokeModel`` needs for it."""

    model_id: str
    iam_resources: tuple[str, ...]
    via_profile: bool
    reason: str


def _route_for(model_id: str) -> tuple[str, InvocationRoute]:
    if model_id in TEACHER_MODELS:
        teacher = TEACHER_MODELS[model_id]
        return teacher.name, teacher.invocation
    for spec in MODELS.values():
        if model_id in (spec.model_id, spec.invocation.on_demand_id):
            return spec.name, spec.invocation
    known = sorted({*TEACHER_MODELS, *(spec.invocation.on_demand_id for spec in MODELS.values())})
    raise CatalogueError(f"no invocation facts for {model_id!r}; known: {', '.join(known)}")


def invocation_for(model_id: str, region: str, *, account: str, partition: str = "aws") -> Invocation:
    """How to invoke a base model or teacher on demand from ``region``, and what IAM must allow.

    Through a geographic profile the policy needs the profile in the calling Region and the model in
    every Region the profile may route to; AWS lets that set depend on the calling Region, so the model
    ARNs cover the profile's whole area (``us-*`` for a ``us`` profile) rather than a list that could go
    stale.
    """
    name, route = _route_for(model_id)
    base = route.on_demand_id
    if route.in_region is None or region in route.in_region:
        why = f"{name} answers in {region} by its own id" + (f" ({route.note})" if route.note else "")
        return Invocation(base, (f"arn:{partition}:bedrock:{region}::foundation-model/{base}",), False, why)
    if route.profile_prefix is None:
        raise CatalogueError(
            f"{name} cannot be invoked on demand from {region}: it answers only in {', '.join(sorted(route.in_region))} ({route.source})"
        )
    profile = f"{route.profile_prefix}.{base}"
    resources = (
        f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile}",
        f"arn:{partition}:bedrock:{route.profile_prefix}-*::foundation-model/{base}",
    )
    why = f"{name} is reached from {region} only through the {profile} inference profile ({route.source}; {INFERENCE_PROFILES})"
    return Invocation(profile, resources, True, why)


def on_demand_eligibility(model: str, region: str, customized_on: date | None) -> tuple[bool, str]:
    """Whether a custom model can be deployed for on-demand inference, and why (or why not).

    ``model`` is the custom model's ARN or its base model id; ``customized_on`` the day the custom model
    was created (GetCustomModel's creationTime), None when unknown.
    """
    spec = resolve_base_model(model)
    rule = spec.on_demand
    if rule is None:
        return (
            False,
            f"custom {spec.name} models cannot be deployed on demand; they need provisioned throughput ({NOVA_ON_DEMAND.source})",
        )
    if region not in rule.regions:
        return (
            False,
            f"on-demand deployment of custom models is offered only in {', '.join(sorted(rule.regions))}, not {region} ({rule.source})",
        )
    cutoff = rule.customized_on_or_after.isoformat()
    if customized_on is None:
        return (
            False,
            f"the custom model's creation date is unknown; on-demand deployment needs one customized on or after {cutoff} ({rule.source})",
        )
    if customized_on < rule.customized_on_or_after:
        return (
            False,
            f"the custom model was customized on {customized_on.isoformat()}, before {cutoff}; on-demand deployment needs {cutoff} or later ({rule.source})",
        )
    return (
        True,
        f"custom {spec.name} model customized on {customized_on.isoformat()} in {region}: on-demand deployment is supported ({rule.source})",
    )
