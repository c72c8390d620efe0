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

Questions: :func:`lifecycle_problem`, :func:`customization_region_problem`, :func:`invocation_for`,
:func:`on_demand_eligibility`; ``TEACHER_MODELS`` holds the distillation teachers' lifecycle and routes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Mapping

from lambdas.domain.report import Severity


class CustomizationType(str, Enum):
    FINE_TUNING = "FINE_TUNING"
    CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
    DISTILLATION = "DISTILLATION"


class DatasetFormat(str, Enum):
    PROMPT_COMPLETION = "prompt-completion"
    CONTINUED_PRE_TRAINING = "continued-pre-training"
    CLAUDE_MESSAGES = "claude-messages"
    CONVERSATION_2024 = "bedrock-conversation-2024"
    DISTILLATION_PROMPTS = "distillation-prompts"


class CatalogueError(ValueError):
    """A model id, customization type or hyperparameter that Bedrock would refuse."""


@dataclass(frozen=True)
class Source:
    """Where AWS states a figure, and the day we read it there."""

    url: str
    read: str  # ISO date

    def __str__(self) -> str:
        return f"{self.url} (read {self.read})"


@dataclass(frozen=True)
class HyperParameterSpec:
    name: str
    kind: type  # int or float: Bedrock takes strings, but each parses to one of these
    minimum: float
    maximum: float
    default: float | int | None
    note: str = ""

    def check(self, value: object) -> str | None:
        """Return why ``value`` is unacceptable, or None when Bedrock would accept it."""
        if isinstance(value, bool):
            return f"must be a {self.kind.__name__}, got a boolean"
        if isinstance(value, str):
            try:
                value = float(value) if self.kind is float else int(value)
            except ValueError:
                return f"must be a {self.kind.__name__}, got {value!r}"
        if self.kind is int and not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            return f"must be a whole number, got {value!r}"
        if not isinstance(value, (int, float)):
            return f"must be a {self.kind.__name__}, got {type(value).__name__}"
        if not self.minimum <= value <= self.maximum:
            return f"must be between {_fmt(self.minimum)} and {_fmt(self.maximum)}, got {_fmt(value)}"
        return None

    def as_bedrock_string(self, value: object) -> str:
        """Bedrock's hyperParameters map is string-to-string; an int is a ParamValidationError."""
        if self.kind is int:
            return str(int(float(value)))  # "2.0" and 2.0 both become "2"
        return _plain_decimal(float(value))


def _fmt(number: float | int) -> str:
    return format(number, "g")


def _plain_decimal(number: float) -> str:
    # Bedrock documents hyperparameters in plain decimal notation ("0.00001"), so avoid "1e-05".
    return format(Decimal(repr(number)).normalize(), "f")


def _hp(
    name: str, kind: type, minimum: float, maximum: float, default: float | int | None, note: str = ""
) -> tuple[str, HyperParameterSpec]:
    return name, HyperParameterSpec(name, kind, minimum, maximum, default, note)


# Hyperparameter tables, each with the page that publishes it. Titan's and Claude 3 Haiku's tables were
# not re-read for this catalogue (no bundled profile can customize those models any more): they are the
# figures recorded in shared/bedrock-reference.md, so their source is None.
_NOVA_HP_SOURCE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html", "2026-12-04")
_NOVA_HP = dict(
    [
        _hp("epochCount", int, 1, 5, 2),
        _hp("learningRate", float, 1e-6, 1e-4, 1e-5),
        _hp("learningRateWarmupSteps", int, 0, 100, 10),
    ]
)
_TITAN_EXPRESS_LITE_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 5),
        _hp("batchSize", int, 1, 64, 1),
        _hp("learningRate", float, 0.0, 1.0, 1e-5),
        _hp("learningRateWarmupSteps", int, 0, 250, 5),
    ]
)
_TITAN_PREMIER_HP = dict(
    [
        _hp("epochCount", int, 1, 5, 2),
        _hp("batchSize", int, 1, 1, 1),
        _hp("learningRate", float, 1e-7, 1e-5, 1e-6),
        _hp("learningRateWarmupSteps", int, 0, 20, 5),
    ]
)
_HAIKU_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 2),
        _hp("batchSize", int, 4, 256, 32),
        _hp("learningRateMultiplier", float, 0.1, 2.0, 1.0),
        _hp("earlyStoppingThreshold", float, 0.0, 0.1, 0.001),
        _hp("earlyStoppingPatience", int, 1, 10, 2),
    ]
)
# Llama 3.1 and 3.2 publish the same table on their own pages; Llama 3.3's page was not found.
_LLAMA_31_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-meta-llama31.html", "2026-12-04"
)
_LLAMA_32_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-meta-llama32.html", "2026-12-04"
)
_LLAMA_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 5),
        _hp("batchSize", int, 1, 1, 1),
        _hp("learningRate", float, 5e-6, 0.1, 1e-4),
    ]
)

_COHERE_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-cohere-command.html", "2026-12-04"
)


def _cohere_hp(max_batch: int) -> dict[str, HyperParameterSpec]:
    return dict(
        [
            _hp("epochCount", int, 1, 100, 1),
            _hp("batchSize", int, 8, max_batch, 8),
            _hp(
                "learningRate",
                float,
                5e-6,
                0.1,
                1e-5,
                note="AWS recommends leaving it unset when a validation dataset is given",
            ),
            _hp("earlyStoppingThreshold", float, 0.0, 0.1, 0.01),
            _hp("earlyStoppingPatience", int, 1, 10, 6),
            _hp("evalPercentage", float, 5, 50, 20, note="only used when no validation set is given"),
        ]
    )


GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Bounds:
    """Inclusive count bounds; ``None`` means Bedrock publishes no bound (or we have not found one)."""

    minimum: int | None = None
    maximum: int | None = None

    def problem(self, count: int) -> str | None:
        if self.minimum is not None and count < self.minimum:
            return f"at least {self.minimum:,} required"
        if self.maximum is not None and count > self.maximum:
            return f"at most {self.maximum:,} allowed"
        return None


@dataclass(frozen=True)
class RecordBounds:
    training: Bounds = Bounds()
    validation: Bounds = Bounds()
    total: Bounds = Bounds()  # training + validation, for models whose quota is on the sum


