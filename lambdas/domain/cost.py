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
        throughput_hours=None,     # hours of throughput to include; default: the commitment term
        storage_months=1,
    ) -> CostEstimate

The price inputs are recorded figures with a date and a source (see catalogue.PriceInputs), not current
AWS prices; a figure we do not hold makes its line "unknown" rather than zero, and the total says it
is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from lambdas.domain.catalogue import CustomizationType, ModelSpec, PriceInputs, parse_customization_type, resolve_base_model
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

    @property
    def complete(self) -> bool:
        return all(line.amount is not None for line in self.lines)

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.amount is None]

    @property
    def total(self) -> Decimal:
        """Sum of the lines we could price; see ``complete``."""
        return sum((line.amount for line in self.lines if line.amount is not None), Decimal(0))

    @property
    def within_budget(self) -> bool | None:
        """True/False against the cap; None when there is no cap or unknown lines could still tip it over."""
        if self.budget_cap is None:
            return None
        if self.total > self.budget_cap:
            return False
        return True if self.complete else None

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
            "assumptions": self.assumptions,
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
        )


def _training_tokens(report_stats: Any) -> tuple[int, str]:
    if isinstance(report_stats, ValidationReport):
        stats = report_stats.training.tokens
        return stats.total, f"{stats.records:,} training records, estimated at {report_stats.limits.get('chars_per_token', 4):g} characters per token"
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
    hyperparameters: Mapping[str, object] | None = None,
    throughput: Any = None,
    budget_cap: float | Decimal | None = None,
    *,
    customization_type: CustomizationType | str = CustomizationType.FINE_TUNING,
    prices: PriceInputs | Mapping[str, object] | None = None,
    throughput_hours: float | None = None,
    storage_months: int = 1,
) -> CostEstimate:
    spec = model if isinstance(model, ModelSpec) else resolve_base_model(model)
    ctype = customization_type if isinstance(customization_type, CustomizationType) else parse_customization_type(customization_type)
    price = prices if isinstance(prices, PriceInputs) else spec.prices.with_overrides(prices) if prices else spec.prices
    tokens, token_basis = _training_tokens(report_stats)
    hp = dict(hyperparameters or {})
    epoch_spec = spec.hyperparameters.get("epochCount")
    epochs = int(float(hp["epochCount"])) if "epochCount" in hp else int(epoch_spec.default) if epoch_spec and epoch_spec.default is not None else None  # type: ignore[arg-type]
    billable = None if epochs is None else tokens * epochs
    assumptions = [
        f"training tokens: {tokens:,} ({token_basis}); billed as tokens x epochs = {billable:,}" if billable is not None
        else f"training tokens: {tokens:,} ({token_basis}); the epoch count is unknown",
        "validation records are not counted as billed training tokens",
    ]
    if "epochCount" not in hp and epochs is not None:
        assumptions.append(f"epochCount not set: the model's default of {epochs} is used")
    if ctype is CustomizationType.DISTILLATION:
        assumptions.append("distillation: the teacher's inference to generate responses is billed at the teacher's on-demand rates and is not included")

    lines: list[CostLine] = []
    if billable is None:
        # Billed tokens are tokens x epochs: without the epoch count any figure would be a guess.
        lines.append(CostLine("training", None, f"{spec.name} publishes no default epochCount; set hyperparameters.epochCount to price training"))
    elif price.training_per_1k_tokens is None:
        lines.append(CostLine("training", None, "no training price per 1,000 tokens recorded for this model"))
    else:
        amount = Decimal(billable) / 1000 * price.training_per_1k_tokens
        lines.append(CostLine("training", amount, f"{billable:,} tokens / 1,000 x ${price.training_per_1k_tokens} per 1,000 tokens"))
    if price.storage_per_month is None:
        lines.append(CostLine("model storage", None, "no monthly storage price recorded for this model"))
    else:
        lines.append(CostLine("model storage", price.storage_per_month * storage_months, f"{storage_months} month(s) x ${price.storage_per_month} per custom model per month"))

    per_hour: Decimal | None = None
    if throughput is not None:
        units = int(getattr(throughput, "model_units", 1))
        commitment = _commitment(throughput)
        if commitment not in COMMITMENT_HOURS:
            raise ValueError(f"unknown commitment {commitment!r}; valid: {', '.join(COMMITMENT_HOURS)}")
        rate = price.throughput_per_unit_hour.get(commitment)
        hours = throughput_hours if throughput_hours is not None else COMMITMENT_HOURS[commitment]
        per_hour = None if rate is None else rate * units
        if hours is None:
            assumptions.append("no-commitment provisioned throughput is billed per hour until deleted; give hours to include it in the total")
        elif rate is None:
            lines.append(CostLine("provisioned throughput", None, f"no {commitment} price per model unit-hour recorded for this model"))
        else:
            lines.append(CostLine("provisioned throughput", per_hour * Decimal(str(hours)), f"{units} model unit(s) x ${rate} per unit-hour ({commitment}) x {hours:g} h"))
        if spec.supports_on_demand_deployment:
            assumptions.append(f"{spec.name} custom models can also be deployed on demand (per-token inference, no hourly charge)")
    if price.as_of or price.source:
        assumptions.append(f"prices recorded {price.as_of or 'on an unknown date'} from {price.source or 'an unnamed source'}: not current AWS prices; configure your own")
    else:
        assumptions.append(f"no price figures are recorded for {spec.name}: configure them (tuneforge estimate --prices FILE) to price this run")
    return CostEstimate(
        model_id=spec.model_id,
        customization_type=ctype.value,
        training_tokens=tokens,
        epochs=epochs,
        billable_tokens=billable,
        lines=lines,
        throughput_per_hour=per_hour,
        budget_cap=None if budget_cap is None else Decimal(str(budget_cap)),
        prices_as_of=price.as_of,
        prices_source=price.source,
        assumptions=assumptions,
    )
