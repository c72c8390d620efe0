from __future__ import annotations

import json
import os

import pytest

from lambdas.handlers import start_run
from tests.unit.handlers.helpers import DATA_BUCKET, upload_event

DATASET = b'{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "Xin chao"}]}, {"role": "assistant", "content": [{"text": "Chao ban"}]}]}\n'


def _upload(account, key: str, body: bytes = DATASET) -> str:
    return account.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)["VersionId"]


def _executions(account) -> list[dict]:
    return account.stepfunctions.list_executions(stateMachineArn=account.state_machine_arn)["executions"]


def test_the_same_object_version_starts_one_execution_however_often_its_event_arrives(account, context):
    key = "incoming/support-qa-vi/batch-1.jsonl"
    version = _upload(account, key)
    first = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    second = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    assert first["started"] is True and first["duplicate"] is False
    assert second["started"] is False and second["duplicate"] is True
    assert second["run_id"] == first["run_id"]
    assert [e["name"] for e in _executions(account)] == [first["run_id"]]


def test_a_new_version_of_the_same_key_is_a_new_run(account, context):
    key = "incoming/support-qa-vi/batch-1.jsonl"
    runs = {
        start_run.handler(upload_event(DATA_BUCKET, key, _upload(account, key)), context)["run_id"] for _ in range(2)
    }
    assert len(runs) == 2
    assert len(_executions(account)) == 2


def test_execution_input_carries_the_profile_and_dataset_version(account, context):
    key = "incoming/support-qa-vi/batch-1.jsonl"
    version = _upload(account, key)
    result = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    execution = account.stepfunctions.describe_execution(executionArn=_executions(account)[0]["executionArn"])
    run = json.loads(execution["input"])
    assert run["run_id"] == result["run_id"]
    assert run["profile"]["base_model"] == "amazon.nova-micro-v1:0:128k"
    assert run["dataset"]["training"] == {"bucket": DATA_BUCKET, "key": key, "version_id": version}
    item = account.dynamodb.get_item(TableName="runs", Key={"run_id": {"S": result["run_id"]}})["Item"]
    assert item["status"]["S"] == "STARTED" and item["dataset_version"]["S"] == version


@pytest.mark.parametrize("name", ["tập huấn+1 100%.jsonl", "a+b.jsonl", "100%25 sure.jsonl", "Q&A (v2)!.jsonl"])
def test_the_run_names_the_uploaded_object_whatever_characters_its_key_has(account, context, name):
    key = f"incoming/support-qa-vi/{name}"
    version = _upload(account, key)
    assert upload_event(DATA_BUCKET, key, version)["detail"]["object"]["key"] != key  # the event carries it encoded
    result = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    assert result["started"] is True, result
    run = json.loads(
        account.stepfunctions.describe_execution(executionArn=_executions(account)[0]["executionArn"])["input"]
    )
    assert run["dataset"]["training"] == {"bucket": DATA_BUCKET, "key": key, "version_id": version}


def test_uploads_outside_incoming_or_to_unknown_profiles_start_nothing(account, context):
    cases = {
        "elsewhere/support-qa-vi/a.jsonl": "outside incoming/",
        "incoming/no-such-profile/a.jsonl": "no profile named 'no-such-profile'",
        "incoming/support-qa-vi/notes.txt": "neither a .jsonl dataset",
        "incoming/a.jsonl": "directly under incoming/",
        "incoming/support-qa-vi/set-1/train.jsonl": "manifest.json arrives",
    }
    for key, reason in cases.items():
        result = start_run.handler(upload_event(DATA_BUCKET, key, _upload(account, key)), context)
        assert result["started"] is False and reason in result["reason"], key
    assert _executions(account) == []