@dataclass(frozen=True)
class TokenLimits:
    """Per-record token limits. Titan's depend on the batch size, hence ``by_batch_size``."""

    record: int | None = None  # everything in one record (prompt + completion, or the whole conversation)
    prompt: int | None = None
    completion: int | None = None
    by_batch_size: tuple[tuple[int, int, int], ...] = ()  # (smallest batch, largest batch, record limit)
    note: str = ""
    source: Source | None = None

    @property
    def ceiling(self) -> int | None:
        """The most tokens one record may hold under any job setting (Titan: its smallest batch size)."""
        if self.record is not None:
            return self.record
        if self.by_batch_size:
            return max(limit for _, _, limit in self.by_batch_size)
        if self.prompt is not None and self.completion is not None:
            return self.prompt + self.completion
        return None

    def record_limit(self, batch_size: int | None) -> tuple[int | None, str]:
        """(limit, why) for one record at ``batch_size``; limit None when nothing is published for it."""
        if not self.by_batch_size:
            return self.record, self.note
        size = 1 if batch_size is None else batch_size
        for low, high, limit in self.by_batch_size:
            if low <= size <= high:
                return limit, f"per-record token limit: {limit:,} tokens at batch size {size}"
        published = ", ".join(f"{lo}-{hi}: {lim:,}" for lo, hi, lim in self.by_batch_size)
        return (
            None,
            f"no per-record token limit is published for batch size {size} (published: {published}); not checked",
        )


@dataclass(frozen=True)
class MediaSupport:
    """Images and videos inside ``bedrock-conversation-2024`` user turns."""

    image_formats: frozenset[str] = frozenset()
    video_formats: frozenset[str] = frozenset()
    max_images_per_record: int | None = 0  # None: allowed but no published cap
    max_videos_per_record: int | None = 0
    mixing_allowed: bool = False
    max_image_bytes: int | None = None
    note: str = ""

    @property
    def images(self) -> bool:
        return bool(self.image_formats)

    @property
    def videos(self) -> bool:
        return bool(self.video_formats)


NO_MEDIA = MediaSupport()

# From the Nova sample validator (aws-samples/amazon-bedrock-samples, nova_ft_dataset_validator.py). It also
# rejects the upper-case spellings, so we do too.
NOVA_RESERVED_STRINGS: tuple[str, ...] = (
    "System:",
    "SYSTEM:",
    "User:",
    "USER:",
    "Bot:",
    "BOT:",
    "Assistant:",
    "ASSISTANT:",
    "Thought:",
    "[EOS]",
    "<image>",
    "<video>",
)


@dataclass(frozen=True)
class DatasetLimits:
    """What one (model, customization type) accepts as a dataset."""

    records: RecordBounds = RecordBounds()
    tokens: TokenLimits = TokenLimits()
    # One line of the file. AWS publishes no byte limit per record: this one is derived from the token
    # ceiling (see derived_record_bytes) so that the validator can refuse a record by its size alone.
    max_record_bytes: int | None = None
    max_training_bytes: int | None = None
    max_validation_bytes: int | None = None
    media: MediaSupport = NO_MEDIA
    # Characters per token for estimates. Titan's ~6 is published; 4 is the common rule of thumb for the
    # others (an assumption, printed in every report that uses it).
    chars_per_token: float = 4.0
    single_turn_only: bool = False
    reserved_strings: tuple[str, ...] = ()
    # bedrock-conversation-2024 records: the schemaVersion value Bedrock requires; None when any string
    # is accepted (Nova fine-tuning).
    schema_version: str | None = "bedrock-conversation-2024"
    # Nova 2 Lite: assistant turns may carry Converse reasoningContent (text only) beside their text.
    reasoning_content: bool = False
    # False when Bedrock does not use a validation file for this model and type (Nova 2 Lite).
    validation_supported: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceInputs:
    """Inputs for cost estimates. Recorded figures, dated and sourced: never current AWS prices.

    Every figure is USD; ``None`` means we hold no recorded figure (supply one through configuration).
    """

    training_per_1k_tokens: Decimal | None = None
    storage_per_month: Decimal | None = None
    # On-demand inference of a custom model deployed for on-demand use (custom-model deployment).
    on_demand_input_per_1k: Decimal | None = None
    on_demand_output_per_1k: Decimal | None = None
    # Provisioned throughput price per model unit per hour, by commitment: "none", "OneMonth", "SixMonths".
    throughput_per_unit_hour: Mapping[str, Decimal | None] = field(default_factory=dict)
    as_of: str | None = None
    source: str = ""
    note: str = ""

    _MONEY = ("training_per_1k_tokens", "storage_per_month", "on_demand_input_per_1k", "on_demand_output_per_1k")

    def with_overrides(self, overrides: Mapping[str, object]) -> "PriceInputs":
        """A copy with figures from configuration (e.g. the platform team's negotiated prices)."""

        def money(value: object) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        known = {*self._MONEY, "throughput_per_unit_hour", "as_of", "source", "note"}
        unknown = set(overrides) - known
        if unknown:
            raise CatalogueError(
                f"unknown price field(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(known))}"
            )
        throughput = dict(self.throughput_per_unit_hour)
        for commitment, value in dict(overrides.get("throughput_per_unit_hour") or {}).items():
            if commitment not in COMMITMENTS:
                raise CatalogueError(f"unknown commitment {commitment!r}; valid: {', '.join(COMMITMENTS)}")
            throughput[commitment] = money(value)
        figures = {name: money(overrides[name]) if name in overrides else getattr(self, name) for name in self._MONEY}
        return PriceInputs(
            **figures,
            throughput_per_unit_hour=throughput,
            as_of=overrides.get("as_of", self.as_of),  # type: ignore[arg-type]
            source=str(overrides.get("source", "configuration")),
            note=str(overrides.get("note", self.note)),
        )


COMMITMENTS = ("none", "OneMonth", "SixMonths")
UNPRICED = PriceInputs(note="no recorded price figures for this model; supply them in the price configuration")


class LifecycleStatus(str, Enum):
    """Bedrock's model lifecycle states (GetFoundationModel returns ACTIVE or LEGACY; EOL models are gone)."""

    ACTIVE = "Active"
    LEGACY = "Legacy"
    END_OF_LIFE = "EndOfLife"
    UNKNOWN = "Unknown"  # AWS's documentation as we read it states no lifecycle for the model


@dataclass(frozen=True)
class Lifecycle:
    status: LifecycleStatus
    source: Source
    end_of_life: date | None = None  # set for Legacy and EndOfLife models
    note: str = ""

    def status_on(self, today: date) -> LifecycleStatus:
        """The state on ``today``: a Legacy model whose end-of-life date has come is end of life."""
        if self.end_of_life is not None and today >= self.end_of_life:
            return LifecycleStatus.END_OF_LIFE
        return self.status


