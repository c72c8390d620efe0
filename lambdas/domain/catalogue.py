"""What Amazon Bedrock accepts for model customization: the one source of truth.

Used at synth time (profile validation), at run time (handlers), by the CLI and by the offline
emulator. Pure data and functions: nothing here imports boto3 or touches the network.

Facts come from the Bedrock user guide, AWS's sample dataset validators and the botocore service
model (summarised in shared/bedrock-reference.md). Where a fact is not published, the field is ``None``
and a note says so; nothing is guessed. A few figures are derived from published ones, and say how: the
per-record byte caps (from the token caps) and the distillation token caps (from the student's).

Per model: customization types and their dataset formats, hyperparameter specs, on-demand deployment
support, ``limits[type]`` (:class:`DatasetLimits`: record bounds per split, per-record token limits incl.
Titan's batch-size-dependent ones, with their sources, per-record byte caps, file sizes, media, reserved
strings) and ``prices``
(:class:`PriceInputs`: dated, sourced figures for estimates, never current AWS prices).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


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


def _hp(name: str, kind: type, minimum: float, maximum: float, default: float | int | None, note: str = "") -> tuple[str, HyperParameterSpec]:
    return name, HyperParameterSpec(name, kind, minimum, maximum, default, note)


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
_LLAMA_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 5),
        _hp("batchSize", int, 1, 1, 1),
        _hp("learningRate", float, 5e-6, 0.1, 1e-4),
    ]
)


def _cohere_hp(max_batch: int) -> dict[str, HyperParameterSpec]:
    return dict(
        [
            _hp("epochCount", int, 1, 100, 1),
            _hp("batchSize", int, 8, max_batch, 8),
            _hp("learningRate", float, 5e-6, 0.1, 1e-4, note="range not published in the reference; kept wide"),
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
class Source:
    """Where AWS states a figure, and the day we read it there."""

    url: str
    read: str  # ISO date

    def __str__(self) -> str:
        return f"{self.url} (read {self.read})"


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
        return None, f"no per-record token limit is published for batch size {size} (published: {published}); not checked"


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
    "System:", "SYSTEM:", "User:", "USER:", "Bot:", "BOT:", "Assistant:", "ASSISTANT:", "Thought:", "[EOS]", "<image>", "<video>",
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
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceInputs:
    """Inputs for cost estimates. Recorded figures, dated and sourced: never current AWS prices.

    Every figure is USD; ``None`` means we hold no recorded figure (supply one through configuration).
    """

    training_per_1k_tokens: Decimal | None = None
    storage_per_month: Decimal | None = None
    # Provisioned throughput price per model unit per hour, by commitment: "none", "OneMonth", "SixMonths".
    throughput_per_unit_hour: Mapping[str, Decimal | None] = field(default_factory=dict)
    as_of: str | None = None
    source: str = ""
    note: str = ""

    def with_overrides(self, overrides: Mapping[str, object]) -> "PriceInputs":
        """A copy with figures from configuration (e.g. the platform team's negotiated prices)."""
        def money(value: object) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        known = {"training_per_1k_tokens", "storage_per_month", "throughput_per_unit_hour", "as_of", "source", "note"}
        unknown = set(overrides) - known
        if unknown:
            raise CatalogueError(f"unknown price field(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(known))}")
        throughput = dict(self.throughput_per_unit_hour)
        for commitment, value in dict(overrides.get("throughput_per_unit_hour") or {}).items():
            if commitment not in COMMITMENTS:
                raise CatalogueError(f"unknown commitment {commitment!r}; valid: {', '.join(COMMITMENTS)}")
            throughput[commitment] = money(value)
        return PriceInputs(
            training_per_1k_tokens=money(overrides["training_per_1k_tokens"]) if "training_per_1k_tokens" in overrides else self.training_per_1k_tokens,
            storage_per_month=money(overrides["storage_per_month"]) if "storage_per_month" in overrides else self.storage_per_month,
            throughput_per_unit_hour=throughput,
            as_of=overrides.get("as_of", self.as_of),  # type: ignore[arg-type]
            source=str(overrides.get("source", "configuration")),
            note=str(overrides.get("note", self.note)),
        )


COMMITMENTS = ("none", "OneMonth", "SixMonths")
UNPRICED = PriceInputs(note="no recorded price figures for this model; supply them in the price configuration")


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    name: str
    provider: str
    customization_types: frozenset[CustomizationType]
    formats: Mapping[CustomizationType, DatasetFormat]
    hyperparameters: Mapping[str, HyperParameterSpec]
    supports_on_demand_deployment: bool
    notes: tuple[str, ...] = field(default=())
    limits: Mapping[CustomizationType, DatasetLimits] = field(default_factory=dict)
    prices: PriceInputs = UNPRICED

    def supports(self, customization_type: CustomizationType) -> bool:
        return customization_type in self.customization_types

    def dataset_format(self, customization_type: CustomizationType) -> DatasetFormat:
        return self.formats[customization_type]

    def dataset_limits(self, customization_type: CustomizationType) -> DatasetLimits:
        """Limits for one customization type; an unsupported type is a CatalogueError listing valid ones."""
        if not self.supports(customization_type):
            supported = ", ".join(sorted(t.value for t in self.customization_types))
            raise CatalogueError(f"{self.name} does not support {customization_type.value}; it supports: {supported}")
        return self.limits.get(customization_type, DatasetLimits(notes=("no dataset limits recorded for this model and type",)))

    def record_token_limit(self, customization_type: CustomizationType, hyperparameters: Mapping[str, object] | None = None) -> tuple[int | None, str]:
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
                problems.append((name, f"is not a hyperparameter of {self.model_id}; valid: {', '.join(sorted(self.hyperparameters))}"))
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
    on_demand: bool = False,
    notes: tuple[str, ...] = (),
    limits: dict[CustomizationType, DatasetLimits] | None = None,
    prices: PriceInputs = UNPRICED,
) -> ModelSpec:
    return ModelSpec(model_id, name, provider, frozenset(formats), formats, hp, on_demand, notes, limits or {}, prices)


