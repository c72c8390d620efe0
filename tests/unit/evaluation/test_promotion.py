"""Promotion on the emulator: champion item and SSM parameter, what is deleted, what is retired, what cleanup keeps."""

from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from lambdas.domain.champion import current_champion, newer_champion, upload_order
from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.endpoints import (
    PROVISIONED,
    Endpoint,
    baseline_model_for,
    deploy_for_evaluation,
    endpoint_name_for,
    finalize_promotion,
    promote,
)
from tests.unit.evaluation.helpers import CHAMPION_PREFIX

TITAN = "fine-tuning/titan-support-prompt-completion.jsonl"
NOVA = "fine-tuning/nova-micro-vi-qa.jsonl"


def _evaluated(aws, profile, sample, key=None):
    """A run whose candidate is trained and whose evaluation endpoint is ready."""
    run = aws.run(profile, sample, key)
    model = aws.train(run)
    evaluation = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    aws.advance(max(aws.emulator.settings.provisioned_duration, aws.emulator.settings.deployment_duration))
    return run, model, evaluation


def _promote(aws, run, model, evaluation):
    promoted = promote(aws.bedrock, aws.registry, run, model, evaluation)
    aws.advance(aws.emulator.settings.provisioned_duration)
    result = finalize_promotion(
        aws.bedrock,
        aws.registry,
        aws.champions,
        aws.ssm,
        run,
        custom_model_arn=model,
        promoted=promoted,
        evaluation=evaluation,
        parameter_prefix=CHAMPION_PREFIX,
    )
    return promoted, result


def test_promotion_writes_the_champion_and_its_parameter_and_deletes_the_evaluation_endpoint(aws):
    run, model, evaluation = _evaluated(aws, aws.profiles["support-qa-vi"], NOVA)
    promoted, result = _promote(aws, run, model, evaluation)

    assert (
        promoted.kind == PROVISIONED
        and promoted.purpose == "production"
        and promoted.name == endpoint_name_for(run.run_id, "production")
    )
    described = aws.bedrock.get_provisioned_model_throughput(provisionedModelId=promoted.arn)
    assert described["status"] == "InService" and described["modelUnits"] == 1 and "commitmentDuration" not in described

    champion = current_champion(aws.champions, "support-qa-vi")
    assert champion == {
        "profile": "support-qa-vi",
        "custom_model_arn": model,
        "invocable_arn": promoted.arn,
        "provisioned_model_arn": promoted.arn,
        "run_id": run.run_id,
        "promoted_at": result.promoted_at,
        "upload_order": upload_order(run),
    }
    parameter = aws.ssm.get_parameter(Name=f"{CHAMPION_PREFIX}/support-qa-vi")["Parameter"]
    assert parameter["Value"] == promoted.arn and result.parameter_name == parameter["Name"]

    assert result.evaluation_endpoint_deleted == evaluation.arn
    assert aws.endpoints() == {"provisioned": [promoted.name], "deployments": []}
    entries = {e["name"]: e for e in aws.registry.get(run.run_id)["endpoints"]}
    assert entries[promoted.name]["promoted"] is True and entries[evaluation.name]["deleted_at"]
    assert aws.registry.get(run.run_id)["outcome"] == "promoted"


def test_cleanup_after_promotion_keeps_the_promoted_endpoint_and_is_idempotent(aws):
    run, model, evaluation = _evaluated(aws, aws.profiles["support-qa-vi"], NOVA)
    promoted, _ = _promote(aws, run, model, evaluation)
    first = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    second = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    for result in (first, second):
        assert result.kept_endpoints == [promoted.arn]
        assert result.deleted_endpoints == []
        assert result.already_gone == [evaluation.arn]
    assert aws.endpoints() == {"provisioned": [promoted.name], "deployments": []}


def test_a_matching_evaluation_throughput_is_promoted_in_place(aws):
    run, model, evaluation = _evaluated(aws, aws.profiles["provisioned-only"], TITAN)  # 1 unit, no commitment
    promoted, result = _promote(aws, run, model, evaluation)
    assert promoted.arn == evaluation.arn and result.evaluation_endpoint_deleted is None
    assert aws.endpoints() == {"provisioned": [evaluation.name], "deployments": []}
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).kept_endpoints == [evaluation.arn]


