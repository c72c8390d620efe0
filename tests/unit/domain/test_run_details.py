"""One run's details: its outcome from the execution and the registry, a rejection's reasons by file and line."""

from __future__ import annotations

import pytest

from lambdas.domain.run_details import cost_of, derive_outcome, rejection_reasons


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


def test_reasons_are_sorted_by_file_and_line_whatever_order_the_kinds_came_in():
    report = {
        "files": [{"split": "training", "name": "train.jsonl"}, {"split": "validation", "name": "val.jsonl"}],
        "errors": [
            {"kind": "empty-text", "count": 3, "examples": [{"line": 9, "split": "training", "message": "empty"}]},
            {"kind": "invalid-json", "count": 1, "examples": [{"line": 2, "split": "validation", "message": "json"}]},
            {"kind": "wrong-type", "count": 1, "examples": [{"line": 4, "split": "training", "message": "type"}]},
        ],
    }
    reasons = rejection_reasons(report)
    assert [(r.file, r.line) for r in reasons] == [("train.jsonl", 4), ("train.jsonl", 9), ("val.jsonl", 2)]
    assert reasons[1].more == 2  # the report counted 3 empty texts and listed 1


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
