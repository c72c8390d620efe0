"""The quality gate: does the candidate earn throughput? The decision keeps the numbers that made it."""

from __future__ import annotations

import math
from typing import Mapping

from pydantic import BaseModel

from lambdas.domain.catalogue.evaluation_jobs import GATE_METRIC_PREFIX
from lambdas.domain.confidence import Interval, percent
from lambdas.domain.profiles import Gate

# Floats from means of per-example scores: 0.1 + 0.2 must still clear a 0.3 minimum.
TOLERANCE = 1e-9


class MetricCheck(BaseModel):
    metric: str
    value: float | None
    minimum: float | None = None
    baseline: float | None = None
    required_margin: float | None = None
    passed: bool
    reason: str
    interval: Interval | None = None  # candidate minus baseline, when the evaluation computed one


class GateDecision(BaseModel):
    passed: bool
    checks: list[MetricCheck]
    warnings: list[str] = []  # the decision stands, but the evaluation set says less than it seems

    @property
    def failures(self) -> list[MetricCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def summary(self) -> str:
        reasons = self.checks if self.passed else self.failures
        text = ("passed: " if self.passed else "failed: ") + "; ".join(check.reason for check in reasons)
        return text + "".join(f"; warning: {warning}" for warning in self.warnings)


def decide(
    gate: Gate,
    candidate_metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    intervals: Mapping[str, Interval] | None = None,
) -> GateDecision:
    """One check per metric the gate names; every check must pass.

    A metric the gate names but the evaluation did not compute (the judge without a judge model, or
    a judge whose answers could not be read) fails: a gate that silently skipped a threshold would
    promote models nobody checked.

    ``intervals`` (``lambdas.domain.confidence.intervals_for``) are shown beside each margin; when the gate
    sets ``confidence``, each margin must also hold for its interval's lower bound, and a margin without
    an interval fails.
    """
    checks: list[MetricCheck] = []
    for metric in sorted(set(gate.minimums) | set(gate.margin_over_baseline)):
        minimum = gate.minimums.get(metric)
        margin = gate.margin_over_baseline.get(metric)
        value = candidate_metrics.get(metric)
        baseline = baseline_metrics.get(metric)
        check = MetricCheck(
            metric=metric,
            value=value,
            minimum=minimum,
            baseline=baseline,
            required_margin=margin,
            passed=False,
            reason="",
            interval=(intervals or {}).get(metric),
        )
        if value is None:
            check.reason = f"{metric} was not computed for the candidate" + (
                " (no judge_model in the profile's evaluation settings)"
                if metric == "judge"
                else " (Bedrock's managed judge scored no example: see the profile's evaluation.managed_judge)"
                if metric.startswith(GATE_METRIC_PREFIX)
                else ""
            )
            checks.append(check)
            continue
        reasons: list[str] = []
        passed = True
        if minimum is not None:
            if value + TOLERANCE >= minimum:
                reasons.append(f"{metric} {value:.4f} >= minimum {minimum:.4f}")
            else:
                passed = False
                reasons.append(f"{metric} {value:.4f} is below the minimum {minimum:.4f}")
        if margin is not None:
            if baseline is None:
                passed = False
                reasons.append(
                    f"{metric} was not computed for the baseline, so the margin of {margin:.4f} cannot be checked"
                )
            elif value + TOLERANCE >= baseline + margin:
                reasons.append(f"{metric} {value:.4f} >= baseline {baseline:.4f} + margin {margin:.4f}")
            else:
                passed = False
                reasons.append(
                    f"{metric} {value:.4f} does not beat baseline {baseline:.4f} by the required {margin:.4f} (needs {baseline + margin:.4f})"
                )
            interval_passed, interval_reason = _interval_check(gate, metric, margin, check.interval)
            passed = passed and interval_passed
            reasons += [interval_reason] if interval_reason else []
        check.passed = passed
        check.reason = "; ".join(reasons)
        checks.append(check)
    return GateDecision(
        passed=bool(checks) and all(check.passed for check in checks),
        checks=checks,
        warnings=[warning for check in checks for warning in _warnings(gate, check)],
    )


def _interval_check(gate: Gate, metric: str, margin: float, interval: Interval | None) -> tuple[bool, str | None]:
    """(passed, what to add to the reason) for the interval beside one margin."""
    if gate.confidence is None:
        return True, interval.describe() if interval else None
    if interval is None:
        return False, (
            f"{metric} has no {percent(gate.confidence)} confidence interval (no example has both a candidate and a "
            "baseline score), so the confidence the gate asks for cannot be checked"
        )
    if interval.low > margin + TOLERANCE:
        return True, f"{interval.describe()}; lower bound above margin {margin:.4f}"
    return False, f"{interval.describe()}; lower bound {interval.low:+.4f} is not above the margin {margin:.4f}"


def examples_for(interval: Interval, margin: float) -> int:
    """About how many examples would narrow the interval to ±margin: its width shrinks as 1/sqrt(n)."""
    return math.ceil(interval.examples * (interval.half_width / margin) ** 2)


def _warnings(gate: Gate, check: MetricCheck) -> list[str]:
    interval, margin = check.interval, check.required_margin
    if interval is None or margin is None:
        return []
    level = percent(interval.confidence)
    warnings: list[str] = []
    # Too few examples for the margin asked: the interval's half-width is the set's resolution, the size
    # of a difference resampling noise alone produces. When it is wider than the margin and the interval
    # straddles the margin, the set cannot say whether the candidate beats the baseline by the margin:
    # the means alone would pass or fail it by luck. (An interval wholly above or below the margin
    # decides the question however wide it is, so no warning then.) A margin of 0 or less asks only that
    # the candidate be no worse; no set size resolves "no difference", so the rule does not apply.
    if margin > 0 and interval.half_width > margin and interval.low <= margin + TOLERANCE < interval.high:
        warnings.append(
            f"{check.metric}: {interval.examples} examples are too few for a margin of {margin:.4f}: the {level} "
            f"interval is ±{interval.half_width:.4f} wide, so a {margin:.4f} difference cannot be told from noise; "
            f"about {examples_for(interval, margin):,} examples would narrow it to the margin"
        )
    if gate.confidence is None and check.passed and interval.low <= margin + TOLERANCE:
        warnings.append(
            f"{check.metric} passed on the means only: the lower bound {interval.low:+.4f} of its {level} interval "
            f"is not above the margin {margin:.4f} (gate.confidence would require it)"
        )
    return warnings
