"""A dataset folder whose manifest.json never arrives: the dev stage deployed from cdk.out, files uploaded as the
data owners' role, emulated time moved past the grace by hand and the janitor's schedule fired: exactly one
IGNORED_UPLOAD notice names the folder; a folder whose manifest arrives within the grace gets none. The emulator
enforces the janitor's grants (listing incoming/) and the bucket's perimeter."""

from __future__ import annotations

import json

import pytest

from lambdas.domain.awaiting_manifest import MANIFEST_GRACE

from .stage import GOOD_DATA, TuneforgeStage

pytestmark = pytest.mark.e2e

GRACE = MANIFEST_GRACE.total_seconds()


def janitor_pass(stage: TuneforgeStage) -> None:
    invoked = len([i for i in stage.aws.invocations() if "Janitor" in i["function"]])
    assert len(stage.aws.fire_scheduled_rules("JanitorSchedule")) == 1
    stage.aws.wait_idle(timeout=60)
    stage.aws.settle()
    passes = [i for i in stage.aws.invocations() if "Janitor" in i["function"]]
    assert len(passes) == invoked + 1 and passes[-1]["error"] is None, passes[-1:]


def upload(stage: TuneforgeStage, key: str, body: str) -> None:
    stage.data_owner.upload(stage.data_bucket, key, body.encode())
    stage.aws.wait_idle(timeout=60)
    stage.aws.settle()


def notices_for(stage: TuneforgeStage, folder: str) -> list[dict]:
    return [m for m in stage.messages() if m.get("outcome") == "IGNORED_UPLOAD" and m.get("key") == f"{folder}/"]


def test_a_folder_whose_manifest_never_arrives_is_told_once_after_the_grace(tuneforge):
    stage = tuneforge
    stage.aws.settings.auto_schedule = False  # only the test moves time and fires the janitor
    stage.aws.settle()
    lost, late = "incoming/support-qa-vi/lost-dataset", "incoming/support-qa-vi/on-time"
    upload(stage, f"{lost}/train.jsonl", GOOD_DATA)
    upload(stage, f"{lost}/validation.jsonl", GOOD_DATA)
    upload(stage, f"{late}/train.jsonl", GOOD_DATA)
    executions = len(stage.aws.executions(stage.state_machine))
    assert executions == 0

    janitor_pass(stage)  # within the grace: nothing is said about either folder
    assert notices_for(stage, lost) == [] and notices_for(stage, late) == []

    stage.aws.advance(GRACE / 2)
    upload(stage, f"{late}/manifest.json", json.dumps({"training": "train.jsonl"}))  # the run starts now
    assert len(stage.aws.wait_for_executions(stage.state_machine, count=1, timeout=30)) == 1

    stage.aws.advance(GRACE)
    janitor_pass(stage)
    [notice] = notices_for(stage, lost)
    assert list(notice)[0] == "outcome" and notice["profile"] == "support-qa-vi", notice
    assert f"{lost}/" in notice["reason"] and "no manifest.json" in notice["reason"], notice
    assert f"upload {lost}/manifest.json last" in notice["what_to_do"], notice
    assert notice["files"] == ["train.jsonl", "validation.jsonl"], notice
    assert '"validation": "validation.jsonl"' in notice["what_to_do"], notice
    assert notices_for(stage, late) == []  # its manifest came within the grace

    item = stage.registry.get(notice["registry_item"])
    assert item["item_kind"] == "awaiting-manifest" and item["folder"] == lost and item["notified_outcome"]
    assert "sweep" not in item  # left the janitor's index

    stage.aws.advance(GRACE)
    janitor_pass(stage)
    assert len(notices_for(stage, lost)) == 1  # told once