_TITAN_FORMATS = {_FT: DatasetFormat.PROMPT_COMPLETION, _CPT: DatasetFormat.CONTINUED_PRE_TRAINING}
_NOVA_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}
_LLAMA_32_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}

# --- Dataset limits -------------------------------------------------------------------------------
# Sources: user guide "model-customization-prepare", "distillation-prepare-datasets", the Nova guide
# and AWS's sample validators (aws-samples/amazon-bedrock-samples), summarised in shared/bedrock-reference.md.
# Record-count quotas are adjustable through Service Quotas: the numbers are the published defaults.
# Per-record token caps carry the page that states them (TokenLimits.source).

_REQUIREMENTS = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-training-validation-requirements.html", "2026-12-04")
_NOVA_CONSTRAINTS = Source("https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html#custom-fine-tune-constraints", "2026-12-04")

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
        tokens=tokens, max_record_bytes=derived_record_bytes(ceiling, chars_per_token), chars_per_token=chars_per_token, **limits  # type: ignore[arg-type]
    )


# Titan: "Sum of input and output tokens" by batch size, and "Character quota per sample: token quota x 6",
# hence 6 characters per token. The page as read on 2026-12-04 lists Continued Pre-training columns for
# Express and Lite (the same token limits; 10 GB training file) beside the fine-tuning ones.
_TITAN_EXPRESS_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096), (2, 4, 2_048)), source=_REQUIREMENTS)
_TITAN_LITE_TOKENS = TokenLimits(by_batch_size=((1, 2, 4_096), (3, 6, 2_048)), source=_REQUIREMENTS)
_TITAN_PREMIER_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096),), source=_REQUIREMENTS)  # batch 2-4: "N/A"


