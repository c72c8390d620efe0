"""The multimodal sample end to end in the emulated account: Vietnamese questions about pictures on Nova Lite,
uploaded as a dataset folder (pictures, training file, manifest last), trained, evaluated with the pictures
sent to candidate and baseline, decided, and reported with a thumbnail per shown example."""

from __future__ import annotations

import json
import re

import pytest

from samples.generate import DEV_DATA_BUCKET, VQA_FOLDER

from .stage import ROOT, RunResult, TuneforgeStage
from .test_authorization import _denials, _drop_statement, _function_policy, _mutated
from .test_tuneforge_pipeline import assert_clean, assert_decided_by_the_metrics

pytestmark = pytest.mark.e2e

SAMPLE = ROOT / "samples" / "multimodal" / "vqa-vi"


def _run_vqa_sample(stage: TuneforgeStage) -> RunResult:
    """The folder upload the README describes for a dataset with media: its files first, manifest.json last."""
    assert stage.data_bucket == DEV_DATA_BUCKET  # the bucket the sample's training records name
    before = len(stage.aws.executions(stage.state_machine))
    for image in sorted((SAMPLE / "images").iterdir()):
        stage.data_owner.upload(stage.data_bucket, f"{VQA_FOLDER}images/{image.name}", image.read_bytes())
    stage.data_owner.upload(stage.data_bucket, f"{VQA_FOLDER}train.jsonl", (SAMPLE / "train.jsonl").read_bytes())
    stage.data_owner.upload(stage.data_bucket, f"{VQA_FOLDER}manifest.json", (SAMPLE / "manifest.json").read_bytes())
    return stage.finish(stage.started(before + 1)["executionArn"])


def _converse_calls(stage: TuneforgeStage, kind: str) -> list[dict]:
    return [e for e in stage.aws.journal if e["event"] == "bedrock.converse" and e.get("kind") == kind]


def _report(stage: TuneforgeStage, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return stage.data_owner.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_multimodal_sample_runs_to_its_decision_with_the_candidate_seeing_the_pictures(tuneforge):
    run = _run_vqa_sample(tuneforge)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "vqa-vi")
    # The candidate learned each picture: the same words about another picture would answer wrongly.
    assert run.output["decision"] == "PROMOTED" and evaluation["candidate"]["exact_match"] == 1.0
    assert run.item["snapshot_media"] == 8  # the job trains on snapshots of the 8 pictures
    candidate = _converse_calls(tuneforge, "nearest-neighbour")
    assert len(candidate) == evaluation["examples"] == 16
    assert all(call["images"] == 1 and call["image_match"] for call in candidate), candidate
    assert all(call["images"] == 1 for call in _converse_calls(tuneforge, "baseline"))
    # The examples file records each example's images; the page shows the shown examples' pictures inline.
    examples = [json.loads(line) for line in _report(tuneforge, evaluation["examples_uri"]).decode().splitlines()]
    assert all(e["images"][0].startswith(f"s3://{DEV_DATA_BUCKET}/evaluation/vqa-vi/images/") for e in examples)
    page = _report(tuneforge, evaluation["html_uri"]).decode()
    assert len(re.findall(r'<img class="thumb" src="data:image/png;base64,', page)) == 12
    assert_clean(tuneforge, run)


def test_a_held_out_split_keeps_its_records_pictures_and_evaluate_reads_their_snapshot(tuneforge):
    tuneforge.deploy_profile("vqa-vi", evaluation={"holdout_fraction": 0.25, "max_examples": 50})
    run = _run_vqa_sample(tuneforge)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "vqa-vi")  # the deployed change left the gate as configured
    held_out = [
        json.loads(line)
        for line in tuneforge.inspect("s3")
        .get_object(Bucket=tuneforge.artifacts_bucket, Key=f"reports/vqa-vi/{run.run_id}/holdout.jsonl")["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    # The pictures as Validate saw them, copied into the run's snapshot: an upload overwritten later changes nothing.
    media = f"s3://{DEV_DATA_BUCKET}/snapshots/{run.run_id}/media/"
    assert held_out and all(e["images"][0].startswith(media) for e in held_out), held_out
    candidate = _converse_calls(tuneforge, "nearest-neighbour")
    assert len(candidate) == evaluation["examples"] == len(held_out)
    assert all(call["images"] == 1 and call["image_match"] for call in candidate), candidate
    assert run.output["decision"] in ("PROMOTED", "NOT_PROMOTED")
    assert_clean(tuneforge, run)


def test_a_batch_without_its_image_grant_cannot_read_a_held_out_picture(tuneforge_cdk_out, emulator, tmp_path):
    """ReadHeldOutImages is what lets EvaluateBatch read the pictures of a held-out split, in the run's snapshot."""
    cdk_out = _mutated(
        tuneforge_cdk_out,
        tmp_path,
        "Pipeline",
        lambda t: _drop_statement(_function_policy(t, "EvaluateBatch"), "ReadHeldOutImages"),
    )
    stage = TuneforgeStage(emulator, cdk_out)
    stage.deploy_profile("vqa-vi", evaluation={"holdout_fraction": 0.25, "max_examples": 50})
    run = _run_vqa_sample(stage)
    assert run.status == "FAILED", run.execution  # no example could be asked: no decision
    denials = _denials(emulator)
    assert denials and all(
        who.startswith("EvaluateBatchRole")
        and action == "s3:GetObject"
        and f"/snapshots/{run.run_id}/media/" in resource
        for who, action, resource in denials
    ), denials
    [failure] = [m for m in run.notifications if m.get("outcome") == "FAILED"]
    assert "ImageLoadError: AccessDenied reading s3://" in json.dumps(failure), failure
    assert_clean(stage, run)
