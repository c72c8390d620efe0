"""What the evaluation steps need from ``lambdas.domain.cleanup`` (owned by the pipeline); xfail marks a gap to close there."""

from __future__ import annotations

from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.endpoints import deploy_for_evaluation, promote

TITAN = "fine-tuning/titan-support-prompt-completion.jsonl"


def test_cleanup_deletes_a_production_throughput_that_was_never_finalized(aws):
    """Promote bought throughput, then the run failed before FinalizePromotion: nothing is kept."""
    profile = aws.profile("provisioned-only", throughput={"model_units": 2})
    run = aws.run(profile, TITAN)
    model = aws.train(run)
    evaluation = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    promoted = promote(aws.bedrock, aws.registry, run, model, evaluation)
    result = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    assert sorted(result.deleted_endpoints) == sorted([evaluation.arn, promoted.arn])
    assert aws.endpoints() == {"provisioned": [], "deployments": []}


def test_cleanup_survives_a_committed_throughput_it_cannot_delete(aws):
    profile = aws.profile("provisioned-only", throughput={"commitment": "OneMonth"})
    run = aws.run(profile, TITAN)
    model = aws.train(run)
    evaluation = deploy_for_evaluation(aws.bedrock, aws.registry, run, model, region="us-east-1")
    committed = promote(aws.bedrock, aws.registry, run, model, evaluation)
    result = cleanup_run(aws.registry, aws.bedrock, run.run_id)
    assert evaluation.arn in result.deleted_endpoints
    assert committed.arn in result.undeletable
    recorded = {e["name"]: e for e in aws.registry.get(run.run_id)["endpoints"]}
    assert recorded[committed.name].get("delete_refused") and not recorded[committed.name].get("deleted_at")