def test_committed_throughput_is_bought_with_its_commitment(aws):
    profile = aws.profile("provisioned-only", throughput={"model_units": 2, "commitment": "OneMonth"})
    run, model, evaluation = _evaluated(aws, profile, TITAN)
    promoted, result = _promote(aws, run, model, evaluation)
    described = aws.bedrock.get_provisioned_model_throughput(provisionedModelId=promoted.arn)
    assert described["commitmentDuration"] == "OneMonth" and described["modelUnits"] == 2
    assert promoted.arn != evaluation.arn and result.evaluation_endpoint_deleted == evaluation.arn
    assert aws.endpoints()["provisioned"] == [promoted.name]


def test_the_production_throughput_is_recorded_before_it_is_requested(aws):
    profile = aws.profile("provisioned-only", throughput={"model_units": 2})
    run, model, evaluation = _evaluated(aws, profile, TITAN)
    aws.faults.deny("CreateProvisionedModelThroughput", times=1)
    with pytest.raises(botocore.exceptions.ClientError):
        promote(aws.bedrock, aws.registry, run, model, evaluation)
    names = [e["name"] for e in aws.registry.get(run.run_id)["endpoints"]]
    assert names == [evaluation.name, endpoint_name_for(run.run_id, "production")]
    # the gate-failure / error path: cleanup removes every endpoint of the run
    result = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    assert result.deleted_endpoints == [evaluation.arn] and result.kept_endpoints == []
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def _two_generations(aws, retire: bool, commitment: str = "none"):
    profile = aws.profile("support-qa-vi", throughput={"retire_previous_champion": retire, "commitment": commitment})
    first_run, first_model, first_eval = _evaluated(aws, profile, NOVA, "incoming/support-qa-vi/v1.jsonl")
    first, _ = _promote(aws, first_run, first_model, first_eval)
    second_run, second_model, second_eval = _evaluated(aws, profile, NOVA, "incoming/support-qa-vi/v2.jsonl")
    second, result = _promote(aws, second_run, second_model, second_eval)
    return (first_run, first), (second_run, second), result


def test_the_previous_champion_is_retired_when_the_profile_says_so(aws):
    (first_run, first), (second_run, second), result = _two_generations(aws, retire=True)
    assert result.previous_champion["run_id"] == first_run.run_id
    assert result.previous_champion_retired == first.arn and result.retire_error is None
    assert aws.endpoints() == {"provisioned": [second.name], "deployments": []}
    assert current_champion(aws.champions, "support-qa-vi")["run_id"] == second_run.run_id
    assert aws.ssm.get_parameter(Name=f"{CHAMPION_PREFIX}/support-qa-vi")["Parameter"]["Value"] == second.arn
    # the retired throughput is marked gone in its own run, so that run's cleanup does nothing
    old = {e["name"]: e for e in aws.registry.get(first_run.run_id)["endpoints"]}[first.name]
    assert old["promoted"] is False and old["retired_at"]
    assert cleanup_run(aws.registry, aws.bedrock, first_run.run_id).deleted_endpoints == []


def test_the_previous_champion_is_kept_by_default(aws):
    (first_run, first), (second_run, second), result = _two_generations(aws, retire=False)
    assert result.previous_champion_retired is None and result.retire_error is None
    assert aws.endpoints() == {"provisioned": sorted([first.name, second.name]), "deployments": []}


def test_a_committed_previous_champion_cannot_be_retired_and_that_is_reported_not_fatal(aws):
    (first_run, first), (second_run, second), result = _two_generations(aws, retire=True, commitment="OneMonth")
    assert result.previous_champion_retired is None
    assert result.retire_error and first.arn in result.retire_error and "commitment" in result.retire_error
    assert current_champion(aws.champions, "support-qa-vi")["run_id"] == second_run.run_id
    assert sorted(aws.endpoints()["provisioned"]) == sorted([first.name, second.name])
    # Not silently kept: the old run hands the throughput to the janitor, which deletes it at the term's end.
    [old] = [e for e in aws.registry.get(first_run.run_id)["endpoints"] if e["name"] == first.name]
    assert old["promoted"] is False and "commitment" in old["delete_refused"] and not old.get("deleted_at")
    assert first_run.run_id in aws.registry.runs_due_for_sweep(now="9999-12-31T00:00:00+00:00", limit=25)