def test_every_refused_upload_is_announced_once_and_recorded_but_a_dataset_file_awaiting_its_manifest_is_not(
    account, context
):
    refused = ["incoming/a.jsonl", "incoming/no-such-profile/a.jsonl", "incoming/support-qa-vi/notes.txt"]
    for key in [*refused, "incoming/support-qa-vi/set-1/train.jsonl"]:
        version = _upload(account, key)
        for _ in range(2):  # a repeated event is the same upload: one notice, one record
            start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    notices = [json.loads(body) for body in account.notifications()]
    assert sorted(n["key"] for n in notices) == sorted(refused)
    for notice in notices:
        assert list(notice)[0] == "outcome" and notice["outcome"] == "IGNORED_UPLOAD", notice
        assert notice["reason"] and notice["what_to_do"], notice
        item = account.dynamodb.get_item(TableName="runs", Key={"run_id": {"S": notice["registry_item"]}})["Item"]
        assert item["status"]["S"] == "IGNORED_UPLOAD" and item["item_kind"]["S"] == "ignored-upload"
        assert item["trigger_key"]["S"] == notice["key"] and item["reason"]["S"] == notice["reason"]


def test_a_manifest_uploaded_last_starts_one_run_over_the_files_it_names(account, context):
    _upload(account, "incoming/support-qa-vi/set-1/train.jsonl")
    _upload(account, "incoming/support-qa-vi/set-1/validation.jsonl")
    key = "incoming/support-qa-vi/set-1/manifest.json"
    version = _upload(account, key, json.dumps({"training": "train.jsonl", "validation": "validation.jsonl"}).encode())
    result = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    assert result["started"] is True
    run = json.loads(
        account.stepfunctions.describe_execution(executionArn=_executions(account)[0]["executionArn"])["input"]
    )
    assert run["dataset"]["training"]["key"] == "incoming/support-qa-vi/set-1/train.jsonl"
    assert run["dataset"]["validation"]["key"] == "incoming/support-qa-vi/set-1/validation.jsonl"


def test_a_manifest_that_escapes_its_folder_is_refused(account, context):
    key = "incoming/support-qa-vi/set-2/manifest.json"
    version = _upload(account, key, json.dumps({"training": "../../other-profile/train.jsonl"}).encode())
    result = start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    assert result["started"] is False and "invalid manifest" in result["reason"]
    assert _executions(account) == []
    [notice] = [json.loads(body) for body in account.notifications()]
    assert notice["key"] == key and "escapes its folder" in notice["reason"] and "manifest.json" in notice["what_to_do"]


def test_a_manifest_in_a_folder_with_spaces_and_vietnamese_letters_names_its_files_decoded(account, context):
    folder = "incoming/support-qa-vi/dữ liệu"
    training = _upload(account, f"{folder}/tập huấn+1 100%.jsonl")
    assert training
    manifest_key = f"{folder}/manifest.json"
    version = _upload(account, manifest_key, json.dumps({"training": "tập huấn+1 100%.jsonl"}).encode())
    assert start_run.handler(upload_event(DATA_BUCKET, manifest_key, version), context)["started"] is True
    run = json.loads(
        account.stepfunctions.describe_execution(executionArn=_executions(account)[0]["executionArn"])["input"]
    )
    assert run["dataset"]["trigger"] == {"bucket": DATA_BUCKET, "key": manifest_key, "version_id": version}
    assert run["dataset"]["training"]["key"] == f"{folder}/tập huấn+1 100%.jsonl"


def test_a_refusal_whose_notice_could_not_be_published_is_announced_by_the_retried_delivery(
    account, context, monkeypatch
):
    key = "incoming/a.jsonl"
    version = _upload(account, key)
    topic = os.environ["NOTIFICATION_TOPIC_ARN"]
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic + "-gone")  # the publish fails: Lambda retries the event
    with pytest.raises(Exception, match="(?i)not ?found|does not exist"):
        start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
    start_run.handler(upload_event(DATA_BUCKET, key, version), context)
    assert [json.loads(body)["key"] for body in account.notifications()] == [key]