@dataclass(frozen=True)
class Regions:
    """Regions where AWS's customization table lists a (model, customization type)."""

    regions: frozenset[str]
    source: Source
    note: str = ""


@dataclass(frozen=True)
class OnDemandDeployment:
    """What Bedrock requires to deploy a custom model of this family for on-demand inference."""

    regions: frozenset[str]
    customized_on_or_after: date
    source: Source
    note: str = ""


@dataclass(frozen=True)
class InvocationRoute:
    """How a base model is invoked on demand (Converse/InvokeModel).

    ``in_region`` lists the Regions where the model answers by its own id (None: not documented, and the
    id is used everywhere as before); elsewhere ``profile_prefix`` names the cross-Region (geographic)
    inference profile that reaches it, ``"us"`` giving ``us.<on_demand_id>``.
    """

    on_demand_id: str
    source: Source
    in_region: frozenset[str] | None = None
    profile_prefix: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    name: str
    provider: str
    customization_types: frozenset[CustomizationType]
    formats: Mapping[CustomizationType, DatasetFormat]
    hyperparameters: Mapping[str, HyperParameterSpec]
    lifecycle: Lifecycle
    invocation: InvocationRoute
    customization_regions: Mapping[CustomizationType, Regions] = field(default_factory=dict)
    on_demand: OnDemandDeployment | None = None  # None: custom models of this family need provisioned throughput
    hyperparameter_source: Source | None = None
    notes: tuple[str, ...] = field(default=())
    limits: Mapping[CustomizationType, DatasetLimits] = field(default_factory=dict)
    prices: PriceInputs = UNPRICED

    @property
    def supports_on_demand_deployment(self) -> bool:
        """Whether the family can be deployed on demand at all (region and date: on_demand_eligibility)."""
        return self.on_demand is not None

    def supports(self, customization_type: CustomizationType) -> bool:
        return customization_type in self.customization_types

    def dataset_format(self, customization_type: CustomizationType) -> DatasetFormat:
        return self.formats[customization_type]

    def dataset_limits(self, customization_type: CustomizationType) -> DatasetLimits:
        """Limits for one customization type; an unsupported type is a CatalogueError listing valid ones."""
        if not self.supports(customization_type):
            supported = ", ".join(sorted(t.value for t in self.customization_types))
            raise CatalogueError(f"{self.name} does not support {customization_type.value}; it supports: {supported}")
        return self.limits.get(
            customization_type, DatasetLimits(notes=("no dataset limits recorded for this model and type",))
        )

    def record_token_limit(
        self, customization_type: CustomizationType, hyperparameters: Mapping[str, object] | None = None
    ) -> tuple[int | None, str]:
        """(limit, explanation) for one record, resolving Titan's batch-size-dependent limits."""
        tokens = self.dataset_limits(customization_type).tokens
        batch = (hyperparameters or {}).get("batchSize")
        if batch is None and "batchSize" in self.hyperparameters:
            batch = self.hyperparameters["batchSize"].default
        try:
            batch_size = None if batch is None else int(float(batch))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            batch_size = None
        return tokens.record_limit(batch_size)

    def hyperparameter_problems(self, hyperparameters: Mapping[str, object]) -> list[tuple[str, str]]:
        """(name, reason) for each hyperparameter Bedrock would refuse for this model."""
        problems = []
        for name, value in hyperparameters.items():
            spec = self.hyperparameters.get(name)
            if spec is None:
                problems.append(
                    (
                        name,
                        f"is not a hyperparameter of {self.model_id}; valid: {', '.join(sorted(self.hyperparameters))}",
                    )
                )
                continue
            reason = spec.check(value)
            if reason:
                problems.append((name, reason))
        return problems

    def bedrock_hyperparameters(self, hyperparameters: Mapping[str, object]) -> dict[str, str]:
        problems = self.hyperparameter_problems(hyperparameters)
        if problems:
            raise CatalogueError("; ".join(f"{name} {reason}" for name, reason in problems))
        return {name: self.hyperparameters[name].as_bedrock_string(value) for name, value in hyperparameters.items()}


_FT = CustomizationType.FINE_TUNING
_CPT = CustomizationType.CONTINUED_PRE_TRAINING
_DIST = CustomizationType.DISTILLATION


def _model(
    model_id: str,
    name: str,
    provider: str,
    formats: dict[CustomizationType, DatasetFormat],
    hp: dict,
    *,
    lifecycle: Lifecycle,
    invocation: InvocationRoute,
    regions: dict[CustomizationType, Regions] | None = None,
    on_demand: OnDemandDeployment | None = None,
    hp_source: Source | None = None,
    notes: tuple[str, ...] = (),
    limits: dict[CustomizationType, DatasetLimits] | None = None,
    prices: PriceInputs | None = None,
) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        provider,
        frozenset(formats),
        formats,
        hp,
        lifecycle,
        invocation,
        regions or {},
        on_demand,
        hp_source,
        notes,
        limits or {},
        prices if prices is not None else PRICES.get(model_id, UNPRICED),
    )


_TITAN_FORMATS = {_FT: DatasetFormat.PROMPT_COMPLETION, _CPT: DatasetFormat.CONTINUED_PRE_TRAINING}
_NOVA_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}
_LLAMA_32_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}

# --- Dataset limits -------------------------------------------------------------------------------
# Sources: user guide "model-customization-prepare", "distillation-prepare-datasets", the Nova guide
# and AWS's sample validators (aws-samples/amazon-bedrock-samples), summarised in shared/bedrock-reference.md.
# Record-count quotas are adjustable through Service Quotas: the numbers are the published defaults.
# Per-record token caps carry the page that states them (TokenLimits.source).

_REQUIREMENTS = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-training-validation-requirements.html", "2026-12-04"
)
_NOVA_CONSTRAINTS = Source(
    "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html#custom-fine-tune-constraints",
    "2026-12-04",
)

# Bytes one character of text can take in a JSONL line: UTF-8 spends at most 4 (RFC 3629 section 3), a JSON
# \uXXXX escape 6, and an escaped surrogate pair (one character outside the BMP) 12 (RFC 8259 section 7).
# 4 would be too few: Python's json.dumps escapes every non-ASCII character by default, so Chinese or
# Japanese text it writes averages close to 6, and such a record within its token cap would be refused.
MAX_BYTES_PER_CHARACTER = 12


