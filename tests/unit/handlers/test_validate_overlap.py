"""The Validate step warns where the upload trains on the profile's evaluation prompts (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef, run_id_for
from lambdas.handlers import validate
from tests.unit.handlers.helpers import ARTIFACTS_BUCKET, DATA_BUCKET

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"


def _run(account) -> dict:
    key = "incoming/support-qa-vi/vi.jsonl"
    version = account.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=SAMPLE.read_bytes())["VersionId"]
    obj = S3ObjectRef(bucket=DATA_BUCKET, key=key, version_id=version)
    run = RunInput(
        run_id=run_id_for("support-qa-vi", obj),
        profile=account.profiles["support-qa-vi"],
        dataset=Dataset(trigger=obj, training=obj),
        started_at="2026-12-07T10:00:00+00:00",
    )
    return json.loads(run.model_dump_json())


def test_an_evaluation_set_that_repeats_training_prompts_is_warned_about_with_both_lines(account, context):
    training = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    third = training[2]["messages"][0]["content"][0]["text"]
    evaluation = [
        {"prompt": "Một câu hỏi khác hẳn?", "reference": "x"},
        {"prompt": third, "reference": "as written"},  # line 2: training line 3 exactly
        {"prompt": training[6]["messages"][0]["content"][0]["text"].upper().rstrip("?"), "reference": "y"},
    ]
    body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in evaluation)
    account.s3.put_object(Bucket=DATA_BUCKET, Key="evaluation/support-qa-vi.jsonl", Body=body.encode())
    result = validate.handler({"run": _run(account)}, context)
    assert result["valid"] is True and result["warning_count"] >= 2  # warned, not refused
    key = result["report_uri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    report = json.loads(account.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=key)["Body"].read())
    [group] = [g for g in report["warnings"] if g["kind"] == "evaluation-overlaps-training"]
    assert group["count"] == 2
    assert [(i["line"], i["message"].split(";")[0]) for i in group["examples"]] == [
        (3, "evaluation line 2 repeats training line 3"),
        (7, "evaluation line 3 repeats training line 7 (after normalization)"),
    ]
    assert any(note.startswith("2 of the 3 evaluation prompts") for note in report["notes"])


def test_the_bundled_evaluation_set_asks_its_own_questions(account, context):
    result = validate.handler({"run": _run(account)}, context)
    key = result["report_uri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    report = json.loads(account.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=key)["Body"].read())
    assert result["valid"] is True and result["evaluation_examples"] == 12
    assert not [g for g in report["warnings"] if g["kind"] == "evaluation-overlaps-training"]
