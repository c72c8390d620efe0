"""Evaluation in batches (lambdas/domain/evaluation_batches.py) on the emulator: the batches, their results in
S3, retries of throttled batches, and a conclusion identical to evaluating the set in one process."""

from __future__ import annotations

import json

import pytest

from lambdas.domain.evaluation import EvaluationFailed, invocable_model
from lambdas.domain.evaluation_batches import (
    BATCH_ATTEMPTS,
    BATCH_SECONDS_BUDGET,
    CALL_SECONDS_BUDGETED,
    EVALUATE_BATCH_TIMEOUT_SECONDS,
    BatchThrottled,
    aggregate,
    calls_per_example,
    evaluate_batch,
    examples_per_batch,
    plan,
)
from tests.unit.evaluation.helpers import ARTIFACTS_BUCKET, DATA_BUCKET
from tests.unit.evaluation.test_evaluate import _evaluate, _ready_candidate

NOW = "2026-11-24T12:00:00+00:00"


def _plan(aws, run, endpoint, examples, judge_model=None):
    return plan(
        aws.s3,
        run,
        examples,
        artifacts_bucket=ARTIFACTS_BUCKET,
        evaluation_set_uri=f"s3://{DATA_BUCKET}/{run.profile.evaluation.dataset_key}",
        candidate_model=endpoint.arn,
        baseline_model=invocable_model(run.profile.base_model, "us-east-1", "123456789012").model_id,
        judge_model=judge_model,
    )


def _keys(aws, prefix):
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=ARTIFACTS_BUCKET, Prefix=prefix).get("Contents", []))


def test_a_batch_is_sized_to_run_well_inside_its_timeout():
    for judged in (False, True):
        budgeted = examples_per_batch(judged) * calls_per_example(judged) * CALL_SECONDS_BUDGETED
        assert budgeted <= BATCH_SECONDS_BUDGET < EVALUATE_BATCH_TIMEOUT_SECONDS < 300
    assert examples_per_batch(True) < examples_per_batch(False)


def test_the_plan_writes_every_example_once_in_batches_and_a_manifest(aws):
    run, endpoint, examples = _ready_candidate(aws, aws.profile("support-qa-vi", evaluation={"concurrency": 32}))
    evaluation = _plan(aws, run, endpoint, examples)
    size = examples_per_batch(False)
    assert evaluation.batches == -(-len(examples) // size) == len(evaluation.batch_indices)
    assert evaluation.max_concurrency == min(32, evaluation.batches)  # never more workers than batches
    keys = _keys(aws, evaluation.job.prefix)
    assert evaluation.manifest_key in keys
    written = []
    for index in evaluation.batch_indices:
        body = aws.read(f"s3://{ARTIFACTS_BUCKET}/{evaluation.job.prefix}{index:05d}.input.jsonl").decode()
        written += [json.loads(line)["line"] for line in body.splitlines()]
    assert written == [example.line for example in examples]
    manifest = json.loads(aws.read(f"s3://{ARTIFACTS_BUCKET}/{evaluation.manifest_key}"))
    assert sum(item["examples"] for item in manifest) == len(examples)


def test_batches_then_aggregate_conclude_as_the_whole_set_in_one_process(aws):
    run, endpoint, examples = _ready_candidate(aws, aws.profiles["support-qa-vi"])
    evaluation = _plan(aws, run, endpoint, examples)
    assert evaluation.batches > 1
    for index in reversed(evaluation.batch_indices):  # batches finish in any order
        outcome = evaluate_batch(aws.runtime, aws.s3, evaluation.job, index, attempt=0, sleep=lambda s: None)
        assert outcome.failed_calls == {"candidate": 0, "baseline": 0}
    batched, batched_decision = aggregate(aws.s3, run, evaluation, now=NOW)
    whole, whole_decision = _evaluate(aws, run, endpoint, examples)
    assert batched.candidate == whole.candidate and batched.baseline == whole.baseline
    assert batched.usage == whole.usage and batched.examples == len(examples)
    assert batched_decision == whole_decision
    report = [json.loads(line) for line in aws.read(batched.examples_uri).decode().splitlines()]
    assert [record["line"] for record in report] == [example.line for example in examples]


def test_a_batch_that_failed_for_good_fails_the_run_with_the_count(aws):
    run, endpoint, examples = _ready_candidate(aws, aws.profiles["support-qa-vi"])
    evaluation = _plan(aws, run, endpoint, examples)
    lost = evaluation.batch_indices[1]
    for index in evaluation.batch_indices:
        if index != lost:
            evaluate_batch(aws.runtime, aws.s3, evaluation.job, index, attempt=0, sleep=lambda s: None)
    with pytest.raises(EvaluationFailed, match=rf"1 of {evaluation.batches} evaluation batches failed for good"):
        aggregate(aws.s3, run, evaluation, now=NOW)


def test_a_throttled_batch_is_retried_and_its_last_attempt_keeps_the_failed_calls(aws):
    run, endpoint, examples = _ready_candidate(aws, aws.profiles["support-qa-vi"])
    evaluation = _plan(aws, run, endpoint, examples)
    first = evaluation.batch_indices[0]
    # More throttling than one call's own retries absorb (lambdas/domain/evaluation.py ATTEMPTS = 5).
    aws.faults.throttle("Converse", times=5, service="bedrock-runtime")
    with pytest.raises(BatchThrottled, match="attempt 1 of"):
        evaluate_batch(aws.runtime, aws.s3, evaluation.job, first, attempt=0, sleep=lambda s: None)
    assert not [k for k in _keys(aws, evaluation.job.prefix) if k.endswith(".results.jsonl")]

    aws.faults.throttle("Converse", times=5, service="bedrock-runtime")
    last = evaluate_batch(aws.runtime, aws.s3, evaluation.job, first, attempt=BATCH_ATTEMPTS - 1, sleep=lambda s: None)
    assert last.failed_calls == {"candidate": 1, "baseline": 0}
    assert last.results_key in _keys(aws, evaluation.job.prefix)
