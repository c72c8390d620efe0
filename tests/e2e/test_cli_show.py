"""``tuneforge show RUN`` as a user runs it, against the emulator's server with the dev stage deployed."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import boto3
import pytest

from .cli_harness import BROKEN_SAMPLE, GOOD_SAMPLE, PROFILE

pytestmark = pytest.mark.e2e

ENDED = ("PROMOTED", "NOT_PROMOTED", "REJECTED", "FAILED", "TIMED_OUT", "ABORTED")


def _submit_and_finish(cli_stage, path: Path, timeout: float = 300.0) -> dict:
    """Upload through `tuneforge submit`, then follow the run through `tuneforge show --json` until it ends."""
    submitted = cli_stage.run("submit", str(path), "--profile", PROFILE)
    assert submitted.code == 0, submitted.err
    run_id = submitted.out.strip().splitlines()[-1]
    deadline = time.monotonic() + timeout
    while True:
        shown = cli_stage.run("show", run_id, "--json")
        # submit returned once the run existed: from then on the stage knows it.
        assert shown.code == 0, shown.err
        if json.loads(shown.out)["outcome"] in ENDED:
            return json.loads(shown.out)
        assert time.monotonic() < deadline, f"run {run_id} did not end: {shown.out or shown.err}"
        time.sleep(1)


def _s3(cli_stage):
    return boto3.client(
        "s3",
        endpoint_url=cli_stage.url,
        region_name="us-east-1",
        aws_access_key_id="emulated",
        aws_secret_access_key="emulated",
    )


def _csv_rows(cli_stage, uri: str) -> list[dict[str, str]]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = _s3(cli_stage).get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture(scope="module")
def promoted(cli_stage) -> dict:
    return _submit_and_finish(cli_stage, GOOD_SAMPLE)


def test_show_prints_the_outcome_first_then_the_timeline_with_polling_loops_collapsed(cli_stage, promoted):
    shown = cli_stage.run("show", promoted["run_id"])
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].startswith("PROMOTED") and promoted["run_id"] in lines[0]
    assert re.search(r"CheckEndpoint ×\d+ +\d+ min", shown.out), shown.out
    assert re.search(r"WaitForJob +1 h", shown.out)
    assert "Hyperparameters (job): epochCount=2" in shown.out
    assert "training loss" in shown.out and "│" in shown.out  # the terminal chart
    for metric in ("exact_match", "token_f1", "rouge_l"):
        assert metric in shown.out
    assert "Gate: passed" in shown.out
    # Each metric's paired bootstrap interval of the delta and its number of examples (issue 16).
    assert re.search(r"token_f1 .*95% \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] \(\d+\)", shown.out), shown.out
    assert "Cost (USD): estimate vs actual" in shown.out and "production throughput" in shown.out
    assert "promoted)" in shown.out  # the production endpoint


def test_show_json_holds_the_loss_the_job_wrote_and_the_rest(cli_stage, promoted):
    training = promoted["training"]
    rows = _csv_rows(cli_stage, training["training_uri"])
    assert list(rows[0]) == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert [(p["step"], p["epoch"], p["loss"], p["perplexity"]) for p in training["training"]] == [
        (int(r["step_number"]), int(r["epoch_number"]), float(r["training_loss"]), float(r["perplexity"])) for r in rows
    ]
    losses = [p["loss"] for p in training["training"]]
    assert len(losses) >= 8 and losses[-1] < losses[0]
    # No validation data, no validation file: said, not failed.
    assert training["validation"] == [] and any("no validation metrics" in n for n in training["notes"])
    assert promoted["metrics"]["candidate"]["token_f1"] > promoted["metrics"]["baseline"]["token_f1"]
    assert promoted["gate"]["passed"] is True and promoted["gate"]["checks"]
    assert (
        promoted["gate"]["intervals"]["token_f1"]["examples"] == promoted["gate"]["checks"][0]["interval"]["examples"]
    )
    assert promoted["cost"]["actual_usd"] is not None and promoted["cost"]["lines"]
    assert promoted["hyperparameters"]["epochCount"] == "2"
    labels = [(e["name"], e["count"]) for e in promoted["timeline"]]
    assert ("CheckEndpoint", 3) in labels or any(n == "CheckEndpoint" and c > 1 for n, c in labels)
    assert any(e["promoted"] for e in promoted["endpoints"])


def test_show_download_copies_the_runs_reports(cli_stage, promoted, tmp_path):
    target = tmp_path / "reports"
    shown = cli_stage.run("show", promoted["run_id"], "--download", str(target))
    assert shown.code == 0, shown.err
    names = {p.name for p in target.iterdir()}
    assert {"validation.json", "evaluation.json", "evaluation.html", "evaluation-examples.jsonl"} <= names
    assert json.loads((target / "evaluation.json").read_text())["run_id"] == promoted["run_id"]


def test_show_open_writes_a_self_contained_page_with_charts_and_the_outcome(cli_stage, promoted):
    shown = cli_stage.run("show", promoted["run_id"], "--open")
    assert shown.code == 0, shown.err
    page_path = Path(re.search(r"run page: (\S+)", shown.err).group(1))
    page = page_path.read_text()
    assert 'id="outcome"' in page and "PROMOTED" in page
    assert re.search(r'<polyline class="series" data-series="training loss" data-points="\d+" points="[\d., ]+"', page)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline"' in page
    assert "<script" not in page and re.findall(r'(?:src|href)="([^"]*)"', page) == ["evaluation-examples.jsonl"]
    assert (page_path.parent / "evaluation-examples.jsonl").is_file()  # the link works from where the page is


def test_show_refuses_an_unknown_run_at_once(cli_stage):
    started = time.monotonic()
    shown = cli_stage.run("show", "support-qa-vi-000000000000000000000000")
    assert shown.code == 2
    assert "no run 'support-qa-vi-000000000000000000000000'" in shown.err
    assert time.monotonic() - started < 30  # one process start, two reads: no waiting for it to appear


def test_show_rejected_run_says_so_with_reasons_by_line(cli_stage):
    rejected = _submit_and_finish(cli_stage, BROKEN_SAMPLE)
    assert rejected["outcome"] == "REJECTED"
    lines = [r["line"] for r in rejected["rejection"]]
    assert lines == sorted(lines) and len(lines) == 8
    shown = cli_stage.run("show", rejected["run_id"])
    assert shown.out.splitlines()[0].startswith("REJECTED")
    assert "line 2, messages[1].role" in shown.out


def test_show_draws_the_validation_curve_of_a_job_given_validation_data(cli_stage, tmp_path):
    folder = tmp_path / "vi-with-validation"
    folder.mkdir()
    lines = GOOD_SAMPLE.read_text(encoding="utf-8").splitlines()
    (folder / "train.jsonl").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    (folder / "validation.jsonl").write_text("\n".join(lines[20:]) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"training": "train.jsonl", "validation": "validation.jsonl"}))
    shown = _submit_and_finish(cli_stage, folder)
    validation = shown["training"]["validation"]
    rows = _csv_rows(cli_stage, shown["training"]["validation_uri"])
    assert list(rows[0]) == ["step_number", "epoch_number", "validation_loss", "perplexity"]
    assert [p["loss"] for p in validation] == [float(r["validation_loss"]) for r in rows]
    assert len(validation) == 2  # one per epoch
