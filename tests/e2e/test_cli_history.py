"""`tuneforge runs`, `compare` and `champions`, driven as a user drives them, against the emulator's server: two
uploads of the good sample under different names run to their decisions, then the history is read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .cli_harness import GOOD_SAMPLE, PROFILE
from .stage import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_runs(cli_stage, tmp_path_factory) -> tuple[str, str]:
    """(older, newer) run ids: the good sample, then the same records uploaded under another name."""
    second = tmp_path_factory.mktemp("second") / "nova-micro-vi-qa-again.jsonl"
    shutil.copyfile(GOOD_SAMPLE, second)
    ids = []
    for path in (GOOD_SAMPLE, second):
        submitted = cli_stage.run("submit", str(path), "--profile", PROFILE, "--watch", "--json")
        assert submitted.code == 0, submitted.err
        ids.append(json.loads(submitted.out)["run_id"])
    return ids[0], ids[1]


def test_runs_lists_both_newest_first_with_full_ids_and_every_column(cli_stage, two_runs):
    older, newer = two_runs
    listed = cli_stage.run("runs")
    assert listed.code == 0, listed.err
    assert listed.out.index(newer) < listed.out.index(older)
    for column in ("run", "profile", "started", "outcome", "decision", "key metric", "estimated USD", "spent USD"):
        assert column in listed.out, column
    row = next(line for line in listed.out.splitlines() if newer in line)
    assert "PROMOTED" in row and "token_f1" in row and " vs " in row and "SUCCEEDED" in row


def test_runs_never_cuts_an_id_on_a_narrow_terminal(cli_stage, two_runs):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "60",
    }
    narrow = subprocess.run(
        [sys.executable, "-m", "cli.main", "runs", "--endpoint-url", cli_stage.url],
        cwd=cli_stage.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert narrow.returncode == 0, narrow.stderr
    assert all(run_id in narrow.stdout for run_id in two_runs)
    assert "…" not in narrow.stdout


def test_runs_json_prints_the_items_newest_first_with_their_outcome(cli_stage, two_runs):
    older, newer = two_runs
    listed = cli_stage.run("runs", "--json")
    assert listed.code == 0, listed.err
    items = json.loads(listed.out)
    assert [item["run_id"] for item in items][:2] == [newer, older]
    assert items[0]["started_at"] >= items[1]["started_at"]
    for item in items[:2]:
        assert item["outcome"] == "PROMOTED"
        assert item["key_metric"]["metric"] == "token_f1"  # the first metric support-qa-vi's gate compares
        assert item["estimate"]["total_usd"] is not None

    one = cli_stage.run("runs", "--profile", PROFILE, "--limit", "1", "--json")
    assert one.code == 0, one.err
    assert [item["run_id"] for item in json.loads(one.out)] == [newer]


def test_compare_shows_metrics_per_example_results_and_what_differed(cli_stage, two_runs):
    older, newer = two_runs
    shown = cli_stage.run("compare", older, newer)
    assert shown.code == 0, shown.err
    for text in (older, newer, "token_f1", "B - A", "B wins", "B losses", "configuration differences", "dataset_uri"):
        assert text in shown.out, text

    compared = cli_stage.run("compare", older, newer, "--json")
    assert compared.code == 0, compared.err
    result = json.loads(compared.out)
    metrics = {row["metric"]: row for row in result["metrics"]}
    assert metrics["token_f1"]["b_minus_a"] == pytest.approx(metrics["token_f1"]["b"] - metrics["token_f1"]["a"])
    examples = result["examples"]
    items = {item["run_id"]: item for item in json.loads(cli_stage.run("runs", "--json").out)}
    # Both evaluated the same evaluation set: every example is matched, and each is a win, tie or loss.
    assert examples["matched"] == items[newer]["evaluation_examples"] > 0
    assert sum(examples["counts"]["token_f1"].values()) == examples["matched"]
    data = {row["field"]: row for row in result["data"]}
    assert data["dataset_uri"]["b"].endswith("/nova-micro-vi-qa-again.jsonl") and not data["dataset_uri"]["same"]
    assert data["dataset_version"]["a"] == items[older]["dataset_version"]
    assert data["training_records"]["same"]
    # The same profile and base model: no configuration differs.
    assert result["configuration"] == []


def test_champions_shows_the_lineage_up_to_the_promoted_run(cli_stage, two_runs):
    older, newer = two_runs
    shown = cli_stage.run("champions", PROFILE)
    assert shown.code == 0, shown.err
    assert shown.out.index(older) < shown.out.index(newer)
    assert "current champion" in shown.out.split(newer, 1)[1]

    lineage = json.loads(cli_stage.run("champions", PROFILE, "--json").out)
    assert [entry["run_id"] for entry in lineage] == [older, newer]
    assert [entry["current"] for entry in lineage] == [False, True]
    items = {item["run_id"]: item for item in json.loads(cli_stage.run("runs", "--json").out)}
    for entry in lineage:
        item = items[entry["run_id"]]
        assert entry["dataset"] == {"uri": item["dataset_uri"], "version": item["dataset_version"]}
        assert entry["job"]["arn"] == item["job_arn"]
        assert entry["model"] == item["output_model_arn"]
        assert entry["endpoint"]["arn"] == item["champion_invocable_arn"]
        assert entry["metrics"] == item["evaluation_metrics"]
    # The older champion's throughput was retired when the newer one replaced it.
    assert lineage[0]["endpoint"]["retired_at"] and not lineage[1]["endpoint"]["retired_at"]


def test_unknown_runs_and_profiles_are_refused_at_once(cli_stage, two_runs):
    for argv in (("compare", two_runs[0], "no-such-run"), ("compare", "no-such-run", two_runs[1])):
        refused = cli_stage.run(*argv)
        assert refused.code == 2, refused
        assert "no run 'no-such-run'" in refused.err
    refused = cli_stage.run("champions", "no-such-profile")
    assert refused.code == 2 and "no profile 'no-such-profile'" in refused.err


def test_a_data_owner_lists_and_compares_runs_through_the_uploader_role(tuneforge):
    """The uploader role's grants (stacks/data_owners.py) cover `runs` and `compare`; the emulator enforces them."""
    from cli.compare import comparison
    from cli.runs import Stage

    # Generous timeouts: this machine runs other suites at the same time.
    first = tuneforge.run(PROFILE, "fine-tuning/nova-micro-vi-qa.jsonl", timeout=300)
    second = tuneforge.run(PROFILE, "fine-tuning/nova-micro-vi-qa.jsonl", name="again.jsonl", timeout=300)
    owner = Stage.discover("dev", session=tuneforge.aws.session(tuneforge.outputs["DataUploaderRoleArn"]))

    assert [item["run_id"] for item in owner.registry.recent_runs(limit=5)] == [second.run_id, first.run_id]
    assert [item["run_id"] for item in owner.registry.recent_runs(limit=1, profile=PROFILE)] == [second.run_id]
    compared = comparison(owner, first.run_id, second.run_id)
    assert compared["examples"]["matched"] > 0
    # The grant is the listing indexes only: the pipeline's own lookups stay closed to data owners.
    from botocore.exceptions import ClientError

    from lambdas.domain.runs import RunStatus

    with pytest.raises(ClientError) as denied:
        owner.registry.runs_with_status(RunStatus.SUCCEEDED)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
