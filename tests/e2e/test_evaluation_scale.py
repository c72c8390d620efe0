"""A large evaluation set runs to its decision through the distributed Map, within the issue's goals.

The suite runs 1,000 examples (about two minutes here: the emulated Converse costs ~65 ms of this machine per
call, through botocore and moto). ``TUNEFORGE_SCALE_EXAMPLES=10000`` runs the 10,000-example case the same way
(about half an hour); ``bench/evaluation_scale.py`` measures 100, 1,000 and 10,000 and docs/benchmarks.md has
its table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.evaluation_scale import measure, synthesize
from lambdas.domain.evaluation_batches import EVALUATE_BATCH_TIMEOUT_SECONDS, examples_per_batch

pytestmark = pytest.mark.e2e

SIZES = [1000] + ([int(os.environ["TUNEFORGE_SCALE_EXAMPLES"])] if "TUNEFORGE_SCALE_EXAMPLES" in os.environ else [])


@pytest.fixture(scope="module")
def scale_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage with support-qa-vi allowed 10,000 evaluation examples (a profile setting; same code)."""
    return synthesize(tmp_path_factory.mktemp("scale-cdk.out"))


@pytest.mark.parametrize("examples", SIZES)
def test_a_large_evaluation_set_is_evaluated_in_short_batches_to_its_decision(scale_cdk_out, examples):
    row = measure(scale_cdk_out, examples)
    assert row["status"] == "SUCCEEDED" and row["passed"] is True
    assert row["evaluated"] == examples  # every example, none dropped on the way
    batches = -(-examples // examples_per_batch(judged=False))
    assert row["batches"] == batches  # one invocation per batch: nothing was retried
    # The run itself enters a handful of states whatever the size; each batch adds its child's one state.
    assert row["transitions_in_run"] <= 20
    assert row["transitions"] <= 20 + examples // examples_per_batch(judged=False)
    # No invocation comes near its timeout, let alone Lambda's 15 minutes (here: wall time of this machine).
    assert row["largest_invocation_seconds"] < EVALUATE_BATCH_TIMEOUT_SECONDS / 10
