"""The janitor's domain on the emulator (in-process, time moved by hand): what it deletes, when it
retries, what it reports, and what it never touches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.endpoints import deploy_for_evaluation, promote
from lambdas.domain.janitor import PROFILE_TAG, JanitorSettings, iso, leaves_billable, sweep, sweep_run
from lambdas.domain.runs import RunStatus, lineage_tags

TITAN = "fine-tuning/titan-support-prompt-completion.jsonl"
NOVA = "fine-tuning/nova-micro-vi-qa.jsonl"
SETTINGS = JanitorSettings(
    model_retention=timedelta(days=7), alarm_after=timedelta(hours=6), execution_timeout=timedelta(days=7)
)
HOUR = 3600


def now(aws):
    return aws.emulator.clock.now_dt()


def ended(aws, profile, sample, *, evaluate=True):
    """A run that trained a model, (optionally) put it behind its evaluation endpoint, and ended FAILED now."""
    run = aws.run(profile, sample)
    model = aws.train(run)
    aws.registry.update(run.run_id, output_model_arn=model)
    endpoint = None
    if evaluate:
        endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
        aws.advance(max(aws.emulator.settings.provisioned_duration, aws.emulator.settings.deployment_duration))
    aws.registry.update(run.run_id, status=RunStatus.FAILED, finished_at=iso(now(aws)))
    return run, model, endpoint


def swept(aws, run_id):
    return sweep_run(aws.bedrock, aws.registry, aws.champions, run_id, settings=SETTINGS, now=now(aws))


def models(aws) -> set[str]:
    return {m["modelArn"] for m in aws.bedrock.list_custom_models()["modelSummaries"]}


def due(aws) -> list[str]:
    return aws.registry.runs_due_for_sweep(now=iso(now(aws)), limit=50)


def test_an_evaluation_endpoint_cleanup_was_refused_is_deleted_by_the_next_sweep(aws):
    run, model, endpoint = ended(aws, aws.profiles["support-qa-vi"], NOVA)
    aws.faults.api_error("DeleteCustomModelDeployment", "ConflictException", 400, times=1)
    result = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    assert endpoint.arn in result.undeletable and aws.endpoints()["deployments"] == [endpoint.name]
    assert due(aws) == [run.run_id]

    sweep_result = sweep(aws.bedrock, aws.registry, aws.champions, settings=SETTINGS, now=now(aws))
    (leftover_endpoint, waiting_model) = sweep_result.leftovers
    assert (leftover_endpoint.arn, leftover_endpoint.state) == (endpoint.arn, "deleted")
    assert aws.endpoints() == {"provisioned": [], "deployments": []}
    recorded = {e["name"]: e for e in aws.registry.get(run.run_id)["endpoints"]}
    assert recorded[endpoint.name]["deleted_at"] and recorded[endpoint.name]["deleted_by"] == "janitor"
    # The model stays for its retention, and the run stays marked until then.
    assert (waiting_model.arn, waiting_model.state) == (model, "waiting") and model in models(aws)
    assert (
        aws.registry.get(run.run_id)["sweep_after"]
        == waiting_model.next_try
        == iso(now(aws) + SETTINGS.model_retention)
    )


def test_a_refused_delete_is_retried_with_doubling_back_off_and_reported_once_a_day_past_the_bound(aws):
    run, model, endpoint = ended(aws, aws.profiles["provisioned-only"], TITAN)
    aws.faults.api_error("DeleteProvisionedModelThroughput", "ConflictException", 400, times=None)
    start = now(aws)
    seen = []
    for hours in (0, 1, 3, 6, 7, 14, 30, 31):
        aws.emulator.clock.advance(hours * HOUR - (now(aws) - start).total_seconds())
        if run.run_id not in due(aws):
            seen.append((hours, None))
            continue
        (leftover, _model) = swept(aws, run.run_id).leftovers
        assert leftover.state == "refused" and "ConflictException" in leftover.reason
        seen.append((hours, (leftover.attempts, leftover.next_try, leftover.overdue, leftover.notify)))
    at = lambda h: iso(start + timedelta(hours=h))  # noqa: E731
    assert seen == [
        (0, (1, at(1), False, False)),  # first retry after an hour,
        (1, (2, at(3), False, False)),  # then twice as long,
        (3, (3, at(6), False, False)),  # but back when it turns overdue (6 h after the run ended),
        (6, (4, at(14), True, True)),  # reported then,
        (7, None),  # not looked at between tries,
        (14, (5, at(30), True, False)),  # not reported again within a day,
        (30, (6, at(54), True, True)),  # and again a day later; the wait is capped at a day
        (31, None),
    ]
    item = aws.registry.get(run.run_id)
    assert item["janitor"][endpoint.arn]["attempts"] == 6 and item["janitor"][endpoint.arn]["next_try"] == at(54)
    assert aws.registry.overdue_leftovers(now=iso(now(aws))) == 1
    assert endpoint.name in aws.endpoints()["provisioned"] and model in models(aws)  # the model waits for its endpoint


def test_a_committed_throughput_is_reported_with_its_end_date_and_deleted_when_the_term_ends(aws):
    profile = aws.profile("provisioned-only", throughput={"commitment": "OneMonth"})
    run, model, evaluation = ended(aws, profile, TITAN)
    committed = promote(aws.bedrock, aws.registry, run, model, evaluation)
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).undeletable.keys() == {committed.arn}
    term_ends = aws.bedrock.get_provisioned_model_throughput(provisionedModelId=committed.arn)[
        "commitmentExpirationTime"
    ]

    retention_ends = now(aws) + SETTINGS.model_retention
    first = {leftover.arn: leftover for leftover in swept(aws, run.run_id).leftovers}
    assert (
        first[committed.arn].state == "committed"
        and first[committed.arn].notify
        and first[committed.arn].commitment_ends == iso(term_ends)
    )
    assert first[committed.arn].next_try == iso(term_ends) and first[model].next_try == iso(retention_ends)
    assert aws.registry.get(run.run_id)["sweep_after"] == iso(retention_ends)  # the earliest of the two

    aws.emulator.clock.advance(SETTINGS.model_retention.total_seconds())
    again = {leftover.arn: leftover for leftover in swept(aws, run.run_id).leftovers}
    assert (
        again[committed.arn].state == "committed"
        and not again[committed.arn].notify
        and not again[committed.arn].overdue
    )  # reported once
    assert (
        again[model].state == "waiting"
        and again[model].blocked_by == committed.arn
        and not again[model].overdue
        and model in models(aws)
    )
    assert aws.registry.get(run.run_id)["sweep_after"] == iso(term_ends)
    assert aws.registry.overdue_leftovers(now=iso(now(aws))) == 0

    aws.emulator.clock.advance((term_ends - now(aws)).total_seconds() + 60)
    assert run.run_id in due(aws)
    by_arn = {leftover.arn: leftover for leftover in swept(aws, run.run_id).leftovers}
    assert (
        by_arn[committed.arn].state == "deleted" and by_arn[model].state == "deleted"
    )  # a month is past the retention too
    assert aws.endpoints() == {"provisioned": [], "deployments": []} and model not in models(aws)
    assert due(aws) == [] and "sweep" not in aws.registry.get(run.run_id)


def test_a_model_is_kept_for_the_retention_then_deleted(aws):
    run, model, _ = ended(aws, aws.profiles["provisioned-only"], TITAN, evaluate=False)
    assert leaves_billable(aws.registry.get(run.run_id))
    cleanup_run(aws.registry, aws.bedrock, run.run_id)
    (waiting,) = swept(aws, run.run_id).leftovers
    assert waiting.state == "waiting" and waiting.next_try == iso(now(aws) + SETTINGS.model_retention)

    aws.emulator.clock.advance(SETTINGS.model_retention.total_seconds() - 60)
    assert due(aws) == [] and model in models(aws)
    aws.emulator.clock.advance(60)
    assert due(aws) == [run.run_id]
    (deleted,) = swept(aws, run.run_id).leftovers
    assert deleted.state == "deleted" and model not in models(aws)
    item = aws.registry.get(run.run_id)
    assert item["model_deleted_at"] == iso(now(aws)) and "sweep" not in item and "sweep_after" not in item


def test_the_champions_model_and_endpoint_are_never_touched(aws):
    # The champion item is the source of truth, even when the run's own item does not say promoted
    # (a promotion that wrote the champion and failed before recording its outcome).
    run, model, endpoint = ended(aws, aws.profiles["support-qa-vi"], NOVA)
    aws.champions.put_item(
        Item={
            "profile": "support-qa-vi",
            "run_id": run.run_id,
            "custom_model_arn": model,
            "invocable_arn": endpoint.arn,
        }
    )
    aws.registry.mark_for_sweep(run.run_id, after=iso(now(aws)))
    aws.emulator.clock.advance((SETTINGS.model_retention + timedelta(days=1)).total_seconds())

    leftovers = swept(aws, run.run_id).leftovers
    assert {(leftover.arn, leftover.state) for leftover in leftovers} == {(endpoint.arn, "kept"), (model, "kept")}
    assert aws.endpoints()["deployments"] == [endpoint.name] and model in models(aws)
    assert due(aws) == [] and "sweep" not in aws.registry.get(run.run_id)  # nothing left that is the janitor's


def test_the_model_of_the_champions_run_is_kept_under_any_name(aws):
    run, model, _ = ended(aws, aws.profiles["provisioned-only"], TITAN, evaluate=False)
    aws.champions.put_item(
        Item={
            "profile": "provisioned-only",
            "run_id": run.run_id,
            "invocable_arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/elsewhere",
        }
    )
    aws.emulator.clock.advance((SETTINGS.model_retention + timedelta(hours=1)).total_seconds())
    (kept,) = swept(aws, run.run_id).leftovers
    assert kept.state == "kept" and model in models(aws)


def test_a_running_run_is_looked_at_again_later_and_nothing_is_deleted(aws):
    run = aws.run(aws.profiles["support-qa-vi"], NOVA)
    model = aws.train(run)
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    aws.registry.update(run.run_id, status=RunStatus.EVALUATING, started_at=iso(now(aws)), output_model_arn=model)
    assert due(aws) == [run.run_id]  # recording the endpoint marked the run

    result = swept(aws, run.run_id)
    assert not result.ended and result.leftovers == [] and result.next_sweep == iso(now(aws) + SETTINGS.first_retry)
    assert aws.endpoints()["deployments"] == [endpoint.name] and model in models(aws)


def test_a_run_past_the_execution_timeout_has_ended_whatever_its_item_says(aws):
    run = aws.run(aws.profiles["support-qa-vi"], NOVA)
    model = aws.train(run)
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    aws.registry.update(
        run.run_id,
        status=RunStatus.EVALUATING,
        started_at=iso(now(aws) - SETTINGS.execution_timeout - timedelta(minutes=1)),
    )
    result = swept(aws, run.run_id)
    assert result.ended and [(leftover.arn, leftover.state) for leftover in result.leftovers] == [
        (endpoint.arn, "deleted")
    ]


def test_an_endpoint_that_is_already_gone_is_recorded_as_gone(aws):
    run, model, endpoint = ended(aws, aws.profiles["support-qa-vi"], NOVA)
    aws.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=endpoint.arn)
    (gone, _waiting) = swept(aws, run.run_id).leftovers
    assert (
        gone.state == "gone"
        and {e["name"]: e for e in aws.registry.get(run.run_id)["endpoints"]}[endpoint.name]["deleted_at"]
    )


@pytest.mark.parametrize(
    ("item", "billable"),
    [
        ({"output_model_arn": "m"}, True),
        ({"output_model_arn": "m", "outcome": "promoted"}, False),
        ({"output_model_arn": "m", "model_deleted_at": "t"}, False),
        ({"endpoints": [{"name": "e", "kind": "custom-model-deployment", "deleted_at": "t"}]}, False),
        ({"endpoints": [{"name": "e", "kind": "custom-model-deployment", "promoted": True}]}, False),
        ({"endpoints": [{"name": "e", "kind": "provisioned-throughput", "delete_refused": "term"}]}, True),
        ({}, False),
    ],
)
def test_what_cleanup_leaves_for_the_janitor(item, billable):
    assert leaves_billable(item) is billable


def test_cleanup_takes_a_run_with_nothing_left_out_of_the_index(aws):
    run = aws.run(aws.profiles["support-qa-vi"], NOVA)
    model = aws.train(run)
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    aws.registry.update(run.run_id, outcome="promoted", output_model_arn=model)
    assert due(aws) == [run.run_id]
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).deleted_endpoints == [endpoint.arn]
    assert due(aws) == [] and "sweep" not in aws.registry.get(run.run_id)


def test_what_a_run_creates_carries_the_tag_the_janitors_deletes_are_conditioned_on(aws):
    run = aws.run(aws.profiles["support-qa-vi"], NOVA)
    assert {"key": PROFILE_TAG, "value": "support-qa-vi"} in lineage_tags(run)
