"""A run's outcome: the one word the CLI, the demo and every notice show first.

A run ends in exactly one of six outcomes, derived from what it recorded: the execution's end (FAILED,
TIMED_OUT, ABORTED come from Step Functions), the registry status (REJECTED: the dataset or its estimate
was refused, nothing was started) and the decision of a decided run (PROMOTED; NOT_PROMOTED, which also
covers SUPERSEDED: the gate passed but a newer upload's model holds the champion). The registry item keeps
it under ``registry.OUTCOME_ATTRIBUTE``; notices carry it as their first field and as a message attribute.
"""

from __future__ import annotations

from enum import Enum
from pathlib import PurePosixPath
from typing import Any, Literal

from lambdas.domain.report import ValidationReport

Decision = Literal["PROMOTED", "NOT_PROMOTED", "SUPERSEDED"]


class Outcome(str, Enum):
    PROMOTED = "PROMOTED"
    NOT_PROMOTED = "NOT_PROMOTED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


# What Step Functions reports for an execution that ended without deciding anything.
ABNORMAL = {"FAILED": Outcome.FAILED, "TIMED_OUT": Outcome.TIMED_OUT, "ABORTED": Outcome.ABORTED}


def outcome_of_decision(decision: str | None) -> Outcome:
    """A decided run: only a promotion is PROMOTED; not passing the gate and being superseded are not."""
    return Outcome.PROMOTED if decision == "PROMOTED" else Outcome.NOT_PROMOTED


def outcome_of(status: str | None, decision: str | None = None, ended: str | None = None) -> Outcome | None:
    """The outcome from the registry status, the decision and the execution's end; None while it runs.

    ``ended`` (the execution's status) wins: a run that was rejected is never aborted afterwards, but a
    run whose item says TRAINING when its execution timed out did time out.
    """
    if ended in ABNORMAL:
        return ABNORMAL[ended]
    if status == "REJECTED":
        return Outcome.REJECTED
    if status == "FAILED":
        return Outcome.FAILED
    if status == "SUCCEEDED" and decision is not None:
        return outcome_of_decision(decision)
    return None


def outcome_of_run(item: dict[str, Any] | None, execution_status: str | None) -> Outcome | None:
    """What a reader of the registry and the execution concludes (the recorded outcome when there is one)."""
    item = item or {}
    if execution_status in ABNORMAL:
        return ABNORMAL[execution_status]
    recorded = item.get("run_outcome")
    if recorded in Outcome._value2member_map_:
        return Outcome(recorded)
    derived = outcome_of(item.get("status"), item.get("decision"))
    if derived is None and execution_status == "SUCCEEDED" and item.get("status") == "REJECTED":
        return Outcome.REJECTED
    return derived


def rejection_reasons(report: ValidationReport) -> list[str]:
    """The report's problems as lines a data owner fixes top to bottom: by file, then line; whole-file
    problems first. A reason every line of a file has (the wrong format for the model, say) is said once for
    that file ("every line: …"; "every record: …" when some lines are not records at all) instead of once per
    line."""
    groups = [*report.errors, *report.warnings]
    # A file by its name: the dataset's full address is said once, above the reasons.
    names = {f.split: PurePosixPath(f.name).name or f.name for f in report.files}
    everywhere = _on_every_line(report)
    said_once = {(split, kind, message) for split, kind, message, _ in everywhere}
    lines: list[tuple[int, int, str]] = []
    order = {split: index for index, split in enumerate(names)}
    for split, kind, message, scope in everywhere:
        lines.append((order.get(split, 9), 0, f"{names.get(split, split)}: {scope}: {message} [{kind}]"))
    for group in groups:
        for issue in group.examples:
            if (issue.split, issue.kind, issue.message) in said_once:
                continue
            where = f"{names.get(issue.split, issue.split)}" + (f" line {issue.line}" if issue.line else "")
            if issue.field:
                where += f", {issue.field}"
            severity = "" if group.severity.value == "error" else " (warning)"
            lines.append(
                (order.get(issue.split, 9), issue.line or 0, f"{where}: {issue.message} [{issue.kind}]{severity}")
            )
    reasons = [text for _, _, text in sorted(lines, key=lambda entry: (entry[0], entry[1], entry[2]))]
    # The report keeps the first N examples of each kind; the rest are counted, and said to be there.
    covered = {kind for _, kind, _, _ in everywhere}
    unshown = sum(group.count - len(group.examples) for group in groups if group.kind not in covered)
    if unshown > 0:
        reasons.append(f"… and {unshown} more of the same kinds (the report keeps the first examples of each)")
    return reasons


def _on_every_line(report: ValidationReport) -> set[tuple[str, str, str, str]]:
    """(split, kind, message, "every line" | "every record") of each reason that every line of one file (or
    every record, when some lines are not even records) has, in the same words."""
    files = {f.split: f for f in report.files}
    found: set[tuple[str, str, str, str]] = set()
    for group in (*report.errors, *report.warnings):
        splits = {issue.split for issue in group.examples}
        messages = {issue.message for issue in group.examples}
        if len(splits) != 1 or len(messages) != 1 or not all(issue.line for issue in group.examples):
            continue
        split = next(iter(splits))
        file = files.get(split)
        if file is None or file.records < 2 or group.count < file.records:
            continue
        scope = "every line" if group.count >= file.lines - file.blank_lines else "every record"
        found.add((split, group.kind, next(iter(messages)), scope))
    return found
