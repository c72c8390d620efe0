"""A run's timeline from its execution history: polling loops become one entry (lambdas/domain/timeline.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lambdas.domain.timeline import collapse_loops, format_duration, spans_from_history, visible

START = datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)


def _history(states: list[tuple[str, str, float]], *, fail_last: bool = False) -> list[dict]:
    """Events for states run one after another: (name, type, seconds each)."""
    events, now = [], START
    for index, (name, kind, seconds) in enumerate(states):
        events.append({"type": f"{kind}StateEntered", "timestamp": now, "stateEnteredEventDetails": {"name": name}})
        now += timedelta(seconds=seconds)
        if fail_last and index == len(states) - 1:
            events.append(
                {"type": "TaskFailed", "timestamp": now, "taskFailedEventDetails": {"error": "Boom", "cause": "why"}}
            )
            return events
        events.append({"type": f"{kind}StateExited", "timestamp": now, "stateExitedEventDetails": {"name": name}})
    return events


def test_a_polling_loop_is_one_entry_named_after_its_check_with_its_rounds_and_time():
    rounds = [
        ("WaitBeforeNextEndpointCheck", "Wait", 140.0),
        ("CheckEndpoint", "Task", 0.0),
        ("EndpointReady?", "Choice", 0.0),
    ]
    history = _history([("DeployForEvaluation", "Task", 5.0), *rounds * 3, ("Evaluate", "Task", 30.0)])
    entries = collapse_loops(spans_from_history(history, execution_status="SUCCEEDED"))
    assert [e.label for e in entries] == ["DeployForEvaluation", "CheckEndpoint ×3", "Evaluate"]
    loop = entries[1]
    assert loop.seconds == 420.0 and format_duration(loop.seconds) == "7 min"
    assert loop.states == ["WaitBeforeNextEndpointCheck", "CheckEndpoint", "EndpointReady?"]
    assert all(e.status == "done" for e in entries)


def test_different_states_in_a_row_stay_apart_and_choices_are_hidden_from_readers():
    history = _history([("Validate", "Task", 3.0), ("DatasetValid?", "Choice", 0.0), ("Estimate", "Task", 2.0)])
    entries = collapse_loops(spans_from_history(history, execution_status="SUCCEEDED"))
    assert [e.label for e in entries] == ["Validate", "DatasetValid?", "Estimate"]
    assert [e.label for e in visible(entries)] == ["Validate", "Estimate"]


def test_the_failing_state_carries_its_error_and_a_running_one_has_no_end():
    failed = spans_from_history(
        _history([("Validate", "Task", 1.0), ("StartCustomization", "Task", 4.0)], fail_last=True),
        execution_status="FAILED",
    )
    assert (failed[-1].status, failed[-1].error, failed[-1].cause) == ("failed", "Boom", "why")
    running = spans_from_history(_history([("WaitForJob", "Task", 60.0)])[:1], execution_status="RUNNING")
    assert running[0].status == "running" and running[0].ended_at is None
    assert collapse_loops(running)[0].seconds is None


def test_durations_read_as_people_say_them():
    assert [format_duration(s) for s in (None, 0, 45, 419, 3600, 3720, 90000)] == [
        "-",
        "0 s",
        "45 s",
        "7 min",
        "1 h",
        "1 h 2 min",
        "1 d 1 h",
    ]
