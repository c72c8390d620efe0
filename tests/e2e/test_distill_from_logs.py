"""Distillation from the account's invocation logs, end to end on the emulator (issue 17, item 4).

The account's model invocation logging bucket holds gzipped ModelInvocationLog records in Bedrock's
documented layout; ``support-qa-vi-logs`` (config/tuneforge.yaml) distils Nova Micro from Nova Pro's logged
answers that its request-metadata filters select. A run starts with ``submit --from-invocation-logs`` or the
profile's schedule, the emulated job reads the records as the service role, and the run goes to a decision.
"""

from __future__ import annotations

import gzip
import json

import boto3
import pytest

from .stage import ROOT, RunResult, TuneforgeStage

PROFILE = "support-qa-vi-logs"
TEACHER = "amazon.nova-pro-v1:0"
LOG_BUCKET = "acme-bedrock-invocation-logs"
EVALUATION_SET = ROOT / "samples" / "evaluation" / "support-qa-vi.jsonl"


def _record(prompt: str, answer: str, model: str = TEACHER, **metadata: str) -> dict:
    """A Converse call's log record, in the shape of the user guide's "Log entry format"."""
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-12-07T10:00:00Z",
        "accountId": "123456789012",
        "region": "us-east-1",
        "requestId": "00000000-0000-0000-0000-000000000000",
        "operation": "Converse",
        "modelId": model,
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/SupportBot/session"},
        "requestMetadata": metadata,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": prompt}]}]},
            "inputTokenCount": 20,
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                "stopReason": "end_turn",
            },
            "outputTokenCount": 30,
        },
    }


def _examples() -> list[dict]:
    return [json.loads(line) for line in EVALUATION_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def _logs(stage: TuneforgeStage, records: list[dict], *, hour: str = "10") -> None:
    """Records delivered as Bedrock delivers them: one gzipped JSON-lines object per batch, under
    <prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/."""
    s3 = stage.inspect("s3")
    if LOG_BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=LOG_BUCKET)
    key = f"bedrock/AWSLogs/{stage.aws.account}/BedrockModelInvocationLogs/us-east-1/2026/12/07/{hour}/batch.json.gz"
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    s3.put_object(Bucket=LOG_BUCKET, Key=key, Body=gzip.compress(body))


def _support_logs() -> tuple[list[dict], int]:
    """Nova Pro answering every evaluation question for the support team in production (the records the profile's
    filters and use_prompt_response select), and records each rule must leave out; returns (records, selected)."""
    examples = _examples()
    chosen = [_record(e["prompt"], e["reference"], team="support", environment="prod") for e in examples]
    left_out = [
        _record(examples[0]["prompt"], "Câu trả lời thử nghiệm.", team="support", environment="test"),  # not_equals
        _record(examples[1]["prompt"], "Phòng kinh doanh trả lời.", team="sales", environment="prod"),  # equals
        _record(examples[2]["prompt"], "Câu trả lời của Nova Lite.", model="amazon.nova-lite-v1:0", team="support"),
        _record(examples[3]["prompt"], "Không có nhãn."),  # no request metadata at all
    ]
    return chosen + left_out, len(chosen)


def _cli_stage(stage: TuneforgeStage):
    from cli.runs import Stage

    credentials = stage.aws._credentials(None)  # the driver's operator, as a person running the CLI
    session = boto3.session.Session(
        region_name=stage.aws.region,
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        **({"aws_session_token": credentials["aws_session_token"]} if "aws_session_token" in credentials else {}),
    )
    return Stage.discover("dev", session=session)


def _submit(stage: TuneforgeStage) -> RunResult:
    from cli.runs import submit_from_invocation_logs

    cli = _cli_stage(stage)
    run_id = submit_from_invocation_logs(cli, PROFILE)
    return stage.finish(cli.execution_arn(run_id), timeout=300)


def _log_reads(stage: TuneforgeStage) -> list[dict]:
    return [entry for entry in stage.aws.journal if entry["event"] == "bedrock.invocation_logs"]


def test_submit_from_invocation_logs_distils_the_selected_records_to_a_decision(tuneforge):
    records, selected = _support_logs()
    _logs(tuneforge, records)
    run = _submit(tuneforge)
    assert run.status == "SUCCEEDED", (run.execution, run.item)
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:4] == ["Validate", "DatasetValid?", "Estimate", "WithinBudget?"], states
    # The filters picked exactly the teacher's production answers for the support team.
    reads = _log_reads(tuneforge)
    assert [(r["read"], r["selected"]) for r in reads][:1] == [(len(records), selected)], reads
    [job] = tuneforge.jobs()
    described = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])
    config = described["trainingDataConfig"]["invocationLogsConfig"]
    assert config["invocationLogSource"] == {"s3Uri": f"s3://{LOG_BUCKET}/bedrock/"}
    assert config["usePromptResponse"] is True
    assert config["requestMetadataFilters"] == {
        "andAll": [{"equals": {"team": "support"}}, {"notEquals": {"environment": "test"}}]
    }
    # The distilled model answers the support questions as the teacher did; the baseline does not.
    evaluation = run.output["evaluation"]["value"]
    assert evaluation["candidate"]["token_f1"] > evaluation["baseline"]["token_f1"] + 0.05, evaluation
    assert run.item["decision"] == "PROMOTED" and run.item["dataset_uri"] == f"s3://{LOG_BUCKET}/bedrock/"
    # Validate said what it could not check, and the estimate could not price training.
    validation = json.loads(
        tuneforge.inspect("s3")
        .get_object(Bucket=tuneforge.artifacts_bucket, Key=f"reports/{PROFILE}/{run.run_id}/validation.json")["Body"]
        .read()
    )
    assert validation["source"] == "invocation-logs" and validation["not_checked_before_the_job"], validation
    assert "invocation logs" in run.item["estimate_summary"], run.item["estimate_summary"]
    [finished] = [m for m in run.notifications if m.get("outcome")]
    assert finished["decision"] == "PROMOTED", finished


