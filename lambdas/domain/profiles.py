"""Tuning profiles: what a platform team declares per use case, validated against the model catalogue.

The same model is used at synth time (the CDK app rejects a bad profile before anything is deployed)
and at run time (the state machine hands each Lambda its profile as JSON), so both sides agree on
what a profile means.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import Enum
from typing import Annotated, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from lambdas.domain.catalogue import TEACHER_MODELS, CustomizationType, DatasetFormat, ModelSpec, get_model
from lambdas.domain.catalogue.evaluation_jobs import (
    BUILTIN_JUDGE_METRICS,
    EVALUATOR_MODELS,
    EVALUATORS_SOURCE,
    GATE_METRIC_PREFIX,
    GATE_METRICS,
)
from lambdas.domain.invocation_logs import InvocationLogsSettings
from lambdas.domain.json_schema_subset import schema_problems
from lambdas.domain.names import EVALUATION_PREFIX

# Bedrock's metric names are ours to choose; these are the ones the evaluation step computes, and the managed
# judge's (judge_correctness, …: one per built-in judge metric, lambdas.domain.catalogue.evaluation_jobs).
KNOWN_METRICS = ("exact_match", "token_f1", "rouge_l", "judge", *GATE_METRICS)

ProfileName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Commitment(str, Enum):
    NONE = "none"
    ONE_MONTH = "OneMonth"
    SIX_MONTHS = "SixMonths"


class StartFrom(str, Enum):
    BASE = "base"  # every run tunes the profile's base model
    CHAMPION = "champion"  # incremental: tune the profile's current champion, the base model until one exists


class ManagedJudgeSettings(_Strict):
    """Bedrock's own judge: an evaluation job per model side scores the run's responses on built-in metrics."""

    evaluator_model: str = Field(description="The judge: one of the evaluator models Bedrock documents.")
    metrics: tuple[str, ...] = Field(
        min_length=1, description="Built-in judge metrics by short name: correctness, completeness, …"
    )

    @model_validator(mode="after")
    def _documented(self) -> "ManagedJudgeSettings":
        if self.evaluator_model not in EVALUATOR_MODELS:
            raise ValueError(
                f"evaluator_model {self.evaluator_model!r} is not an evaluator model Bedrock documents ({EVALUATORS_SOURCE}); "
                f"valid: {', '.join(sorted(EVALUATOR_MODELS))}"
            )
        unknown = [metric for metric in self.metrics if metric not in BUILTIN_JUDGE_METRICS]
        if unknown:
            raise ValueError(
                f"metrics: unknown {', '.join(map(repr, unknown))}; known: {', '.join(BUILTIN_JUDGE_METRICS)}"
            )
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("metrics: each metric once")
        return self


class BuiltinGrader(str, Enum):
    """Graders shipped with tuneforge (lambdas/domain/graders.py); each scores a response against the record's
    reference_answer, from 0 (wrong) to 1 (right)."""

    EXACT_MATCH = "exact_match"
    TOKEN_F1 = "token_f1"
    NUMERIC_TOLERANCE = "numeric_tolerance"
    JSON_SCHEMA = "json_schema"
    REGEX = "regex"


# A grader module is a Python file in the repository, under graders/, shipped beside the built-in graders.
GRADER_MODULE_PATTERN = r"^graders/[a-z0-9_]+(/[a-z0-9_]+)*\.py$"


class GraderSettings(_Strict):
    """A reinforcement fine-tuning profile's grader: a built-in one, or the team's own module in the repository.
    The pipeline deploys it as a Lambda function the RFT job invokes (customizationConfig.rftConfig)."""

    builtin: BuiltinGrader | None = None
    module: Annotated[str, StringConstraints(pattern=GRADER_MODULE_PATTERN)] | None = Field(
        default=None, description="A Python file under graders/ in this repository, e.g. graders/invoices.py."
    )
    function: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")] = Field(
        default="grade", description="The module's function: grade(sample: GraderSample) -> float | GraderScore."
    )
    tolerance: float | None = Field(
        default=None, ge=0, description="numeric_tolerance: how far a number may be from the reference."
    )
    pattern: str | None = Field(default=None, description="regex: a pattern the whole response must match.")
    json_schema: dict[str, object] | None = Field(
        default=None, description="json_schema: the JSON Schema the response must satisfy."
    )
    timeout_seconds: int = Field(default=60, ge=3, le=900)

    @model_validator(mode="after")
    def _one_kind(self) -> "GraderSettings":
        if (self.builtin is None) == (self.module is None):
            raise ValueError("set exactly one of builtin or module")
        # The one option each builtin grader needs (lambdas/domain/graders.py); the others and a module take none.
        options = {
            BuiltinGrader.NUMERIC_TOLERANCE: "tolerance",
            BuiltinGrader.REGEX: "pattern",
            BuiltinGrader.JSON_SCHEMA: "json_schema",
        }
        kind = f"builtin {self.builtin.value}" if self.builtin is not None else "a module"
        needed = options.get(self.builtin) if self.builtin is not None else None
        given = [name for name in ("tolerance", "pattern", "json_schema") if getattr(self, name) is not None]
        unused = [name for name in given if name != needed]
        if unused:
            raise ValueError(f"{kind} takes no {' or '.join(unused)}" + (f" (it takes {needed})" if needed else ""))
        if needed is not None and needed not in given:
            raise ValueError(f"{kind} needs {needed}")
        # Compared with the default, not with the fields set: model_dump_json() writes it for a builtin too.
        if self.module is None and self.function != type(self).model_fields["function"].default:
            raise ValueError("function names a module's function; a builtin grader takes none")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern does not compile: {error}") from None
        problems = schema_problems(self.json_schema, "json_schema") if self.json_schema is not None else []
        if problems:
            raise ValueError("; ".join(problems))
        return self


class EvaluationSettings(_Strict):
    dataset_key: str | None = Field(
        default=None, description="Key in the data bucket of a JSONL file with prompt + reference per line."
    )
    holdout_fraction: float | None = Field(
        default=None, gt=0, lt=0.5, description="Set aside this share of the training data instead of a dataset_key."
    )
    max_examples: int = Field(default=200, ge=1, le=10_000)
    judge_model: str | None = None
    managed_judge: ManagedJudgeSettings | None = None
    concurrency: int = Field(default=4, ge=1, le=32)

    @model_validator(mode="after")
    def _one_source(self) -> "EvaluationSettings":
        if (self.dataset_key is None) == (self.holdout_fraction is None):
            raise ValueError("set exactly one of dataset_key or holdout_fraction")
        if self.dataset_key is not None and not self.dataset_key.startswith(EVALUATION_PREFIX):
            raise ValueError(
                f"dataset_key must be under {EVALUATION_PREFIX} of the data bucket (the only prefix evaluation may read), got {self.dataset_key!r}"
            )
        return self


class Gate(_Strict):
    minimums: dict[str, float] = Field(
        default_factory=dict, description="Metric -> absolute minimum the candidate must reach."
    )
    margin_over_baseline: dict[str, float] = Field(
        default_factory=dict, description="Metric -> how far the candidate must beat the baseline."
    )
    confidence: float | None = Field(
        default=None,
        gt=0.5,
        lt=1,
        description=(
            "Confidence level, e.g. 0.95: each margin_over_baseline must also hold for the lower bound of the "
            "paired bootstrap interval of candidate minus baseline at this level, not only for the means, "
            "so a candidate that won a small set by luck is refused. Unset, the gate compares means."
        ),
    )

    @model_validator(mode="after")
    def _known_metrics(self) -> "Gate":
        for section in ("minimums", "margin_over_baseline"):
            for metric in getattr(self, section):
                if metric not in KNOWN_METRICS:
                    raise ValueError(f"{section}: unknown metric {metric!r}; known: {', '.join(KNOWN_METRICS)}")
        if not self.minimums and not self.margin_over_baseline:
            raise ValueError("a gate needs at least one threshold")
        if self.confidence is not None and not self.margin_over_baseline:
            raise ValueError("confidence applies to margin_over_baseline, and this gate sets no margin")
        return self


class Throughput(_Strict):
    model_units: int = Field(default=1, ge=1)
    commitment: Commitment = Commitment.NONE
    retire_previous_champion: bool = False


# Bedrock's guides document invocation logs as training data for these (distillation-data-prep-option-2.html,
# rft-option-2.html, read 2026-12-07).
INVOCATION_LOG_TYPES = (CustomizationType.DISTILLATION, CustomizationType.REINFORCEMENT_FINE_TUNING)


class TuningProfile(_Strict):
    name: ProfileName
    base_model: str
    start_from: StartFrom = StartFrom.BASE
    customization_type: CustomizationType
    hyperparameters: dict[str, int | float | str] = Field(default_factory=dict)
    teacher_model: str | None = None
    # REINFORCEMENT_FINE_TUNING only: what scores the responses the job samples.
    grader: GraderSettings | None = None
    # DISTILLATION (and REINFORCEMENT_FINE_TUNING) only: learn from the account's model invocation logs.
    invocation_logs: InvocationLogsSettings | None = None
    evaluation: EvaluationSettings
    evaluation_model_units: int = Field(default=1, ge=1)
    gate: Gate
    throughput: Throughput = Field(default_factory=Throughput)
    budget_cap_usd: float = Field(gt=0)
    # What a promotion may keep running each month (production throughput, model storage). Unset, a run
    # whose promotion would keep anything billing by the hour is refused before it starts.
    promotion_monthly_cap_usd: float | None = Field(default=None, gt=0)
    # Price figures the platform team records for this model (negotiated or read off the pricing page),
    # with as_of and source; they override the catalogue's dated figures in estimates.
    prices: dict[str, object] | None = None
    # The cost guard fails closed: a run whose estimate has a line without a price is rejected before
    # any job, unless the profile says in writing that it accepts runs it cannot price.
    accept_unpriced_runs: bool = False
    description: str = ""

    @property
    def model(self) -> ModelSpec:
        return get_model(self.base_model)

    def fingerprint(self) -> str:
        """Every setting of the profile in 32 hex digits: the same however its JSON was written."""
        settings = self.model_dump(mode="json")
        if settings["evaluation"].get("managed_judge") is None:
            # Unset, the managed judge leaves the fingerprints of profiles written before it unchanged.
            settings["evaluation"].pop("managed_judge", None)
        if settings.get("grader") is None:
            settings.pop("grader", None)  # likewise for profiles written before reinforcement fine-tuning
        if settings.get("invocation_logs") is None:
            settings.pop("invocation_logs", None)  # and before distillation from invocation logs
        canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    @property
    def bedrock_hyperparameters(self) -> dict[str, str]:
        return self.model.bedrock_hyperparameters(self.hyperparameters, self.customization_type)

    def problems(self) -> list[tuple[str, str]]:
        """(field path, reason) for everything Bedrock would refuse; empty when the profile is sound."""
        try:
            model = self.model
        except ValueError as unknown:
            return [("base_model", str(unknown))]
        problems: list[tuple[str, str]] = []
        if not model.supports(self.customization_type):
            supported = ", ".join(sorted(t.value for t in model.customization_types))
            problems.append(
                (
                    "customization_type",
                    f"{model.name} does not support {self.customization_type.value}; it supports: {supported}",
                )
            )
        problems += [
            (f"hyperparameters.{name}", reason)
            for name, reason in model.hyperparameter_problems(self.hyperparameters, self.customization_type)
        ]
        if self.customization_type is CustomizationType.DISTILLATION:
            if not self.teacher_model:
                problems.append(("teacher_model", "distillation needs a teacher model"))
            elif self.teacher_model not in TEACHER_MODELS:
                problems.append(
                    (
                        "teacher_model",
                        f"{self.teacher_model!r} is not a distillation teacher; valid: {', '.join(sorted(TEACHER_MODELS))}",
                    )
                )
        if self.prices is not None:
            try:
                model.prices.with_overrides(self.prices)
            except (ValueError, ArithmeticError) as bad_prices:
                problems.append(("prices", str(bad_prices)))
        if (
            self.evaluation.holdout_fraction is not None
            and model.supports(self.customization_type)
            and model.dataset_format(self.customization_type)
            not in (
                DatasetFormat.PROMPT_COMPLETION,
                DatasetFormat.CLAUDE_MESSAGES,
                DatasetFormat.CONVERSATION_2024,
            )
        ):
            problems.append(
                (
                    "evaluation.holdout_fraction",
                    f"{model.dataset_format(self.customization_type).value} records carry no answer to evaluate against; give an evaluation dataset_key",
                )
            )
        problems += self._managed_judge_problems()
        rft = self.customization_type is CustomizationType.REINFORCEMENT_FINE_TUNING
        if rft and self.grader is None:
            problems.append(("grader", "reinforcement fine-tuning needs a grader: a builtin one or a module"))
        if not rft and self.grader is not None:
            problems.append(
                (
                    "grader",
                    f"only REINFORCEMENT_FINE_TUNING takes a grader, this profile is {self.customization_type.value}",
                )
            )
        problems += self._invocation_logs_problems()
        if self.customization_type is not CustomizationType.DISTILLATION and self.teacher_model:
            problems.append(
                (
                    "teacher_model",
                    f"only DISTILLATION takes a teacher model, this profile is {self.customization_type.value}",
                )
            )
        return problems

    def _invocation_logs_problems(self) -> list[tuple[str, str]]:
        """Invocation logs feed only the types AWS documents them for (lambdas/domain/invocation_logs.py), and a
        run from them has no upload to hold a quarter of out."""
        if self.invocation_logs is None:
            return []
        if self.customization_type not in INVOCATION_LOG_TYPES:
            return [
                (
                    "invocation_logs",
                    f"only {' and '.join(t.value for t in INVOCATION_LOG_TYPES)} learn from invocation logs, this profile is {self.customization_type.value}",
                )
            ]
        if self.evaluation.holdout_fraction is not None:
            return [
                (
                    "evaluation.holdout_fraction",
                    "a run from invocation logs has no uploaded file to hold examples out of; give an evaluation dataset_key",
                )
            ]
        return []

    def _managed_judge_problems(self) -> list[tuple[str, str]]:
        """A gate threshold on a managed-judge metric the profile does not ask Bedrock to score."""
        judged = set(self.evaluation.managed_judge.metrics) if self.evaluation.managed_judge else set()
        named = set(self.gate.minimums) | set(self.gate.margin_over_baseline)
        return [
            (
                "gate",
                f"{metric} needs evaluation.managed_judge with {metric.removeprefix(GATE_METRIC_PREFIX)!r} in its metrics",
            )
            for metric in sorted(named & set(GATE_METRICS))
            if metric.removeprefix(GATE_METRIC_PREFIX) not in judged
        ]


RemovalPolicyName = Literal["retain", "destroy"]


def fingerprints_variable(profiles: Iterable[TuningProfile]) -> str:
    """``name=fingerprint,...``: how a deployment hands its profiles' fingerprints to Validate (names and
    hex digits only, as an environment variable of names and ARNs should be)."""
    return ",".join(f"{profile.name}={profile.fingerprint()}" for profile in sorted(profiles, key=lambda p: p.name))


def parse_fingerprints(variable: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in variable.split(",") if pair)


class ProfileNotDeployed(ValueError):
    """A run whose profile is not the one the stage's deployment installed."""


def deployment_problem(profile: TuningProfile, deployed: Mapping[str, str]) -> str | None:
    """Why a run's profile is not what the deployment installed, or None. ``deployed`` maps each profile
    of the stage to its fingerprint at synth: a run started with other settings (a forged execution
    input, or a profile parameter changed in place) is refused before anything is spent."""
    expected = deployed.get(profile.name)
    if expected is None:
        return (
            f"profile {profile.name!r} is not deployed to this stage; deployed: {', '.join(sorted(deployed)) or 'none'}"
        )
    if profile.fingerprint() != expected:
        return (
            f"the run's settings for profile {profile.name!r} differ from the deployed configuration (fingerprint {profile.fingerprint()}, deployed {expected}): "
            "runs start only from the profile `cdk deploy` installed; change config/tuneforge.yaml and deploy"
        )
    return None
