"""What a catalogue fact looks like: the shapes the facts in this package fill in, and what they answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Mapping, SupportsFloat


class CustomizationType(str, Enum):
    FINE_TUNING = "FINE_TUNING"
    CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
    DISTILLATION = "DISTILLATION"
    REINFORCEMENT_FINE_TUNING = "REINFORCEMENT_FINE_TUNING"


class DatasetFormat(str, Enum):
    PROMPT_COMPLETION = "prompt-completion"
    CONTINUED_PRE_TRAINING = "continued-pre-training"
    CLAUDE_MESSAGES = "claude-messages"
    CONVERSATION_2024 = "bedrock-conversation-2024"
    DISTILLATION_PROMPTS = "distillation-prompts"
    RFT_PROMPTS = "rft-openai-chat"  # OpenAI chat messages plus the grader's reference_answer


class CatalogueError(ValueError):
    """A model id, customization type or hyperparameter that Bedrock would refuse."""


@dataclass(frozen=True)
class Source:
    """Where AWS states a figure, and the day we read it there."""

    url: str
    read: str  # ISO date

    def __str__(self) -> str:
        return f"{self.url} (read {self.read})"


# What a hyperparameter may be given as once checked: a number, or a string that parses to one.
HyperParameterValue = int | float | str


@dataclass(frozen=True)
class HyperParameterSpec:
    name: str
    kind: type  # int or float: Bedrock takes strings, but each parses to one of these
    minimum: float
    maximum: float
    default: float | int | None
    note: str = ""
    # An enumerated string (RFT's reasoningEffort): kind is str and minimum/maximum are unused.
    choices: tuple[str, ...] = ()

    def check(self, value: object) -> str | None:
        """Return why ``value`` is unacceptable, or None when Bedrock would accept it."""
        if self.choices:
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}, got {value!r}"
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

    def typed(self, value: HyperParameterValue) -> HyperParameterValue:
        """The value as the typed number (or enum string) RFT's hyperParameters structure takes."""
        if self.choices:
            return str(value)
        return int(float(value)) if self.kind is int else float(value)

    def as_bedrock_string(self, value: HyperParameterValue) -> str:
        """Bedrock's hyperParameters map is string-to-string; an int is a ParamValidationError."""
        if self.kind is int:
            return str(int(float(value)))  # "2.0" and 2.0 both become "2"
        return _plain_decimal(float(value))


def _fmt(number: float | int) -> str:
    return format(number, "g")


def _plain_decimal(number: float) -> str:
    # Bedrock documents hyperparameters in plain decimal notation ("0.00001"), so avoid "1e-05".
    return format(Decimal(repr(number)).normalize(), "f")


def _whole_number(value: object) -> int | None:
    """``value`` truncated to a whole number when it reads as a number ("4", 4.0), else None."""
    if not isinstance(value, (str, SupportsFloat)):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


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
        throughput_overrides = overrides.get("throughput_per_unit_hour") or {}
        if not isinstance(throughput_overrides, Mapping):
            raise CatalogueError(f"throughput_per_unit_hour must map commitments ({', '.join(COMMITMENTS)}) to prices")
        for commitment, value in throughput_overrides.items():
            if commitment not in COMMITMENTS:
                raise CatalogueError(f"unknown commitment {commitment!r}; valid: {', '.join(COMMITMENTS)}")
            throughput[commitment] = money(value)
        figures = {name: money(overrides[name]) if name in overrides else getattr(self, name) for name in self._MONEY}
        as_of = overrides.get("as_of", self.as_of)
        return PriceInputs(
            **figures,
            throughput_per_unit_hour=throughput,
            as_of=None if as_of is None else str(as_of),  # YAML reads an unquoted 2026-09-01 as a date
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
    # Types whose hyperparameters differ from ``hyperparameters`` (RFT's typed rftConfig.hyperParameters).
    hyperparameters_by_type: Mapping[CustomizationType, Mapping[str, HyperParameterSpec]] = field(default_factory=dict)

    def hyperparameters_for(self, customization_type: CustomizationType | None) -> Mapping[str, HyperParameterSpec]:
        if customization_type is None:
            return self.hyperparameters
        return self.hyperparameters_by_type.get(customization_type, self.hyperparameters)

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
        specs = self.hyperparameters_for(customization_type)
        batch = (hyperparameters or {}).get("batchSize")
        if batch is None and "batchSize" in specs:
            batch = specs["batchSize"].default
        return tokens.record_limit(_whole_number(batch))

    def hyperparameter_problems(
        self, hyperparameters: Mapping[str, object], customization_type: CustomizationType | None = None
    ) -> list[tuple[str, str]]:
        """(name, reason) for each hyperparameter Bedrock would refuse for this model (and type)."""
        specs = self.hyperparameters_for(customization_type)
        problems = []
        for name, value in hyperparameters.items():
            spec = specs.get(name)
            if spec is None:
                problems.append(
                    (
                        name,
                        f"is not a hyperparameter of {self.model_id}; valid: {', '.join(sorted(specs))}",
                    )
                )
                continue
            reason = spec.check(value)
            if reason:
                problems.append((name, reason))
        return problems

    def bedrock_hyperparameters(
        self, hyperparameters: Mapping[str, HyperParameterValue], customization_type: CustomizationType | None = None
    ) -> dict[str, str]:
        if customization_type is CustomizationType.REINFORCEMENT_FINE_TUNING:
            # RFT takes typed numbers in customizationConfig.rftConfig.hyperParameters, not this string map;
            # that request is not built yet, so refuse rather than send Bedrock the wrong shape.
            raise CatalogueError(
                "REINFORCEMENT_FINE_TUNING hyperparameters go in customizationConfig.rftConfig (rft_hyperparameters), "
                "which the job request builder does not build yet"
            )
        problems = self.hyperparameter_problems(hyperparameters)
        if problems:
            raise CatalogueError("; ".join(f"{name} {reason}" for name, reason in problems))
        return {name: self.hyperparameters[name].as_bedrock_string(value) for name, value in hyperparameters.items()}

    def rft_hyperparameters(self, hyperparameters: Mapping[str, HyperParameterValue]) -> dict[str, HyperParameterValue]:
        """customizationConfig.rftConfig.hyperParameters: checked, and typed as the service model wants."""
        rft = CustomizationType.REINFORCEMENT_FINE_TUNING
        if not self.supports(rft):
            raise CatalogueError(f"{self.name} does not support {rft.value}")
        problems = self.hyperparameter_problems(hyperparameters, rft)
        if problems:
            raise CatalogueError("; ".join(f"{name} {reason}" for name, reason in problems))
        specs = self.hyperparameters_for(rft)
        return {name: specs[name].typed(value) for name, value in hyperparameters.items()}


@dataclass(frozen=True)
class TeacherSpec:
    """A foundation model Bedrock accepts as a distillation teacher."""

    model_id: str
    name: str
    lifecycle: Lifecycle
    invocation: InvocationRoute
