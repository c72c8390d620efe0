"""tuneforge itself, end to end in the emulated account: the dev stage deployed from the synthesized
cdk.out, real uploads, the real state machine and handlers, faults on demand.

Every case checks the terminal state, the notification the run published (read from a queue
subscribed to the stage's topic) and that no endpoint the run created is left, except a promoted one.
``FAULT_MATRIX`` collects (case, terminal state, notified, endpoints left) as measured; run with
``-s`` to see it printed at the end (docs/fault-matrix.md holds a copy).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import ROOT, RunResult, TuneforgeStage

pytestmark = pytest.mark.e2e

FINE_TUNING = "fine-tuning/nova-micro-vi-qa.jsonl"
FAULT_MATRIX: list[tuple[str, str, str, int]] = []


@pytest.fixture(scope="module", autouse=True)
def print_fault_matrix():
    yield
    if FAULT_MATRIX:
        print("\n| Case | Terminal state | Notified | Endpoints left |\n|---|---|---|---|")
        for row in FAULT_MATRIX:
            print("| " + " | ".join(str(cell) for cell in row) + " |")


def record(case: str, stage: TuneforgeStage, *runs: RunResult) -> None:
    last = runs[-1]
    outcome = ", ".join(m.get("outcome", "?") for m in last.notifications) or "no"
    state = last.status + (f" ({last.execution['error']})" if last.execution.get("error") else "")
    FAULT_MATRIX.append((case, state, outcome, len(stage.leftover_endpoints(*runs))))


def profile(name: str):
    from stacks.config import load_stages

    return load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles[name]


def assert_clean(stage: TuneforgeStage, *runs: RunResult) -> None:
    """Nothing billable outlives the runs but a promoted endpoint, and the registry agrees."""
    assert stage.leftover_endpoints(*runs) == [], stage.aws.endpoints()
    for run in runs:
        for endpoint in (run.item or {}).get("endpoints") or []:
            assert endpoint.get("promoted") or endpoint.get("deleted_at"), endpoint


def assert_failed(stage: TuneforgeStage, run: RunResult, error: str) -> dict:
    assert run.status == "FAILED", run.execution
    assert run.execution["error"] == error, (run.execution, run.item)
    states = stage.aws.states_entered(run.execution["executionArn"])
    assert states[-3:] == ["Cleanup", "NotifyFailure", "Failed"], states
    [message] = run.notifications
    assert message["outcome"] == "FAILED" and message["error"]["Error"] == error, message
    assert run.item["status"] == "FAILED" and run.item["error"] == error, run.item
    assert_clean(stage, run)
    return message


def assert_decided_by_the_metrics(run: RunResult, profile_name: str) -> dict:
    """The gate's decision is what the profile's gate says of the measured metrics, and the run did it."""
    from lambdas.domain.gate import decide

    evaluation = run.output["evaluation"]["value"]
    expected = decide(profile(profile_name).gate, evaluation["candidate"], evaluation["baseline"])
    assert evaluation["passed"] is expected.passed, evaluation["summary"]
    decision = "PROMOTED" if expected.passed else "NOT_PROMOTED"
    assert run.output["decision"] == decision
    assert run.item["decision"] == decision and run.item["status"] == "SUCCEEDED"
    [message] = run.notifications
    assert message["outcome"] == "SUCCEEDED" and message["decision"] == decision
    assert message["metrics"] == {"candidate": evaluation["candidate"], "baseline": evaluation["baseline"]}
    return evaluation


# -- deploy -----------------------------------------------------------------------------------------
def test_deploy_filter_deploys_one_stage_of_a_multi_stage_assembly(tuneforge_cdk_out, emulator):
    from local.deploy import DeployError

    result = emulator.deploy(tuneforge_cdk_out, stacks="Tuneforge-dev-Pipeline")  # its dependency comes along
    assert [s.name for s in result.stacks] == ["Tuneforge-dev-Foundation", "Tuneforge-dev-Pipeline"]
    assert all(s.status == "CREATE_COMPLETE" for s in result.stacks)
    assert all("210987654321" not in uri for uri in result.assets_uploaded)
    cloudformation = emulator.client("cloudformation")
    assert sorted(s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"]) == ["Tuneforge-dev-Foundation", "Tuneforge-dev-Pipeline"]
    with pytest.raises(DeployError, match="no stack matches"):
        emulator.deploy(tuneforge_cdk_out, stacks="Tuneforge-qa-*")


# -- happy paths, one per customization type ----------------------------------------------------------
def test_a_held_out_quarter_of_the_upload_is_what_the_candidate_is_evaluated_on(tuneforge):
    run = tuneforge.run("support-qa-vi-holdout", FINE_TUNING)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "support-qa-vi-holdout")
    job = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=run.item["job_arn"])
    assert "/_holdout/" in job["trainingDataConfig"]["s3Uri"]
    assert evaluation["examples"] == run.item["evaluation_examples"] > 0
    assert_clean(tuneforge, run)
    record("happy path: FINE_TUNING with a held-out split (support-qa-vi-holdout)", tuneforge, run)


def test_fine_tuning_vietnamese_qa_beats_its_baseline_and_is_promoted(tuneforge):
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "support-qa-vi")
    assert run.output["decision"] == "PROMOTED"
    assert evaluation["candidate"]["token_f1"] > evaluation["baseline"]["token_f1"]
    assert evaluation["examples"] > 0 and evaluation["failed_calls"] == {"candidate": 0, "baseline": 0}
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:6] == ["Validate", "DatasetValid?", "Estimate", "WithinBudget?", "StartCustomization", "WaitForJob"]
    assert states[-5:] == ["Promoted", "Teardown", "RecordRun", "Notify", "Done"]
    # the champion: item, SSM parameter, and the one endpoint that stays
    champion = tuneforge.champion("support-qa-vi")
    assert champion["run_id"] == run.run_id
    assert champion["custom_model_arn"] == run.output["training"]["output_model_arn"]
    parameter = tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"]["Value"]
    assert champion["invocable_arn"] in parameter
    assert tuneforge.endpoint_arns() == [champion["invocable_arn"]]
    assert_clean(tuneforge, run)
    # the evaluation endpoint was deleted; the reports exist
    evaluation_endpoints = [e for e in run.item["endpoints"] if not e.get("promoted")]
    assert evaluation_endpoints and all(e.get("deleted_at") for e in evaluation_endpoints)
    s3 = tuneforge.aws.client("s3")
    for uri in run.notifications[0]["reports"].values():
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    record("happy path: FINE_TUNING (support-qa-vi)", tuneforge, run)


@pytest.mark.parametrize(
    "profile_name,sample,customization_type",
    [("domain-pretrain", "continued-pre-training/titan-runbooks.jsonl", "CONTINUED_PRE_TRAINING"), ("distilled-support", "distillation/support-prompts.jsonl", "DISTILLATION")],
)
def test_other_customization_types_run_to_the_decision_their_metrics_call_for(tuneforge, profile_name, sample, customization_type):
    run = tuneforge.run(profile_name, sample)
    assert run.status == "SUCCEEDED", run.execution
    [job] = tuneforge.jobs()
    assert tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["customizationType"] == customization_type
    assert_decided_by_the_metrics(run, profile_name)
    assert_clean(tuneforge, run)
    if run.output["decision"] == "PROMOTED":
        assert tuneforge.champion(profile_name)["run_id"] == run.run_id
    else:
        assert tuneforge.champion(profile_name) is None and tuneforge.endpoint_arns() == []
    record(f"happy path: {customization_type} ({profile_name}) -> {run.output['decision']}", tuneforge, run)


# -- invalid data, duplicate events -------------------------------------------------------------------
def test_invalid_data_is_rejected_without_starting_a_job(tuneforge):
    run = tuneforge.run("support-qa-vi", "broken/nova-micro-broken.jsonl")
    assert run.status == "SUCCEEDED", run.execution  # rejection is an outcome, not a failure
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:2] == ["Validate", "DatasetValid?"] and states[-2:] == ["NotifyRejected", "Rejected"], states
    assert "StartCustomization" not in states
    assert tuneforge.jobs() == []
    [message] = run.notifications
    assert message["outcome"] == "REJECTED"
    report = message["validation"]["report_uri"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    assert bucket == tuneforge.artifacts_bucket
    body = json.loads(tuneforge.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert body and message["validation"]["error_count"] > 0
    assert tuneforge.endpoint_arns() == []
    record("invalid data (broken sample)", tuneforge, run)


def test_the_same_upload_event_twice_starts_one_execution(tuneforge):
    put = tuneforge.upload("support-qa-vi", FINE_TUNING)
    first = tuneforge.started(1)
    key = f"incoming/support-qa-vi/{Path(FINE_TUNING).name}"
    detail = {
        "version": "0",
        "bucket": {"name": tuneforge.data_bucket},
        "object": {"key": key, "size": (ROOT / "samples" / FINE_TUNING).stat().st_size, "etag": put["ETag"].strip('"'), "sequencer": "00617F08299329D189", **({"version-id": put["VersionId"]} if put.get("VersionId") else {})},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": tuneforge.aws.account,
        "source-ip-address": "127.0.0.1",
        "reason": "PutObject",
    }
    entry = {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail), "Resources": [f"arn:aws:s3:::{tuneforge.data_bucket}"]}
    events = tuneforge.aws.client("events")
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0  # while the first run is running
    run = tuneforge.finish(first["executionArn"])
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0  # and after it ended
    tuneforge.aws.wait_idle()
    deliveries = [e for e in tuneforge.aws.journal if e["event"] == "events.delivered" and "DatasetUploaded" in e["rule"]]
    assert len(deliveries) == 3 and not any(d["errored"] for d in deliveries)
    assert [e["name"] for e in tuneforge.aws.executions(tuneforge.state_machine)] == [run.run_id]
    assert run.status == "SUCCEEDED", (run.execution, run.item)
    assert len(run.notifications) == 1 and len(tuneforge.jobs()) == 1
    assert_clean(tuneforge, run)
    record("same upload event delivered 3 times", tuneforge, run)


# -- faults -------------------------------------------------------------------------------------------
def test_throttling_on_create_job_then_success(tuneforge):
    tuneforge.aws.faults.throttle("CreateModelCustomizationJob", times=2)  # boto3's retries sleep wall time
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert run.status == "SUCCEEDED", run.execution
    assert [f["fault"] for f in tuneforge.aws.faults.fired] == ["ThrottlingException"] * 2
    assert len(tuneforge.jobs()) == 1  # retried, not duplicated
    assert run.notifications[0]["outcome"] == "SUCCEEDED"
    assert_clean(tuneforge, run)
    record("throttling x2 on CreateModelCustomizationJob", tuneforge, run)


def test_access_denied_on_create_job(tuneforge):
    tuneforge.aws.faults.deny("CreateModelCustomizationJob")
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, "AccessDeniedException")
    assert tuneforge.jobs() == []
    record("access denied on CreateModelCustomizationJob", tuneforge, run)


@pytest.mark.parametrize("fault,error,job_status", [("fail_job", "BedrockJobFailed", "Failed"), ("stop_job", "BedrockJobStopped", "Stopped")])
def test_job_failed_or_stopped(tuneforge, fault, error, job_status):
    getattr(tuneforge.aws.faults, fault)()
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, error)
    assert [j["status"] for j in tuneforge.jobs()] == [job_status]
    assert tuneforge.aws.states_entered(run.execution["executionArn"])[-4] == "WaitForJob"
    record(f"job {job_status}", tuneforge, run)


def test_lost_job_event_is_finished_by_the_fallback_check(tuneforge):
    aws = tuneforge.aws
    aws.faults.lose_job_event()
    tuneforge.upload("support-qa-vi", FINE_TUNING)
    execution = tuneforge.started(1)["executionArn"]
    deadline = time.monotonic() + 30
    while not (tuneforge.jobs() and tuneforge.jobs()[0]["status"] == "Completed") and time.monotonic() < deadline:
        time.sleep(0.02)
    while time.monotonic() < deadline and not any(f["fault"] == "lost_job_event" for f in aws.faults.fired):
        time.sleep(0.02)
    aws.wait_idle()
    assert aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert "DeployForEvaluation" not in aws.states_entered(execution)  # still waiting for the job
    assert [f["fault"] for f in aws.faults.fired] == ["lost_job_event"]
    assert aws.fire_scheduled_rules("FallbackJobCheck")
    run = tuneforge.finish(execution)
    assert run.status == "SUCCEEDED", run.execution
    assert run.output["training"]["status"] == "Completed"
    assert run.notifications[0]["outcome"] == "SUCCEEDED"
    assert_clean(tuneforge, run)
    record("lost job event (FallbackJobCheck fired)", tuneforge, run)


def test_evaluation_endpoint_creation_failure(tuneforge):
    tuneforge.aws.faults.fail_endpoint("deployment")  # support-qa-vi evaluates on an on-demand deployment
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, "EndpointFailed")
    [endpoint] = run.item["endpoints"]
    assert endpoint["kind"] == "custom-model-deployment" and endpoint["deleted_at"]
    assert tuneforge.champion("support-qa-vi") is None
    record("evaluation endpoint creation fails", tuneforge, run)


def test_evaluation_below_the_gate_keeps_the_champion(tuneforge):
    first = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert first.output["decision"] == "PROMOTED", first.execution
    champion = tuneforge.champion("support-qa-vi")
    parameter = tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"]["Value"]
    tuneforge.aws.faults.degrade_candidate()
    run = tuneforge.run("support-qa-vi", FINE_TUNING, name="vi-2.jsonl")
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "support-qa-vi")
    assert run.output["decision"] == "NOT_PROMOTED" and not evaluation["passed"]
    assert "NotPromoted" in tuneforge.aws.states_entered(run.execution["executionArn"])
    assert tuneforge.champion("support-qa-vi") == champion
    assert tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"]["Value"] == parameter
    [endpoint] = run.item["endpoints"]
    assert endpoint["purpose"] == "evaluation" and endpoint["deleted_at"]
    assert tuneforge.endpoint_arns() == [champion["invocable_arn"]]
    assert_clean(tuneforge, first, run)
    record("evaluation below the gate (degraded candidate)", tuneforge, first, run)


def test_execution_timeout_is_cleaned_up_by_the_status_change_rule(short_timeout_cdk_out):
    """The stage's execution timeout (4 h here) fires while a 14-day job trains; the fallback check keeps
    WaitForJob's heartbeat alive meanwhile. No Catch runs on a timeout: the ExecutionEndedAbnormally
    rule hands the status-change event to Cleanup, which stops the job."""
    from local import Emulator

    # Timeouts: 4 h -> 1.44 s, heartbeat 45 min -> 0.27 s of wall time. Emulated time runs 4x faster than
    # that, so the 15-minute fallback check (a heartbeat each time) comes every ~25 ms: a wide margin.
    with Emulator(time_scale=0.000025, timeout_scale=0.0001, job_duration=14 * 86400, auto_schedule=True) as aws:
        stage = TuneforgeStage(aws, short_timeout_cdk_out)
        stage.upload("support-qa-vi", FINE_TUNING)
        run = stage.finish(stage.started(1)["executionArn"], timeout=60)
        assert run.status == "TIMED_OUT", run.execution
        assert stage.aws.states_entered(run.execution["executionArn"])[-1] == "WaitForJob"
        heartbeats = [e for e in aws.journal if e["event"] == "events.scheduled" and "FallbackJobCheck" in e["rule"]]
        assert heartbeats  # the fallback check ran during the wait (and kept the heartbeat alive)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (stage.registry.get(run.run_id) or {}).get("status") != "FAILED":
            time.sleep(0.05)
        item = stage.registry.get(run.run_id)
        assert item["status"] == "FAILED" and item["error"] == "States.Timeout", item
        assert [j["status"] for j in stage.jobs()] in (["Stopping"], ["Stopped"])
        cleanups = [e for e in aws.journal if e["event"] == "events.delivered" and "ExecutionEndedAbnormally" in e["rule"]]
        assert cleanups and not cleanups[-1]["errored"], cleanups
        assert stage.leftover_endpoints(run) == []
        # No Catch runs on a timeout, so Cleanup itself tells the topic (once).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not [m for m in stage.messages() if m.get("run_id") == run.run_id]:
            time.sleep(0.05)
        run = RunResult(run.execution, run.run_id, item, [m for m in stage.messages() if m.get("run_id") == run.run_id])
        assert [m["outcome"] for m in run.notifications] == ["TIMED_OUT"]
        assert run.notifications[0]["error"]["Error"] == "States.Timeout"
        record("execution timeout (4 h stage timeout, 14-day job)", stage, run)


def test_transitions_do_not_grow_with_the_job_duration(tuneforge):
    """A 14-day job costs the run no more state transitions than a 1-hour one: WaitForJob parks a task
    token; the fallback check (fired here once per emulated day) only sends heartbeats meanwhile.
    bench/transitions.py measures the same with the check on its 15-minute schedule."""
    aws = tuneforge.aws
    short = tuneforge.run("support-qa-vi", FINE_TUNING)
    aws.settings.job_duration = 14 * 86400
    tuneforge.upload("support-qa-vi", FINE_TUNING, name="vi-long.jsonl")
    execution = tuneforge.started(2)["executionArn"]
    deadline = time.monotonic() + 60
    while len(tuneforge.jobs()) < 2 or "WaitForJob" not in aws.states_entered(execution):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    checks = 0
    while [j for j in tuneforge.jobs() if j["status"] == "InProgress"]:
        assert time.monotonic() < deadline
        aws.advance(86400)
        checks += len(aws.fire_scheduled_rules("FallbackJobCheck"))
        aws.wait_idle()
    long = tuneforge.finish(execution)
    assert short.status == long.status == "SUCCEEDED", long.execution
    assert checks >= 13
    counts = {}
    for name, run in (("short", short), ("long", long)):
        history = aws.history(run.execution["executionArn"])
        states = aws.states_entered(run.execution["executionArn"])
        counts[name] = sum(1 for e in history if e["type"].endswith("StateEntered"))
        assert counts[name] <= 60, states
        assert states[: states.index("DeployForEvaluation")] == ["Validate", "DatasetValid?", "Estimate", "WithinBudget?", "StartCustomization", "WaitForJob"]
    assert counts["long"] <= 1.5 * counts["short"], counts


# -- object keys as data owners write them ----------------------------------------------------------
# S3 sends the key URL-encoded (space as '+'); StartRun decodes it once. Bedrock then reads only keys
# of ASCII letters, digits and -!_*'(). (API_TrainingDataConfig s3Uri pattern), so an upload named with
# spaces, '+', '%' or Vietnamese letters is rejected at Validate with the fix, unless the job reads a
# copy under a key of ours (a held-out split).
ODD_NAME = "tập huấn+1 100%.jsonl"


def _run_input(run: RunResult) -> dict:
    return json.loads(run.execution["input"])


def _upload_run(stage: TuneforgeStage, key: str, body: bytes, timeout: float = 90.0) -> tuple[dict, RunResult]:
    before = len(stage.aws.executions(stage.state_machine))
    put = stage.aws.upload(stage.data_bucket, key, body)
    return put, stage.finish(stage.started(before + 1)["executionArn"], timeout=timeout)


def test_a_key_s3_encodes_and_bedrock_reads_trains_on_exactly_the_uploaded_object(tuneforge):
    key = "incoming/support-qa-vi/Q_(v2)!'*.jsonl"  # every one of ( ) ! ' * arrives percent-encoded
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    put, run = _upload_run(tuneforge, key, body)
    assert run.status == "SUCCEEDED", run.execution
    assert _run_input(run)["dataset"]["training"] == {"bucket": tuneforge.data_bucket, "key": key, "version_id": put["VersionId"]}
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:5] == ["Validate", "DatasetValid?", "Estimate", "WithinBudget?", "StartCustomization"], states
    [job] = tuneforge.jobs()
    training = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["trainingDataConfig"]["s3Uri"]
    assert training == f"s3://{tuneforge.data_bucket}/{key}"
    # Bedrock's s3Uri names no version: the version it read is the one the run validated (the latest).
    assert tuneforge.aws.client("s3").head_object(Bucket=tuneforge.data_bucket, Key=key)["VersionId"] == put["VersionId"]
    assert_clean(tuneforge, run)
    record("key with ( ) ! ' * (encoded by S3, read by Bedrock)", tuneforge, run)


@pytest.mark.parametrize("folder", ["", "dữ liệu/"], ids=["single-file", "manifest-in-a-vietnamese-folder"])
def test_a_key_bedrock_refuses_is_rejected_with_the_fix_not_a_stack_trace(tuneforge, folder):
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    data_key = f"incoming/support-qa-vi/{folder}{ODD_NAME}"
    if folder:
        data = tuneforge.aws.upload(tuneforge.data_bucket, data_key, body)  # starts nothing: the manifest does
        put, run = _upload_run(tuneforge, f"incoming/support-qa-vi/{folder}manifest.json", json.dumps({"training": ODD_NAME}).encode())
        assert _run_input(run)["dataset"]["trigger"]["key"] == f"incoming/support-qa-vi/{folder}manifest.json"
        assert _run_input(run)["dataset"]["training"] == {"bucket": tuneforge.data_bucket, "key": data_key, "version_id": None}
        assert data["VersionId"]
    else:
        put, run = _upload_run(tuneforge, data_key, body)
        assert _run_input(run)["dataset"]["training"] == {"bucket": tuneforge.data_bucket, "key": data_key, "version_id": put["VersionId"]}
    assert run.status == "SUCCEEDED", run.execution  # rejection is an outcome, not a failure
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:2] == ["Validate", "DatasetValid?"] and states[-2:] == ["NotifyRejected", "Rejected"], states
    assert tuneforge.jobs() == []
    [message] = run.notifications
    assert message["outcome"] == "REJECTED" and message["validation"]["valid"] is False
    first = message["validation"]["summary"][0]
    assert first.startswith(f"Bedrock cannot train on s3://{tuneforge.data_bucket}/{data_key}:"), first
    assert "'+'" in first and "'%'" in first and "' '" in first and "'ậ'" in first
    assert first.endswith(f"'incoming/support-qa-vi/{'du-lieu/' if folder else ''}tap-huan-1-100.jsonl'"), first
    assert run.item["status"] == "REJECTED"
    assert_clean(tuneforge, run)
    record(f"key with space, +, %, Vietnamese letters ({'manifest' if folder else 'single file'}): rejected", tuneforge, run)


def test_a_held_out_split_of_an_oddly_named_upload_trains_on_a_copy_of_exactly_that_version(tuneforge):
    key = f"incoming/support-qa-vi-holdout/{ODD_NAME}"
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    put, run = _upload_run(tuneforge, key, body)
    assert run.status == "SUCCEEDED", run.execution
    assert _run_input(run)["dataset"]["training"] == {"bucket": tuneforge.data_bucket, "key": key, "version_id": put["VersionId"]}
    [job] = tuneforge.jobs()
    uri = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["trainingDataConfig"]["s3Uri"]
    assert "/_holdout/" in uri
    bucket, copy_key = uri.removeprefix("s3://").split("/", 1)
    trained = tuneforge.aws.client("s3").get_object(Bucket=bucket, Key=copy_key)["Body"].read().splitlines()
    uploaded = [line.strip() for line in body.splitlines() if line.strip()]
    assert trained and set(trained) <= set(uploaded) and len(trained) + run.item["evaluation_examples"] == len(uploaded)
    assert_clean(tuneforge, run)
    record("key with space, +, %, Vietnamese letters, held-out split: trains on the split", tuneforge, run)
