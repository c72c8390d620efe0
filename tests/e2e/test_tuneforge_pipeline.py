"""tuneforge itself, end to end in the emulated account: the dev stage deployed from the synthesized
cdk.out, real uploads, the real state machine and handlers, faults on demand.

Every case checks the terminal state, the notification the run published (read from a queue
subscribed to the stage's topic) and that no endpoint the run created is left, except a promoted one.
``FAULT_MATRIX`` collects (case, terminal state, notifications, endpoints left, models left) as measured; run with
``-s`` to see it printed at the end (docs/fault-matrix.md holds a copy).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from .stage import ROOT, RunResult, TuneforgeStage

pytestmark = pytest.mark.e2e

FINE_TUNING = "fine-tuning/nova-micro-vi-qa.jsonl"
FAULT_MATRIX: list[tuple[str, str, str, int, str]] = []


@pytest.fixture(scope="module", autouse=True)
def print_fault_matrix():
    yield
    if FAULT_MATRIX:
        print(
            "\n| Case | Terminal state | Notified | Endpoints left (besides the champion's) | Custom models left (besides the champion's) |\n|---|---|---|---|---|"
        )
        for row in FAULT_MATRIX:
            print("| " + " | ".join(str(cell) for cell in row) + " |")


def record(case: str, stage: TuneforgeStage, *runs: RunResult) -> None:
    outcome = "; ".join(", ".join(m.get("outcome", "?") for m in run.notifications) or "none" for run in runs)
    state = "; ".join(
        run.status
        + (f" ({run.execution['error']})" if run.execution.get("error") else "")
        + (f" {run.item['decision']}" if (run.item or {}).get("decision") else "")
        for run in runs
    )
    champions = {
        stage.champion(p).get("custom_model_arn")
        for p in {(run.item or {}).get("profile") for run in runs}
        if p and stage.champion(p)
    }
    models = [
        m["modelArn"]
        for m in stage.inspect("bedrock").list_custom_models()["modelSummaries"]
        if m["modelArn"] not in champions
    ]
    # A model of a run that was not promoted stays for the janitor's retention (model_retention_days), then goes.
    pending = sum(1 for run in runs if (stage.registry.get(run.run_id) or {}).get("sweep") == "due")
    FAULT_MATRIX.append(
        (
            case,
            state,
            outcome,
            len(stage.leftover_endpoints(*runs)),
            f"{len(models)}"
            + (f" (marked for the janitor: {pending} run{'s' if pending != 1 else ''})" if models else ""),
        )
    )


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
    assert states[-2:] == ["Cleanup", "Failed"], states
    [message] = run.notifications  # exactly one, from the status-change event
    assert list(message)[0] == "outcome" and message["outcome"] == "FAILED" and message["error"] == error, message
    assert "\n" not in message["cause"] and len(message["cause"]) <= 300 and "Traceback" not in message["cause"], (
        message
    )
    assert message["execution"] == run.execution["executionArn"]
    assert run.item["status"] == "FAILED" and run.item["error"] == error, run.item
    assert run.item["run_outcome"] == "FAILED"
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
    assert run.item["run_outcome"] == decision  # PROMOTED or NOT_PROMOTED: the outcome is the decision here
    [message] = run.notifications
    assert list(message)[0] == "outcome" and message["outcome"] == decision and message["decision"] == decision
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
    assert sorted(s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"]) == [
        "Tuneforge-dev-Foundation",
        "Tuneforge-dev-Pipeline",
    ]
    with pytest.raises(DeployError, match="no stack matches"):
        emulator.deploy(tuneforge_cdk_out, stacks="Tuneforge-qa-*")


def test_the_delivery_pipelines_copies_of_the_stages_are_left_to_the_pipeline(tuneforge_cdk_out):
    """The assembly holds each stage twice: at the top (make deploy, the gates) and inside the Tuneforge-Delivery
    pipeline's Stages (assembly-Tuneforge-Delivery-<stage>/). The emulator deploys the top-level copy only, as
    `cdk deploy 'Tuneforge-dev-*'` selects it, with only its asset manifests."""
    from local.deploy import read_assembly

    assert sorted(p.parent.name for p in tuneforge_cdk_out.glob("assembly-*/manifest.json")) == [
        "assembly-Tuneforge-Delivery-dev",
        "assembly-Tuneforge-Delivery-prod",
    ]
    stacks, manifests = read_assembly(tuneforge_cdk_out)
    assert sorted(s.stack_name for s in stacks) == [
        "Tuneforge-Delivery",
        "Tuneforge-dev-Foundation",
        "Tuneforge-dev-Pipeline",
        "Tuneforge-prod-Foundation",
        "Tuneforge-prod-Pipeline",
    ]
    assert all(s.assembly_dir == tuneforge_cdk_out for s in stacks)
    assert all(path.parent == tuneforge_cdk_out for path, _ in manifests)


# -- happy paths, one per customization type ----------------------------------------------------------
def test_a_held_out_quarter_of_the_upload_is_what_the_candidate_is_evaluated_on(tuneforge):
    run = tuneforge.run("support-qa-vi-holdout", FINE_TUNING)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "support-qa-vi-holdout")
    job = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=run.item["job_arn"])
    assert job["trainingDataConfig"]["s3Uri"] == f"s3://{tuneforge.data_bucket}/snapshots/{run.run_id}/training.jsonl"
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
    parameter = tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"][
        "Value"
    ]
    assert champion["invocable_arn"] in parameter
    assert tuneforge.endpoint_arns() == [champion["invocable_arn"]]
    assert_clean(tuneforge, run)
    # the evaluation endpoint was deleted; the reports exist
    evaluation_endpoints = [e for e in run.item["endpoints"] if not e.get("promoted")]
    assert evaluation_endpoints and all(e.get("deleted_at") for e in evaluation_endpoints)
    s3 = tuneforge.data_owner.client("s3")  # reports are for data owners to read
    for uri in run.notifications[0]["reports"].values():
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    # What it spent, beside the estimate, in the notice and the registry: the candidate's evaluation
    # tokens as Converse counted them, and the kept champion's throughput so far.
    [notice] = run.notifications
    spent = {line["item"]: line for line in notice["actual_cost"]["lines"]}
    usage = run.item["evaluation_usage"]["candidate"]
    assert usage["calls"] == evaluation["examples"] and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert f"{usage['input_tokens']:,} input tokens" in spent["evaluation: candidate"]["basis"]
    assert (
        "still running: so far" in spent["production throughput"]["basis"]
        and float(spent["production throughput"]["amount_usd"]) >= 60.50
    )
    assert (
        spent["training"]["amount_usd"] is None and notice["actual_cost"]["complete"] is False
    )  # no Nova training price is recorded
    assert run.item["actual_cost"] == notice["actual_cost"] and "estimate" in notice
    # Every name the functions resolved went through the DNS Firewall, was logged, and was on its allow list.
    queries = [e for e in tuneforge.aws.journal if e["event"] == "dns.query"]
    assert {q["action"] for q in queries} == {"ALLOW"}, sorted({(q["name"], q["action"]) for q in queries})
    assert {
        "bedrock.us-east-1.amazonaws.com",
        "bedrock-runtime.us-east-1.amazonaws.com",
        "states.us-east-1.amazonaws.com",
        "dynamodb.us-east-1.amazonaws.com",
    } <= {q["name"] for q in queries}
    record("happy path: FINE_TUNING (support-qa-vi)", tuneforge, run)


@pytest.mark.parametrize(
    "profile_name,sample,customization_type",
    # No model is offered for continued pre-training in AWS's current tables, so no bundled profile uses it.
    [("distilled-support", "distillation/support-prompts.jsonl", "DISTILLATION")],
)
def test_other_customization_types_run_to_the_decision_their_metrics_call_for(
    tuneforge, profile_name, sample, customization_type
):
    run = tuneforge.run(profile_name, sample)
    assert run.status == "SUCCEEDED", run.execution
    [job] = tuneforge.jobs()
    assert (
        tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["customizationType"]
        == customization_type
    )
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
    assert list(message)[0] == "outcome" and message["outcome"] == "REJECTED"
    assert run.item["run_outcome"] == "REJECTED"
    report = message["validation"]["report_uri"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    assert bucket == tuneforge.artifacts_bucket
    body = json.loads(tuneforge.data_owner.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
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
        "object": {
            "key": key,
            "size": (ROOT / "samples" / FINE_TUNING).stat().st_size,
            "etag": put["ETag"].strip('"'),
            "sequencer": "00617F08299329D189",
            **({"version-id": put["VersionId"]} if put.get("VersionId") else {}),
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": tuneforge.aws.account,
        "source-ip-address": "127.0.0.1",
        "reason": "PutObject",
    }
    entry = {
        "Source": "aws.s3",
        "DetailType": "Object Created",
        "Detail": json.dumps(detail),
        "Resources": [f"arn:aws:s3:::{tuneforge.data_bucket}"],
    }
    events = tuneforge.aws.client("events")
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0  # while the first run is running
    run = tuneforge.finish(first["executionArn"])
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0  # and after it ended
    tuneforge.aws.wait_idle()
    deliveries = [
        e for e in tuneforge.aws.journal if e["event"] == "events.delivered" and "DatasetUploaded" in e["rule"]
    ]
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
    assert run.notifications[0]["outcome"] in ("PROMOTED", "NOT_PROMOTED")
    assert_clean(tuneforge, run)
    record("throttling x2 on CreateModelCustomizationJob", tuneforge, run)


def test_access_denied_on_create_job(tuneforge):
    tuneforge.aws.faults.deny("CreateModelCustomizationJob")
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, "AccessDeniedException")
    assert tuneforge.jobs() == []
    record("access denied on CreateModelCustomizationJob", tuneforge, run)


@pytest.mark.parametrize(
    "fault,error,job_status", [("fail_job", "BedrockJobFailed", "Failed"), ("stop_job", "BedrockJobStopped", "Stopped")]
)
def test_job_failed_or_stopped(tuneforge, fault, error, job_status):
    getattr(tuneforge.aws.faults, fault)()
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, error)
    assert [j["status"] for j in tuneforge.jobs()] == [job_status]
    assert tuneforge.aws.states_entered(run.execution["executionArn"])[-3] == "WaitForJob"
    record(f"job {job_status}", tuneforge, run)


def test_lost_job_event_is_finished_by_the_fallback_check(tuneforge):
    """Driven on a paused clock, with the fallback check fired by hand: a 30-minute job (within
    WaitForJob's 45-minute heartbeat) completes, its event is lost, the run keeps waiting until the
    check finds the job done."""
    aws = tuneforge.aws
    aws.settings.auto_schedule = False
    aws.settings.job_duration = 1800
    aws.faults.lose_job_event()
    aws.pause()
    tuneforge.upload("support-qa-vi", FINE_TUNING)
    aws.settle()
    execution = tuneforge.started(1)["executionArn"]
    assert aws.states_entered(execution)[-1] == "WaitForJob"  # parked with its task token
    aws.advance(1800)  # the job completes; its event is dropped
    assert [j["status"] for j in tuneforge.jobs()] == ["Completed"]
    assert aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert "DeployForEvaluation" not in aws.states_entered(execution)  # still waiting for the job
    assert [f["fault"] for f in aws.faults.fired] == ["lost_job_event"]
    assert aws.fire_scheduled_rules("FallbackJobCheck")
    aws.resume()
    run = tuneforge.finish(execution)
    assert run.status == "SUCCEEDED", run.execution
    assert run.output["training"]["status"] == "Completed"
    assert run.notifications[0]["outcome"] in ("PROMOTED", "NOT_PROMOTED")
    assert_clean(tuneforge, run)
    record("lost job event (FallbackJobCheck fired)", tuneforge, run)


def test_an_endpoint_stuck_in_creating_fails_the_run_at_its_bound(tuneforge):
    """The promoted throughput never leaves Creating: CheckThroughput gives up once it has waited
    longer than its bound (3 h) in emulated time, after a handful of checks, and cleanup deletes it."""
    from lambdas.domain.endpoints import MAX_CHECK_INTERVAL_SECONDS, READY_WITHIN_SECONDS

    tuneforge.aws.faults.stall_endpoint(
        "provisioned"
    )  # support-qa-vi evaluates on a deployment, promotes to a throughput
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert_failed(tuneforge, run, "EndpointTimedOut")
    waited = int(re.search(r"after (\d+) s", run.execution["cause"]).group(1))
    assert READY_WITHIN_SECONDS < waited <= READY_WITHIN_SECONDS + MAX_CHECK_INTERVAL_SECONDS, run.execution["cause"]
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert "FinalizePromotion" not in states and states.count("CheckThroughput") <= 25, states
    [stuck] = [e for e in run.item["endpoints"] if e["purpose"] == "production"]
    assert stuck["kind"] == "provisioned-throughput" and stuck["deleted_at"]
    assert tuneforge.champion("support-qa-vi") is None
    assert [f["fault"] for f in tuneforge.aws.faults.fired] == ["provisioned_stalled"]
    record("promoted throughput stuck in Creating (3 h bound)", tuneforge, run)


def test_an_operator_stop_aborts_the_run_waiting_for_its_job(tuneforge):
    """StopExecution while WaitForJob holds its task token: the execution ends ABORTED (not FAILED
    with States.Timeout when the heartbeat would have run out), and the ExecutionEndedAbnormally rule
    hands the status-change event to Cleanup, which stops the job and tells the topic."""
    aws = tuneforge.aws
    aws.pause()  # nothing moves on its own: the stop comes while the run is parked
    tuneforge.upload("support-qa-vi", FINE_TUNING)
    aws.settle()
    execution = tuneforge.started(1)["executionArn"]
    assert aws.states_entered(execution)[-1] == "WaitForJob"
    aws.client("stepfunctions").stop_execution(
        executionArn=execution, error="Operator.Stop", cause="stopped by the on-call engineer"
    )
    aws.settle()
    run = tuneforge.finish(execution)
    assert run.status == "ABORTED", run.execution
    history = aws.history(execution)
    assert history[-1]["type"] == "ExecutionAborted", history[-3:]
    assert not [
        e for e in history if e["type"] in ("TaskTimedOut", "TaskFailed", "ExecutionFailed", "ExecutionTimedOut")
    ]
    assert aws.states_entered(execution)[-1] == "WaitForJob"  # no Catch ran
    cleanups = [e for e in aws.journal if e["event"] == "events.delivered" and "ExecutionEndedAbnormally" in e["rule"]]
    assert len(cleanups) == 1 and not cleanups[0]["errored"], cleanups
    assert run.item["status"] == "FAILED" and run.item["error"] == "States.Aborted", run.item
    assert [m["outcome"] for m in run.notifications] == ["ABORTED"] and run.item["run_outcome"] == "ABORTED"
    assert [j["status"] for j in tuneforge.jobs()] == ["Stopping"]
    aws.advance(60)
    assert [j["status"] for j in tuneforge.jobs()] == ["Stopped"]
    assert_clean(tuneforge, run)
    record("operator stop while waiting for the job", tuneforge, run)


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
    parameter = tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"][
        "Value"
    ]
    tuneforge.aws.faults.degrade_candidate()
    run = tuneforge.run("support-qa-vi", FINE_TUNING, name="vi-2.jsonl")
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, "support-qa-vi")
    assert run.output["decision"] == "NOT_PROMOTED" and not evaluation["passed"]
    assert "NotPromoted" in tuneforge.aws.states_entered(run.execution["executionArn"])
    assert tuneforge.champion("support-qa-vi") == champion
    assert (
        tuneforge.aws.client("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"]["Value"]
        == parameter
    )
    [endpoint] = run.item["endpoints"]
    assert endpoint["purpose"] == "evaluation" and endpoint["deleted_at"]
    assert tuneforge.endpoint_arns() == [champion["invocable_arn"]]
    assert_clean(tuneforge, first, run)
    record("evaluation below the gate (degraded candidate)", tuneforge, first, run)


def test_execution_timeout_is_cleaned_up_by_the_status_change_rule(short_timeout_cdk_out):
    """The stage's execution timeout (4 h here) fires while a 14-day job trains; the fallback check keeps
    WaitForJob's heartbeat alive meanwhile. No Catch runs on a timeout: the ExecutionEndedAbnormally
    rule hands the status-change event to Cleanup, which stops the job. Emulated time is discrete-event
    time, so however long the handlers take in wall time, the timeout fires after exactly 4 h."""
    from local import Emulator

    with Emulator(job_duration=14 * 86400, auto_schedule=True) as aws:
        stage = TuneforgeStage(aws, short_timeout_cdk_out)
        stage.upload("support-qa-vi", FINE_TUNING)
        execution = stage.started(1)["executionArn"]
        aws.settle()  # the timeout, the cleanup it sets off and the job's stop: nothing is left due
        run = stage.finish(execution)
        assert run.status == "TIMED_OUT", run.execution
        history = aws.history(execution)
        assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionTimedOut", history[-3:]
        assert history[-1]["timestamp"] - history[0]["timestamp"] == timedelta(hours=4)  # emulated time, exactly
        assert stage.aws.states_entered(run.execution["executionArn"])[-1] == "WaitForJob"
        heartbeats = [e for e in aws.journal if e["event"] == "events.scheduled" and "FallbackJobCheck" in e["rule"]]
        assert len(heartbeats) == 4 * 4  # every 15 minutes (the last one at 4 h, just before the timeout)
        item = run.item
        assert item["status"] == "FAILED" and item["error"] == "States.Timeout", item
        assert [j["status"] for j in stage.jobs()] == ["Stopped"]
        cleanups = [
            e for e in aws.journal if e["event"] == "events.delivered" and "ExecutionEndedAbnormally" in e["rule"]
        ]
        assert len(cleanups) == 1 and not cleanups[0]["errored"], cleanups
        assert stage.leftover_endpoints(run) == []
        # No Catch runs on a timeout, so Cleanup itself tells the topic (once).
        assert [m["outcome"] for m in run.notifications] == ["TIMED_OUT"] and item["run_outcome"] == "TIMED_OUT"
        assert run.notifications[0]["error"] == "States.Timeout" and "\n" not in run.notifications[0]["cause"]
        record("execution timeout (4 h stage timeout, 14-day job)", stage, run)


def test_transitions_do_not_grow_with_the_job_duration(long_job_cdk_out, emulator):
    """A 14-day job costs the run no more state transitions than a 1-hour one: WaitForJob parks a task
    token; the fallback check (every 10 h in this stage, on its own schedule) only sends heartbeats
    meanwhile. bench/transitions.py measures the same with the check on its 15-minute schedule."""
    aws = emulator
    aws.settings.auto_schedule = True
    stage = TuneforgeStage(aws, long_job_cdk_out)
    short = stage.run("support-qa-vi", FINE_TUNING)
    aws.settings.job_duration = 14 * 86400
    checks_before = len([e for e in aws.journal if e["event"] == "events.scheduled"])
    long = stage.run("support-qa-vi", FINE_TUNING, name="vi-long.jsonl")
    checks = len([e for e in aws.journal if e["event"] == "events.scheduled"]) - checks_before
    assert short.status == long.status == "SUCCEEDED", long.execution
    assert long.execution["stopDate"] - long.execution["startDate"] > timedelta(days=14)
    assert checks >= 14 * 24 // 10
    counts = {}
    for name, run in (("short", short), ("long", long)):
        history = aws.history(run.execution["executionArn"])
        states = aws.states_entered(run.execution["executionArn"])
        counts[name] = sum(1 for e in history if e["type"].endswith("StateEntered"))
        assert counts[name] <= 60, states
        assert states[: states.index("DeployForEvaluation")] == [
            "Validate",
            "DatasetValid?",
            "Estimate",
            "WithinBudget?",
            "StartCustomization",
            "WaitForJob",
        ]
    assert counts["long"] <= 1.5 * counts["short"], counts


# -- object keys as data owners write them ----------------------------------------------------------
# S3 sends the key URL-encoded (space as '+'); StartRun decodes it once. Bedrock reads only keys of ASCII
# letters, digits and -!_*'(). (API_TrainingDataConfig s3Uri pattern, at most 1,024 characters), so the
# job never reads the upload: Validate copies the validated version to snapshots/<run-id>/, a key of ours.
ODD_NAME = "tập huấn+1 100%.jsonl"


def _run_input(run: RunResult) -> dict:
    return json.loads(run.execution["input"])


def _upload_run(
    stage: TuneforgeStage, key: str, body: bytes, timeout: float = TuneforgeStage.WALL_TIMEOUT
) -> tuple[dict, RunResult]:
    before = len(stage.aws.executions(stage.state_machine))
    put = stage.data_owner.upload(stage.data_bucket, key, body)
    return put, stage.finish(stage.started(before + 1)["executionArn"], timeout=timeout)


def _trained_on(stage: TuneforgeStage, run: RunResult, split: str = "training") -> bytes:
    """The bytes the run's job read: its snapshot, which must be the only thing it was pointed at."""
    job = stage.aws.client("bedrock").get_model_customization_job(jobIdentifier=run.item["job_arn"])
    uri = (
        job["trainingDataConfig"]["s3Uri"]
        if split == "training"
        else job["validationDataConfig"]["validators"][0]["s3Uri"]
    )
    assert uri == f"s3://{stage.data_bucket}/snapshots/{run.run_id}/{split}.jsonl", uri
    return stage.inspect("s3").get_object(Bucket=stage.data_bucket, Key=uri.split("/", 3)[3])["Body"].read()


def test_a_key_s3_encodes_trains_on_a_snapshot_of_exactly_the_uploaded_version(tuneforge):
    key = "incoming/support-qa-vi/Q_(v2)!'*.jsonl"  # every one of ( ) ! ' * arrives percent-encoded
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    put, run = _upload_run(tuneforge, key, body)
    assert run.status == "SUCCEEDED", run.execution
    assert _run_input(run)["dataset"]["training"] == {
        "bucket": tuneforge.data_bucket,
        "key": key,
        "version_id": put["VersionId"],
    }
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[:5] == ["Validate", "DatasetValid?", "Estimate", "WithinBudget?", "StartCustomization"], states
    assert _trained_on(tuneforge, run) == body
    [snapshot] = run.item["snapshot_files"]
    assert (
        snapshot["source_uri"] == f"s3://{tuneforge.data_bucket}/{key}"
        and snapshot["source_version_id"] == put["VersionId"]
        and snapshot["source_etag"] == put["ETag"]
    )
    assert_clean(tuneforge, run)
    record("key with ( ) ! ' * (encoded by S3): trains on its snapshot", tuneforge, run)


@pytest.mark.parametrize("folder", ["", "dữ liệu/"], ids=["single-file", "manifest-in-a-vietnamese-folder"])
def test_a_key_bedrock_would_refuse_trains_on_a_snapshot_under_a_key_it_accepts(tuneforge, folder):
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    data_key = f"incoming/support-qa-vi/{folder}{ODD_NAME}"
    if folder:
        data = tuneforge.data_owner.upload(tuneforge.data_bucket, data_key, body)  # starts nothing: the manifest does
        put, run = _upload_run(
            tuneforge, f"incoming/support-qa-vi/{folder}manifest.json", json.dumps({"training": ODD_NAME}).encode()
        )
        assert _run_input(run)["dataset"]["training"] == {
            "bucket": tuneforge.data_bucket,
            "key": data_key,
            "version_id": None,
        }
        version = data["VersionId"]  # the manifest names a key: Validate pins the version it read
    else:
        put, run = _upload_run(tuneforge, data_key, body)
        version = put["VersionId"]
    assert run.status == "SUCCEEDED" and run.item["decision"] == "PROMOTED", (run.execution, run.item)
    assert _trained_on(tuneforge, run) == body
    [snapshot] = run.item["snapshot_files"]
    assert (
        snapshot["source_uri"] == f"s3://{tuneforge.data_bucket}/{data_key}"
        and snapshot["source_version_id"] == version
    )
    tags = tuneforge.aws.client("bedrock").list_tags_for_resource(resourceARN=run.item["job_arn"])["tags"]
    assert all(tag["value"].isascii() for tag in tags), tags  # Bedrock's TagValue pattern refuses 'ậ'
    assert_clean(tuneforge, run)
    record(
        f"key with space, +, %, Vietnamese letters ({'manifest' if folder else 'single file'}): trains on its snapshot",
        tuneforge,
        run,
    )


def test_a_1000_character_key_trains_on_a_snapshot(tuneforge):
    name = "dữ liệu " + "x" * 970 + ".jsonl"  # 1,007 characters, 1,011 UTF-8 bytes: S3's limit is 1,024 bytes
    key = f"incoming/support-qa-vi/{name}"
    assert 1000 < len(key) and len(key.encode()) <= 1024 < len(f"s3://{tuneforge.data_bucket}/{key}".encode())
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    put, run = _upload_run(tuneforge, key, body)
    assert run.status == "SUCCEEDED", run.execution
    assert _trained_on(tuneforge, run) == body
    assert_clean(tuneforge, run)
    record("key of 1,000+ characters: trains on its snapshot", tuneforge, run)


def test_an_upload_overwritten_while_its_run_trains_changes_nothing_the_run_trains_on(tuneforge):
    """Run 1 validated version 1; the same key is then overwritten with a broken file (run 2, rejected)
    while run 1's job is in progress. Run 1 still trains, is evaluated and recorded on version 1."""
    key = "incoming/support-qa-vi/overwritten.jsonl"
    good = (ROOT / "samples" / FINE_TUNING).read_bytes()
    broken = (ROOT / "samples" / "broken" / "nova-micro-broken.jsonl").read_bytes()
    tuneforge.aws.pause()  # the job stays InProgress until time moves
    first = tuneforge.data_owner.upload(tuneforge.data_bucket, key, good)
    run1_arn = tuneforge.started(1)["executionArn"]
    tuneforge.aws.settle()
    assert tuneforge.aws.states_entered(run1_arn)[-1] == "WaitForJob"
    second = tuneforge.data_owner.upload(tuneforge.data_bucket, key, broken)
    run2_arn = tuneforge.started(2)["executionArn"]
    tuneforge.aws.resume()
    run1, run2 = tuneforge.finish(run1_arn), tuneforge.finish(run2_arn)
    assert run2.item["status"] == "REJECTED" and run2.item.get("job_arn") is None
    assert run1.status == "SUCCEEDED" and run1.item["decision"] == "PROMOTED", run1.execution
    assert _trained_on(tuneforge, run1) == good
    [snapshot] = run1.item["snapshot_files"]
    assert snapshot["source_version_id"] == first["VersionId"] != second["VersionId"]
    assert run1.item["dataset_version"] == first["VersionId"]
    tags = {
        t["key"]: t["value"]
        for t in tuneforge.aws.client("bedrock").list_tags_for_resource(resourceARN=run1.item["output_model_arn"])[
            "tags"
        ]
    }
    assert tags["tuneforge:dataset-version"] == first["VersionId"]
    # Deleting the upload afterwards changes nothing either: the snapshot is the model's lineage.
    tuneforge.inspect("s3").delete_object(Bucket=tuneforge.data_bucket, Key=key)
    assert _trained_on(tuneforge, run1) == good
    record("upload overwritten (broken) while run 1 trains: run 1 trains on version 1, run 2 rejected", tuneforge, run1)


def test_a_held_out_split_of_an_oddly_named_upload_trains_on_a_copy_of_exactly_that_version(tuneforge):
    key = f"incoming/support-qa-vi-holdout/{ODD_NAME}"
    body = (ROOT / "samples" / FINE_TUNING).read_bytes()
    put, run = _upload_run(tuneforge, key, body)
    assert run.status == "SUCCEEDED", run.execution
    assert _run_input(run)["dataset"]["training"] == {
        "bucket": tuneforge.data_bucket,
        "key": key,
        "version_id": put["VersionId"],
    }
    [job] = tuneforge.jobs()
    uri = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])[
        "trainingDataConfig"
    ]["s3Uri"]
    assert uri == f"s3://{tuneforge.data_bucket}/snapshots/{run.run_id}/training.jsonl"
    bucket, copy_key = uri.removeprefix("s3://").split("/", 1)
    trained = tuneforge.inspect("s3").get_object(Bucket=bucket, Key=copy_key)["Body"].read().splitlines()
    uploaded = [line.strip() for line in body.splitlines() if line.strip()]
    assert trained and set(trained) <= set(uploaded) and len(trained) + run.item["evaluation_examples"] == len(uploaded)
    assert_clean(tuneforge, run)
    record("key with space, +, %, Vietnamese letters, held-out split: trains on the split", tuneforge, run)


