"""What Amazon Bedrock accepts for model customization: the one source of truth.

Used at synth time (profile validation), at run time (handlers), by the CLI and by the offline
emulator. Pure data and functions: nothing here imports boto3 or touches the network.

Facts come from the Bedrock user guide, the Nova guides, the model cards, AWS's sample dataset
validators and the botocore service model; each carries the page it was read on and the day
(:class:`Source`). Where a fact is not published, the field is ``None`` (or the lifecycle ``Unknown``)
and a note says so; nothing is guessed. A few figures are derived from published ones, and say how: the
per-record byte caps (from the token caps), the distillation token caps (from the student's), Nova 2
Lite's record cap (from its context) and the distillation Regions (from the student's).

Per model: customization types and their dataset formats, hyperparameter specs, ``lifecycle``,
``customization_regions[type]``, ``invocation`` (own id or geographic inference profile), ``on_demand``
(custom-model deployment rules), ``limits[type]`` (:class:`DatasetLimits`) and ``prices``
(:class:`PriceInputs`: dated, sourced figures for estimates, never current AWS prices).

Questions: :func:`model_suggestions` ("did you mean"), :func:`lifecycle_problem`, :func:`customization_region_problem`, :func:`invocation_for`,
:func:`on_demand_eligibility`; ``TEACHER_MODELS`` holds the distillation teachers' lifecycle and routes.

Where each part lives: ``schema`` (the shapes of the facts), the facts with their sources and dates in
``hyperparameters``, ``limits``, ``availability`` (lifecycle, Regions, on-demand deployment, invocation) and
``prices``; ``models`` (the catalogue assembled from them) and ``questions`` (what callers ask of it).
Import from this package, not from its modules: what it exports is listed in ``__all__``.
"""

from __future__ import annotations

from lambdas.domain.catalogue.limits import (
    GIB,
    MAX_BYTES_PER_CHARACTER,
    MIB,
    NOVA_RESERVED_STRINGS,
    derived_record_bytes,
)
from lambdas.domain.catalogue.models import MODELS, TEACHER_MODELS
from lambdas.domain.catalogue.prices import PRICES
from lambdas.domain.catalogue.questions import (
    LIFECYCLE_WARNING_DAYS,
    Invocation,
    customization_region_problem,
    did_you_mean,
    get_model,
    invocation_for,
    lifecycle_problem,
    model_suggestions,
    on_demand_eligibility,
    on_demand_prices,
    parse_customization_type,
    resolve_base_model,
)
from lambdas.domain.catalogue.schema import (
    COMMITMENTS,
    NO_MEDIA,
    UNPRICED,
    Bounds,
    CatalogueError,
    CustomizationType,
    DatasetFormat,
    DatasetLimits,
    HyperParameterSpec,
    HyperParameterValue,
    InvocationRoute,
    Lifecycle,
    LifecycleStatus,
    MediaSupport,
    ModelSpec,
    OnDemandDeployment,
    PriceInputs,
    RecordBounds,
    Regions,
    Source,
    TeacherSpec,
    TokenLimits,
)

__all__ = [
    "Bounds",
    "COMMITMENTS",
    "CatalogueError",
    "CustomizationType",
    "DatasetFormat",
    "DatasetLimits",
    "GIB",
    "HyperParameterSpec",
    "HyperParameterValue",
    "Invocation",
    "InvocationRoute",
    "LIFECYCLE_WARNING_DAYS",
    "Lifecycle",
    "LifecycleStatus",
    "MAX_BYTES_PER_CHARACTER",
    "MIB",
    "MODELS",
    "MediaSupport",
    "ModelSpec",
    "NOVA_RESERVED_STRINGS",
    "NO_MEDIA",
    "OnDemandDeployment",
    "PRICES",
    "PriceInputs",
    "RecordBounds",
    "Regions",
    "Source",
    "TEACHER_MODELS",
    "TeacherSpec",
    "TokenLimits",
    "UNPRICED",
    "customization_region_problem",
    "derived_record_bytes",
    "did_you_mean",
    "get_model",
    "invocation_for",
    "lifecycle_problem",
    "model_suggestions",
    "on_demand_eligibility",
    "on_demand_prices",
    "parse_customization_type",
    "resolve_base_model",
]