def test_a_retried_finalize_changes_nothing_more(aws):
    (first_run, first), (second_run, second), result = _two_generations(aws, retire=True)
    again = finalize_promotion(
        aws.bedrock,
        aws.registry,
        aws.champions,
        aws.ssm,
        second_run,
        custom_model_arn=result.custom_model_arn,
        promoted=second,
        evaluation=Endpoint.model_validate(
            {
                **second.model_dump(),
                "name": endpoint_name_for(second_run.run_id, "evaluation"),
                "kind": "custom-model-deployment",
                "purpose": "evaluation",
                "arn": None,
            }
        ),
        parameter_prefix=CHAMPION_PREFIX,
    )
    # the champion that was replaced is remembered in the run, so a retry still knows it
    assert again.previous_champion["run_id"] == first_run.run_id
    assert again.retire_error is None
    assert aws.endpoints() == {"provisioned": [second.name], "deployments": []}
    assert current_champion(aws.champions, "support-qa-vi")["run_id"] == second_run.run_id


def test_baseline_is_the_base_model_or_for_incremental_profiles_the_champion(aws):
    base_profile = aws.profiles["support-qa-vi"]
    incremental = aws.profiles["provisioned-only"]
    champion = {"invocable_arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefabcdef"}
    run = aws.run(base_profile, NOVA)
    assert baseline_model_for(run, champion, "amazon.nova-micro-v1:0") == "amazon.nova-micro-v1:0"
    run = aws.run(incremental, TITAN)
    assert baseline_model_for(run, champion, "amazon.titan-text-express-v1") == champion["invocable_arn"]
    assert baseline_model_for(run, None, "amazon.titan-text-express-v1") == "amazon.titan-text-express-v1"


# -- one champion, by upload order (lambdas/domain/champion.py) ---------------------------------------
def _two_uploads(aws, **throughput):
    profile = aws.profile("support-qa-vi", throughput={"retire_previous_champion": True, **throughput})
    older = _evaluated(aws, profile, NOVA, "incoming/support-qa-vi/older.jsonl")
    newer = _evaluated(aws, profile, NOVA, "incoming/support-qa-vi/newer.jsonl")
    assert upload_order(older[0]) < upload_order(newer[0])
    return older, newer


def test_an_older_upload_finishing_last_does_not_replace_the_newer_champion(aws):
    (older_run, older_model, older_eval), (newer_run, newer_model, newer_eval) = _two_uploads(aws)
    newer, _ = _promote(aws, newer_run, newer_model, newer_eval)
    # The older run passed its gate too and bought its throughput before the newer one won.
    bought = promote(aws.bedrock, aws.registry, older_run, older_model, older_eval)
    aws.advance(aws.emulator.settings.provisioned_duration)
    result = finalize_promotion(
        aws.bedrock,
        aws.registry,
        aws.champions,
        aws.ssm,
        older_run,
        custom_model_arn=older_model,
        promoted=bought,
        evaluation=older_eval,
        parameter_prefix=CHAMPION_PREFIX,
    )
    assert result.promoted is False and result.superseded_by == newer_run.run_id
    assert result.released_endpoint == bought.arn and result.release_error is None
    assert current_champion(aws.champions, "support-qa-vi")["run_id"] == newer_run.run_id
    assert aws.ssm.get_parameter(Name=f"{CHAMPION_PREFIX}/support-qa-vi")["Parameter"]["Value"] == newer.arn
    assert aws.endpoints() == {"provisioned": [newer.name], "deployments": []}
    item = aws.registry.get(older_run.run_id)
    assert item["outcome"] == "superseded" and all(
        e.get("deleted_at") and not e.get("promoted") for e in item["endpoints"]
    )
    assert newer_champion(aws.champions, older_run) is not None and newer_champion(aws.champions, newer_run) is None


