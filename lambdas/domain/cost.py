"""What a customization run will cost, before it starts, with the assumptions beside the numbers.

Public API::

    estimate_cost(
        report_stats,              # ValidationReport, TokenStats, or the training token count (int)
        model,                     # ModelSpec or model id
        hyperparameters=None,      # epochCount comes from here (else the model's default)
        throughput=None,           # anything with .model_units and .commitment (profiles.Throughput), or None
        budget_cap=None,           # USD; compared with the total
        *,
        customization_type="FINE_TUNING",
        prices=None,               # PriceInputs or a mapping of overrides; default: the catalogue's dated figures
        storage_months=1,
        evaluation=None,           # EvaluationPlan: what evaluating the candidate will send, or None to leave it out
        monthly_cap=None,          # USD a month; compared with what a promotion keeps running
    ) -> CostEstimate

Two totals: what the run spends (training, a month of storage, evaluation) against ``budget_cap``, and
what a promotion keeps running each month (the production throughput, storage) against ``monthly_cap``.
The price inputs are recorded figures with a date and a source (see catalogue.PriceInputs), not current
AWS prices; a figure we do not hold makes its line "unknown" rather than zero, and the total says it
is incomplete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from lambdas.domain.catalogue import (
    CustomizationType,
    HyperParameterValue,
    ModelSpec,
    PriceInputs,
    on_demand_prices,
    parse_customization_type,
    resolve_base_model,
)
from lambdas.domain.endpoints import DEPLOYMENT, PROVISIONED
from lambdas.domain.report import TokenStats, ValidationReport

HOURS_PER_MONTH = 730  # AWS bills hourly services on a 730-hour month
COMMITMENT_HOURS = {"none": None, "OneMonth": HOURS_PER_MONTH, "SixMonths": 6 * HOURS_PER_MONTH}
CENT = Decimal("0.01")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass
class CostLine:
    item: str
    amount: Decimal | None  # None: no price figure for it
    basis: str  # how the amount was computed, printed beside it

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "amount_usd": _money(self.amount), "basis": self.basis}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CostLine":
        amount = data.get("amount_usd")
        return cls(data["item"], None if amount is None else Decimal(amount), data["basis"])


@dataclass(frozen=True)
class EvaluationPlan:
    """What evaluating the candidate will send, known in the Validate step; tokens are estimates."""

    examples: int
    prompt_tokens: int
    reference_tokens: int
    answer_tokens: int  # the cap on each answer: output is priced at the cap, an upper bound
    candidate_on_demand: bool
    candidate_why: str
    model_units: int  # of the evaluation throughput when the candidate is not served on demand
    endpoint_hours: int  # the longest an evaluation throughput can bill for
    baseline_model: str  # the base model as Converse invokes it on demand
    judge_model: str | None = None
    judge_overhead_tokens: int = 0  # the judge's instructions around each prompt, reference and answer
    judge_answer_tokens: int = 10


def _tokens_cost(
    item: str, prices: PriceInputs | None, input_tokens: int, output_tokens: int, whose: str, *, counted: bool = False
) -> CostLine:
    """``counted``: the tokens are Converse's count of what was billed, not the estimate's bound."""
    if prices is None or prices.on_demand_input_per_1k is None or prices.on_demand_output_per_1k is None:
        return CostLine(item, None, f"no on-demand price per 1,000 tokens recorded for {whose}")
    amount = (
        Decimal(input_tokens) / 1000 * prices.on_demand_input_per_1k
        + Decimal(output_tokens) / 1000 * prices.on_demand_output_per_1k
    )
    bound = "" if counted else "at most "
    return CostLine(
        item,
        amount,
        f"{input_tokens:,} input tokens x ${prices.on_demand_input_per_1k} + {bound}{output_tokens:,} output tokens x ${prices.on_demand_output_per_1k} per 1,000 ({whose})",
    )


def _evaluation_lines(
    plan: EvaluationPlan, candidate_prices: PriceInputs, spec: ModelSpec
) -> tuple[list[CostLine], list[str]]:
    answers = plan.examples * plan.answer_tokens
    lines: list[CostLine] = []
    assumptions = [
        f"evaluation: {plan.examples:,} examples, {plan.prompt_tokens:,} prompt tokens; each answer priced at its cap of {plan.answer_tokens:,} tokens"
    ]
    if plan.candidate_on_demand:
        lines.append(
            _tokens_cost(
                "evaluation: candidate on demand",
                candidate_prices,
                plan.prompt_tokens,
                answers,
                f"custom {spec.name} on demand",
            )
        )
    else:
        rate = candidate_prices.throughput_per_unit_hour.get("none")
        if rate is None:
            lines.append(
                CostLine(
                    "evaluation: candidate throughput",
                    None,
                    f"no no-commitment price per model unit-hour recorded for {spec.name}",
                )
            )
        else:
            lines.append(
                CostLine(
                    "evaluation: candidate throughput",
                    rate * plan.model_units * plan.endpoint_hours,
                    f"{plan.model_units} model unit(s) x ${rate} per unit-hour (none) x {plan.endpoint_hours} h, the longest it can run before it is torn down",
                )
            )
    assumptions.append(f"evaluation endpoint: {plan.candidate_why}")
    # Priced as the base model on demand even where a champion is the baseline: the champion answers on
    # throughput it already bills, so this is an upper bound.
    lines.append(
        _tokens_cost(
            "evaluation: baseline",
            on_demand_prices(plan.baseline_model),
            plan.prompt_tokens,
            answers,
            plan.baseline_model,
        )
    )
    if plan.judge_model:
        calls = 2 * plan.examples  # the candidate's answer and the baseline's, each judged once
        judged = (
            2 * (plan.prompt_tokens + plan.reference_tokens + plan.examples * plan.judge_overhead_tokens) + 2 * answers
        )
        lines.append(
            _tokens_cost(
                "evaluation: judge",
                on_demand_prices(plan.judge_model),
                judged,
                calls * plan.judge_answer_tokens,
                plan.judge_model,
            )
        )
    return lines, assumptions


def _promotion_lines(
    spec: ModelSpec, price: PriceInputs, throughput: Any
) -> tuple[list[CostLine], Decimal | None, list[str]]:
    """What a promoted model keeps running each month: its production throughput and its storage."""
    assumptions: list[str] = []
    units = int(getattr(throughput, "model_units", 1))
    commitment = _commitment(throughput)
    if commitment not in COMMITMENT_HOURS:
        raise ValueError(f"unknown commitment {commitment!r}; valid: {', '.join(COMMITMENT_HOURS)}")
    rate = price.throughput_per_unit_hour.get(commitment)
    per_hour = None if rate is None else rate * units
    if rate is None:
        lines = [
            CostLine(
                "production throughput", None, f"no {commitment} price per model unit-hour recorded for {spec.name}"
            )
        ]
    else:
        lines = [
            CostLine(
                "production throughput",
                rate * units * HOURS_PER_MONTH,
                f"{units} model unit(s) x ${rate} per unit-hour ({commitment}) x {HOURS_PER_MONTH} h a month",
            )
        ]
    committed_hours = COMMITMENT_HOURS[commitment]  # None: no commitment
    if committed_hours is None:
        assumptions.append(
            "no-commitment provisioned throughput bills every hour until it is deleted (when a newer champion retires it, or by hand)"
        )
    else:
        term = committed_hours // HOURS_PER_MONTH
        total = "an unknown amount" if rate is None else f"${_money(rate * units * committed_hours)}"
        assumptions.append(
            f"a {commitment} commitment cannot be cancelled: a promotion binds {term} month(s), {total} in all"
        )
    if not getattr(throughput, "retire_previous_champion", False):
        assumptions.append(
            "retire_previous_champion is false: the previous champion's throughput keeps billing beside the new one"
        )
    if price.storage_per_month is None:
        lines.append(CostLine("model storage", None, f"no monthly storage price recorded for {spec.name}"))
    else:
        lines.append(
            CostLine("model storage", price.storage_per_month, f"${price.storage_per_month} per custom model per month")
        )
    return lines, per_hour, assumptions


@dataclass
class CostEstimate:
    model_id: str
    customization_type: str
    training_tokens: int
    epochs: int | None  # None: not set and the model publishes no default
    billable_tokens: int | None
    lines: list[CostLine]
    throughput_per_hour: Decimal | None
    budget_cap: Decimal | None
    prices_as_of: str | None
    prices_source: str
    assumptions: list[str] = field(default_factory=list)
    monthly_lines: list[CostLine] = field(default_factory=list)  # what a promotion keeps running, per month
    monthly_cap: Decimal | None = None
    # The figures the estimate used, kept with the run so that its actual cost is priced the same way.
    rates: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every line of the run and of the promotion is priced."""
        return not self.unpriced

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in (*self.lines, *self.monthly_lines) if line.amount is None]

    @property
    def total(self) -> Decimal:
        """What the run spends: the sum of its lines we could price."""
        return _sum(self.lines)

    @property
    def monthly_total(self) -> Decimal:
        """What a promotion keeps running each month: the sum of those lines we could price."""
        return _sum(self.monthly_lines)

    @property
    def within_budget(self) -> bool | None:
        """The run against its cap; None when there is no cap or unknown lines could still tip it over."""
        return _within(self.total, self.budget_cap, self.lines)

    @property
    def within_monthly_cap(self) -> bool | None:
        """What a promotion keeps running against the monthly cap, the same way."""
        return _within(self.monthly_total, self.monthly_cap, self.monthly_lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "customization_type": self.customization_type,
            "training_tokens": self.training_tokens,
            "epochs": self.epochs,
            "billable_tokens": self.billable_tokens,
            "lines": [line.to_dict() for line in self.lines],
            "total_usd": _money(self.total),
            "complete": self.complete,
            "throughput_per_hour_usd": _money(self.throughput_per_hour),
            "budget_cap_usd": _money(self.budget_cap),
            "within_budget": self.within_budget,
            "prices_as_of": self.prices_as_of,
            "prices_source": self.prices_source,
            "monthly_lines": [line.to_dict() for line in self.monthly_lines],
            "monthly_total_usd": _money(self.monthly_total),
            "monthly_cap_usd": _money(self.monthly_cap),
            "within_monthly_cap": self.within_monthly_cap,
            "assumptions": self.assumptions,
            "rates": self.rates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CostEstimate":
        def dec(key: str) -> Decimal | None:
            return None if data.get(key) is None else Decimal(data[key])

        return cls(
            model_id=data["model_id"],
            customization_type=data["customization_type"],
            training_tokens=int(data["training_tokens"]),
            epochs=None if data.get("epochs") is None else int(data["epochs"]),
            billable_tokens=None if data.get("billable_tokens") is None else int(data["billable_tokens"]),
            lines=[CostLine.from_dict(line) for line in data["lines"]],
            throughput_per_hour=dec("throughput_per_hour_usd"),
            budget_cap=dec("budget_cap_usd"),
            prices_as_of=data.get("prices_as_of"),
            prices_source=data.get("prices_source", ""),
            assumptions=list(data.get("assumptions", [])),
            monthly_lines=[CostLine.from_dict(line) for line in data.get("monthly_lines", [])],
            monthly_cap=dec("monthly_cap_usd"),
            rates=dict(data.get("rates") or {}),
        )


def _figure(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _token_rates(prices: PriceInputs | None, model: str | None = None) -> dict[str, str | None]:
    rates = {
        "input_per_1k": _figure(prices.on_demand_input_per_1k) if prices else None,
        "output_per_1k": _figure(prices.on_demand_output_per_1k) if prices else None,
    }
    return {"model": model, **rates} if model else rates


def _rates(price: PriceInputs, evaluation: EvaluationPlan | None) -> dict[str, Any]:
    rates: dict[str, Any] = {
        "training_per_1k_tokens": _figure(price.training_per_1k_tokens),
        "throughput_per_unit_hour": {
            commitment: _figure(rate) for commitment, rate in price.throughput_per_unit_hour.items()
        },
        "candidate_on_demand": _token_rates(price),
    }
    if evaluation is not None:
        rates["baseline"] = _token_rates(on_demand_prices(evaluation.baseline_model), evaluation.baseline_model)
        if evaluation.judge_model:
            rates["judge"] = _token_rates(on_demand_prices(evaluation.judge_model), evaluation.judge_model)
    return rates


def _sum(lines: list[CostLine]) -> Decimal:
    return sum((line.amount for line in lines if line.amount is not None), Decimal(0))


def all_priced(lines: list[CostLine]) -> bool:
    return all(line.amount is not None for line in lines)


def _within(total: Decimal, cap: Decimal | None, lines: list[CostLine]) -> bool | None:
    if cap is None:
        return None
    if total > cap:
        return False
    return True if all_priced(lines) else None


def _training_tokens(report_stats: Any) -> tuple[int, str]:
    if isinstance(report_stats, ValidationReport):
        stats = report_stats.training.tokens
        return (
            stats.total,
            f"{stats.records:,} training records, estimated at {report_stats.limits.get('chars_per_token', 4):g} characters per token",
        )
    if isinstance(report_stats, TokenStats):
        return report_stats.total, f"{report_stats.records:,} training records (estimated tokens)"
    if isinstance(report_stats, int) and not isinstance(report_stats, bool) and report_stats >= 0:
        return report_stats, "token count given by the caller"
    raise TypeError("report_stats must be a ValidationReport, TokenStats or a non-negative int")


def _commitment(throughput: Any) -> str:
    value = getattr(throughput, "commitment", "none")
    return str(getattr(value, "value", value))


def estimate_cost(
    report_stats: Any,
    model: ModelSpec | str,
    hyperparameters: Mapping[str, HyperParameterValue] | None = None,
    throughput: Any = None,
    budget_cap: float | Decimal | None = None,
    *,
    customization_type: CustomizationType | str = CustomizationType.FINE_TUNING,
    prices: PriceInputs | Mapping[str, object] | None = None,
    storage_months: int = 1,
    evaluation: EvaluationPlan | None = None,
    monthly_cap: float | Decimal | None = None,
) -> CostEstimate:
    spec = model if isinstance(model, ModelSpec) else resolve_base_model(model)
    ctype = (
        customization_type
        if isinstance(customization_type, CustomizationType)
        else parse_customization_type(customization_type)
    )
    price = prices if isinstance(prices, PriceInputs) else spec.prices.with_overrides(prices) if prices else spec.prices
    tokens, token_basis = _training_tokens(report_stats)
    hp = dict(hyperparameters or {})
    epoch_spec = spec.hyperparameters_for(ctype).get("epochCount")
    epochs = (
        int(float(hp["epochCount"]))
        if "epochCount" in hp
        else int(epoch_spec.default)
        if epoch_spec and epoch_spec.default is not None
        else None
    )
    billable = None if epochs is None else tokens * epochs
    assumptions = [
        f"training tokens: {tokens:,} ({token_basis}); billed as tokens x epochs = {billable:,}"
        if billable is not None
        else f"training tokens: {tokens:,} ({token_basis}); the epoch count is unknown",
        "validation records are not counted as billed training tokens",
    ]
    if "epochCount" not in hp and epochs is not None:
        assumptions.append(f"epochCount not set: the model's default of {epochs} is used")
    if ctype is CustomizationType.DISTILLATION:
        assumptions.append(
            "distillation: the teacher's inference to generate responses is billed at the teacher's on-demand rates and is not included"
        )

    lines: list[CostLine] = []
    if billable is None:
        # Billed tokens are tokens x epochs: without the epoch count any figure would be a guess.
        lines.append(
            CostLine(
                "training",
                None,
                f"{spec.name} publishes no default epochCount; set hyperparameters.epochCount to price training",
            )
        )
    elif price.training_per_1k_tokens is None:
        lines.append(CostLine("training", None, "no training price per 1,000 tokens recorded for this model"))
    else:
        amount = Decimal(billable) / 1000 * price.training_per_1k_tokens
        lines.append(
            CostLine(
                "training", amount, f"{billable:,} tokens / 1,000 x ${price.training_per_1k_tokens} per 1,000 tokens"
            )
        )
    if price.storage_per_month is None:
        lines.append(CostLine("model storage", None, "no monthly storage price recorded for this model"))
    else:
        lines.append(
            CostLine(
                "model storage",
                price.storage_per_month * storage_months,
                f"{storage_months} month(s) x ${price.storage_per_month} per custom model per month",
            )
        )

    if evaluation is not None:
        evaluation_lines, evaluation_assumptions = _evaluation_lines(evaluation, price, spec)
        lines += evaluation_lines
        assumptions += evaluation_assumptions
    else:
        assumptions.append(
            "evaluation is not included: the pipeline's estimate adds it from the profile's evaluation set"
        )

    per_hour: Decimal | None = None
    monthly_lines: list[CostLine] = []
    if throughput is not None:
        monthly_lines, per_hour, promotion_assumptions = _promotion_lines(spec, price, throughput)
        assumptions += promotion_assumptions
        if spec.supports_on_demand_deployment:
            assumptions.append(
                f"{spec.name} custom models can also be deployed on demand (per-token inference, no hourly charge)"
            )
    if price.as_of or price.source:
        assumptions.append(
            f"prices recorded {price.as_of or 'on an unknown date'} from {price.source or 'an unnamed source'}: not current AWS prices; configure your own"
        )
    else:
        assumptions.append(
            f"no price figures are recorded for {spec.name}: configure them (tuneforge estimate --prices FILE) to price this run"
        )
    return CostEstimate(
        model_id=spec.model_id,
        customization_type=ctype.value,
        training_tokens=tokens,
        epochs=epochs,
        billable_tokens=billable,
        lines=lines,
        throughput_per_hour=per_hour,
        budget_cap=None if budget_cap is None else Decimal(str(budget_cap)),
        monthly_lines=monthly_lines,
        monthly_cap=None if monthly_cap is None else Decimal(str(monthly_cap)),
        rates=_rates(price, evaluation),
        prices_as_of=price.as_of,
        prices_source=price.source,
        assumptions=assumptions,
    )


# --- what a run actually spent ----------------------------------------------------------------------
def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _recorded_prices(rates: Mapping[str, Any] | None) -> PriceInputs | None:
    if not rates:
        return None
    return PriceInputs(
        on_demand_input_per_1k=_decimal(rates.get("input_per_1k")),
        on_demand_output_per_1k=_decimal(rates.get("output_per_1k")),
    )


def _training_spent(item: Mapping[str, Any], estimate: Mapping[str, Any], rate: Decimal | None) -> CostLine | None:
    if not item.get("job_arn"):
        return None
    status, tokens, epochs = item.get("job_status"), estimate.get("training_tokens"), item.get("trained_epochs")
    if status != "Completed":
        return CostLine(
            "training",
            None,
            f"the job ended {status or 'without a recorded status'}: AWS bills the tokens it processed, which it does not report",
        )
    if tokens is None or epochs is None:
        return CostLine("training", None, "the run recorded no token count or no epoch count for its job")
    if rate is None:
        return CostLine("training", None, "no training price per 1,000 tokens recorded for this model")
    billed = int(tokens) * int(epochs)
    return CostLine(
        "training",
        Decimal(billed) / 1000 * rate,
        f"{int(tokens):,} tokens (Validate's estimate: Bedrock reports no billed-token count) x {epochs} epoch(s) the job ran x ${rate} per 1,000",
    )


def _throughput_spent(endpoint: Mapping[str, Any], rates: Mapping[str, Any], now: datetime) -> CostLine:
    purpose, units = endpoint.get("purpose", "endpoint"), int(endpoint.get("model_units") or 1)
    commitment = endpoint.get("commitment") or "none"
    rate = _decimal((rates.get("throughput_per_unit_hour") or {}).get(commitment))
    item = f"{purpose} throughput"
    if rate is None:
        return CostLine(item, None, f"no {commitment} price per model unit-hour recorded")
    if commitment != "none":
        hours = int(COMMITMENT_HOURS[commitment] or 0)
        return CostLine(
            item,
            rate * units * hours,
            f"{units} model unit(s) x ${rate} per unit-hour x the {commitment} term's {hours:,} h, billed whether used or not",
        )
    start = datetime.fromisoformat(endpoint["requested_at"])
    end = datetime.fromisoformat(endpoint["deleted_at"]) if endpoint.get("deleted_at") else now
    # Billed by the hour: a started hour counts whole, as in the estimate.
    hours = max(1, math.ceil((end - start).total_seconds() / 3600))
    running = "" if endpoint.get("deleted_at") else ", still running: so far"
    return CostLine(
        item,
        rate * units * hours,
        f"{units} model unit(s) x ${rate} per unit-hour (none) x {hours} h from {endpoint['requested_at']} to {endpoint.get('deleted_at') or now.isoformat(timespec='seconds')}{running}",
    )


def actual_cost(item: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """What a run has spent by ``now``, from what its registry item recorded, priced with the figures
    its estimate used: the job's epochs over Validate's token count, every provisioned throughput's
    hours from its timestamps (a committed term in full), and Converse's own token counts for the
    evaluation calls billed per token. Custom-model deployments bill per token only."""
    estimate = item.get("estimate") or {}
    rates = estimate.get("rates") or {}
    lines: list[CostLine] = []
    training = _training_spent(item, estimate, _decimal(rates.get("training_per_1k_tokens")))
    if training is not None:
        lines.append(training)
    endpoints = item.get("endpoints") or []
    lines += [
        _throughput_spent(endpoint, rates, now)
        for endpoint in endpoints
        if endpoint.get("kind") == PROVISIONED and endpoint.get("requested_at")
    ]
    usage = item.get("evaluation_usage") or {}
    # A candidate on a provisioned throughput is paid by the hour; on a deployment, by the token.
    candidate_by_token = any(e.get("purpose") == "evaluation" and e.get("kind") == DEPLOYMENT for e in endpoints)
    for side, rate_key in (("candidate", "candidate_on_demand"), ("baseline", "baseline"), ("judge", "judge")):
        used = usage.get(side)
        if not used or (side == "candidate" and not candidate_by_token):
            continue
        recorded = rates.get(rate_key) or {}
        whose = recorded.get("model") or ("the custom model on demand" if side == "candidate" else side)
        lines.append(
            _tokens_cost(
                f"evaluation: {side}",
                _recorded_prices(recorded),
                int(used["input_tokens"]),
                int(used["output_tokens"]),
                f"{whose}, {int(used['calls']):,} calls",
                counted=True,
            )
        )
    complete = all_priced(lines)
    return {
        "as_of": now.isoformat(timespec="seconds"),
        "lines": [line.to_dict() for line in lines],
        "total_usd": _money(_sum(lines)),
        "complete": complete,
        "prices_as_of": estimate.get("prices_as_of"),
    }
