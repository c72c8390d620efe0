"""A gate with confidence on the emulator (issue 16): on eight examples, a candidate that wins two by luck
beats the margin on the mean but not at 95% and keeps the champion; one that wins all eight is promoted.
The emulated candidate answers with its nearest training record, so it "knows" exactly the evaluation
prompts that ask its training questions (tests/e2e/data/confidence-*.jsonl: two of them and six it cannot
answer, or eight of them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_tuneforge_pipeline import FINE_TUNING, assert_clean

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data"
GATE = {"margin_over_baseline": {"token_f1": 0.05}, "confidence": 0.95}


def _evaluated_on(tuneforge, evaluation_set: str, upload_name: str):
    tuneforge.data_owner.upload(
        tuneforge.data_bucket, f"evaluation/{evaluation_set}", (DATA / evaluation_set).read_bytes()
    )
    tuneforge.deploy_profile(
        "support-qa-vi", gate=GATE, evaluation={"dataset_key": f"evaluation/{evaluation_set}", "max_examples": 50}
    )
    run = tuneforge.run("support-qa-vi", FINE_TUNING, name=upload_name)
    assert run.status == "SUCCEEDED", run.execution
    [message] = run.notifications
    return run, run.output["evaluation"]["value"], message


def test_a_gate_with_confidence_refuses_a_lucky_candidate_and_promotes_a_clearly_better_one(tuneforge):
    from lambdas.domain.gate import decide
    from lambdas.domain.profiles import Gate

    lucky, evaluation, message = _evaluated_on(tuneforge, "confidence-lucky.jsonl", "lucky.jsonl")
    interval = evaluation["intervals"]["token_f1"]
    assert interval["examples"] == 8 == evaluation["examples"] and interval["confidence"] == 0.95
    # The means alone would promote it: two wins of eight are worth more than the 0.05 margin.
    assert evaluation["candidate"]["token_f1"] - evaluation["baseline"]["token_f1"] > 0.05
    assert decide(Gate(margin_over_baseline={"token_f1": 0.05}), evaluation["candidate"], evaluation["baseline"]).passed
    assert not evaluation["passed"] and lucky.output["decision"] == "NOT_PROMOTED" == message["outcome"]
    because = (
        f"[95% CI {interval['low']:+.4f}, {interval['high']:+.4f}] on 8 examples; "
        f"lower bound {interval['low']:+.4f} is not above the margin 0.0500"
    )
    assert because in message["gate"] and because in lucky.item["gate_summary"]
    assert "8 examples are too few for a margin of 0.0500" in message["gate"] and evaluation["warnings"]
    assert tuneforge.champion("support-qa-vi") is None

    clear, evaluation, message = _evaluated_on(tuneforge, "confidence-clear.jsonl", "clear.jsonl")
    interval = evaluation["intervals"]["token_f1"]
    assert interval["examples"] == 8 and interval["low"] > 0.05
    assert evaluation["passed"] and clear.output["decision"] == "PROMOTED" == message["outcome"]
    assert (
        f"[95% CI {interval['low']:+.4f}, {interval['high']:+.4f}] on 8 examples; lower bound above margin 0.0500"
        in message["gate"]
    )
    assert evaluation["warnings"] == [] and "warning" not in message["gate"]
    assert tuneforge.champion("support-qa-vi")["run_id"] == clear.run_id
    assert_clean(tuneforge, lucky, clear)