def test_a_superseded_run_that_bought_committed_throughput_records_the_refusal_for_the_janitor(aws):
    (older_run, older_model, older_eval), (newer_run, newer_model, newer_eval) = _two_uploads(
        aws, commitment="OneMonth"
    )
    _promote(aws, newer_run, newer_model, newer_eval)
    bought = promote(aws.bedrock, aws.registry, older_run, older_model, older_eval)
    aws.advance(aws.emulator.settings.provisioned_duration)
    result = finalize_promotion(
        aws.bedrock,
        aws.registry,
        aws.champions,
        aws.ssm,
        older_run,
        custom_model_arn=older_model,
        promoted=bought,
        evaluation=older_eval,
        parameter_prefix=CHAMPION_PREFIX,
    )
    assert result.promoted is False and result.released_endpoint is None and "commitment" in result.release_error
    [entry] = [e for e in aws.registry.get(older_run.run_id)["endpoints"] if e["name"] == bought.name]
    assert "commitment" in entry["delete_refused"] and not entry.get("promoted")


@pytest.mark.parametrize("first_writer", ["older", "newer"])
def test_simultaneous_promotions_are_serialized_and_the_newer_upload_wins(aws, first_writer):
    """Both finalizers read the champion (none) before either writes; the conditional write lets one
    win and sends the other back to decide again, in either order of the writes."""
    (older_run, older_model, older_eval), (newer_run, newer_model, newer_eval) = _two_uploads(aws)
    older = promote(aws.bedrock, aws.registry, older_run, older_model, older_eval)
    newer = promote(aws.bedrock, aws.registry, newer_run, newer_model, newer_eval)
    aws.advance(aws.emulator.settings.provisioned_duration)
    both_read = threading.Barrier(2, timeout=120)
    writer_first = threading.Event()
    first = {"older": older_run.run_id, "newer": newer_run.run_id}[first_writer]

    class RacingTable:
        """The champions table, holding each finalizer at its first write until both have read."""

        def __init__(self, run_id):
            self.run_id, self.waited = run_id, False
            self.meta = aws.champions.meta

        def get_item(self, **kwargs):
            return aws.champions.get_item(**kwargs)

        def put_item(self, **kwargs):
            if not self.waited:
                self.waited = True
                both_read.wait()
                if self.run_id != first:
                    assert writer_first.wait(120), "the first writer never wrote"
            try:
                return aws.champions.put_item(**kwargs)
            finally:
                if self.run_id == first:
                    writer_first.set()

    results, failures = {}, []

    def finalize(run, model, bought, evaluation):
        try:
            results[run.run_id] = finalize_promotion(
                aws.bedrock,
                aws.registry,
                RacingTable(run.run_id),
                aws.ssm,
                run,
                custom_model_arn=model,
                promoted=bought,
                evaluation=evaluation,
                parameter_prefix=CHAMPION_PREFIX,
            )
        except BaseException as error:  # re-raised below, in the test's own thread
            failures.append(error)
            both_read.abort()

    threads = [
        threading.Thread(target=finalize, args=args)
        for args in ((older_run, older_model, older, older_eval), (newer_run, newer_model, newer, newer_eval))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    assert results[newer_run.run_id].promoted is True
    assert current_champion(aws.champions, "support-qa-vi")["run_id"] == newer_run.run_id
    assert aws.ssm.get_parameter(Name=f"{CHAMPION_PREFIX}/support-qa-vi")["Parameter"]["Value"] == newer.arn
    # Whichever wrote first, only the newer upload's throughput is left: the older one was released as
    # superseded (newer wrote first) or retired as the replaced champion (older wrote first).
    assert aws.endpoints() == {"provisioned": [newer.name], "deployments": []}
    if first_writer == "newer":
        assert (
            results[older_run.run_id].promoted is False and results[older_run.run_id].superseded_by == newer_run.run_id
        )
    else:
        assert (
            results[older_run.run_id].promoted is True
            and results[newer_run.run_id].previous_champion_retired == older.arn
        )
