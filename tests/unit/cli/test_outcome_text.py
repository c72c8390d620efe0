"""What submit --watch and watch say about a run, and the exit codes they return."""

from __future__ import annotations

import pytest

from cli._common import EXIT_OK, EXIT_STILL_RUNNING, EXIT_USAGE, OUTCOME_EXIT
from cli._outcome import end_of, exit_code, waiting_for
from cli.runs import RunView
from lambdas.domain.outcomes import Outcome


def test_every_outcome_but_a_decision_has_its_own_exit_code():
    assert OUTCOME_EXIT[Outcome.PROMOTED] == OUTCOME_EXIT[Outcome.NOT_PROMOTED] == EXIT_OK
    others = [OUTCOME_EXIT[o] for o in Outcome if o not in (Outcome.PROMOTED, Outcome.NOT_PROMOTED)]
    assert len(set(others)) == len(others) and not {EXIT_OK, 1, EXIT_USAGE, 3, EXIT_STILL_RUNNING} & set(others)
    assert exit_code(None) == EXIT_STILL_RUNNING


@pytest.mark.parametrize(
    ("status", "item", "header"),
    [
        ("SUCCEEDED", {"status": "REJECTED", "profile": "p"}, "REJECTED: run r (p)"),
        ("SUCCEEDED", {"status": "SUCCEEDED", "decision": "SUPERSEDED", "profile": "p"}, "NOT_PROMOTED: run r (p)"),
        ("ABORTED", {"status": "TRAINING", "profile": "p"}, "ABORTED: run r (p)"),
        ("RUNNING", {"status": "TRAINING", "profile": "p"}, "RUNNING: run r (p) had not ended"),
    ],
)
def test_the_outcome_is_the_first_line(status, item, header):
    _, lines = end_of(RunView("r", status=status, item=item, states=[]))
    assert lines[0].startswith(header), lines


def test_while_nothing_changes_it_says_what_the_run_waits_for_and_since_when():
    view = RunView(
        "r",
        status="RUNNING",
        item={"status": "TRAINING", "job_arn": "arn:aws:bedrock:us-east-1:1:model-customization-job/abc123"},
        states=[("StartCustomization", "done", 1.0), ("WaitForJob", "running", 0.0)],
    )
    assert (
        waiting_for(view, since=0.0, now=12 * 60 + 5)
        == "waiting for the customization job abc123 (InProgress) (12 min)"
    )
    pending = RunView("r", status="PENDING", item=None, states=[])
    assert waiting_for(pending, since=0.0, now=30) == "waiting for the upload's event to start the run (0 min)"
