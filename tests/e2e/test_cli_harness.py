"""The CLI harness itself: a good upload runs to its decision, driven only through ``tuneforge``."""

from __future__ import annotations

import json

import pytest

from .cli_harness import GOOD_SAMPLE, PROFILE

pytestmark = pytest.mark.e2e


def test_submit_watch_and_runs_through_the_cli(cli_stage):
    submitted = cli_stage.run("submit", str(GOOD_SAMPLE), "--profile", PROFILE, "--watch", "--json")
    assert submitted.code == 0, submitted.err
    listed = cli_stage.run("runs")
    assert listed.code == 0, listed.err
    assert PROFILE in listed.out
    assert json.loads(submitted.out)["run_status"] in ("SUCCEEDED", "PROMOTED")
