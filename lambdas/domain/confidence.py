"""How sure is the gate? A paired bootstrap interval of candidate minus baseline, per metric.

Both models answer the same prompts, so the question is about the per-example differences: resampling
example indices with replacement (the same indices for both sides, i.e. resampling the differences)
and taking percentiles of the resampled mean difference gives the interval (Efron & Tibshirani, *An
Introduction to the Bootstrap*, 1993, ch. 13, the percentile interval). Pairing matters: an easy
prompt is easy for both models, and the difference cancels that out where two separate intervals
would not.

The resampling is seeded from the run id (:func:`seed_for`), so a rerun of the same run's evaluation,
in another process or on another day, gives the same interval and the same decision.

Pure code: stdlib and pydantic only.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from operator import itemgetter
from typing import Mapping, Sequence

from pydantic import BaseModel

from lambdas.domain.profiles import Gate

# Efron & Tibshirani (1993) ask for a thousand or more resamples for a percentile interval's tails (a
# standard error needs far fewer); 2,000 puts 50 resampled means beyond each end of a 95% interval. The cost
# is one random index per example per resample: measured 2026-12-07 on this project's 2-core machine, 10,000
# examples x 4 metrics take 3.8 s of CPU (0.35 s at 1,000), so the aggregate step stays in seconds.
RESAMPLES = 2000
# What the report shows when the gate asks for no confidence: the conventional level.
DISPLAY_CONFIDENCE = 0.95


class Interval(BaseModel):
    """One metric's paired bootstrap interval of candidate minus baseline."""

    metric: str
    examples: int  # examples where both sides have a score: the interval's n
    confidence: float
    mean_difference: float
    low: float
    high: float
    resamples: int
    seed: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def describe(self) -> str:
        """``token_f1 +0.0412 [95% CI +0.0105, +0.0733] on 48 examples``."""
        return (
            f"{self.metric} {self.mean_difference:+.4f} [{percent(self.confidence)} CI {self.low:+.4f}, {self.high:+.4f}]"
            f" on {self.examples} example{'' if self.examples == 1 else 's'}"
        )


def percent(confidence: float) -> str:
    """0.95 -> "95%", 0.975 -> "97.5%"."""
    return f"{confidence * 100:.4g}%"


def seed_for(run_id: str) -> int:
    """A seed from the run id that every process agrees on (``hash()`` of a str is salted per process)."""
    return int.from_bytes(hashlib.sha256(run_id.encode("utf-8")).digest()[:8], "big")


@dataclass
class _Column:
    """One metric's per-example differences, 0.0 where unpaired, with which examples are paired."""

    metric: str
    differences: list[float]
    paired: list[int]  # 1 where both sides have a score, else 0
    count: int  # how many are paired

    @classmethod
    def of(
        cls,
        metric: str,
        candidate_scores: Sequence[Mapping[str, float | None]],
        baseline_scores: Sequence[Mapping[str, float | None]],
    ) -> "_Column":
        differences: list[float] = []
        paired: list[int] = []
        for mine, theirs in zip(candidate_scores, baseline_scores, strict=True):
            value, other = mine.get(metric), theirs.get(metric)
            if value is not None and other is not None:
                differences.append(float(value) - float(other))
                paired.append(1)
            else:
                differences.append(0.0)
                paired.append(0)
        return cls(metric, differences, paired, sum(paired))


def _resampled_means(columns: list[_Column], examples: int, rng: random.Random, resamples: int) -> list[list[float]]:
    """Up to ``resamples`` bootstrap means per metric. Each resample draws ``examples`` example indices with
    replacement once, for every metric: the example is the unit resampled, and a metric's mean is over the
    drawn examples that are paired for it (as the evaluation's means skip an unscored example). A resample
    that drew no paired example of a metric has no mean for it and is left out of that metric's interval.

    Drawing the indices is the cost (one ``random()`` per example per resample); the sums run in C
    through ``itemgetter``, so the metrics share the draws."""
    draw = rng.random
    positions = range(examples)
    means: list[list[float]] = [[] for _ in columns]
    for _ in range(resamples):
        picked = [int(draw() * examples) for _ in positions]
        pick = itemgetter(*picked) if examples > 1 else (lambda values, at=picked[0]: (values[at],))
        for column, out in zip(columns, means, strict=True):
            if column.count == examples:
                out.append(sum(pick(column.differences)) / examples)
                continue
            drawn = sum(pick(column.paired))
            if drawn:
                out.append(sum(pick(column.differences)) / drawn)
    return means


def _percentiles(means: list[float], confidence: float) -> tuple[float, float]:
    """The percentile interval: the (1-c)/2 and (1+c)/2 quantiles of the resampled means, by nearest rank."""
    ordered = sorted(means)
    tail = (1 - confidence) / 2
    # 1e-9: 0.025 * 2000 is 50.00000000000004 in floating point, and rank 50 must stay rank 50.
    low = max(0, math.ceil(tail * len(ordered) - 1e-9) - 1)
    high = min(len(ordered) - 1, math.ceil((1 - tail) * len(ordered) - 1e-9) - 1)
    return ordered[low], ordered[high]


def intervals_for(
    gate: Gate,
    candidate_scores: Sequence[Mapping[str, float | None]],
    baseline_scores: Sequence[Mapping[str, float | None]],
    *,
    seed: int,
    resamples: int = RESAMPLES,
) -> dict[str, Interval]:
    """Per metric with at least one paired example: the paired bootstrap interval of candidate minus baseline.

    ``candidate_scores[i]`` and ``baseline_scores[i]`` are example i's scores; an example where either side
    has None for a metric (not computed, or the call failed) is left out of that metric's interval. The
    level is ``gate.confidence``, or 95% for display when the gate asks for none.
    """
    confidence = gate.confidence if gate.confidence is not None else DISPLAY_CONFIDENCE
    metrics = sorted({name for scores in (*candidate_scores, *baseline_scores) for name in scores})
    columns = [column for metric in metrics if (column := _Column.of(metric, candidate_scores, baseline_scores)).count]
    if not columns:
        return {}
    resampled = _resampled_means(columns, len(candidate_scores), random.Random(seed), resamples)
    intervals: dict[str, Interval] = {}
    for column, means in zip(columns, resampled, strict=True):
        low, high = _percentiles(means, confidence)
        intervals[column.metric] = Interval(
            metric=column.metric,
            examples=column.count,
            confidence=confidence,
            mean_difference=math.fsum(column.differences) / column.count,
            low=low,
            high=high,
            resamples=len(means),
            seed=seed,
        )
    return intervals
