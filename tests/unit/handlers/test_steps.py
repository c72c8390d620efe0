"""Validate, Estimate, StartCustomization and Cleanup handlers against moto."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lambdas.domain.profiles import ProfileNotDeployed, TuningProfile, parse_fingerprints
from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef, run_id_for
from lambdas.handlers import cleanup, estimate, start_job, validate
from tests.unit.handlers.helpers import ARTIFACTS_BUCKET, DATA_BUCKET

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def _run(account, profile: str, sample: str, key: str) -> dict:
    version = account.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=(SAMPLES / sample).read_bytes())["VersionId"]
    obj = S3ObjectRef(bucket=DATA_BUCKET, key=key, version_id=version)
    run = RunInput(
        run_id=run_id_for(profile, obj),
        profile=account.profiles[profile],
        dataset=Dataset(trigger=obj, training=obj),
        started_at="2026-11-24T10:00:00+00:00",
    )
    return json.loads(run.model_dump_json())


def _deploy(monkeypatch, run: dict) -> None:
    """As a deployment of a changed profile would: the run's settings become the deployed ones."""
    deployed = parse_fingerprints(os.environ["PROFILE_FINGERPRINTS"])
    changed = TuningProfile.model_validate(run["profile"])
    monkeypatch.setenv(
        "PROFILE_FINGERPRINTS",
        ",".join(
            f"{name}={fingerprint}" for name, fingerprint in {**deployed, changed.name: changed.fingerprint()}.items()
        ),
    )


def _item(account, run_id: str) -> dict:
    return account.dynamodb.get_item(TableName="runs", Key={"run_id": {"S": run_id}}).get("Item", {})


def test_validate_accepts_the_vietnamese_sample_and_writes_its_report(account, context):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    result = validate.handler({"run": run}, context)
    assert result["valid"] is True and result["error_count"] == 0
    assert result["training_records"] == 24 and result["training_tokens"] > 0
    key = result["report_uri"].removeprefix(f"s3://{ARTIFACTS_BUCKET}/")
    report = json.loads(account.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=key)["Body"].read())
    assert report["valid"] is True and report["model_id"] == "amazon.nova-micro-v1:0:128k"


def test_validate_rejects_the_broken_sample_with_line_numbered_reasons(account, context):
    run = _run(account, "support-qa-vi", "broken/nova-micro-broken.jsonl", "incoming/support-qa-vi/broken.jsonl")
    result = validate.handler({"run": run}, context)
    assert result["valid"] is False and result["error_count"] > 0
    assert result["summary"] and all(" line " in line or line.startswith("training") for line in result["summary"])
    assert _item(account, run["run_id"])["status"]["S"] == "REJECTED"


def test_validate_refuses_a_run_whose_profile_is_not_the_deployed_one(account, context):
    """Anyone with states:StartExecution writes the execution input: a lowered gate must not run."""
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    run["profile"]["gate"] = {"minimums": {"token_f1": 0.0}}
    with pytest.raises(ProfileNotDeployed, match="differ from the deployed configuration"):
        validate.handler({"run": run}, context)
    run["profile"]["name"] = "not-deployed"
    with pytest.raises(ProfileNotDeployed, match="'not-deployed' is not deployed to this stage"):
        validate.handler({"run": run}, context)
    # Nothing was read or written: the refusal comes before the registry and the dataset.
    assert _item(account, run["run_id"]) == {}


def test_validate_rejects_an_openai_chat_file_with_the_command_that_converts_it(account, context):
    run = _run(account, "support-qa-vi", "fine-tuning/openai-chat-vi-qa.jsonl", "incoming/support-qa-vi/openai.jsonl")
    result = validate.handler({"run": run}, context)
    assert result["valid"] is False
    assert (
        result["summary"][0].startswith("the file is in openai-chat format") and "--convert-out" in result["summary"][0]
    )


