"""What Amazon Bedrock accepts for model customization: the one source of truth.

Used at synth time (profile validation), at run time (handlers), by the CLI and by the offline
emulator. Pure data and functions: nothing here imports boto3 or touches the network.

Facts come from the Bedrock user guide pages named in each entry's ``sources`` and from the botocore
service model. Where a fact is not published, the field is ``None`` and ``notes`` says so; nothing is
guessed.
"""

from __future__ import annotations

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

    def supports(self, customization_type: CustomizationType) -> bool:
        return customization_type in self.customization_types

    def dataset_format(self, customization_type: CustomizationType) -> DatasetFormat:
        return self.formats[customization_type]

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


def _model(model_id: str, name: str, provider: str, formats: dict[CustomizationType, DatasetFormat], hp: dict, on_demand: bool = False, notes: tuple[str, ...] = ()) -> ModelSpec:
    return ModelSpec(model_id, name, provider, frozenset(formats), formats, hp, on_demand, notes)


_TITAN_FORMATS = {_FT: DatasetFormat.PROMPT_COMPLETION, _CPT: DatasetFormat.CONTINUED_PRE_TRAINING}
_NOVA_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}
_LLAMA_32_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _model("amazon.titan-text-express-v1:0:8k", "Titan Text G1 - Express", "amazon", _TITAN_FORMATS, _TITAN_EXPRESS_LITE_HP),
        _model("amazon.titan-text-lite-v1:0:4k", "Titan Text G1 - Lite", "amazon", _TITAN_FORMATS, _TITAN_EXPRESS_LITE_HP),
        _model("amazon.titan-text-premier-v1:0:32k", "Titan Text G1 - Premier", "amazon", {_FT: DatasetFormat.PROMPT_COMPLETION}, _TITAN_PREMIER_HP),
        _model("amazon.nova-micro-v1:0:128k", "Nova Micro", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True),
        _model("amazon.nova-lite-v1:0:300k", "Nova Lite", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True),
        _model("amazon.nova-pro-v1:0:300k", "Nova Pro", "amazon", _NOVA_FORMATS, _NOVA_HP, on_demand=True),
        _model(
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "Claude 3 Haiku",
            "anthropic",
            {_FT: DatasetFormat.CLAUDE_MESSAGES, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            _HAIKU_HP,
        ),
        _model("meta.llama3-1-8b-instruct-v1:0:128k", "Llama 3.1 8B Instruct", "meta", {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP),
        _model("meta.llama3-1-70b-instruct-v1:0:128k", "Llama 3.1 70B Instruct", "meta", {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP),
        _model("meta.llama3-2-1b-instruct-v1:0:128k", "Llama 3.2 1B Instruct", "meta", _LLAMA_32_FORMATS, _LLAMA_HP),
        _model("meta.llama3-2-3b-instruct-v1:0:128k", "Llama 3.2 3B Instruct", "meta", _LLAMA_32_FORMATS, _LLAMA_HP),
        _model("meta.llama3-2-11b-instruct-v1:0:128k", "Llama 3.2 11B Vision Instruct", "meta", {_FT: DatasetFormat.CONVERSATION_2024}, _LLAMA_HP),
        _model("meta.llama3-2-90b-instruct-v1:0:128k", "Llama 3.2 90B Vision Instruct", "meta", {_FT: DatasetFormat.CONVERSATION_2024}, _LLAMA_HP),
        _model("meta.llama3-3-70b-instruct-v1:0:128k", "Llama 3.3 70B Instruct", "meta", {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}, _LLAMA_HP),
        _model("cohere.command-text-v14:7:4k", "Cohere Command", "cohere", {_FT: DatasetFormat.PROMPT_COMPLETION}, _cohere_hp(8)),
        _model("cohere.command-light-text-v14:7:4k", "Cohere Command Light", "cohere", {_FT: DatasetFormat.PROMPT_COMPLETION}, _cohere_hp(32)),
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