def _titan_ft(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        tokens, 6.0, max_training_bytes=1 * GIB, max_validation_bytes=100 * MIB,
        notes=("record-count bounds for Titan fine-tuning are not in our sources; not checked",),
    )


def _titan_cpt(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        tokens, 6.0, max_training_bytes=10 * GIB, max_validation_bytes=100 * MIB,
        notes=("record-count bounds for Titan continued pre-training are not in our sources; not checked",),
    )


_NOVA_IMAGES = frozenset({"png", "jpeg", "gif", "webp"})
_NOVA_VIDEOS = frozenset({"mov", "mkv", "mp4", "webm"})
_NOVA_MEDIA = MediaSupport(image_formats=_NOVA_IMAGES, video_formats=_NOVA_VIDEOS, max_images_per_record=10, max_videos_per_record=1)
# "Context Length: 32k" for Micro, Lite and Pro alike; read as 32,000, the smaller of its two readings.
_NOVA_TOKENS = TokenLimits(record=32_000, source=_NOVA_CONSTRAINTS)


def _nova_ft(media: MediaSupport) -> DatasetLimits:
    return _capped(
        _NOVA_TOKENS,
        records=RecordBounds(training=Bounds(8, 20_000)),
        media=media,
        reserved_strings=NOVA_RESERVED_STRINGS,
        notes=("AWS recommends at least 100 samples per task",),
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
        notes=(
            "at least 100 prompts (AWS sample validator); no maximum published for files (invocation logs: 15K)",
        ),
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

# --- Price inputs ---------------------------------------------------------------------------------
# Recorded from the Bedrock pricing page as quoted by public write-ups (us-east-1); dated so nobody mistakes
# them for today's prices. Models without a recorded figure are UNPRICED: configure prices for them.
_PRICE_SOURCE = "Amazon Bedrock pricing page (us-east-1) as quoted in public write-ups; verify before relying on it"
_COHERE_COMMAND_PRICES = PriceInputs(
    training_per_1k_tokens=Decimal("0.004"),
    storage_per_month=Decimal("1.95"),
    throughput_per_unit_hour={"none": Decimal("49.50")},
    as_of="2025-02",
    source=_PRICE_SOURCE,
)
_COHERE_LIGHT_PRICES = PriceInputs(
    training_per_1k_tokens=Decimal("0.001"),
    storage_per_month=Decimal("1.95"),
    throughput_per_unit_hour={"none": Decimal("8.56")},
    as_of="2025-02",
    source=_PRICE_SOURCE,
)
_TITAN_LITE_PRICES = PriceInputs(
    training_per_1k_tokens=Decimal("0.0004"),
    storage_per_month=Decimal("1.95"),
    as_of="2025-02",
    source=_PRICE_SOURCE,
    note="provisioned-throughput price not recorded",
)

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _model(
            "amazon.titan-text-express-v1:0:8k", "Titan Text G1 - Express", "amazon", _TITAN_FORMATS, _TITAN_EXPRESS_LITE_HP,
            limits={_FT: _titan_ft(_TITAN_EXPRESS_TOKENS), _CPT: _titan_cpt(_TITAN_EXPRESS_TOKENS)},
        ),
        _model(
            "amazon.titan-text-lite-v1:0:4k", "Titan Text G1 - Lite", "amazon", _TITAN_FORMATS, _TITAN_EXPRESS_LITE_HP,
            limits={_FT: _titan_ft(_TITAN_LITE_TOKENS), _CPT: _titan_cpt(_TITAN_LITE_TOKENS)},
            prices=_TITAN_LITE_PRICES,
        ),
        _model(
            "amazon.titan-text-premier-v1:0:32k", "Titan Text G1 - Premier", "amazon", {_FT: DatasetFormat.PROMPT_COMPLETION}, _TITAN_PREMIER_HP,
            limits={_FT: _titan_ft(_TITAN_PREMIER_TOKENS)},
        ),
        _model(
            "amazon.nova-micro-v1:0:128k", "Nova Micro", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True,
            limits={_FT: _nova_ft(NO_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-lite-v1:0:300k", "Nova Lite", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True,
            limits={_FT: _nova_ft(_NOVA_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-pro-v1:0:300k", "Nova Pro", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True,
            limits={_FT: _nova_ft(_NOVA_MEDIA), _DIST: _distillation(False, _NOVA_TOKENS)},
        ),
        _model(
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "Claude 3 Haiku",
            "anthropic",
            {_FT: DatasetFormat.CLAUDE_MESSAGES, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _HAIKU_HP,
            limits={_FT: _HAIKU_FT, _DIST: _distillation(True, _HAIKU_TOKENS)},
        ),
        _model(
            "meta.llama3-1-8b-instruct-v1:0:128k", "Llama 3.1 8B Instruct", "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP,
            limits={_FT: _LLAMA_31_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-1-70b-instruct-v1:0:128k", "Llama 3.1 70B Instruct", "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP,
            limits={_FT: _LLAMA_31_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-1b-instruct-v1:0:128k", "Llama 3.2 1B Instruct", "meta", _LLAMA_32_FORMATS, _LLAMA_HP,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, NO_MEDIA), _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-3b-instruct-v1:0:128k", "Llama 3.2 3B Instruct", "meta", _LLAMA_32_FORMATS, _LLAMA_HP,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, NO_MEDIA), _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-11b-instruct-v1:0:128k", "Llama 3.2 11B Vision Instruct", "meta", {_FT: DatasetFormat.CONVERSATION_2024}, _LLAMA_HP,
            limits={_FT: _llama_32_ft(_LLAMA_TOKENS, _LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-2-90b-instruct-v1:0:128k", "Llama 3.2 90B Vision Instruct", "meta", {_FT: DatasetFormat.CONVERSATION_2024}, _LLAMA_HP,
            limits={_FT: _llama_32_ft(_LLAMA_90B_TOKENS, _LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-3-70b-instruct-v1:0:128k", "Llama 3.3 70B Instruct", "meta",
            {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP,
            limits={_FT: _LLAMA_33_FT, _DIST: _distillation(True, _LLAMA_TOKENS)},
        ),
        _model(
            "cohere.command-text-v14:7:4k", "Cohere Command", "cohere", {_FT: DatasetFormat.PROMPT_COMPLETION}, _cohere_hp(8),
            limits={_FT: _COHERE_FT}, prices=_COHERE_COMMAND_PRICES,
        ),
        _model(
            "cohere.command-light-text-v14:7:4k", "Cohere Command Light", "cohere", {_FT: DatasetFormat.PROMPT_COMPLETION}, _cohere_hp(32),
            limits={_FT: _COHERE_FT}, prices=_COHERE_LIGHT_PRICES,
        ),
    )
}

# Teachers must be foundation models or inference profiles that Bedrock allows for distillation.
TEACHER_MODELS: frozenset[str] = frozenset(
    {
        "amazon.nova-premier-v1:0",
        "amazon.nova-pro-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "meta.llama3-1-405b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
    }
)

_CUSTOM_MODEL_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:custom-model/(?P<base>[^/]+)/(?P<suffix>[a-z0-9]+)$")


def get_model(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        raise CatalogueError(f"unknown base model {model_id!r}; customizable models: {', '.join(sorted(MODELS))}") from None


def resolve_base_model(identifier: str) -> ModelSpec:
    """Resolve a foundation-model id or a custom-model ARN (incremental tuning) to its base model.

    Custom-model ARNs name the base model they were trained from:
    ``arn:aws:bedrock:<region>:<account>:custom-model/<base-model-id>/<suffix>``.
    """
    match = _CUSTOM_MODEL_ARN.match(identifier)
    return get_model(match.group("base") if match else identifier)


def parse_customization_type(value: str) -> CustomizationType:
    try:
        return CustomizationType(value)
    except ValueError:
        raise CatalogueError(f"unknown customization type {value!r}; valid: {', '.join(t.value for t in CustomizationType)}") from None