def test_a_held_out_split_is_set_aside_for_evaluation_and_the_job_trains_on_the_rest(account, context, monkeypatch):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    run["profile"]["evaluation"] = {"holdout_fraction": 0.3, "max_examples": 50}
    _deploy(monkeypatch, run)
    result = validate.handler({"run": run}, context)
    assert (
        result["valid"] is True
        and result["training_uri"] == f"s3://{DATA_BUCKET}/snapshots/{run['run_id']}/training.jsonl"
    )
    trained = (
        account.s3.get_object(Bucket=DATA_BUCKET, Key=result["training_uri"].removeprefix(f"s3://{DATA_BUCKET}/"))[
            "Body"
        ]
        .read()
        .decode()
        .splitlines()
    )
    held = [
        json.loads(line)
        for line in account.s3.get_object(
            Bucket=ARTIFACTS_BUCKET, Key=f"reports/support-qa-vi/{run['run_id']}/holdout.jsonl"
        )["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    assert len(trained) + len(held) == 24 and len(held) == result["evaluation_examples"] > 0
    assert all(
        set(example) == {"prompt", "reference"} and example["prompt"] and example["reference"] for example in held
    )
    # The estimate prices evaluation from what the held-out examples will send.
    assert result["evaluation_size"] == {
        "examples": len(held),
        "prompt_chars": sum(len(e["prompt"]) for e in held),
        "reference_chars": sum(len(e["reference"]) for e in held),
    }
    original = (SAMPLES / "fine-tuning" / "nova-micro-vi-qa.jsonl").read_text().splitlines()
    assert set(trained) <= set(original) and not any(example["reference"] in "\n".join(trained) for example in held)
    # The split is a function of the records, so a retried Validate writes the same two sides.
    assert validate.handler({"run": run}, context)["evaluation_examples"] == len(held)
    job = start_job.handler({"run": run, "training_uri": result["training_uri"]}, context)
    assert (
        account.bedrock.get_model_customization_job(jobIdentifier=job["job_name"])["trainingDataConfig"]["s3Uri"]
        == result["training_uri"]
    )


def test_validate_rejects_a_run_whose_evaluation_set_is_missing_before_anything_is_spent(account, context):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    account.s3.delete_object(Bucket=DATA_BUCKET, Key="evaluation/support-qa-vi.jsonl")
    result = validate.handler({"run": run}, context)
    assert result["valid"] is False
    assert (
        result["summary"][0]
        == f"evaluation set s3://{DATA_BUCKET}/evaluation/support-qa-vi.jsonl: the object does not exist"
    )


def test_validate_counts_the_evaluation_examples(account, context):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    assert validate.handler({"run": run}, context)["evaluation_examples"] == 12


def test_estimate_refuses_a_run_over_its_budget_cap(account, context, monkeypatch):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    validation = validate.handler({"run": run}, context)
    generous = estimate.handler({"run": run, "validation": validation}, context)
    assert generous["within_budget"] is True
    # Cohere Command has recorded price figures, so the estimate can prove the cap is exceeded.
    run["profile"].update(
        base_model="cohere.command-text-v14:7:4k", hyperparameters={"epochCount": 1}, budget_cap_usd=0.01
    )
    _deploy(monkeypatch, run)
    validation["training_tokens"] = 10**9
    refused = estimate.handler({"run": run, "validation": validation}, context)
    assert refused["within_budget"] is False and "OVER" in refused["summary"]


def _validated(run: dict, context) -> dict:
    """What the state machine hands StartCustomization: Validate's snapshot of the upload."""
    result = validate.handler({"run": run}, context)
    assert result["valid"] is True, result["summary"]
    return {"training_uri": result["training_uri"], "validation_uri": result["validation_uri"]}


def test_start_job_sends_a_request_bedrock_accepts_and_records_the_job(account, context):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    result = start_job.handler(
        {
            "run": run,
            **_validated(run, context),
            "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:tuneforge-dev-retraining:{run['run_id']}",
        },
        context,
    )
    job = account.bedrock.get_model_customization_job(jobIdentifier=result["job_name"])
    assert (
        job["baseModelArn"].endswith("amazon.nova-micro-v1:0:128k")
        or job["baseModelArn"] == "amazon.nova-micro-v1:0:128k"
    )
    assert job["hyperParameters"] == {"epochCount": "2", "learningRate": "0.00001", "learningRateWarmupSteps": "10"}
    assert job["outputDataConfig"]["s3Uri"] == f"s3://{ARTIFACTS_BUCKET}/jobs/{result['job_name']}/"
    assert job["trainingDataConfig"]["s3Uri"] == f"s3://{DATA_BUCKET}/snapshots/{run['run_id']}/training.jsonl"
    assert job["vpcConfig"] == {"subnetIds": ["subnet-0a", "subnet-0b"], "securityGroupIds": ["sg-0job"]}
    assert _item(account, run["run_id"])["job_arn"]["S"] == result["job_arn"]


@pytest.mark.parametrize("status, stopped", [("InProgress", True), ("Completed", False)])
def test_cleanup_stops_a_running_job_and_is_idempotent(account, context, status, stopped):
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    job = start_job.handler({"run": run, **_validated(run, context)}, context)
    if status == "Completed":
        from moto.bedrock.models import bedrock_backends

        bedrock_backends["123456789012"]["us-east-1"].model_customization_jobs[job["job_name"]].status = "Completed"
    first = cleanup.handler(
        {"run_id": run["run_id"], "error": {"Error": "States.Timeout", "Cause": "took too long"}}, context
    )
    second = cleanup.handler({"run_id": run["run_id"]}, context)
    assert (first["stopped_job"] == job["job_arn"]) is stopped
    assert second["stopped_job"] is None
    # Bedrock answers a stop with Stopping (Stopped comes later), which a second cleanup leaves alone
    assert account.bedrock.get_model_customization_job(jobIdentifier=job["job_arn"])["status"] == (
        "Stopping" if stopped else "Completed"
    )
    assert _item(account, run["run_id"])["status"]["S"] == "FAILED"


def _ended_execution(account, run: dict, status: str, *, error: str | None = None, cause: str | None = None) -> str:
    """A real execution of the stage's state machine named by the run id, whose status is then set to ``status``
    on the backend, as the Bedrock job's status is above: moto's plain backend runs no definition, and once the
    emulator's Step Functions (local.sfn_ext, moto's parser) is in the process the one-state definition runs to
    SUCCEEDED in a thread first, so the status is set after that."""
    import time

    from moto.stepfunctions.models import stepfunctions_backends

    execution_arn = account.stepfunctions.start_execution(
        stateMachineArn=account.state_machine_arn, name=run["run_id"], input=json.dumps(run)
    )["executionArn"]
    execution = stepfunctions_backends["123456789012"]["us-east-1"].describe_execution(execution_arn)
    if isinstance(getattr(type(execution), "status", None), property):
        from moto.stepfunctions.parser.api import ExecutionStatus

        deadline = time.monotonic() + 10
        while execution.exec_status in (None, ExecutionStatus.RUNNING) and time.monotonic() < deadline:
            time.sleep(0.01)
        execution.exec_status = ExecutionStatus(status)
    else:
        execution.status = status
    execution.error, execution.cause = error, cause
    return execution_arn


def _status_change(account, execution_arn: str, status: str, **detail) -> dict:
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": account.state_machine_arn,
            "name": execution_arn.rsplit(":", 1)[-1],
            "status": status,
            "startDate": 1795000000000,
            "stopDate": 1795604800000,
            "output": None,
            "error": None,
            "cause": None,
            **detail,
        },
    }