# -- one champion per profile, by upload order (lambdas/domain/champion.py) ---------------------------
def _two_uploads(stage: TuneforgeStage, older_job_seconds: int, newer_job_seconds: int) -> tuple[RunResult, RunResult]:
    """Two uploads to support-qa-vi a minute apart, whose jobs take the given emulated times."""
    aws = stage.aws
    aws.pause()
    aws.settings.job_duration = older_job_seconds
    stage.upload("support-qa-vi", FINE_TUNING, "older.jsonl")
    older = stage.started(1)["executionArn"]
    aws.settle()
    aws.advance(60)
    aws.settings.job_duration = newer_job_seconds
    stage.upload("support-qa-vi", FINE_TUNING, "newer.jsonl")
    newer = stage.started(2)["executionArn"]
    aws.settle()
    assert aws.states_entered(older)[-1] == aws.states_entered(newer)[-1] == "WaitForJob"
    aws.resume()
    return stage.finish(older, timeout=120), stage.finish(newer, timeout=120)


def _only_the_champion_bills(stage: TuneforgeStage, champion_run: RunResult, *runs: RunResult) -> None:
    champion = stage.champion("support-qa-vi")
    assert champion["run_id"] == champion_run.run_id
    assert stage.endpoint_arns() == [champion["invocable_arn"]], stage.aws.endpoints()
    parameter = stage.inspect("ssm").get_parameter(Name="/tuneforge/dev/champions/support-qa-vi")["Parameter"]["Value"]
    assert parameter == champion["invocable_arn"]
    for run in runs:
        # A superseded run passed the gate and was decided: NOT_PROMOTED, with its decision SUPERSEDED; a champion
        # replaced later was PROMOTED when it ended.
        expected = "PROMOTED" if run.item["decision"] == "PROMOTED" else "NOT_PROMOTED"
        assert [m["outcome"] for m in run.notifications] == [expected], run.notifications
        assert run.item["run_outcome"] == expected


