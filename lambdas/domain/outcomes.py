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

from pydantic import BaseModel

from lambdas.domain.report import ValidationReport

Decision = Literal["PROMOTED", "NOT_PROMOTED", "SUPERSEDED"]
Scope = Literal["every line", "every record"]


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


class Reason(BaseModel):
    """One reason a dataset was refused (or warned about): where it is and what it says. A reason every line
    of a file has is one Reason for the whole file (``scope``), not one per line."""

    file: str
    line: int | None = None
    field: str | None = None
    kind: str
    message: str
    scope: Scope | None = None
    warning: bool = False
    more: int = 0  # further lines with this kind the report counted but did not list

    @property
    def where(self) -> str:
        if self.scope:
            return f"{self.file}: {self.scope}"
        where = self.file + (f" line {self.line}" if self.line else "")
        return where + (f", {self.field}" if self.field else "")

    def text(self) -> str:
        return f"{self.where}: {self.message} [{self.kind}]" + (" (warning)" if self.warning else "")


def reasons_by_line(report: ValidationReport, *, warnings: bool = True) -> list[Reason]:
    """The report's problems in the order a data owner fixes them: by file, then line, whole-file problems first.
    A reason every line of a file has (the wrong format for the model, say) is said once for that file ("every
    line: …"; "every record: …" when some lines are not records at all) instead of once per line."""
    groups = [*report.errors, *(report.warnings if warnings else [])]
    kinds = {group.kind for group in groups}
    # A file by its name: the dataset's full address is said once, above the reasons.
    names = {f.split: PurePosixPath(f.name).name or f.name for f in report.files}
    order = {split: index for index, split in enumerate(names)}
    everywhere = {entry for entry in _on_every_line(report) if entry[1] in kinds}
    said_once = {(split, kind, message) for split, kind, message, _ in everywhere}
    warned = {group.kind for group in report.warnings}
    keyed: list[tuple[tuple[int, int, str], Reason]] = []
    for split, kind, message, scope in everywhere:
        reason = Reason(file=names.get(split, split), kind=kind, message=message, scope=scope, warning=kind in warned)
        keyed.append(((order.get(split, 9), 0, reason.text()), reason))
    for group in groups:
        for position, issue in enumerate(group.examples):
            if (issue.split, issue.kind, issue.message) in said_once:
                continue
            last = position == len(group.examples) - 1
            reason = Reason(
                file=names.get(issue.split, issue.split),
                line=issue.line,
                field=issue.field,
                kind=issue.kind,
                message=issue.message,
                warning=group.severity.value != "error",
                more=max(0, group.count - len(group.examples)) if last else 0,
            )
            keyed.append(((order.get(issue.split, 9), issue.line or 0, reason.text()), reason))
    return [reason for _, reason in sorted(keyed, key=lambda entry: entry[0])]


def rejection_reasons(report: ValidationReport) -> list[str]:
    """``reasons_by_line`` as lines of text, with how many more the report counted but did not keep."""
    reasons = reasons_by_line(report)
    lines = [reason.text() for reason in reasons]
    unshown = sum(reason.more for reason in reasons)
    if unshown > 0:
        lines.append(f"… and {unshown} more of the same kinds (the report keeps the first examples of each)")
    return lines


def _on_every_line(report: ValidationReport) -> set[tuple[str, str, str, Scope]]:
    """(split, kind, message, "every line" | "every record") of each reason that every line of one file (or
    every record, when some lines are not even records) has, in the same words."""
    files = {f.split: f for f in report.files}
    found: set[tuple[str, str, str, Scope]] = set()
    for group in (*report.errors, *report.warnings):
        splits = {issue.split for issue in group.examples}
        messages = {issue.message for issue in group.examples}
        if len(splits) != 1 or len(messages) != 1 or not all(issue.line for issue in group.examples):
            continue
        split = next(iter(splits))
        file = files.get(split)
        if file is None or file.records < 2 or group.count < file.records:
            continue
        scope: Scope = "every line" if group.count >= file.lines - file.blank_lines else "every record"
        found.add((split, group.kind, next(iter(messages)), scope))
    return found
