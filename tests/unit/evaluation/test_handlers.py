"""The handlers chained as the state machine will chain them, on the emulator; what exists at the end of each path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from lambdas.domain.endpoints import EndpointFailed, EndpointTimedOut
from lambdas.domain.evaluation import EvaluationSetError
from lambdas.handlers import (
    check_endpoint,
    cleanup,
    deploy_endpoint,
    evaluate,
    evaluate_batch,
    finalize_promotion,
    prepare_evaluation,
    promote,
)
from tests.unit.evaluation.helpers import CHAMPION_PREFIX, evaluation_set_from

NOVA = "fine-tuning/nova-micro-vi-qa.jsonl"
TITAN = "fine-tuning/titan-support-prompt-completion.jsonl"


def _payload(value: dict) -> dict:
    """What Step Functions hands the next state: JSON, nothing else."""
    return json.loads(json.dumps(value))


def _trained(aws, profile_name: str, sample: str, **changes):
    profile = aws.profile(profile_name, **changes) if changes else aws.profiles[profile_name]
    run = aws.run(profile, sample)
    model = aws.train(run)
    aws.put_evaluation_set(profile.evaluation.dataset_key, evaluation_set_from(sample, limit=12))
    training = {"job_arn": aws.jobs[run.run_id], "status": "Completed", "output_model_arn": model}
    return _payload({"run": json.loads(run.model_dump_json()), "training": training}), run


def _evaluate(state: dict, context) -> dict:
    """PrepareEvaluation, one EvaluateBatch per batch as the Map state runs them, then Evaluate."""
    plan = _payload(prepare_evaluation.handler(state, context))
    for index in plan["batch_indices"]:
        evaluate_batch.handler(_payload({"job": plan["job"], "batch": index, "attempt": 0}), context)
    return evaluate.handler({"run": state["run"], "training": state["training"], "evaluation_plan": plan}, context)


def _wait_ready(aws, context, run_event, endpoint) -> dict:
    first = check_endpoint.handler({**run_event, "endpoint": endpoint}, context)
    assert first["ready"] is False and first["status"] == "Creating"
    aws.advance(max(aws.emulator.settings.provisioned_duration, aws.emulator.settings.deployment_duration))
    return check_endpoint.handler({**run_event, "endpoint": endpoint}, context)


def test_pass_path_ends_with_only_the_promoted_throughput(aws, context, capsys):
    state, run = _trained(aws, "support-qa-vi", NOVA)
    state["endpoint"] = _payload(deploy_endpoint.handler(state, context))
    assert set(state["endpoint"]) == {
        "kind",
        "name",
        "purpose",
        "model_arn",
        "requested_at",
        "arn",
        "model_units",
        "commitment",
        "why",
    }
    assert _wait_ready(aws, context, {"run": state["run"]}, state["endpoint"])["ready"] is True

    capsys.readouterr()
    state["evaluation"] = _payload(_evaluate(state, context))
    assert state["evaluation"]["passed"] is True and state["evaluation"]["examples"] == 12
    assert len(json.dumps(state)) < 16_000  # far below the 256 KB payload limit
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{") and "_aws" in line
    ]
    per_model = {(m["profile"], m["model"]) for m in emitted if "model" in m}
    assert per_model == {("support-qa-vi", "candidate"), ("support-qa-vi", "baseline")}
    assert any("EvaluationTokenF1" in m for m in emitted) and any("GatePassed" in m for m in emitted)

    state["promoted"] = _payload(promote.handler(state, context))["endpoint"]  # $.promoted.value.endpoint
    assert _wait_ready(aws, context, {"run": state["run"]}, state["promoted"])["status"] == "InService"
    result = finalize_promotion.handler(state, context)
    assert (
        result["parameter_name"] == f"{CHAMPION_PREFIX}/support-qa-vi"
        and result["invocable_arn"] == state["promoted"]["arn"]
    )

    kept = cleanup.handler({"run_id": run.run_id, "final_status": "SUCCEEDED"}, context)
    assert kept["kept_endpoints"] == [state["promoted"]["arn"]] and kept["deleted_endpoints"] == []
    assert aws.endpoints() == {"provisioned": [state["promoted"]["name"]], "deployments": []}
    item = aws.registry.get(run.run_id)
    assert (
        item["gate_passed"] is True
        and item["evaluation_report"].endswith("/evaluation.json")
        and item["outcome"] == "promoted"
    )


def test_gate_failure_path_ends_with_no_endpoint_and_the_champion_unchanged(aws, context):
    aws.faults.degrade_candidate("baseline")
    state, run = _trained(aws, "provisioned-only", TITAN)
    state["endpoint"] = _payload(deploy_endpoint.handler(state, context))
    _wait_ready(aws, context, {"run": state["run"]}, state["endpoint"])
    state["evaluation"] = _payload(_evaluate(state, context))
    assert state["evaluation"]["passed"] is False and "rouge_l" in state["evaluation"]["summary"]
    with pytest.raises(promote.GateNotPassed):
        promote.handler(state, context)
    result = cleanup.handler({"run_id": run.run_id, "final_status": "SUCCEEDED"}, context)
    assert result["deleted_endpoints"] == [state["endpoint"]["arn"]]
    assert aws.endpoints() == {"provisioned": [], "deployments": []}
    assert aws.champions.get_item(Key={"profile": "provisioned-only"}).get("Item") is None


def test_failed_endpoint_path_ends_with_no_endpoint(aws, context):
    aws.faults.fail_endpoint("provisioned")
    state, run = _trained(aws, "provisioned-only", TITAN)
    state["endpoint"] = _payload(deploy_endpoint.handler(state, context))
    aws.advance(aws.emulator.settings.provisioned_duration)
    with pytest.raises(EndpointFailed, match="Failed"):
        check_endpoint.handler({"run": state["run"], "endpoint": state["endpoint"]}, context)
    cleanup.handler({"run_id": run.run_id}, context)
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def test_an_endpoint_that_never_becomes_ready_times_out(aws, context):
    state, run = _trained(aws, "provisioned-only", TITAN)
    endpoint = _payload(deploy_endpoint.handler(state, context))
    endpoint["requested_at"] = (datetime.now(timezone.utc) - timedelta(hours=4)).isoformat(timespec="seconds")
    with pytest.raises(EndpointTimedOut, match="still Creating"):
        check_endpoint.handler({"run": state["run"], "endpoint": endpoint, "max_wait_seconds": 3600}, context)
    cleanup.handler({"run_id": run.run_id}, context)
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def test_error_during_evaluation_path_ends_with_no_endpoint(aws, context):
    state, run = _trained(aws, "support-qa-vi", NOVA)
    state["endpoint"] = _payload(deploy_endpoint.handler(state, context))
    _wait_ready(aws, context, {"run": state["run"]}, state["endpoint"])
    aws.s3.delete_object(Bucket="tuneforge-dev-data", Key=aws.profiles["support-qa-vi"].evaluation.dataset_key)
    with pytest.raises(EvaluationSetError, match="does not exist"):
        prepare_evaluation.handler(state, context)
    cleanup.handler({"run_id": run.run_id}, context)
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def test_incremental_profile_is_evaluated_against_the_champion(aws, context):
    first, _ = _trained(aws, "provisioned-only", TITAN)
    first["endpoint"] = _payload(deploy_endpoint.handler(first, context))
    _wait_ready(aws, context, {"run": first["run"]}, first["endpoint"])
    first["evaluation"] = _payload(_evaluate(first, context))
    assert first["evaluation"]["baseline_model"] == "meta.llama3-1-8b-instruct-v1:0"
    first["promoted"] = _payload(promote.handler(first, context))["endpoint"]
    finalize_promotion.handler(first, context)

    second, _ = _trained(aws, "provisioned-only", TITAN)  # another upload (object version) of the same data
    assert second["run"]["run_id"] != first["run"]["run_id"]
    second["endpoint"] = _payload(deploy_endpoint.handler(second, context))
    _wait_ready(aws, context, {"run": second["run"]}, second["endpoint"])
    evaluation = _evaluate(second, context)
    assert evaluation["baseline_model"] == first["promoted"]["arn"]
    # the champion knows the same data, so the new candidate cannot beat it by the required margin
    assert evaluation["passed"] is False