def _after_the_retention_only_the_champions_model_is_left(stage: TuneforgeStage, champion_run: RunResult) -> None:
    """The janitor (hourly, on the emulated clock) deletes the other run's model once the retention
    (7 days) has passed: a superseded run's, or a retired champion's."""
    stage.aws.advance(8 * 86400)
    models = [m["modelArn"] for m in stage.inspect("bedrock").list_custom_models()["modelSummaries"]]
    assert models == [champion_run.item["output_model_arn"]], models
    assert stage.endpoint_arns() == [stage.champion("support-qa-vi")["invocable_arn"]]


def test_an_older_upload_finishing_last_is_superseded_and_buys_nothing(tuneforge):
    older, newer = _two_uploads(tuneforge, older_job_seconds=7200, newer_job_seconds=3600)
    assert newer.item["decision"] == "PROMOTED" and older.item["decision"] == "SUPERSEDED", (older.item, newer.item)
    assert older.item["outcome"] == "superseded" and older.item["superseded_by"] == newer.run_id
    assert [e["purpose"] for e in older.item["endpoints"]] == ["evaluation"]  # no throughput was bought
    assert older.notifications[0]["decision"] == "SUPERSEDED"
    _only_the_champion_bills(tuneforge, newer, older, newer)
    record("two uploads, the older finishing last: SUPERSEDED, the newer stays champion", tuneforge, older, newer)
    _after_the_retention_only_the_champions_model_is_left(tuneforge, newer)


