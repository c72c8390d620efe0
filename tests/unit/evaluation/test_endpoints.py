"""Evaluation endpoints on the emulator: the right kind, recorded before requested, statuses normalized."""

from __future__ import annotations

import botocore.exceptions
import pytest

from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.endpoints import (
    DEPLOYMENT,
    PROVISIONED,
    Endpoint,
    deploy_for_evaluation,
    endpoint_name_for,
    endpoint_status,
)
from lambdas.domain.runs import client_request_token_for


def test_nova_gets_an_on_demand_deployment_recorded_with_its_arn(aws):
    run = aws.run(aws.profiles["support-qa-vi"], "fine-tuning/nova-micro-vi-qa.jsonl")
    model = aws.train(run)
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    assert endpoint.kind == DEPLOYMENT and endpoint.purpose == "evaluation"
    assert endpoint.arn and ":custom-model-deployment/" in endpoint.arn
    assert aws.endpoints() == {"provisioned": [], "deployments": [endpoint.name]}
    [recorded] = aws.registry.get(run.run_id)["endpoints"]
    assert recorded == {
        "kind": DEPLOYMENT,
        "name": endpoint.name,
        "purpose": "evaluation",
        "model_arn": model,
        "requested_at": endpoint.requested_at,
        "arn": endpoint.arn,
        "why": endpoint.why,
    }
    assert "on-demand deployment is supported" in endpoint.why


@pytest.mark.parametrize(("region", "because"), [("us-east-1", "before 2025-07-16"), ("eu-west-1", "not eu-west-1")])
def test_a_nova_model_customized_before_the_cutoff_or_outside_its_regions_falls_back_to_provisioned_throughput(
    aws, region, because
):
    """On-demand deployment needs a Nova model customized on or after 2025-07-16, in us-east-1 or
    us-west-2 (the catalogue's dated rule): otherwise the candidate is evaluated on a throughput, and
    the endpoint says why."""
    run = aws.run(aws.profiles["support-qa-vi"], "fine-tuning/nova-micro-vi-qa.jsonl")
    model = aws.train(run)
    if region == "us-east-1":
        from moto.backends import get_backend

        from local import bedrock

        backend = get_backend("bedrock")[model.split(":")[4]]["us-east-1"]
        bedrock.find_custom_model(backend, model).creation_time = "2025-06-30T12:00:00.000Z"
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region=region)
    assert endpoint.kind == PROVISIONED and because in endpoint.why, endpoint.why


def test_a_model_without_on_demand_deployment_gets_no_commitment_throughput_with_the_evaluation_model_units(aws):
    profile = aws.profile("provisioned-only", evaluation_model_units=2)
    run = aws.run(profile, "fine-tuning/titan-support-prompt-completion.jsonl")
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, aws.train(run), region="us-east-1")
    assert endpoint.kind == PROVISIONED and endpoint.model_units == 2
    described = aws.bedrock.get_provisioned_model_throughput(provisionedModelId=endpoint.arn)
    assert described["modelUnits"] == 2 and "commitmentDuration" not in described
    assert described["provisionedModelName"] == endpoint.name


def test_status_goes_from_creating_to_ready(aws):
    run = aws.run(aws.profiles["provisioned-only"], "fine-tuning/titan-support-prompt-completion.jsonl")
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, aws.train(run), region="us-east-1")
    assert endpoint_status(aws.bedrock, endpoint) == ("Creating", False, False)
    aws.advance(aws.emulator.settings.provisioned_duration)
    assert endpoint_status(aws.bedrock, endpoint) == ("InService", True, False)


def test_a_failed_or_vanished_endpoint_is_failed(aws):
    aws.faults.fail_endpoint("deployment")
    run = aws.run(aws.profiles["support-qa-vi"], "fine-tuning/nova-micro-vi-qa.jsonl")
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, aws.train(run), region="us-east-1")
    aws.advance(aws.emulator.settings.deployment_duration)
    assert endpoint_status(aws.bedrock, endpoint) == ("Failed", False, True)
    aws.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=endpoint.arn)
    assert endpoint_status(aws.bedrock, endpoint) == ("Missing", False, True)


def test_a_retried_deploy_creates_and_records_nothing_twice(aws):
    run = aws.run(aws.profiles["support-qa-vi"], "fine-tuning/nova-micro-vi-qa.jsonl")
    model = aws.train(run)
    first = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    second = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    assert second.arn == first.arn
    assert len(aws.registry.get(run.run_id)["endpoints"]) == 1
    assert len(aws.endpoints()["deployments"]) == 1


def test_the_endpoint_is_recorded_before_the_request_so_cleanup_finds_it_after_a_fault(aws):
    run = aws.run(aws.profiles["provisioned-only"], "fine-tuning/titan-support-prompt-completion.jsonl")
    model = aws.train(run)
    aws.faults.api_error("CreateProvisionedModelThroughput", "InternalServerException", 500, times=10)
    with pytest.raises(botocore.exceptions.ClientError):
        deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    [recorded] = aws.registry.get(run.run_id)["endpoints"]
    assert recorded["name"] == endpoint_name_for(run.run_id, "evaluation") and "arn" not in recorded
    # nothing was created; cleanup tries the recorded name, finds it gone and fails on nothing
    result = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    assert result.already_gone == [recorded["name"]] and result.deleted_endpoints == []


def test_cleanup_deletes_by_name_an_endpoint_whose_arn_was_never_recorded(aws):
    """The request reached Bedrock but its answer was lost (a timeout): only the name is known."""
    run = aws.run(aws.profiles["provisioned-only"], "fine-tuning/titan-support-prompt-completion.jsonl")
    model = aws.train(run)
    name = endpoint_name_for(run.run_id, "evaluation")
    aws.registry.append_endpoint(
        run.run_id,
        Endpoint(kind=PROVISIONED, name=name, purpose="evaluation", model_arn=model, requested_at="t").model_dump(
            exclude_none=True
        ),
    )
    aws.bedrock.create_provisioned_model_throughput(
        modelUnits=1,
        provisionedModelName=name,
        modelId=model,
        clientRequestToken=client_request_token_for(run.run_id, "CreateProvisionedModelThroughput:evaluation"),
    )
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).deleted_endpoints == [name]
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def test_names_fit_bedrock_and_stay_unique_per_run():
    import re

    long_a = "a-very-long-profile-name-of-32ch-0123456789abcdef01234567"
    long_b = "a-very-long-profile-name-of-32ch-fedcba9876543210fedcba98"
    names = {
        endpoint_name_for(run_id, purpose) for run_id in (long_a, long_b) for purpose in ("evaluation", "production")
    }
    assert len(names) == 4
    for name in names:
        assert len(name) <= 63 and re.fullmatch(r"([0-9a-zA-Z][_-]?)+", name), name
