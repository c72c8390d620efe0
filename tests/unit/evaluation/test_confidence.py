"""The paired bootstrap behind the gate's confidence: seeded, paired, and right about as often as it says."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest
from pydantic import ValidationError

from lambdas.domain.confidence import RESAMPLES, Interval, intervals_for, percent, seed_for
from lambdas.domain.gate import decide, examples_for
from lambdas.domain.profiles import Gate

GATE = Gate(margin_over_baseline={"token_f1": 0.05})
CONFIDENT = Gate(margin_over_baseline={"token_f1": 0.05}, confidence=0.95)


def scores(*values: float | None, metric: str = "token_f1") -> list[dict[str, float | None]]:
    return [{metric: value} for value in values]


# -- the bootstrap --------------------------------------------------------------------------------
def test_the_seed_is_the_same_in_another_process_and_differs_between_runs():
    code = "from lambdas.domain.confidence import seed_for; print(seed_for('run-2026-12-07-abc'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == seed_for("run-2026-12-07-abc")
    assert seed_for("run-2026-12-07-abc") != seed_for("run-2026-12-07-abd")


def test_a_rerun_with_the_same_seed_gives_the_same_interval_and_another_seed_another():
    rng = random.Random(7)
    candidate = scores(*(rng.random() for _ in range(40)))
    baseline = scores(*(rng.random() for _ in range(40)))
    first = intervals_for(GATE, candidate, baseline, seed=seed_for("run-a"))
    again = intervals_for(GATE, candidate, baseline, seed=seed_for("run-a"))
    other = intervals_for(GATE, candidate, baseline, seed=seed_for("run-b"))
    assert first == again
    assert (first["token_f1"].low, first["token_f1"].high) != (other["token_f1"].low, other["token_f1"].high)
    assert first["token_f1"].seed == seed_for("run-a") and first["token_f1"].resamples == RESAMPLES


def test_a_clearly_better_candidate_has_an_interval_above_zero():
    rng = random.Random(1)
    baseline = [rng.uniform(0.2, 0.5) for _ in range(30)]
    candidate = [b + rng.uniform(0.1, 0.3) for b in baseline]
    [interval] = intervals_for(GATE, scores(*candidate), scores(*baseline), seed=3).values()
    assert 0 < interval.low < interval.mean_difference < interval.high
    assert interval.examples == 30 and interval.confidence == 0.95


def test_identical_sides_give_exactly_zero():
    values = [0.1, 0.5, 0.9, 0.3]
    [interval] = intervals_for(GATE, scores(*values), scores(*values), seed=1).values()
    assert (interval.mean_difference, interval.low, interval.high) == (0.0, 0.0, 0.0)


def test_an_example_without_a_score_on_either_side_is_left_out_of_that_metric_only():
    candidate = [{"token_f1": 1.0, "judge": None}, {"token_f1": None, "judge": 1.0}, {"token_f1": 1.0, "judge": 1.0}]
    baseline = [{"token_f1": 0.0, "judge": 0.0}, {"token_f1": 0.0, "judge": 0.0}, {"token_f1": 0.0, "judge": None}]
    intervals = intervals_for(GATE, candidate, baseline, seed=1)
    assert intervals["token_f1"].examples == 2 and intervals["judge"].examples == 1
    assert intervals["token_f1"].mean_difference == 1.0 == intervals["judge"].mean_difference
    # Counted as a zero, a skipped example would pull resampled means below 1.
    assert (intervals["token_f1"].low, intervals["token_f1"].high) == (1.0, 1.0) == (intervals["judge"].low, 1.0)


def test_a_metric_no_example_has_on_both_sides_gets_no_interval():
    intervals = intervals_for(GATE, [{"judge": None, "token_f1": 0.5}], [{"judge": 0.5, "token_f1": 0.5}], seed=1)
    assert set(intervals) == {"token_f1"}


def test_the_level_is_the_gates_confidence():
    gate = Gate(margin_over_baseline={"token_f1": 0.05}, confidence=0.8)
    rng = random.Random(2)
    candidate, baseline = scores(*(rng.random() for _ in range(50))), scores(*(rng.random() for _ in range(50)))
    narrow = intervals_for(gate, candidate, baseline, seed=5)["token_f1"]
    wide = intervals_for(GATE, candidate, baseline, seed=5)["token_f1"]
    assert narrow.confidence == 0.8 and wide.confidence == 0.95
    assert wide.low < narrow.low and narrow.high < wide.high
    assert percent(0.8) == "80%" and percent(0.975) == "97.5%"


def test_the_interval_covers_the_true_difference_about_as_often_as_it_says():
    """100 synthetic evaluation sets of 60 examples drawn around a known true difference of 0.1: a 90%
    interval should cover it about 90 times (binomial sd 3; the percentile bootstrap runs a little short
    on small sets, so 78-98 is accepted)."""
    gate = Gate(margin_over_baseline={"token_f1": 0.0}, confidence=0.9)
    rng = random.Random(11)
    covered = 0
    for trial in range(100):
        baseline = [rng.random() for _ in range(60)]
        candidate = [b + 0.1 + rng.gauss(0, 0.3) for b in baseline]
        interval = intervals_for(gate, scores(*candidate), scores(*baseline), seed=trial, resamples=400)["token_f1"]
        covered += interval.low <= 0.1 <= interval.high
    assert 78 <= covered <= 98, covered


def test_ten_thousand_examples_of_four_metrics_take_seconds():
    rng = random.Random(4)
    metrics = ("exact_match", "token_f1", "rouge_l", "judge")
    candidate = [{m: rng.random() for m in metrics} for _ in range(10_000)]
    baseline = [{m: rng.random() for m in metrics} for _ in range(10_000)]
    candidate[0]["judge"] = None  # an unread judge reply: the judge is paired on other examples than the rest
    started = time.process_time()
    intervals = intervals_for(GATE, candidate, baseline, seed=1)
    elapsed = time.process_time() - started
    assert set(intervals) == set(metrics) and intervals["judge"].examples == 9_999
    assert all(i.examples == 10_000 for m, i in intervals.items() if m != "judge")
    # ~4 s of CPU measured on this machine (2026-12-07); CPU time, so other work on a shared machine does not count.
    assert elapsed < 15, elapsed


# -- the gate with confidence ---------------------------------------------------------------------
def lucky() -> tuple[list[dict[str, float | None]], list[dict[str, float | None]]]:
    """Eight examples; the candidate gets two right that the baseline missed and ties on the rest."""
    return scores(1, 1, 0, 0, 0, 0, 0, 0), scores(0, 0, 0, 0, 0, 0, 0, 0)


def test_a_lucky_candidate_beats_the_margin_on_the_mean_but_is_refused_on_the_interval():
    candidate, baseline = lucky()
    means = {"token_f1": 0.25}, {"token_f1": 0.0}
    assert decide(GATE, *means).passed  # the means alone would promote it
    intervals = intervals_for(CONFIDENT, candidate, baseline, seed=seed_for("lucky"))
    decision = decide(CONFIDENT, *means, intervals)
    assert not decision.passed
    [check] = decision.checks
    assert check.interval == intervals["token_f1"] and check.interval.low <= 0.0
    assert "token_f1 0.2500 >= baseline 0.0000 + margin 0.0500" in check.reason
    assert (
        f"token_f1 +0.2500 [95% CI {check.interval.low:+.4f}, {check.interval.high:+.4f}] on 8 examples; "
        f"lower bound {check.interval.low:+.4f} is not above the margin 0.0500"
    ) in decision.summary
    [warning] = decision.warnings
    assert warning.startswith("token_f1: 8 examples are too few for a margin of 0.0500")
    assert f"about {examples_for(check.interval, 0.05):,} examples" in warning and warning in decision.summary


def test_a_clearly_better_candidate_passes_with_its_interval_in_the_reason():
    candidate, baseline = scores(*[0.9, 0.8, 1.0, 0.95] * 12), scores(*[0.2, 0.3, 0.1, 0.25] * 12)
    intervals = intervals_for(CONFIDENT, candidate, baseline, seed=9)
    decision = decide(CONFIDENT, {"token_f1": 0.9125}, {"token_f1": 0.2125}, intervals)
    assert decision.passed and decision.warnings == []
    interval = intervals["token_f1"]
    assert interval.low > 0.05
    assert (
        f"token_f1 +0.7000 [95% CI {interval.low:+.4f}, {interval.high:+.4f}] on 48 examples; lower bound above margin 0.0500"
        in decision.summary
    )


def test_with_confidence_a_margin_without_an_interval_fails():
    decision = decide(CONFIDENT, {"token_f1": 0.9}, {"token_f1": 0.1}, {})
    assert not decision.passed
    assert "token_f1 has no 95% confidence interval" in decision.failures[0].reason
    assert not decide(CONFIDENT, {"token_f1": 0.9}, {"token_f1": 0.1}).passed  # no intervals at all


def test_without_confidence_the_interval_is_shown_and_a_pass_on_the_means_only_is_warned():
    candidate, baseline = lucky()
    intervals = intervals_for(GATE, candidate, baseline, seed=seed_for("lucky"))
    decision = decide(GATE, {"token_f1": 0.25}, {"token_f1": 0.0}, intervals)
    assert decision.passed
    assert intervals["token_f1"].describe() in decision.checks[0].reason
    assert any(w.startswith("token_f1 passed on the means only") for w in decision.warnings)


def test_no_size_warning_when_the_interval_settles_the_question_or_the_margin_is_zero():
    wide_above = Interval(
        metric="token_f1", examples=8, confidence=0.95, mean_difference=0.7, low=0.4, high=1.0, resamples=1, seed=1
    )
    assert decide(CONFIDENT, {"token_f1": 0.8}, {"token_f1": 0.1}, {"token_f1": wide_above}).warnings == []
    zero = Gate(margin_over_baseline={"token_f1": 0.0}, confidence=0.95)
    straddling = wide_above.model_copy(update={"low": -0.2})
    assert decide(zero, {"token_f1": 0.8}, {"token_f1": 0.1}, {"token_f1": straddling}).warnings == []


def test_without_confidence_and_intervals_the_decision_is_what_it_always_was():
    decision = decide(GATE, {"token_f1": 0.62}, {"token_f1": 0.5})
    assert decision.summary == "passed: token_f1 0.6200 >= baseline 0.5000 + margin 0.0500"
    assert decision.warnings == [] and decision.checks[0].interval is None


# -- the profile ----------------------------------------------------------------------------------
@pytest.mark.parametrize("level", [0.5, 1.0, 1.5, 0.0])
def test_confidence_must_be_a_level_between_one_half_and_one(level):
    with pytest.raises(ValidationError, match="confidence"):
        Gate(margin_over_baseline={"token_f1": 0.05}, confidence=level)


def test_confidence_needs_a_margin_to_apply_to():
    with pytest.raises(ValidationError, match="confidence applies to margin_over_baseline"):
        Gate(minimums={"token_f1": 0.5}, confidence=0.95)
    assert Gate(margin_over_baseline={"token_f1": 0.0}, confidence=0.99).confidence == 0.99