def derived_record_bytes(tokens: int, chars_per_token: float) -> int:
    """A per-record byte cap for a token cap; AWS publishes a byte limit for no model's records.

    ``tokens × chars_per_token`` characters is the most text the validator's token estimate lets through;
    at the most bytes JSON can spend on a character, no text that estimate passes is larger, so the cap
    refuses what the token check would refuse too, only sooner: before the record is decoded. Real text
    averages 1-6 bytes per character, which leaves the keys and brackets around it ample room.
    """
    return math.ceil(tokens * chars_per_token) * MAX_BYTES_PER_CHARACTER


def _capped(tokens: TokenLimits, chars_per_token: float = 4.0, **limits: object) -> DatasetLimits:
    # Every catalogue entry goes through here, so none can have a token cap without the byte cap from it.
    ceiling = tokens.ceiling
    if ceiling is None:
        raise CatalogueError("every catalogued model and type needs a per-record token ceiling")
    return DatasetLimits(
        tokens=tokens,
        max_record_bytes=derived_record_bytes(ceiling, chars_per_token),
        chars_per_token=chars_per_token,
        **limits,  # type: ignore[arg-type]
    )


# Titan: "Sum of input and output tokens" by batch size, and "Character quota per sample: token quota x 6",
# hence 6 characters per token. The page as read on 2026-12-04 lists Continued Pre-training columns for
# Express and Lite (the same token limits; 10 GB training file) beside the fine-tuning ones.
_TITAN_EXPRESS_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096), (2, 4, 2_048)), source=_REQUIREMENTS)
_TITAN_LITE_TOKENS = TokenLimits(by_batch_size=((1, 2, 4_096), (3, 6, 2_048)), source=_REQUIREMENTS)
_TITAN_PREMIER_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096),), source=_REQUIREMENTS)  # batch 2-4: "N/A"


def _titan_ft(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        tokens,
        6.0,
        max_training_bytes=1 * GIB,
        max_validation_bytes=100 * MIB,
        notes=("record-count bounds for Titan fine-tuning are not in our sources; not checked",),
    )


def _titan_cpt(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        tokens,
        6.0,
        max_training_bytes=10 * GIB,
        max_validation_bytes=100 * MIB,
        notes=("record-count bounds for Titan continued pre-training are not in our sources; not checked",),
    )


_NOVA_IMAGES = frozenset({"png", "jpeg", "gif", "webp"})
_NOVA_VIDEOS = frozenset({"mov", "mkv", "mp4", "webm"})
_NOVA_MEDIA = MediaSupport(
    image_formats=_NOVA_IMAGES, video_formats=_NOVA_VIDEOS, max_images_per_record=10, max_videos_per_record=1
)
# "Context Length: 32k" for Micro, Lite and Pro alike; read as 32,000, the smaller of its two readings.
_NOVA_TOKENS = TokenLimits(record=32_000, source=_NOVA_CONSTRAINTS)


# The same page, item 5: "schemaVersion can be any string value" for Nova fine-tuning records.
_NOVA_SCHEMA_VERSION = Source(
    "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html", "2026-12-04"
)


def _nova_ft(media: MediaSupport) -> DatasetLimits:
    return _capped(
        _NOVA_TOKENS,
        records=RecordBounds(training=Bounds(8, 20_000)),
        media=media,
        reserved_strings=NOVA_RESERVED_STRINGS,
        schema_version=None,
        notes=(
            "AWS recommends at least 100 samples per task",
            f"schemaVersion may be any string ({_NOVA_SCHEMA_VERSION})",
        ),
    )


# Nova 2 Lite fine-tuning (nova-2-sft-data-prep): Nova 1's Converse format plus optional text-only
# reasoningContent in assistant turns; images PNG/JPEG/GIF and videos MOV/MKV/MP4 (no WebP or WebM), one
# media kind per dataset; no tools; "validation sets ... will not be supported during SFT training".
_NOVA2_SFT = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/nova-2-sft-data-prep.html", "2026-12-04")
# AWS publishes no per-record cap for Nova 2 Lite fine-tuning in the pages we read. A record cannot hold
# more than the model's context, which its customization id names (":256k", the table below): read as
# 256,000, the smaller of its two readings. A derived bound, far looser than Nova 1's 32k.
_NOVA2_TOKENS = TokenLimits(
    record=256_000,
    source=Source("https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-fine-tuning.md", "2026-12-04"),
    note="no per-record limit is published for Nova 2 Lite fine-tuning; checked against the 256k context its model id names",
)
_NOVA2_MEDIA = MediaSupport(
    image_formats=frozenset({"png", "jpeg", "gif"}),
    video_formats=frozenset({"mov", "mkv", "mp4"}),
    max_images_per_record=None,
    max_videos_per_record=None,
    note="AWS publishes no per-record image or video count for Nova 2 Lite fine-tuning; not checked",
)
_NOVA2_FT = _capped(
    _NOVA2_TOKENS,
    media=_NOVA2_MEDIA,
    schema_version=None,
    reasoning_content=True,
    validation_supported=False,
    notes=(
        f"record-count bounds for Nova 2 Lite fine-tuning are not published in our sources; not checked ({_NOVA2_SFT})",
        "Bedrock does not use a validation set when fine-tuning Nova 2 Lite",
        "tool use in the records is not supported by Nova 2 SFT",
    ),
)


def _distillation(single_turn: bool, student: TokenLimits) -> DatasetLimits:
    # AWS publishes no per-record limit for distillation prompts. Bedrock fine-tunes the student on each
    # prompt with the teacher's response, so a prompt longer than the student's fine-tuning limit cannot fit.
    ceiling = student.ceiling
    tokens = TokenLimits(
        record=ceiling,
        source=student.source,
        note=f"no per-record limit is published for distillation prompts; checked against the student's fine-tuning limit ({ceiling:,} tokens), which prompt and response share",
    )
    return _capped(
        tokens,
        records=RecordBounds(training=Bounds(100, None)),
        max_training_bytes=1 * GIB,
        single_turn_only=single_turn,
        notes=("at least 100 prompts (AWS sample validator); no maximum published for files (invocation logs: 15K)",),
    )