def test_cleanup_takes_the_status_change_event_of_a_timed_out_execution(account, context):
    """The ExecutionEndedAbnormally rule hands Cleanup the event itself: the execution name is the run id, and
    what Step Functions says of the execution (status, error, input) is what Cleanup acts on."""
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    job = start_job.handler({"run": run, **_validated(run, context)}, context)
    execution_arn = _ended_execution(account, run, "TIMED_OUT")
    result = cleanup.handler(_status_change(account, execution_arn, "TIMED_OUT", input=None), context)
    assert result["stopped_job"] == job["job_arn"]
    item = _item(account, run["run_id"])
    assert item["status"]["S"] == "FAILED" and item["error"]["S"] == "States.Timeout"
    assert "TIMED_OUT" in item["error_cause"]["S"]
    (message,) = [json.loads(body) for body in account.notifications()]
    assert (
        message["outcome"] == "TIMED_OUT"
        and message["run_id"] == run["run_id"]
        and message["profile"] == "support-qa-vi"
    )


def test_a_failed_execution_is_announced_once_in_one_line_however_often_its_event_arrives(account, context):
    """The status-change event is the one announcement of an abnormal end, Catch or no Catch;
    EventBridge delivers at least once, so a repeat stays quiet."""
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    lambda_cause = json.dumps(
        {
            "errorMessage": "An error occurred (ValidationException) when calling the CreateModelCustomizationJob operation: 1 validation error detected\nmore",
            "errorType": "ValidationException",
            "stackTrace": ['  File "x.py", line 1\n' * 60],
        }
    )
    execution_arn = _ended_execution(account, run, "FAILED", error="ValidationException", cause=lambda_cause)
    event = _status_change(account, execution_arn, "FAILED", error="ValidationException", cause=lambda_cause)
    cleanup.handler(event, context)
    cleanup.handler(event, context)
    (message,) = [json.loads(body) for body in account.notifications()]
    assert message["outcome"] == "FAILED" and message["error"] == "ValidationException"
    assert (
        message["cause"]
        == "ValidationException: An error occurred (ValidationException) when calling the CreateModelCustomizationJob operation: 1 validation error detected"
    )
    assert message["execution"] == execution_arn and execution_arn in message["console"]
    assert _item(account, run["run_id"])["error_cause"]["S"] == message["cause"]