def test_a_service_role_the_log_bucket_refuses_fails_the_run_and_says_why(tuneforge):
    records, _ = _support_logs()
    _logs(tuneforge, records)
    role = _bedrock_role(tuneforge)
    tuneforge.inspect("s3").put_bucket_policy(
        Bucket=LOG_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OnlyTheAuditTeam",
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
                        "Condition": {"ArnEquals": {"aws:PrincipalArn": role}},
                    }
                ],
            }
        ),
    )
    run = _submit(tuneforge)
    assert run.status == "FAILED", run.execution
    assert run.execution["error"] == "BedrockJobFailed", run.execution
    [job] = tuneforge.jobs()
    assert job["status"] == "Failed"
    [message] = run.notifications  # the data owners and the platform team hear why
    assert message["outcome"] == "FAILED", message
    assert "s3:GetObject" in message["cause"] and LOG_BUCKET in message["cause"], message
    failure = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["failureMessage"]
    assert "explicit deny" in failure and "OnlyTheAuditTeam" in failure, failure  # the notice's cause is cut to 300
    assert _log_reads(tuneforge) == []  # refused before a record was read


def test_logs_no_filter_selects_fail_the_job_with_the_count_read(tuneforge):
    examples = _examples()
    _logs(tuneforge, [_record(e["prompt"], e["reference"], team="sales") for e in examples])
    run = _submit(tuneforge)
    assert run.status == "FAILED" and run.execution["error"] == "BedrockJobFailed", run.execution
    [message] = run.notifications
    assert (
        "No invocation logs" in message["cause"]
        and f"{len(examples)} ModelInvocationLog records read" in message["cause"]
    )
    assert [(r["read"], r["selected"]) for r in _log_reads(tuneforge)] == [(len(examples), 0)]


def test_the_profile_schedule_starts_a_run_from_the_logs(tuneforge):
    records, selected = _support_logs()
    _logs(tuneforge, records)
    fired = tuneforge.aws.fire_scheduled_rules("LogsRunSchedules")
    assert len(fired) == 1, fired
    execution = tuneforge.started(1)
    assert execution["name"].startswith(f"{PROFILE}-logs-"), execution
    run = tuneforge.finish(execution["executionArn"], timeout=300)
    assert run.status == "SUCCEEDED" and run.item["decision"] == "PROMOTED", (run.execution, run.item)
    assert json.loads(run.execution["input"])["source"] == "invocation-logs"


def test_a_profile_without_invocation_logs_is_refused_by_the_cli(tuneforge):
    from cli._common import UsageError
    from cli.runs import submit_from_invocation_logs

    with pytest.raises(UsageError, match="learns from uploads only"):
        submit_from_invocation_logs(_cli_stage(tuneforge), "distilled-support")
    assert tuneforge.aws.executions(tuneforge.state_machine) == []


def _bedrock_role(stage: TuneforgeStage) -> str:
    iam = stage.inspect("iam")
    [role] = [
        r["Arn"]
        for page in iam.get_paginator("list_roles").paginate()
        for r in page["Roles"]
        if "BedrockCustomization" in r["RoleName"]
    ]
    return role


def test_converse_calls_logged_by_the_emulator_feed_a_run(tuneforge):
    """Model invocation logging configured, the teacher answers the support team's Converse calls: their records
    are what the next run reads (the emulated teacher knows nothing, so its answers teach nothing: NOT_PROMOTED)."""
    aws = tuneforge.aws
    tuneforge.inspect("s3").create_bucket(Bucket=LOG_BUCKET)
    aws.client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={"s3Config": {"bucketName": LOG_BUCKET, "keyPrefix": "bedrock"}, "textDataDeliveryEnabled": True}
    )
    runtime = aws.client("bedrock-runtime")
    questions = [e["prompt"] for e in _examples()[:3]]
    for question in questions:
        runtime.converse(
            modelId=TEACHER,
            messages=[{"role": "user", "content": [{"text": question}]}],
            requestMetadata={"team": "support", "environment": "prod"},
        )
    runtime.converse(modelId=TEACHER, messages=[{"role": "user", "content": [{"text": "Xin chào"}]}])  # no metadata
    keys = [o["Key"] for o in tuneforge.inspect("s3").list_objects_v2(Bucket=LOG_BUCKET)["Contents"]]
    assert len(keys) == 4 and all(
        k.startswith(f"bedrock/AWSLogs/{aws.account}/BedrockModelInvocationLogs/us-east-1/") for k in keys
    )
    run = _submit(tuneforge)
    assert run.status == "SUCCEEDED", (run.execution, run.item)
    assert [(r["read"], r["selected"]) for r in _log_reads(tuneforge)][:1] == [(4, 3)]
    assert run.item["decision"] == "NOT_PROMOTED", run.item
