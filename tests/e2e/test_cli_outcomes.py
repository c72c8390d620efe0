"""Outcomes first, no silent uploads: driven through ``tuneforge`` against the emulator's server, as a user would."""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest

from cli._common import EXIT_REJECTED, EXIT_USAGE
from lambdas.domain.names import foundation_stack_name, pipeline_stack_name

from .cli_harness import BROKEN_SAMPLE, GOOD_SAMPLE, PROFILE, STAGE

pytestmark = pytest.mark.e2e


def _aws(cli_stage, service: str):
    return boto3.client(
        service,
        endpoint_url=cli_stage.url,
        region_name="us-east-1",
        aws_access_key_id="emulated",
        aws_secret_access_key="emulated",
    )


def _outputs(cli_stage) -> dict[str, str]:
    cloudformation = _aws(cli_stage, "cloudformation")
    return {
        o["OutputKey"]: o["OutputValue"]
        for stack in (foundation_stack_name(STAGE), pipeline_stack_name(STAGE))
        for o in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }


def _line_numbers(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for line in lines if (m := re.search(r" line (\d+)[,:]", line))]


def test_a_broken_upload_says_rejected_first_with_its_reasons_by_line_and_exits_with_the_rejected_code(cli_stage):
    done = cli_stage.run("submit", str(BROKEN_SAMPLE), "--profile", PROFILE, "--watch")
    assert done.code == EXIT_REJECTED, (done.out, done.err)
    lines = done.out.splitlines()
    assert re.match(rf"REJECTED: run {PROFILE}-[0-9a-f]+ \({PROFILE}\)$", lines[0]), lines
    reasons = [line.strip() for line in lines if line.startswith("  ")]
    numbers = _line_numbers(reasons)
    assert len(numbers) == len(reasons) == 9 and numbers == sorted(numbers), reasons  # 8 errors and a warning
    assert (
        lines[-1].startswith("what to do: fix these lines") and "s3://" in lines[-1] and "validation.json" in lines[-1]
    )
    assert "SUCCEEDED" not in done.out


def test_a_reason_on_every_line_is_said_once(cli_stage, tmp_path):
    dataset = tmp_path / "prompt-completion.jsonl"
    dataset.write_text("".join(json.dumps({"prompt": f"q{n}", "completion": f"a{n}"}) + "\n" for n in range(30)))
    done = cli_stage.run("submit", str(dataset), "--profile", PROFILE, "--watch")
    assert done.code == EXIT_REJECTED, (done.out, done.err)
    reasons = [line.strip() for line in done.out.splitlines() if line.startswith("  ")]
    [every] = [r for r in reasons if "[missing-field]" in r]
    assert ": every line: the required field 'messages' is missing" in every, reasons
    # `show` groups the reasons as `watch` does: once for the file, not once per line it kept as an example.
    run_id = re.search(r"run (\S+)", done.out).group(1)
    shown = cli_stage.run("show", run_id)
    assert shown.code == 0, shown.err
    assert (
        shown.out.count("[missing-field]") == 1 and "every line: the required field 'messages' is missing" in shown.out
    )


def test_a_good_upload_is_promoted_and_exits_0(cli_stage):
    done = cli_stage.run("submit", str(GOOD_SAMPLE), "--profile", PROFILE, "--watch")
    assert done.code == 0, (done.out, done.err)
    lines = done.out.splitlines()
    assert lines[0].startswith("PROMOTED: run "), lines
    assert "decision: PROMOTED" in lines


def test_watch_refuses_a_made_up_run_at_once(cli_stage):
    started = time.monotonic()
    done = cli_stage.run("watch", f"{PROFILE}-000000000000000000000000", "--timeout", "3600")
    assert done.code == EXIT_USAGE and time.monotonic() - started < 30, done
    assert f"no run '{PROFILE}-000000000000000000000000' in stage '{STAGE}'" in done.err
    assert "recent runs: " in done.err or "no runs yet" in done.err


def test_submit_refuses_a_profile_the_stage_does_not_have_before_uploading(cli_stage):
    s3, bucket = _aws(cli_stage, "s3"), _outputs(cli_stage)["DataBucketName"]
    before = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    done = cli_stage.run("submit", str(GOOD_SAMPLE), "--profile", "nope", "--watch")
    assert done.code == EXIT_USAGE, done
    assert "no profile 'nope' is deployed in stage 'dev'; deployed profiles: " in done.err and PROFILE in done.err
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == before


def test_a_misfiled_upload_is_announced_on_the_topic_and_recorded(cli_stage):
    outputs = _outputs(cli_stage)
    sqs, sns = _aws(cli_stage, "sqs"), _aws(cli_stage, "sns")
    queue = sqs.create_queue(QueueName="outcomes-ignored-uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=outputs["NotificationTopicArn"],
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    key = "incoming/misfiled.jsonl"  # directly under incoming/: no profile
    _aws(cli_stage, "s3").put_object(Bucket=outputs["DataBucketName"], Key=key, Body=GOOD_SAMPLE.read_bytes())
    notices: list[dict] = []
    deadline = time.monotonic() + 60
    while not [n for n in notices if n.get("key") == key] and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            notices.append(json.loads(message["Body"]))
    [notice] = [n for n in notices if n.get("key") == key]
    assert list(notice)[0] == "outcome" and notice["outcome"] == "IGNORED_UPLOAD", notice
    assert "names no profile" in notice["reason"] and "incoming/<profile>/" in notice["what_to_do"], notice
    table = boto3.resource(
        "dynamodb",
        endpoint_url=cli_stage.url,
        region_name="us-east-1",
        aws_access_key_id="emulated",
        aws_secret_access_key="emulated",
    ).Table(outputs["RunsTableName"])
    item = table.get_item(Key={"run_id": notice["registry_item"]})["Item"]
    assert item["status"] == "IGNORED_UPLOAD" and item["item_kind"] == "ignored-upload" and item["trigger_key"] == key