_HAIKU_TOKENS = TokenLimits(record=32_000, source=_REQUIREMENTS)  # "Maximum tokens"
_HAIKU_FT = _capped(
    _HAIKU_TOKENS,
    records=RecordBounds(training=Bounds(32, 10_000), validation=Bounds(None, 1_000), total=Bounds(None, 10_000)),
    max_training_bytes=10 * GIB,
    max_validation_bytes=1 * GIB,
)
# Llama 3.1: input and output 16,000 each and 16,000 together; 3.2: 16,000 (10,000 for 90B); 3.3: 16,000.
_LLAMA_TOKENS = TokenLimits(record=16_000, source=_REQUIREMENTS)
_LLAMA_90B_TOKENS = TokenLimits(record=10_000, source=_REQUIREMENTS)
_LLAMA_RECORDS = RecordBounds(training=Bounds(None, 10_000), validation=Bounds(None, 1_000), total=Bounds(100, 10_000))
_LLAMA_31_FT = _capped(_LLAMA_TOKENS, records=_LLAMA_RECORDS)
_LLAMA_IMAGES = MediaSupport(
    image_formats=frozenset({"gif", "jpeg", "png", "webp"}),
    max_images_per_record=None,
    max_image_bytes=10 * MIB,
    note="no per-record image count is published for Llama 3.2 vision; not checked",
)


def _llama_32_ft(tokens: TokenLimits, media: MediaSupport) -> DatasetLimits:
    return _capped(tokens, records=_LLAMA_RECORDS, media=media)


# The page gives Llama 3.3 only the 100-10,000 total; the per-split maxima are Llama 3.1's and 3.2's.
_LLAMA_33_FT = _capped(_LLAMA_TOKENS, records=RecordBounds(total=Bounds(100, 10_000)))
# Cohere: input 4,096 and output 2,048 tokens; the record ceiling (6,144) is their sum, derived.
_COHERE_FT = _capped(
    TokenLimits(prompt=4_096, completion=2_048, source=_REQUIREMENTS),
    records=RecordBounds(training=Bounds(None, 10_000), validation=Bounds(None, 1_000)),
)

# --- Lifecycle ------------------------------------------------------------------------------------
# From the model cards (one page per model) and the lifecycle pages. Where a card was found only in a
# machine translation or a stored mirror, the URL is the page we read and the note says so. "Unknown"
# means no lifecycle statement was found: GetFoundationModel's modelLifecycle decides at run time.
_READ = "2026-12-04"
_LIFECYCLE_PAGE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.md", _READ)
_MODEL_CARDS_AMAZON = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards-amazon.md", _READ)


def _active(source: Source, note: str = "") -> Lifecycle:
    return Lifecycle(LifecycleStatus.ACTIVE, source, note=note)


def _legacy(end_of_life: str, source: Source, note: str = "") -> Lifecycle:
    return Lifecycle(LifecycleStatus.LEGACY, source, date.fromisoformat(end_of_life), note)


def _unknown(note: str) -> Lifecycle:
    return Lifecycle(LifecycleStatus.UNKNOWN, _LIFECYCLE_PAGE, note=note)


_NOVA1_LIFECYCLE = _active(
    _MODEL_CARDS_AMAZON,
    "listed among the models available in Amazon Bedrock with no Legacy or EOL date; Nova Lite's card "
    "(https://docs.aws.eu/bedrock/latest/userguide/model-card-amazon-nova-lite.html) says Active",
)
_NOVA_PREMIER_LIFECYCLE = _legacy(
    "2026-09-14",
    Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-amazon-nova-premier.html", _READ),
)
_HAIKU_LIFECYCLE = _legacy(
    "2026-09-10",
    Source("https://docs.aws.amazon.com/zh_tw/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.md", _READ),
    "EOL in most Regions, us-west-2 (its only customization Region) included; still available in ca-central-1, "
    "eu-central-2 and sa-east-1, Legacy in ap-northeast-2 (read in the card's zh_tw translation)",
)
_LLAMA_32_90B_LIFECYCLE = _legacy(
    "2026-07-07",
    Source(
        "https://docs.aws.amazon.com/zh_tw/bedrock/latest/userguide/model-card-meta-llama-3-2-90b-instruct.md", _READ
    ),
    "read in the card's zh_tw translation",
)
_LLAMA_32_SMALL_LIFECYCLE = _unknown(
    "no card found for this size; the 90B card says EOL 2026-07-07 and shared/bedrock-reference.md (a secondary "
    "source) gives the same date for every Llama 3.2 size",
)
_LLAMA_31_405B_LIFECYCLE = _legacy(
    "2026-07-07",
    Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-meta-llama-3-1-405b-instruct.md", _READ),
    "read in a stored mirror (docs---aws.amazon.com.rproxy.govskope.us): 'Model EOL date: Legacy: July 7, 2026'",
)
_LLAMA_31_70B_LIFECYCLE = _active(
    Source(
        "https://docs.aws.amazon.com/zh_cn/bedrock/latest/userguide/model-card-meta-llama-3-1-70b-instruct.md", _READ
    ),
    "the card (zh_cn translation) says Active, EOL no sooner than 2025-07-23",
)
_NO_CARD = "no model card or lifecycle entry found in the AWS pages we read"

# --- Customization Regions --------------------------------------------------------------------------
# AWS's current fine-tuning table ("Supported models and Regions for fine-tuning", custom-model-fine-tuning):
# Nova 2 Lite, Nova Lite/Micro/Pro in us-east-1; Claude 3 Haiku and Llama 3.1/3.2 in us-west-2. It no longer
# lists Titan Text Express, Lite or Premier, nor Cohere Command or Command Light; Bedrock's current pages list
# no model for continued pre-training (the Nova 2 guide: CPT only on SageMaker HyperPod).
_FT_TABLE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-fine-tuning.md", _READ)
_NOT_LISTED = Regions(frozenset(), _FT_TABLE, "not in AWS's current customization table")
_US_EAST_1 = Regions(frozenset({"us-east-1"}), _FT_TABLE)
_US_WEST_2 = Regions(frozenset({"us-west-2"}), _FT_TABLE)
# The rows after Llama 3.2 3B were cut off in the stored copy of the current table. Llama 3.2 90B is us-west-2
# in the table version of custom-model-supported.html; Llama 3.3 70B in an earlier copy of the same table.
_US_WEST_2_LATE_ROWS = Regions(
    frozenset({"us-west-2"}),
    _FT_TABLE,
    "row not visible in the stored copy of the current table; earlier versions list us-west-2",
)
# The distillation pairing table (prequisites-model-distillation) was not readable in the stored copy. A
# distilled student is a custom model, so it can only be made where the student can be customized: its
# fine-tuning Regions are used, a necessary condition rather than a published list.
_DISTILLATION_TABLE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/prequisites-model-distillation.html", _READ
)


