"""One run's details: its outcome from the execution and the registry, a rejection's reasons by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdas.domain.outcomes import rejection_reasons as outcome_lines
from lambdas.domain.report import ValidationReport
from lambdas.domain.run_details import cost_of, derive_outcome, rejection_reasons
from lambdas.domain.sources import in_memory
from lambdas.domain.validation import validate_dataset


@pytest.mark.parametrize(
    ("execution", "item", "outcome"),
    [
        ("SUCCEEDED", {"status": "SUCCEEDED", "decision": "PROMOTED"}, "PROMOTED"),
        ("SUCCEEDED", {"status": "SUCCEEDED", "decision": "NOT_PROMOTED"}, "NOT_PROMOTED"),
        ("SUCCEEDED", {"status": "SUCCEEDED", "decision": "SUPERSEDED"}, "NOT_PROMOTED"),
        ("SUCCEEDED", {"status": "REJECTED"}, "REJECTED"),
        ("FAILED", {"status": "FAILED"}, "FAILED"),
        ("TIMED_OUT", {"status": "TRAINING"}, "TIMED_OUT"),
        ("ABORTED", {"status": "EVALUATING"}, "ABORTED"),
        ("RUNNING", {"status": "TRAINING"}, "RUNNING"),
        (None, {"status": "STARTED"}, "RUNNING"),
        (None, None, "UNKNOWN"),
    ],
)
def test_the_outcome_comes_from_how_the_execution_ended_and_what_the_run_decided(execution, item, outcome):
    assert derive_outcome(execution, item) == outcome


GOOD = Path(__file__).resolve().parents[3] / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"


def _stored(data: bytes, name: str = "train.jsonl") -> dict:
    """A validation report as the registry points to it: the JSON Validate wrote to S3."""
    report = validate_dataset(in_memory(data, name), "amazon.nova-micro-v1:0:128k", "FINE_TUNING")
    return json.loads(report.to_json())


def test_reasons_are_errors_sorted_by_line_with_what_the_report_counted_but_did_not_list():
    good = GOOD.read_text(encoding="utf-8").splitlines()
    broken = {0: "{not json", 1: json.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": "not a list"})}
    lines = [broken.get(n % 3) or good[n % len(good)] for n in range(300)]
    reasons = rejection_reasons(_stored("\n".join(lines).encode() + b"\n"))
    by_line = [r for r in reasons if r.line is not None]
    assert [r.line for r in by_line] == sorted(r.line for r in by_line)
    assert reasons[: len(reasons) - len(by_line)] == [r for r in reasons if r.line is None]  # whole-file first
    assert all(r.file == "train.jsonl" and not r.warning for r in reasons)
    assert {r.kind for r in reasons} == {"invalid-json", "wrong-type"}
    # 100 unreadable lines and 100 wrong types, at most the report's examples of each listed: the rest are counted.
    assert sum(r.more for r in reasons) == 200 - len(reasons) > 0


def test_a_reason_on_every_line_is_one_reason_for_the_file_as_watch_says_it():
    lines = [json.dumps({"prompt": f"question {n}", "completion": f"answer {n}"}) for n in range(30)]
    stored = _stored("\n".join(lines).encode() + b"\n")
    [every] = [r for r in rejection_reasons(stored) if r.kind == "missing-field"]
    assert every.scope == "every line" and every.line is None and every.more == 0
    assert every.text() in outcome_lines(ValidationReport.from_dict(stored))


def test_no_report_no_reasons():
    assert rejection_reasons(None) == [] and rejection_reasons({}) == []


def test_cost_lines_pair_the_estimate_with_what_was_spent():
    item = {
        "estimate": {
            "total_usd": "1.00",
            "complete": True,
            "lines": [{"item": "evaluation: candidate on demand", "amount_usd": "1.00"}],
        },
        "actual_cost": {
            "total_usd": "61.00",
            "complete": True,
            "lines": [
                {"item": "evaluation: candidate", "amount_usd": "0.50"},
                {"item": "production throughput", "amount_usd": "60.50"},
            ],
        },
    }
    cost = cost_of(item)
    assert [(line.item, line.estimated_usd, line.actual_usd) for line in cost.lines] == [
        ("evaluation: candidate on demand", "1.00", "0.50"),
        ("production throughput", None, "60.50"),
    ]
    assert (cost.estimated_usd, cost.actual_usd) == ("1.00", "61.00")
