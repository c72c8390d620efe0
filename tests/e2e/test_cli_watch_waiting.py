"""`tuneforge watch RUN` while nothing changes: the emulator server's clock is paused before the upload, so the
run goes as far as it can without time passing (its customization job, InProgress, waits for emulated time),
and watch, in its own process as a user runs it, says what the run waits for once a minute of real time
(cli/runs.py ``watch``'s ``remind_every``), then stops at its --timeout with the still-running code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .cli_harness import EVALUATION_SET, GOOD_SAMPLE, PROFILE, CliStage

pytestmark = pytest.mark.e2e

REMIND_EVERY = 60  # seconds of real time without a change before watch says what it waits for
EXIT_STILL_RUNNING = 8  # cli/_common.py: --timeout passed before the run ended


@pytest.fixture(scope="module")
def held_clock_stage(tuneforge_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory):
    from local.remote import RemoteEmulator

    workdir = tmp_path_factory.mktemp("cli-watch")
    with RemoteEmulator.launch(time_scale=0.0001, auto_schedule=True, log=workdir / "server.log") as aws:
        aws.deploy(tuneforge_cdk_out, stacks="Tuneforge-dev-*")
        stage = CliStage(url=aws.endpoint_url, workdir=workdir)
        uploaded = stage.run("evaluation-set", str(EVALUATION_SET), "--profile", PROFILE)
        assert uploaded.code == 0, uploaded.err
        yield stage, aws


def test_watch_says_what_a_long_job_keeps_it_waiting_for(held_clock_stage):
    stage, aws = held_clock_stage
    aws.pause()  # no emulated time passes: the job, once started, stays InProgress
    submitted = stage.run("submit", str(GOOD_SAMPLE), "--profile", PROFILE)
    assert submitted.code == 0, submitted.err
    run_id = submitted.out.strip().splitlines()[-1]
    # submit returns once the upload's run exists, so watching it at once finds it.
    assert "has started" in submitted.err, submitted

    watched = stage.run("watch", run_id, "--timeout", str(2 * REMIND_EVERY + 20), timeout=300)
    # The live table and its reminders go to stderr (the outcome to stdout); its caption folds at the table's
    # width, between terminal control sequences.
    said = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", " ", watched.err).split())
    assert "waiting for the customization job" in said and "(InProgress) (" in said, watched
    assert watched.out.startswith(f"RUNNING: run {run_id}") and "had not ended when watching stopped" in watched.out
    assert watched.code == EXIT_STILL_RUNNING, watched