def _student(fine_tuning: Regions) -> Regions:
    return Regions(
        fine_tuning.regions,
        _DISTILLATION_TABLE,
        "derived from the student's fine-tuning Regions; the pairing table was not readable",
    )


# --- On-demand deployment of custom models ------------------------------------------------------------
# "You must use the US East (N. Virginia) or US West (Oregon) region" and "You must customize the model on
# or after 7/16/2025"; base models Nova Lite, Micro and Pro. (Another stored copy of the page lists US East
# only; the Nova guide's custom-fine-tune-odi says "trained after July 16, 2025".)
_NOVA_ON_DEMAND = OnDemandDeployment(
    regions=frozenset({"us-east-1", "us-west-2"}),
    customized_on_or_after=date(2025, 7, 16),
    source=Source("https://docs.aws.amazon.com/bedrock/latest/userguide/deploy-custom-model-on-demand.md", _READ),
)

# --- Invocation -----------------------------------------------------------------------------------
# Some models answer only through a cross-Region (geographic) inference profile, "us.<model id>". The IAM
# policy must allow the profile and the model in every Region it routes to (prequisites-model-distillation);
# the Regions depend on the source Region (inference-profiles-support), and a "us" profile stays in the
# United States area (the CDK's CrossRegionInferenceProfileRegion.US).
_INFERENCE_PROFILES = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html", _READ
)
# The Active-model table marks Nova's us-east-2 and us-west-2 with "*": reachable there only through CRIS.
_NOVA1_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/ja_jp/bedrock/latest/userguide/model-lifecycle.html", _READ)
_NOVA2_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/nova/latest/nova2-userguide/on-demand-inference.md", _READ)
# "Llama 3.2 Instruct and Llama 3.3 Instruct models use geofencing" (model-parameters-meta). That they are
# invoked through "us." profiles comes from the review and third-party model tables: no AWS page we
# read says so in as many words.
_LLAMA_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html", _READ)
# Nova Premier: "Regions supporting foundation model: N/A", inference profile us-east-1, us-east-2, us-west-2.
_NOVA_PREMIER_ROUTE_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/batch-inference-supported.html", _READ
)
_MODEL_IDS = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html", _READ)


def _direct(on_demand_id: str, note: str = "in-Region availability was not re-read for this model") -> InvocationRoute:
    return InvocationRoute(on_demand_id, _MODEL_IDS, note=note)


def _nova1_route(on_demand_id: str) -> InvocationRoute:
    return InvocationRoute(on_demand_id, _NOVA1_ROUTE_SOURCE, in_region=frozenset({"us-east-1"}), profile_prefix="us")


def _llama_profile_route(on_demand_id: str) -> InvocationRoute:
    return InvocationRoute(
        on_demand_id,
        _LLAMA_ROUTE_SOURCE,
        in_region=frozenset(),
        profile_prefix="us",
        note="profile requirement from secondary sources",
    )


# --- Prices ---------------------------------------------------------------------------------------
# AWS's pricing page (https://aws.amazon.com/bedrock/pricing/) as the search tool stores it, read
# 2026-12-04: every stored copy (including /vi/ and /it/) returns only the page's overview; no figure for
# model customization, custom-model storage or provisioned throughput is in what it returns. The figures
# below come from two transcriptions of AWS's own prices and say so:
#   * api-evangelist/amazon-nova plans/amazon-nova-plans-pricing.yml (commit 97c0aa2): AWS Price List Bulk
#     API, offer AmazonBedrock, us-east-1, version 20260901205051 (published 2026-09-01);
#   * convo-lang/convo-lang packages/convo-lang-bedrock/bedrock-pricing.md: the pricing page on 2025-07-20.
# Both give the same Nova per-token rates. A custom Nova model deployed on demand is billed "at the standard
# rate for the model" (AWS ML blog, customize-amazon-nova-models-with-amazon-bedrock-fine-tuning, read
# 2026-12-04). Provisioned-throughput rates are in the first transcription only. No source we read gives a
# Nova training price per 1,000 tokens or a storage price: those stay None (unpriced) until configured.
_PRICE_LIST_2026_09 = (
    "AWS Price List Bulk API AmazonBedrock us-east-1 version 20260901205051, as transcribed in "
    "https://github.com/api-evangelist/amazon-nova/blob/97c0aa270bfa98a5859c8974e12d07b1a4d88987/plans/amazon-nova-plans-pricing.yml"
    " (agrees with https://github.com/convo-lang/convo-lang/blob/main/packages/convo-lang-bedrock/bedrock-pricing.md, 2025-07-20);"
    " custom on-demand at the base rate per https://aws.amazon.com/blogs/machine-learning/customize-amazon-nova-models-with-amazon-bedrock-fine-tuning"
)
_NOVA_THROUGHPUT = {"none": Decimal("60.50"), "OneMonth": Decimal("55.00"), "SixMonths": Decimal("30.25")}
_NOVA_NOTE = "no training or storage price for Nova in any source read on 2026-12-04: configure them; throughput rates from one transcription only"


def _nova_prices(input_per_1k: str, output_per_1k: str) -> PriceInputs:
    return PriceInputs(
        on_demand_input_per_1k=Decimal(input_per_1k),
        on_demand_output_per_1k=Decimal(output_per_1k),
        throughput_per_unit_hour=_NOVA_THROUGHPUT,
        as_of="2026-09-01",
        source=_PRICE_LIST_2026_09,
        note=_NOVA_NOTE,
    )


