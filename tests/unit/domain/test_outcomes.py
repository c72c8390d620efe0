"""A run's outcome from what it recorded, and a rejection's reasons as a data owner reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdas.domain.outcomes import Outcome, outcome_of, outcome_of_run, rejection_reasons
from lambdas.domain.report import ValidationReport
from lambdas.domain.sources import in_memory
from lambdas.domain.validation import validate_dataset

BROKEN = Path(__file__).resolve().parents[3] / "samples" / "broken" / "nova-micro-broken.jsonl"
MODEL = "amazon.nova-micro-v1:0:128k"


@pytest.mark.parametrize(
    ("status", "decision", "ended", "expected"),
    [
        ("SUCCEEDED", "PROMOTED", None, Outcome.PROMOTED),
        ("SUCCEEDED", "NOT_PROMOTED", None, Outcome.NOT_PROMOTED),
        ("SUCCEEDED", "SUPERSEDED", None, Outcome.NOT_PROMOTED),  # passed the gate, a newer upload won
        ("REJECTED", None, None, Outcome.REJECTED),
        ("FAILED", None, None, Outcome.FAILED),
        ("FAILED", None, "FAILED", Outcome.FAILED),
        ("FAILED", None, "TIMED_OUT", Outcome.TIMED_OUT),  # Cleanup writes FAILED; the execution timed out
        ("TRAINING", None, "ABORTED", Outcome.ABORTED),
        ("TRAINING", None, None, None),  # still running: no outcome yet
        ("SUCCEEDED", None, None, None),  # torn down but not yet recorded
    ],
)
def test_the_outcome_follows_from_status_decision_and_the_executions_end(status, decision, ended, expected):
    assert outcome_of(status, decision, ended) is expected


def test_a_reader_prefers_the_recorded_outcome_and_an_abnormal_end_over_the_item():
    assert outcome_of_run({"status": "SUCCEEDED", "run_outcome": "NOT_PROMOTED"}, "SUCCEEDED") is Outcome.NOT_PROMOTED
    assert outcome_of_run({"status": "TRAINING"}, "ABORTED") is Outcome.ABORTED
    assert outcome_of_run({"status": "REJECTED"}, "SUCCEEDED") is Outcome.REJECTED
    assert outcome_of_run({"status": "TRAINING"}, "RUNNING") is None
    assert outcome_of_run(None, None) is None


def _report(data: bytes, name: str = "train.jsonl") -> ValidationReport:
    report = validate_dataset(in_memory(data, name), MODEL, "FINE_TUNING")
    return ValidationReport.from_dict(json.loads(report.to_json()))  # as the CLI reads it back from S3


def _line_numbers(reasons: list[str]) -> list[int]:
    return [int(r.split(" line ", 1)[1].split(":")[0].split(",")[0]) for r in reasons if " line " in r]


def test_a_rejections_reasons_are_sorted_by_line_not_by_kind():
    reasons = rejection_reasons(_report(BROKEN.read_bytes(), "nova-micro-broken.jsonl"))
    numbers = _line_numbers(reasons)
    assert numbers == sorted(numbers) and len(numbers) == 9, reasons  # 8 errors and the duplicate's warning
    assert all(r.startswith("nova-micro-broken.jsonl line ") for r in reasons)
    assert reasons[-1].endswith("[invalid-utf8]")  # line 10, although "invalid-utf8" sorts before others by kind
    assert sum("(warning)" in r for r in reasons) == 1


def test_a_reason_every_line_of_a_file_has_is_said_once_for_the_file():
    # Prompt-completion records for a model that trains on conversations: every line has the same problem.
    lines = [json.dumps({"prompt": f"question {n}", "completion": f"answer {n}"}) for n in range(30)]
    reasons = rejection_reasons(_report("\n".join(lines).encode() + b"\n"))
    [every] = [r for r in reasons if "[missing-field]" in r]
    assert every.startswith("train.jsonl: every line: the required field 'messages' is missing"), reasons
    assert not any("… and" in r for r in reasons), reasons  # the 10 examples not kept are covered by "every line"


def test_when_some_lines_are_not_records_the_shared_reason_is_said_once_for_every_record():
    lines = [json.dumps({"prompt": f"question {n}", "completion": f"answer {n}"}) for n in range(30)]
    lines[12] = "{not json"
    reasons = rejection_reasons(_report("\n".join(lines).encode() + b"\n"))
    [every] = [r for r in reasons if "[missing-field]" in r]
    assert every.startswith("train.jsonl: every record: "), reasons
    assert any(r.startswith("train.jsonl line 13: ") and "[invalid-json]" in r for r in reasons), reasons
    assert reasons.index(every) < next(i for i, r in enumerate(reasons) if " line 13" in r)


def test_a_reason_only_some_lines_have_is_listed_per_line_and_what_the_report_left_out_is_counted():
    lines = [
        json.dumps({"prompt": "q", "completion": "a"}) if n % 2 else '{"messages": "not a list"}' for n in range(60)
    ]
    reasons = rejection_reasons(_report("\n".join(lines).encode() + b"\n"))
    assert not any(r.startswith("train.jsonl: every ") for r in reasons), reasons
    assert _line_numbers(reasons) == sorted(_line_numbers(reasons))
    assert reasons[-1].startswith("… and ") and "more" in reasons[-1]  # 30 of each kind, 20 kept as examples