def test_a_newer_upload_finishing_last_replaces_the_older_champion(tuneforge):
    older, newer = _two_uploads(tuneforge, older_job_seconds=3600, newer_job_seconds=7200)
    assert older.item["decision"] == newer.item["decision"] == "PROMOTED", (older.item, newer.item)
    retired = [e for e in tuneforge.registry.get(older.run_id)["endpoints"] if e.get("retired_at")]
    assert len(retired) == 1  # retire_previous_champion: the replaced champion's throughput is deleted
    _only_the_champion_bills(tuneforge, newer, older, newer)
    record("two uploads, the newer finishing last: it replaces the older champion", tuneforge, older, newer)
    _after_the_retention_only_the_champions_model_is_left(tuneforge, newer)


def test_two_uploads_finishing_together_leave_the_newer_as_the_one_champion(tuneforge):
    older, newer = _two_uploads(
        tuneforge, older_job_seconds=3600, newer_job_seconds=3540
    )  # both end at the same emulated time
    assert newer.item["decision"] == "PROMOTED" and older.item["decision"] in ("PROMOTED", "SUPERSEDED"), (
        older.item,
        newer.item,
    )
    _only_the_champion_bills(tuneforge, newer, older, newer)
    record("two uploads finishing together: the newer is the one champion", tuneforge, older, newer)