# Cohere and Titan Lite: the pricing page as transcribed on 2024-03-13 (becloudready/beautiful-jekyll
# _posts/2024-03-13-aws-bedrock-pricing.md) and in public write-ups. Those models are no longer customizable.
_OLD_PRICE_SOURCE = "Amazon Bedrock pricing page (us-east-1) as transcribed on 2024-03-13 in https://github.com/becloudready/beautiful-jekyll/blob/master/_posts/2024-03-13-aws-bedrock-pricing.md and in public write-ups"
PRICES: dict[str, PriceInputs] = {
    "amazon.nova-micro-v1:0:128k": _nova_prices("0.000035", "0.00014"),
    "amazon.nova-lite-v1:0:300k": _nova_prices("0.00006", "0.00024"),
    "amazon.nova-pro-v1:0:300k": _nova_prices("0.0008", "0.0032"),
    "cohere.command-text-v14:7:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.004"),
        storage_per_month=Decimal("1.95"),
        throughput_per_unit_hour={"none": Decimal("49.50")},
        as_of="2024-03",
        source=_OLD_PRICE_SOURCE,
    ),
    "cohere.command-light-text-v14:7:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.001"),
        storage_per_month=Decimal("1.95"),
        throughput_per_unit_hour={"none": Decimal("8.56")},
        as_of="2024-03",
        source=_OLD_PRICE_SOURCE,
    ),
    "amazon.titan-text-lite-v1:0:4k": PriceInputs(
        training_per_1k_tokens=Decimal("0.0004"),
        storage_per_month=Decimal("1.95"),
        as_of="2025-02",
        source=_OLD_PRICE_SOURCE,
        note="provisioned-throughput price not recorded",
    ),
}

