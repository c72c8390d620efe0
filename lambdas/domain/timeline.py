"""A run's timeline from its Step Functions execution history: one entry per state, polling loops collapsed.

GetExecutionHistory lists events in order; a state's are ``<Type>StateEntered`` and ``<Type>StateExited``
with ``stateEnteredEventDetails.name`` / ``stateExitedEventDetails.name``, and a failure is a ``...Failed`` /
``...TimedOut`` event with ``error`` and ``cause`` in its details
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html, read 2026-12-07).
A polling loop (wait, check, choice; again) becomes one entry: "CheckEndpoint ×3, 7 min".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Literal

from pydantic import BaseModel

StateStatus = Literal["done", "running", "failed", "ended"]
# States that take no time and decide nothing a reader needs in a timeline (the decisions show elsewhere).
QUIET_KINDS = frozenset({"Choice", "Pass"})
# The longest repeated block of states taken for one polling loop.
MAX_LOOP_STATES = 4


class StateSpan(BaseModel):
    """One state the execution entered."""

    name: str
    kind: str  # Task, Wait, Choice, Pass, Succeed, Fail, Map, Parallel
    started_at: datetime
    ended_at: datetime | None = None
    status: StateStatus = "running"
    error: str | None = None
    cause: str | None = None


class TimelineEntry(BaseModel):
    """A state, or a polling loop of ``count`` rounds; ``states`` names every state a loop went through."""

    name: str
    kind: str
    count: int = 1
    started_at: datetime
    ended_at: datetime | None = None
    seconds: float | None = None
    status: StateStatus
    states: list[str] = []
    error: str | None = None
    cause: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ×{self.count}" if self.count > 1 else self.name


def _kind(event_type: str, suffix: str) -> str:
    return event_type.removesuffix(suffix)


def _failure(event: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """(error, cause) of a failure event, or None."""
    if not event["type"].endswith(("Failed", "TimedOut", "Aborted")):
        return None
    found = [value for key, value in event.items() if key.endswith("EventDetails")]
    details: dict[str, Any] = (found[0] if found else None) or {}
    return details.get("error") or event["type"], details.get("cause")


def spans_from_history(
    events: Iterable[dict[str, Any]], *, execution_status: str = "RUNNING", stopped_at: datetime | None = None
) -> list[StateSpan]:
    """The states in the order the execution entered them, each closed by its exit (or its failure)."""
    spans: list[StateSpan] = []
    open_spans: list[StateSpan] = []
    for event in events:
        event_type, at = event["type"], event["timestamp"]
        if event_type.endswith("StateEntered"):
            span = StateSpan(
                name=event["stateEnteredEventDetails"]["name"], kind=_kind(event_type, "StateEntered"), started_at=at
            )
            spans.append(span)
            open_spans.append(span)
        elif event_type.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            exited = next((s for s in reversed(open_spans) if s.name == name), None)
            if exited is not None:
                open_spans.remove(exited)
                exited.ended_at = at
                if exited.status == "running":
                    exited.status = "done"
        elif (failure := _failure(event)) is not None and open_spans:
            # The failing state: the innermost one still open (a caught error exits it next, or never).
            failing = open_spans[-1]
            failing.status, failing.error, failing.cause, failing.ended_at = "failed", failure[0], failure[1], at
    for span in open_spans:
        if execution_status != "RUNNING":
            span.status = "failed" if span.status == "failed" else "ended"
            span.ended_at = span.ended_at or stopped_at
    return spans


def _repeats(names: list[str], start: int, length: int) -> int:
    """How many times ``names[start:start+length]`` repeats back to back from ``start``."""
    block, count = names[start : start + length], 1
    while names[start + count * length : start + (count + 1) * length] == block:
        count += 1
    return count


def _entry(spans: list[StateSpan], count: int) -> TimelineEntry:
    """One entry for ``spans`` (a state, or ``count`` rounds of a loop), named after the loop's task."""
    named = next((s for s in spans if s.kind == "Task"), None) or next(
        (s for s in spans if s.kind not in QUIET_KINDS), spans[0]
    )
    failed = next((s for s in spans if s.status == "failed"), None)
    last = spans[-1]
    ended = last.ended_at
    status: StateStatus = failed.status if failed else last.status
    return TimelineEntry(
        name=named.name,
        kind=named.kind,
        count=count,
        started_at=spans[0].started_at,
        ended_at=ended,
        seconds=(ended - spans[0].started_at).total_seconds() if ended else None,
        status=status,
        states=list(dict.fromkeys(s.name for s in spans)) if count > 1 else [],
        error=failed.error if failed else None,
        cause=failed.cause if failed else None,
    )


def collapse_loops(spans: list[StateSpan]) -> list[TimelineEntry]:
    """Entries in order, every run of a block of states repeated back to back taken as one polling loop."""
    names = [s.name for s in spans]
    entries: list[TimelineEntry] = []
    index = 0
    while index < len(spans):
        best_length, best_count = 1, 1
        for length in range(1, MAX_LOOP_STATES + 1):
            count = _repeats(names, index, length)
            if count > 1 and count * length > best_count * best_length:
                best_length, best_count = length, count
        covered = best_length * best_count
        entries.append(_entry(spans[index : index + covered], best_count))
        index += covered
    return entries


def visible(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """What a person reads: without the instant Choice and Pass states."""
    return [e for e in entries if e.kind not in QUIET_KINDS or e.status == "failed"]


def format_duration(seconds: float | None) -> str:
    """``45 s``, ``7 min``, ``1 h 2 min``, ``2 d 3 h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