# -- uploads a person must be told about in words they can act on --------------------------------------
def _rejected(stage: TuneforgeStage, key: str, body: bytes) -> tuple[RunResult, list[str]]:
    _, run = _upload_run(stage, key, body)
    assert run.status == "SUCCEEDED" and run.item["status"] == "REJECTED", (run.execution, run.item)
    assert stage.jobs() == []
    [message] = run.notifications
    assert message["outcome"] == "REJECTED"
    return run, message["validation"]["summary"]


def test_a_single_50_mb_record_is_rejected_naming_its_line_and_no_job_starts(tuneforge):
    record_text = json.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "x"}],
            "messages": [
                {"role": "user", "content": [{"text": "hỏi " * ((8 << 20) + (500 << 10))}]},
                {"role": "assistant", "content": [{"text": "đáp"}]},
            ],
        },
        ensure_ascii=False,
    )
    body = (ROOT / "samples" / FINE_TUNING).read_bytes() + record_text.encode() + b"\n"
    lines = body.count(b"\n")
    run, summary = _rejected(tuneforge, "incoming/support-qa-vi/huge.jsonl", body)
    # About 53 MB: under the 64 MiB longest line the reader takes, so only the per-record cap refuses it.
    assert 50 << 20 < len(body) < 64 << 20
    [too_large] = [line for line in summary if "record" in line and "MiB" in line]
    assert f"line {lines}" in too_large and "tokens" in too_large, summary
    assert_clean(tuneforge, run)
    record("a single 50 MB record: rejected, naming its line", tuneforge, run)


