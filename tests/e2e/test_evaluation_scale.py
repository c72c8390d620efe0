"""A 10,000-example evaluation set runs to its decision through the distributed Map, within issue 16's goals.

About five minutes of this machine (1,000 batches, 20,000 emulated Converse calls); ``TUNEFORGE_SCALE_EXAMPLES``
sets another size. ``bench/evaluation_scale.py`` measures 100, 1,000 and 10,000 in one run, and
docs/benchmarks.md has its table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.evaluation_scale import measure, synthesize
from lambdas.domain.evaluation_batches import examples_per_batch

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("TUNEFORGE_SCALE_EXAMPLES", "10000"))
GOAL_LARGEST_INVOCATION_SECONDS = 5 * 60


@pytest.fixture(scope="module")
def scale_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage with support-qa-vi allowed 10,000 evaluation examples (a profile setting; same code)."""
    return synthesize(tmp_path_factory.mktemp("scale-cdk.out"))


def test_a_large_evaluation_set_is_evaluated_in_short_batches_to_its_decision(scale_cdk_out):
    examples = EXAMPLES
    row = measure(scale_cdk_out, examples)
    assert row["status"] == "SUCCEEDED" and row["passed"] is True
    assert row["evaluated"] == examples  # every example, none dropped on the way
    batches = -(-examples // examples_per_batch(judged=False))
    assert row["batches"] == batches  # one invocation per batch: nothing was retried
    # The run itself enters a handful of states whatever the size; each batch adds its child's one state.
    assert row["transitions_in_run"] <= 20
    assert row["transitions"] <= 20 + examples // examples_per_batch(judged=False)
    # No single invocation runs 5 minutes (here: this machine's time, emulated calls answering at once; on AWS a
    # batch's calls are budgeted to half of EVALUATE_BATCH_TIMEOUT_SECONDS).
    assert row["largest_invocation_seconds"] < GOAL_LARGEST_INVOCATION_SECONDS
