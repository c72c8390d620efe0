"""The quality gate: each check keeps the numbers that decided it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lambdas.domain.gate import decide
from lambdas.domain.profiles import Gate

GATE = Gate(minimums={"token_f1": 0.5}, margin_over_baseline={"token_f1": 0.05, "rouge_l": 0.0})


def test_pass_records_every_number():
    decision = decide(
        GATE, {"token_f1": 0.62, "rouge_l": 0.40, "exact_match": 0.1}, {"token_f1": 0.50, "rouge_l": 0.40}
    )
    assert decision.passed
    checks = {check.metric: check for check in decision.checks}
    assert set(checks) == {"token_f1", "rouge_l"}  # only what the gate names
    f1 = checks["token_f1"]
    assert (f1.value, f1.minimum, f1.baseline, f1.required_margin, f1.passed) == (0.62, 0.5, 0.5, 0.05, True)
    assert "0.6200 >= minimum 0.5000" in f1.reason and "baseline 0.5000 + margin 0.0500" in f1.reason
    assert checks["rouge_l"].passed  # a zero margin passes on a tie
    assert decision.summary.startswith("passed")


def test_fail_on_minimum_even_when_the_baseline_is_beaten():
    decision = decide(GATE, {"token_f1": 0.45, "rouge_l": 0.5}, {"token_f1": 0.10, "rouge_l": 0.1})
    assert not decision.passed
    [failure] = decision.failures
    assert failure.metric == "token_f1" and failure.value == 0.45 and failure.minimum == 0.5
    assert "below the minimum 0.5000" in failure.reason
    assert "token_f1 0.4500 is below the minimum" in decision.summary


def test_fail_on_margin():
    decision = decide(GATE, {"token_f1": 0.54, "rouge_l": 0.5}, {"token_f1": 0.50, "rouge_l": 0.4})
    assert not decision.passed
    [failure] = decision.failures
    assert failure.metric == "token_f1" and failure.baseline == 0.5 and failure.required_margin == 0.05
    assert "needs 0.5500" in failure.reason


def test_floating_point_sums_do_not_fail_an_exact_threshold():
    gate = Gate(minimums={"rouge_l": 0.3}, margin_over_baseline={"rouge_l": 0.1})
    assert decide(gate, {"rouge_l": 0.1 + 0.2}, {"rouge_l": 0.2}).passed


def test_judge_named_by_the_gate_but_not_computed_fails_clearly():
    gate = Gate(minimums={"judge": 0.7})
    decision = decide(gate, {"token_f1": 1.0}, {"token_f1": 0.0})
    assert not decision.passed
    [check] = decision.checks
    assert check.value is None and "judge was not computed" in check.reason and "judge_model" in check.reason


def test_metric_missing_for_the_baseline_fails_the_margin_check():
    decision = decide(Gate(margin_over_baseline={"judge": 0.0}), {"judge": 0.9}, {})
    assert not decision.passed and "not computed for the baseline" in decision.checks[0].reason


def test_an_unknown_metric_is_rejected_when_the_profile_is_read():
    with pytest.raises(ValidationError, match="unknown metric 'bleu'"):
        Gate(minimums={"bleu": 0.3})