def test_a_300_kb_field_is_reported_in_one_line_and_never_fills_a_state_output(tuneforge):
    """The review's finding: a dataset string was copied whole into Validate's summary, the notice, the
    history and the trace; a 300 KB field made a 301 KB state output, over Step Functions' 256 KiB."""
    role = "x" * 300_000
    record_text = json.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "x"}],
            "messages": [
                {"role": role, "content": [{"text": "hỏi"}]},
                {"role": "assistant", "content": [{"text": "đáp"}]},
            ],
        }
    )
    body = (ROOT / "samples" / FINE_TUNING).read_bytes() + record_text.encode() + b"\n"
    run, summary = _rejected(tuneforge, "incoming/support-qa-vi/huge-field.jsonl", body)
    [invalid_role] = [line for line in summary if "role" in line]
    lines = body.count(b"\n")
    assert len(invalid_role) <= 300 and invalid_role.endswith("…") and f"line {lines}" in invalid_role, invalid_role
    history = tuneforge.aws.history(run.execution["executionArn"])
    largest = max(len((e.get("stateExitedEventDetails") or {}).get("output", "")) for e in history)
    assert largest < 16 * 1024, largest  # every state's output, far below the 256 KiB quota
    # The report in S3 keeps the whole message for the data owner.
    bucket, key = run.item["validation_report"].removeprefix("s3://").split("/", 1)
    assert role in tuneforge.data_owner.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    record("a 300 KB field: rejected in one bounded line, every state output small", tuneforge, run)


