"""The quality gate: does the candidate earn throughput? The decision keeps the numbers that made it."""

from __future__ import annotations

from typing import Mapping

from pydantic import BaseModel

from lambdas.domain.catalogue.evaluation_jobs import GATE_METRIC_PREFIX
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


class GateDecision(BaseModel):
    passed: bool
    checks: list[MetricCheck]

    @property
    def failures(self) -> list[MetricCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def summary(self) -> str:
        if self.passed:
            return "passed: " + "; ".join(check.reason for check in self.checks)
        return "failed: " + "; ".join(check.reason for check in self.failures)


def decide(gate: Gate, candidate_metrics: Mapping[str, float], baseline_metrics: Mapping[str, float]) -> GateDecision:
    """One check per metric the gate names; every check must pass.

    A metric the gate names but the evaluation did not compute (the judge without a judge model, or
    a judge whose answers could not be read) fails: a gate that silently skipped a threshold would
    promote models nobody checked.
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
        check.passed = passed
        check.reason = "; ".join(reasons)
        checks.append(check)
    return GateDecision(passed=bool(checks) and all(check.passed for check in checks), checks=checks)