_LLAMA_31_REGIONS = {_FT: _US_WEST_2, _DIST: _student(_US_WEST_2)}
_LLAMA_32_REGIONS = {_FT: _US_WEST_2, _DIST: _student(_US_WEST_2)}

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _model(
            "amazon.titan-text-express-v1:0:8k",
            "Titan Text G1 - Express",
            "amazon",
            _TITAN_FORMATS,
            _TITAN_EXPRESS_LITE_HP,
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("amazon.titan-text-express-v1"),
            regions={_FT: _NOT_LISTED, _CPT: _NOT_LISTED},
            limits={_FT: _titan_ft(_TITAN_EXPRESS_TOKENS), _CPT: _titan_cpt(_TITAN_EXPRESS_TOKENS)},
        ),
        _model(
            "amazon.titan-text-lite-v1:0:4k",
            "Titan Text G1 - Lite",
            "amazon",
            _TITAN_FORMATS,
            _TITAN_EXPRESS_LITE_HP,
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("amazon.titan-text-lite-v1"),
            regions={_FT: _NOT_LISTED, _CPT: _NOT_LISTED},
            limits={_FT: _titan_ft(_TITAN_LITE_TOKENS), _CPT: _titan_cpt(_TITAN_LITE_TOKENS)},
        ),
        _model(
            "amazon.titan-text-premier-v1:0:32k",
            "Titan Text G1 - Premier",
            "amazon",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            _TITAN_PREMIER_HP,
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("amazon.titan-text-premier-v1:0"),
            regions={_FT: _NOT_LISTED},
            limits={_FT: _titan_ft(_TITAN_PREMIER_TOKENS)},
        ),
        _model(
            "amazon.nova-micro-v1:0:128k",
            "Nova Micro",
            "amazon",
            _NOVA_FORMATS,
            _NOVA_HP,
            lifecycle=_NOVA1_LIFECYCLE,
            invocation=_nova1_route("amazon.nova-micro-v1:0"),
            regions={_FT: _US_EAST_1, _DIST: _student(_US_EAST_1)},
            on_demand=_NOVA_ON_DEMAND,
            hp_source=_NOVA_HP_SOURCE,
            limits={_FT: _nova_ft(NO_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-lite-v1:0:300k",
            "Nova Lite",
            "amazon",
            _NOVA_FORMATS,
            _NOVA_HP,
            lifecycle=_NOVA1_LIFECYCLE,
            invocation=_nova1_route("amazon.nova-lite-v1:0"),
            regions={_FT: _US_EAST_1, _DIST: _student(_US_EAST_1)},
            on_demand=_NOVA_ON_DEMAND,
            hp_source=_NOVA_HP_SOURCE,
            limits={_FT: _nova_ft(_NOVA_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-pro-v1:0:300k",
            "Nova Pro",
            "amazon",
            _NOVA_FORMATS,
            _NOVA_HP,
            lifecycle=_NOVA1_LIFECYCLE,
            invocation=_nova1_route("amazon.nova-pro-v1:0"),
            regions={_FT: _US_EAST_1, _DIST: _student(_US_EAST_1)},
            on_demand=_NOVA_ON_DEMAND,
            hp_source=_NOVA_HP_SOURCE,
            limits={_FT: _nova_ft(_NOVA_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        # Nova 2 Lite: fine-tuning (us-east-1, the table above) and, per the Nova 2 guide's platform table
        # (https://docs.aws.amazon.com/nova/latest/nova2-userguide/customization.html), distillation on Bedrock.
        # AWS publishes no Bedrock hyperparameter table for it in the pages we read, so none is accepted and
        # Bedrock applies its defaults; it is not among the base models of on-demand deployment.
        _model(
            "amazon.nova-2-lite-v1:0:256k",
            "Nova 2 Lite",
            "amazon",
            _NOVA_FORMATS,
            {},
            lifecycle=_active(
                _MODEL_CARDS_AMAZON, "listed among the models available in Amazon Bedrock with no Legacy or EOL date"
            ),
            invocation=InvocationRoute(
                "amazon.nova-2-lite-v1:0",
                _NOVA2_ROUTE_SOURCE,
                in_region=frozenset(),
                profile_prefix="us",
                note="AWS's examples invoke it as us.amazon.nova-2-lite-v1:0 (or global.); no in-Region id is documented",
            ),
            regions={_FT: _US_EAST_1, _DIST: _student(_US_EAST_1)},
            notes=(
                "no hyperparameter ranges are published for Nova 2 Lite on Bedrock in the pages we read; the job uses Bedrock's defaults",
            ),
            limits={_FT: _NOVA2_FT, _DIST: _distillation(False, _NOVA2_TOKENS)},
        ),
        _model(
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "Claude 3 Haiku",
            "anthropic",
            {_FT: DatasetFormat.CLAUDE_MESSAGES, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _HAIKU_HP,
            lifecycle=_HAIKU_LIFECYCLE,
            invocation=_direct("anthropic.claude-3-haiku-20240307-v1:0"),
            regions={_FT: _US_WEST_2, _DIST: _student(_US_WEST_2)},
            limits={_FT: _HAIKU_FT, _DIST: _distillation(True, _HAIKU_TOKENS)},
        ),
        _model(
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "Llama 3.1 8B Instruct",
            "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _LLAMA_HP,
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("meta.llama3-1-8b-instruct-v1:0"),
            regions=_LLAMA_31_REGIONS,
            hp_source=_LLAMA_31_HP_SOURCE,
            limits={_FT: _LLAMA_31_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-1-70b-instruct-v1:0:128k",
            "Llama 3.1 70B Instruct",
            "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _LLAMA_HP,
            lifecycle=_LLAMA_31_70B_LIFECYCLE,
            invocation=_direct("meta.llama3-1-70b-instruct-v1:0"),
            regions=_LLAMA_31_REGIONS,
            hp_source=_LLAMA_31_HP_SOURCE,
            limits={_FT: _LLAMA_31_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-1b-instruct-v1:0:128k",
            "Llama 3.2 1B Instruct",
            "meta",
            _LLAMA_32_FORMATS,
            _LLAMA_HP,
            lifecycle=_LLAMA_32_SMALL_LIFECYCLE,
            invocation=_llama_profile_route("meta.llama3-2-1b-instruct-v1:0"),
            regions=_LLAMA_32_REGIONS,
            hp_source=_LLAMA_32_HP_SOURCE,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, NO_MEDIA), _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-3b-instruct-v1:0:128k",
            "Llama 3.2 3B Instruct",
            "meta",
            _LLAMA_32_FORMATS,
            _LLAMA_HP,
            lifecycle=_LLAMA_32_SMALL_LIFECYCLE,
            invocation=_llama_profile_route("meta.llama3-2-3b-instruct-v1:0"),
            regions=_LLAMA_32_REGIONS,
            hp_source=_LLAMA_32_HP_SOURCE,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, NO_MEDIA), _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-11b-instruct-v1:0:128k",
            "Llama 3.2 11B Vision Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024},
            _LLAMA_HP,
            lifecycle=_LLAMA_32_SMALL_LIFECYCLE,
            invocation=_llama_profile_route("meta.llama3-2-11b-instruct-v1:0"),
            regions={_FT: _US_WEST_2},
            hp_source=_LLAMA_32_HP_SOURCE,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, _LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-2-90b-instruct-v1:0:128k",
            "Llama 3.2 90B Vision Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024},
            _LLAMA_HP,
            lifecycle=_LLAMA_32_90B_LIFECYCLE,
            invocation=_llama_profile_route("meta.llama3-2-90b-instruct-v1:0"),
            regions={_FT: _US_WEST_2_LATE_ROWS},
            hp_source=_LLAMA_32_HP_SOURCE,
            limits={_FT: _llama_32_ft(_LLAMA_90B_TOKENS, _LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-3-70b-instruct-v1:0:128k",
            "Llama 3.3 70B Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _LLAMA_HP,
            lifecycle=_unknown(_NO_CARD),
            invocation=_llama_profile_route("meta.llama3-3-70b-instruct-v1:0"),
            regions={_FT: _US_WEST_2_LATE_ROWS, _DIST: _student(_US_WEST_2_LATE_ROWS)},
            notes=("no hyperparameter page for Llama 3.3 was found; Llama 3.1/3.2's table is assumed",),
            limits={_FT: _LLAMA_33_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "cohere.command-text-v14:7:4k",
            "Cohere Command",
            "cohere",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            _cohere_hp(8),
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("cohere.command-text-v14"),
            regions={_FT: _NOT_LISTED},
            hp_source=_COHERE_HP_SOURCE,
            limits={_FT: _COHERE_FT},
        ),
        _model(
            "cohere.command-light-text-v14:7:4k",
            "Cohere Command Light",
            "cohere",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            _cohere_hp(32),
            lifecycle=_unknown(_NO_CARD),
            invocation=_direct("cohere.command-light-text-v14"),
            regions={_FT: _NOT_LISTED},
            hp_source=_COHERE_HP_SOURCE,
            limits={_FT: _COHERE_FT},
        ),
    )
}


@dataclass(frozen=True)
class TeacherSpec:
    """A foundation model Bedrock accepts as a distillation teacher."""

    model_id: str
    name: str
    lifecycle: Lifecycle
    invocation: InvocationRoute


# Teachers: Nova Pro ("Teacher and student") and Nova Premier ("Teacher") per the Nova guide's customization
# table (https://docs.aws.amazon.com/nova/latest/userguide/customization.html, read 2026-12-04). The others
# were recorded earlier from the distillation table, which was not readable in the stored copy this time.
TEACHER_MODELS: dict[str, TeacherSpec] = {
    teacher.model_id: teacher
    for teacher in (
        TeacherSpec(
            "amazon.nova-premier-v1:0",
            "Nova Premier",
            _NOVA_PREMIER_LIFECYCLE,
            InvocationRoute(
                "amazon.nova-premier-v1:0", _NOVA_PREMIER_ROUTE_SOURCE, in_region=frozenset(), profile_prefix="us"
            ),
        ),
        TeacherSpec("amazon.nova-pro-v1:0", "Nova Pro", _NOVA1_LIFECYCLE, _nova1_route("amazon.nova-pro-v1:0")),
        TeacherSpec(
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "Claude 3.5 Sonnet",
            _unknown(_NO_CARD),
            _direct("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ),
        TeacherSpec(
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "Claude 3.5 Sonnet v2",
            _unknown(_NO_CARD + "; shared/bedrock-reference.md (secondary) gives EOL 2026-07-30"),
            _direct("anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ),
        TeacherSpec(
            "meta.llama3-1-405b-instruct-v1:0",
            "Llama 3.1 405B Instruct",
            _LLAMA_31_405B_LIFECYCLE,
            _direct("meta.llama3-1-405b-instruct-v1:0"),
        ),
        TeacherSpec(
            "meta.llama3-1-70b-instruct-v1:0",
            "Llama 3.1 70B Instruct",
            _LLAMA_31_70B_LIFECYCLE,
            _direct("meta.llama3-1-70b-instruct-v1:0"),
        ),
        TeacherSpec(
            "meta.llama3-3-70b-instruct-v1:0",
            "Llama 3.3 70B Instruct",
            _unknown(_NO_CARD),
            _llama_profile_route("meta.llama3-3-70b-instruct-v1:0"),
        ),
    )
}

_CUSTOM_MODEL_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model/(?P<base>[^/]+)/(?P<suffix>[a-z0-9]+)$"
)


def get_model(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        raise CatalogueError(
            f"unknown base model {model_id!r}; customizable models: {', '.join(sorted(MODELS))}"
        ) from None


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
    why = f"{name} is reached from {region} only through the {profile} inference profile ({route.source}; {_INFERENCE_PROFILES})"
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
            f"custom {spec.name} models cannot be deployed on demand; they need provisioned throughput ({_NOVA_ON_DEMAND.source})",
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