def test_a_gzip_upload_is_named_as_such(tuneforge):
    import gzip

    run, summary = _rejected(
        tuneforge, "incoming/support-qa-vi/data.jsonl", gzip.compress((ROOT / "samples" / FINE_TUNING).read_bytes())
    )
    assert len(summary) == 1 and "gzip" in summary[0] and "uncompressed" in summary[0], summary
    record("a gzip-compressed upload: rejected, named as gzip", tuneforge, run)


# -- the cost guard fails closed (lambdas/domain/dataset_check.py estimate_run) -----------------------
@pytest.mark.parametrize(
    "changes, verdict",
    [
        (
            {"accept_unpriced_runs": False},
            "refused: not verifiable against the caps because these are unpriced: training",
        ),
        (
            {
                "prices": {
                    "training_per_1k_tokens": "1000",
                    "storage_per_month": "1.95",
                    "as_of": "2026-12-04",
                    "source": "a test's figures",
                }
            },
            "OVER the budget cap of 50.00 USD",
        ),
        # One model unit of Nova Micro without commitment: 60.50 USD x 730 h = 44,165 USD a month.
        (
            {"promotion_monthly_cap_usd": 1000},
            "a promotion keeps 44165.00 USD a month (lower bound) running, OVER promotion_monthly_cap_usd of 1000.00 USD",
        ),
    ],
    ids=["unpriced", "over-budget", "promotion-over-its-monthly-cap"],
)
def test_a_run_it_cannot_price_or_cannot_afford_is_rejected_before_any_job(tuneforge, changes, verdict):
    tuneforge.deploy_profile("support-qa-vi", **changes)
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert run.status == "SUCCEEDED" and tuneforge.jobs() == [], run.execution
    states = tuneforge.aws.states_entered(run.execution["executionArn"])
    assert states[-4:] == ["Estimate", "WithinBudget?", "NotifyRejected", "Rejected"], states
    [message] = run.notifications
    assert message["outcome"] == "REJECTED" and verdict in message["estimate"]["summary"], message["estimate"]
    what = (
        "unpriced"
        if "accept_unpriced_runs" in changes
        else "promotion over its monthly cap"
        if "promotion_monthly_cap_usd" in changes
        else "over budget"
    )
    record(f"cost guard: {what} run rejected before any job", tuneforge, run)
