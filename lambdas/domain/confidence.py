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
from operator import itemgetter
from typing import Mapping, Sequence

from pydantic import BaseModel

from lambdas.domain.profiles import Gate

# Efron & Tibshirani (1993, section 19.3) ask for 1,000-2,000 resamples for a percentile interval's tails;
# 2,000 puts 50 resampled means beyond each end of a 95% interval. Pure Python resamples 10,000 examples
# about 600 times a second on one core (measured 2026-12-07: 10,000 examples x 4 metrics in ~3.5 s), so
# the aggregate step's time stays in seconds at the largest evaluation set.
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


def _paired_differences(
    metric: str,
    candidate_scores: Sequence[Mapping[str, float | None]],
    baseline_scores: Sequence[Mapping[str, float | None]],
) -> tuple[tuple[int, ...], list[float]]:
    """(indices of the examples where both sides have the metric, candidate minus baseline on each)."""
    indices: list[int] = []
    differences: list[float] = []
    for index, (mine, theirs) in enumerate(zip(candidate_scores, baseline_scores, strict=True)):
        value, other = mine.get(metric), theirs.get(metric)
        if value is None or other is None:
            continue
        indices.append(index)
        differences.append(float(value) - float(other))
    return tuple(indices), differences


def _resampled_means(differences_by_metric: list[list[float]], rng: random.Random, resamples: int) -> list[list[float]]:
    """``resamples`` bootstrap means per metric, all metrics resampled with the same indices each time.

    Drawing the indices is the cost (one ``random()`` per example per resample); the sums run in C
    through ``itemgetter``, so metrics sharing the examples share the draws."""
    n = len(differences_by_metric[0])
    draw = rng.random
    positions = range(n)
    means: list[list[float]] = [[] for _ in differences_by_metric]
    for _ in range(resamples):
        pick = itemgetter(*[int(draw() * n) for _ in positions])
        for differences, out in zip(differences_by_metric, means, strict=True):
            picked = pick(differences)
            out.append((sum(picked) if n > 1 else picked) / n)
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
    # Metrics paired on the same examples (the reference metrics always are) share their index draws.
    groups: dict[tuple[int, ...], list[tuple[str, list[float]]]] = {}
    for metric in metrics:
        indices, differences = _paired_differences(metric, candidate_scores, baseline_scores)
        if indices:
            groups.setdefault(indices, []).append((metric, differences))
    rng = random.Random(seed)
    intervals: dict[str, Interval] = {}
    for members in groups.values():  # in the order of the sorted metrics: the draws are reproducible
        resampled = _resampled_means([differences for _, differences in members], rng, resamples)
        for (metric, differences), means in zip(members, resampled, strict=True):
            low, high = _percentiles(means, confidence)
            intervals[metric] = Interval(
                metric=metric,
                examples=len(differences),
                confidence=confidence,
                mean_difference=math.fsum(differences) / len(differences),
                low=low,
                high=high,
                resamples=resamples,
                seed=seed,
            )
    return dict(sorted(intervals.items()))