@pytest.mark.parametrize("forgery", ["still running", "no such execution", "another state machine", "succeeded"])
def test_cleanup_acts_on_no_status_change_event_step_functions_does_not_confirm(account, context, forgery):
    """Whoever may invoke Cleanup could hand it a made-up status-change event; one naming an execution that is
    still running, does not exist, belongs to another state machine or succeeded stops no job, changes no
    registry item and tells no one."""
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    job = start_job.handler({"run": run, **_validated(run, context)}, context)
    executions = account.state_machine_arn.replace(":stateMachine:", ":execution:")
    if forgery == "still running":
        execution_arn = _ended_execution(account, run, "RUNNING")
    elif forgery == "no such execution":
        execution_arn = f"{executions}:{run['run_id']}"
    elif forgery == "another state machine":
        execution_arn = executions.replace(":tuneforge-dev-retraining", ":someone-elses") + f":{run['run_id']}"
    else:
        execution_arn = _ended_execution(account, run, "SUCCEEDED")
    before = _item(account, run["run_id"])
    result = cleanup.handler(_status_change(account, execution_arn, "FAILED", error="Forged", cause="forged"), context)
    assert "ignored" in result and "stopped_job" not in result
    assert account.bedrock.get_model_customization_job(jobIdentifier=job["job_arn"])["status"] == "InProgress"
    assert _item(account, run["run_id"]) == before
    assert account.notifications() == []


def test_validate_refuses_a_run_whose_job_request_bedrock_would_refuse_before_any_snapshot(
    account, context, monkeypatch
):
    """Every field of the request StartCustomization will send is checked against Bedrock's service
    model at Validate (here a stage misconfigured with a subnet id Bedrock's pattern refuses)."""
    monkeypatch.setenv("SUBNET_IDS", "subnet-0a,Subnet 0b")
    run = _run(account, "support-qa-vi", "fine-tuning/nova-micro-vi-qa.jsonl", "incoming/support-qa-vi/vi.jsonl")
    result = validate.handler({"run": run}, context)
    assert result["valid"] is False and result["training_uri"] is None
    first = result["summary"][0]
    assert (
        first.startswith("Bedrock would refuse this run's CreateModelCustomizationJob request: vpcConfig.subnetIds[1]")
        and "\n" not in first
    ), first
    assert account.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="snapshots/").get("KeyCount") == 0


def test_one_line_causes_name_the_error_and_its_first_line_only():
    from lambdas.domain.abnormal_end import MAX_CAUSE, one_line_cause

    job = json.dumps(
        {
            "job_arn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x",
            "status": "Failed",
            "failure_message": "Training data not found.\nDetails follow",
        }
    )
    assert one_line_cause("BedrockJobFailed", job) == "BedrockJobFailed: Training data not found."
    assert one_line_cause("States.Timeout", "the execution ended TIMED_OUT") == "the execution ended TIMED_OUT"
    assert one_line_cause("States.Aborted", None) == "States.Aborted"
    long = one_line_cause("Error", json.dumps({"errorType": "EndpointFailed", "errorMessage": "x" * 5000}))
    assert len(long) == MAX_CAUSE and long.startswith("EndpointFailed: xxx") and long.endswith("…")
