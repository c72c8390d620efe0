"""The janitor end to end: the dev stage deployed from cdk.out, real runs, then the janitor's schedule
fired pass by pass while emulated time is moved by hand (scheduled rules are switched off after the
run, so only the passes the test fires happen). One case per kind of leftover: an evaluation
deployment cleanup could not delete, a committed throughput, the custom model of a run that was not
promoted, one the janitor cannot delete, and the champion it must not touch."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from local import authz

from .stage import TuneforgeStage

pytestmark = pytest.mark.e2e

FINE_TUNING = "fine-tuning/nova-micro-vi-qa.jsonl"
DISTILLATION = "distillation/support-prompts.jsonl"  # evaluated on a deployment, NOT_PROMOTED
HOUR, DAY = 3600, 86400
RETENTION = 7 * DAY  # model_retention_days of the dev stage (the default)
BOUND = 6 * HOUR  # janitor_alarm_after_hours (the default)


def by_hand(stage: TuneforgeStage) -> None:
    """From now on only the test moves time and fires the janitor."""
    stage.aws.settings.auto_schedule = False
    stage.aws.settle()


def janitor_pass(stage: TuneforgeStage) -> list[dict]:
    """One pass, as the schedule fires it; returns what it published on the topic."""
    before = len(stage.messages())
    invoked = len([i for i in stage.aws.invocations() if "Janitor" in i["function"]])
    assert len(stage.aws.fire_scheduled_rules("JanitorSchedule")) == 1
    stage.aws.wait_idle(timeout=60)
    stage.aws.settle()
    passes = [i for i in stage.aws.invocations() if "Janitor" in i["function"]]
    assert len(passes) == invoked + 1 and passes[-1]["error"] is None, passes[-1:]
    return [m for m in stage.messages()[before:] if m.get("janitor")]


def models(stage: TuneforgeStage) -> set[str]:
    return {m["modelArn"] for m in stage.inspect("bedrock").list_custom_models()["modelSummaries"]}


def marked(stage: TuneforgeStage, run_id: str) -> bool:
    return "sweep" in (stage.registry.get(run_id) or {})


def emf(text: str, metric: str) -> list[float]:
    values = []
    for line in text.splitlines():
        if line.startswith('{"_aws"'):
            record = json.loads(line)
            if metric in record and record.get("service", "").endswith("-Janitor"):
                value = record[metric]  # Powertools writes a list of the values added in one invocation
                values.append(value[-1] if isinstance(value, list) else value)
    return values


@pytest.fixture
def committed(committed_cdk_out, emulator) -> TuneforgeStage:
    emulator.settings.auto_schedule = True
    return TuneforgeStage(emulator, committed_cdk_out)


def test_an_evaluation_deployment_cleanup_could_not_delete_is_deleted_and_the_model_after_the_retention(tuneforge):
    tuneforge.aws.faults.api_error("DeleteCustomModelDeployment", "ConflictException", 400, times=1)
    run = tuneforge.run("distilled-support", DISTILLATION)
    assert run.status == "SUCCEEDED" and run.output["decision"] == "NOT_PROMOTED", run.execution
    [endpoint] = run.item["endpoints"]
    assert (
        endpoint["delete_refused"] and not endpoint.get("deleted_at") and tuneforge.endpoint_arns() == [endpoint["arn"]]
    )
    model = run.item["output_model_arn"]
    assert marked(tuneforge, run.run_id)
    by_hand(tuneforge)

    assert janitor_pass(tuneforge) == []
    assert tuneforge.endpoint_arns() == []
    [swept] = tuneforge.registry.get(run.run_id)["endpoints"]
    assert swept["deleted_at"] and swept["deleted_by"] == "janitor"
    assert model in models(tuneforge) and marked(tuneforge, run.run_id)  # kept for the retention

    tuneforge.aws.advance(RETENTION - HOUR)
    janitor_pass(tuneforge)
    assert model in models(tuneforge)
    tuneforge.aws.advance(2 * HOUR)
    janitor_pass(tuneforge)
    assert model not in models(tuneforge)
    item = tuneforge.registry.get(run.run_id)
    assert item["model_deleted_at"] and not marked(tuneforge, run.run_id)
    assert item["janitor"][model]["resolved"] == "deleted"


def test_a_committed_throughput_is_reported_with_its_end_date_and_deleted_once_the_term_ends(committed):
    committed.aws.faults.stall_endpoint("provisioned")  # the winner's committed throughput never gets ready
    run = committed.run("support-qa-vi", FINE_TUNING)
    assert run.status == "FAILED" and run.execution["error"] == "EndpointTimedOut", run.execution
    [throughput] = [e for e in run.item["endpoints"] if e["purpose"] == "production"]
    assert (
        throughput["commitment"] == "OneMonth"
        and "commitment" in throughput["delete_refused"]
        and not throughput.get("deleted_at")
    )
    term_ends = committed.inspect("bedrock").get_provisioned_model_throughput(provisionedModelId=throughput["arn"])[
        "commitmentExpirationTime"
    ]
    by_hand(committed)

    [report] = janitor_pass(committed)
    assert report["arn"] == throughput["arn"] and report["state"] == "committed" and report["run_id"] == run.run_id
    assert datetime.fromisoformat(report["commitment_ends"]) == term_ends.replace(microsecond=0)
    assert committed.endpoint_arns() == [throughput["arn"]]
    committed.aws.advance(RETENTION + HOUR)
    assert janitor_pass(committed) == []  # reported once; the model waits for the throughput that serves it
    assert committed.endpoint_arns() == [throughput["arn"]] and run.item["output_model_arn"] in models(committed)

    committed.aws.advance((term_ends - committed.aws.clock.now_dt()).total_seconds() + 60)
    assert janitor_pass(committed) == []
    assert committed.endpoint_arns() == [] and run.item["output_model_arn"] not in models(committed)
    item = committed.registry.get(run.run_id)
    assert (
        item["janitor"][throughput["arn"]]["resolved"] == "deleted"
        and item["janitor"][throughput["arn"]]["commitment_ends"] == report["commitment_ends"]
    )
    assert not marked(committed, run.run_id)


def test_a_model_still_billing_past_the_bound_is_notified_once_and_counted_for_the_alarm(tuneforge, capsys):
    run = tuneforge.run("distilled-support", DISTILLATION)
    assert run.status == "SUCCEEDED" and tuneforge.endpoint_arns() == [], run.execution
    model = run.item["output_model_arn"]
    # Someone put the candidate behind an endpoint of their own: Bedrock refuses to delete a model in use.
    tuneforge.aws.client("bedrock").create_custom_model_deployment(
        modelDeploymentName="someones-experiment", modelArn=model
    )
    by_hand(tuneforge)
    tuneforge.aws.advance(RETENTION)
    capsys.readouterr()

    reports = []
    for _ in range(12):  # twelve hours of hourly passes, the first when the retention ends
        reports += janitor_pass(tuneforge)
        tuneforge.aws.advance(HOUR)
    [report] = reports
    assert (report["arn"], report["kind"], report["state"], report["run_id"]) == (
        model,
        "custom-model",
        "refused",
        run.run_id,
    )
    assert "in use" in report["reason"] and report["overdue"] and report["attempts"] >= 3
    assert model in models(tuneforge)
    overdue = emf(capsys.readouterr().out, "BillableLeftoversOverdue")
    assert len(overdue) == 12 and overdue[0] == 0 and overdue[-1] == 1  # 0 until the bound, then 1

    tuneforge.aws.advance(DAY)
    assert [m["arn"] for m in janitor_pass(tuneforge) + janitor_pass(tuneforge)] == [model]  # a day later, once more


def test_the_champions_model_and_endpoint_survive_the_janitor(tuneforge):
    # The promotion writes the champion item, then fails to publish its parameter: the run fails, cleanup
    # keeps the promoted throughput and, the run's item not saying promoted, marks its model for the janitor.
    tuneforge.aws.faults.deny("PutParameter", service="ssm")
    run = tuneforge.run("support-qa-vi", FINE_TUNING)
    assert run.status == "FAILED" and run.execution["error"] == "AccessDeniedException", run.execution
    tuneforge.aws.faults.clear()
    champion = tuneforge.champion("support-qa-vi")
    assert champion["run_id"] == run.run_id and tuneforge.endpoint_arns() == [champion["invocable_arn"]]
    assert marked(tuneforge, run.run_id)
    by_hand(tuneforge)

    tuneforge.aws.advance(RETENTION + DAY)
    assert janitor_pass(tuneforge) == []
    assert tuneforge.endpoint_arns() == [champion["invocable_arn"]] and champion["custom_model_arn"] in models(
        tuneforge
    )
    item = tuneforge.registry.get(run.run_id)
    assert item["janitor"][champion["custom_model_arn"]]["resolved"] == "kept" and "model_deleted_at" not in item
    assert not marked(tuneforge, run.run_id)


def test_the_janitors_role_deletes_only_what_carries_a_profile_of_its_stage(tuneforge):
    """Its deletes are conditioned on the tuneforge:profile tag; its reads are not, so a resource that is
    gone answers ResourceNotFound (where a tag-conditioned delete answers AccessDenied)."""
    run = tuneforge.run("distilled-support", DISTILLATION)
    model = run.item["output_model_arn"]
    operator = tuneforge.aws.client("bedrock")
    untagged = operator.create_custom_model_deployment(modelDeploymentName="untagged", modelArn=model)[
        "customModelDeploymentArn"
    ]
    other = operator.create_custom_model_deployment(
        modelDeploymentName="other-app", modelArn=model, tags=[{"key": "tuneforge:profile", "value": "not-a-profile"}]
    )["customModelDeploymentArn"]
    ours = operator.create_custom_model_deployment(
        modelDeploymentName="ours", modelArn=model, tags=[{"key": "tuneforge:profile", "value": "distilled-support"}]
    )["customModelDeploymentArn"]
    role = tuneforge.result.stack("Pipeline").physical_id("JanitorRole", "AWS::IAM::Role")
    janitor = tuneforge.aws.client("bedrock", principal=tuneforge.inspect("iam").get_role(RoleName=role)["Role"]["Arn"])

    for refused in (untagged, other):
        with pytest.raises(ClientError, match="AccessDenied"):
            janitor.delete_custom_model_deployment(customModelDeploymentIdentifier=refused)
    janitor.delete_custom_model_deployment(customModelDeploymentIdentifier=ours)
    with pytest.raises(ClientError, match="ResourceNotFound"):
        janitor.get_custom_model_deployment(customModelDeploymentIdentifier=ours)
    with pytest.raises(ClientError, match="AccessDenied"):
        janitor.delete_custom_model_deployment(customModelDeploymentIdentifier=ours)
    assert {(d["action"], d["resource"]) for d in authz.DENIALS} == {
        ("bedrock:DeleteCustomModelDeployment", arn) for arn in (untagged, other, ours)
    }


def _role_client(tuneforge: TuneforgeStage, role_id: str, service: str):
    role = tuneforge.result.stack("Pipeline").physical_id(role_id, "AWS::IAM::Role")
    return tuneforge.aws.client(service, principal=tuneforge.inspect("iam").get_role(RoleName=role)["Role"]["Arn"])


def test_the_pipelines_stops_deletes_and_invocations_reach_only_what_this_stage_tagged(tuneforge):
    """Cleanup stops jobs and deletes endpoints, FinalizePromotion retires endpoints and EvaluateBatch invokes them only
    when they carry tuneforge:profile with one of the stage's profiles: another application's job or endpoint in the
    same account is refused (AccessDenied), the stage's own passes authorization."""
    run = tuneforge.run("distilled-support", DISTILLATION)
    model = run.item["output_model_arn"]
    operator = tuneforge.aws.client("bedrock")
    job = operator.get_model_customization_job(jobIdentifier=run.item["job_arn"])
    foreign_job = operator.create_model_customization_job(
        jobName="other-app-job",
        customModelName="other-app-model",
        roleArn=job["roleArn"],
        baseModelIdentifier=job["baseModelArn"],
        customizationType=job["customizationType"],
        trainingDataConfig=job["trainingDataConfig"],
        outputDataConfig=job["outputDataConfig"],
        **({"customizationConfig": job["customizationConfig"]} if job.get("customizationConfig") else {}),
        **({"hyperParameters": job["hyperParameters"]} if job.get("hyperParameters") else {}),
    )["jobArn"]
    foreign = operator.create_custom_model_deployment(
        modelDeploymentName="other-app", modelArn=model, tags=[{"key": "tuneforge:profile", "value": "not-a-profile"}]
    )["customModelDeploymentArn"]
    ours = operator.create_custom_model_deployment(
        modelDeploymentName="ours", modelArn=model, tags=[{"key": "tuneforge:profile", "value": "distilled-support"}]
    )["customModelDeploymentArn"]
    tuneforge.aws.advance(3600)  # both deployments become Active

    cleanup = _role_client(tuneforge, "CleanupRole", "bedrock")
    with pytest.raises(ClientError, match="AccessDenied"):
        cleanup.stop_model_customization_job(jobIdentifier=foreign_job)
    evaluate = _role_client(tuneforge, "EvaluateBatchRole", "bedrock-runtime")
    converse = {"messages": [{"role": "user", "content": [{"text": "Xin chào"}]}]}
    with pytest.raises(ClientError, match="AccessDenied"):
        evaluate.converse(modelId=foreign, **converse)
    assert evaluate.converse(modelId=ours, **converse)["output"]["message"]["content"]
    for role in ("CleanupRole", "FinalizePromotionRole"):
        with pytest.raises(ClientError, match="AccessDenied"):
            _role_client(tuneforge, role, "bedrock").delete_custom_model_deployment(
                customModelDeploymentIdentifier=foreign
            )
    _role_client(tuneforge, "CleanupRole", "bedrock").delete_custom_model_deployment(
        customModelDeploymentIdentifier=ours
    )
    # (the foreign job itself fails on the data perimeter: it reads the snapshot from outside the VPC)
    refused = {(d["action"], d["resource"]) for d in authz.DENIALS if d["action"].startswith("bedrock:")}
    assert refused == {
        ("bedrock:StopModelCustomizationJob", foreign_job),
        ("bedrock:InvokeModel", foreign),
        ("bedrock:DeleteCustomModelDeployment", foreign),
    }
