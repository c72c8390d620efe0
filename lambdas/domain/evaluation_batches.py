"""Evaluation in batches, so an evaluation set of any size runs in short Lambda invocations.

The state machine runs three steps (stacks/state_machine.py):

1. **PrepareEvaluation** (:func:`plan`) reads and checks the evaluation set once and writes it back as batch
   files under the run's report folder, with a manifest of them. The distributed Map state iterates over
   the batches' numbers only (a few bytes each, so 2,000 batches stay far below the 256 KB state limit);
   each batch reads its own file. The Map does not read the manifest with an S3 ItemReader: that read
   would come from Step Functions, outside the VPC, and the buckets refuse every read that does not come
   through the stage's VPC endpoint (stacks/data_perimeter.py).
2. **EvaluateBatch** (:func:`evaluate_batch`), one invocation per batch, at most ``concurrency`` at a
   time: each example's candidate and baseline answers, one after the other, so the calls in flight
   never exceed the profile's ``concurrency`` (what the endpoint was sized for). Its results go to S3.
3. **Evaluate** (:func:`aggregate`) reads every batch's results and concludes as the one-process path
   does (:func:`lambdas.domain.evaluation.conclude`): metrics, the gate, the reports.

Throttling that outlasts a call's own retries makes the batch raise :class:`BatchThrottled`, which the
Map state retries with backoff; on its last attempt the batch keeps what it has (failed calls counted).
A batch that fails for good leaves no results, and :func:`aggregate` fails the run with the count.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable

from pydantic import BaseModel, Field

from lambdas.domain.evaluation import (
    RETRYABLE_ERRORS,
    Answer,
    EvaluationFailed,
    EvaluationSummary,
    Example,
    ExampleResult,
    _evaluate_one,
    conclude,
    report_prefix,
)
from lambdas.domain.gate import GateDecision
from lambdas.domain.managed_judge import load_judge_scores, merge_scores
from lambdas.domain.names import (
    BATCH_INPUT_SUFFIX,
    BATCH_MANIFEST_FILE,
    BATCH_RESULTS_SUFFIX,
    EVALUATION_BATCHES_FOLDER,
)
from lambdas.domain.runs import RunInput

# Batch sizing. A batch makes its calls one after the other, so its duration is about examples x calls per
# example x one call's time. Budgeting CALL_SECONDS_BUDGETED per call (a 512-token answer at a conservative
# ~100 output tokens per second, plus the retries `ask` allows for a throttled call now and then) and
# BATCH_SECONDS_BUDGET per batch keeps each invocation well inside EVALUATE_BATCH_TIMEOUT_SECONDS, itself
# under five minutes: no invocation is sized to run near Lambda's 15-minute limit.
CALL_SECONDS_BUDGETED = 6.0
BATCH_SECONDS_BUDGET = 120.0
EVALUATE_BATCH_TIMEOUT_SECONDS = 270
# The Map state's Retry for BatchThrottled (stacks/steps/evaluate_batch.py): the batch's last attempt keeps
# its failed calls instead of raising, so a throttled endpoint ends in a decision or a counted failure.
BATCH_ATTEMPTS = 3


class BatchThrottled(RuntimeError):
    """Calls of this batch were still throttled after their own retries: Step Functions retries the batch."""


class BatchRef(BaseModel):
    """One item of the manifest the Map state reads."""

    index: int = Field(ge=0)
    key: str
    examples: int = Field(ge=1)


class BatchJob(BaseModel):
    """What every batch needs to know: where the batches are and which models to ask."""

    bucket: str
    prefix: str
    candidate_model: str
    baseline_model: str
    judge_model: str | None = None


class BatchPlan(BaseModel):
    """PrepareEvaluation's result."""

    job: BatchJob
    batch_indices: list[int]  # what the Map state iterates over
    manifest_key: str
    batches: int
    examples: int
    examples_per_batch: int
    max_concurrency: int
    evaluation_set_uri: str
    managed_judge: bool = False  # Bedrock's managed judge scores the answers before Evaluate concludes


class BatchOutcome(BaseModel):
    """EvaluateBatch's result (the Map state discards it; the results are in S3)."""

    index: int
    examples: int
    failed_calls: dict[str, int]
    results_key: str


def calls_per_example(judged: bool) -> int:
    return 4 if judged else 2  # candidate and baseline, and the judge's grade of each


def examples_per_batch(judged: bool) -> int:
    return max(1, int(BATCH_SECONDS_BUDGET // (calls_per_example(judged) * CALL_SECONDS_BUDGETED)))


def evaluation_seconds(examples: int, *, judged: bool, concurrency: int) -> float:
    """How long the evaluation endpoint is budgeted to serve the batches: waves of ``concurrency`` batches,
    each at its budget (what the estimate prices the endpoint for)."""
    size = examples_per_batch(judged)
    batches = max(1, math.ceil(examples / size))
    waves = math.ceil(batches / max(1, min(concurrency, batches)))
    return waves * size * calls_per_example(judged) * CALL_SECONDS_BUDGETED


def batches_prefix(run: RunInput) -> str:
    return f"{report_prefix(run)}{EVALUATION_BATCHES_FOLDER}"


def input_key(job: BatchJob, index: int) -> str:
    return f"{job.prefix}{index:05d}{BATCH_INPUT_SUFFIX}"


def results_key(job: BatchJob, index: int) -> str:
    return f"{job.prefix}{index:05d}{BATCH_RESULTS_SUFFIX}"


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode()


def plan(
    s3: Any,
    run: RunInput,
    examples: list[Example],
    *,
    artifacts_bucket: str,
    evaluation_set_uri: str,
    candidate_model: str,
    baseline_model: str,
    judge_model: str | None,
) -> BatchPlan:
    """Write the batches and their manifest; the same run writes the same objects, so a retry is harmless."""
    size = examples_per_batch(judge_model is not None)
    prefix = batches_prefix(run)
    job = BatchJob(
        bucket=artifacts_bucket,
        prefix=prefix,
        candidate_model=candidate_model,
        baseline_model=baseline_model,
        judge_model=judge_model,
    )
    refs: list[BatchRef] = []
    for index, start in enumerate(range(0, len(examples), size)):
        chunk = examples[start : start + size]
        key = input_key(job, index)
        s3.put_object(
            Bucket=artifacts_bucket,
            Key=key,
            Body=_jsonl([example.model_dump() for example in chunk]),
            ContentType="application/x-ndjson; charset=utf-8",
        )
        refs.append(BatchRef(index=index, key=key, examples=len(chunk)))
    manifest_key = f"{prefix}{BATCH_MANIFEST_FILE}"
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=manifest_key,
        Body=json.dumps([ref.model_dump() for ref in refs]).encode(),
        ContentType="application/json",
    )
    return BatchPlan(
        job=job,
        batch_indices=[ref.index for ref in refs],
        manifest_key=manifest_key,
        batches=len(refs),
        examples=len(examples),
        examples_per_batch=size,
        max_concurrency=min(run.profile.evaluation.concurrency, len(refs)),
        evaluation_set_uri=evaluation_set_uri,
        managed_judge=run.profile.evaluation.managed_judge is not None,
    )


# -- one batch -----------------------------------------------------------------------------------------------


def _answer_record(answer: Answer) -> dict[str, Any]:
    return {
        "error": answer.error,
        "attempts": answer.attempts,
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
    }


def _answer_from(text: str, record: dict[str, Any]) -> Answer:
    return Answer(
        text,
        error=record.get("error"),
        attempts=int(record.get("attempts", 1)),
        input_tokens=int(record.get("input_tokens", 0)),
        output_tokens=int(record.get("output_tokens", 0)),
    )


def result_record(result: ExampleResult) -> dict[str, Any]:
    """The example's report record and what its calls cost, so the aggregate step can rebuild it whole."""
    return {
        **result.to_json(),
        "calls": {
            "candidate": _answer_record(result.candidate),
            "baseline": _answer_record(result.baseline),
            "judge": [{"text": reply.text, **_answer_record(reply)} for reply in result.judge_replies],
        },
    }


def result_from(record: dict[str, Any]) -> ExampleResult:
    calls = record["calls"]
    example = Example.model_validate({name: record[name] for name in Example.model_fields if name in record})
    return ExampleResult(
        example,
        _answer_from(record["candidate"], calls["candidate"]),
        _answer_from(record["baseline"], calls["baseline"]),
        dict(record["metrics"]["candidate"]),
        dict(record["metrics"]["baseline"]),
        [_answer_from(reply["text"], reply) for reply in calls["judge"]],
    )


def _throttled(answer: Answer) -> bool:
    code = (answer.error or "").split(":", 1)[0]
    return code in RETRYABLE_ERRORS


def evaluate_batch(
    runtime: Any,
    s3: Any,
    job: BatchJob,
    index: int,
    *,
    attempt: int,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Answer and score one batch's examples and write the results. ``attempt`` counts from 0 (the Map
    state's retry count): before the last, a call still throttled after its own retries retries the batch."""
    body = s3.get_object(Bucket=job.bucket, Key=input_key(job, index))["Body"].read().decode("utf-8")
    examples = [Example.model_validate_json(line) for line in body.splitlines() if line.strip()]
    results = [
        _evaluate_one(runtime, example, job.candidate_model, job.baseline_model, job.judge_model, sleep, s3)
        for example in examples
    ]
    throttled = sum(1 for r in results for answer in (r.candidate, r.baseline, *r.judge_replies) if _throttled(answer))
    if throttled and attempt < BATCH_ATTEMPTS - 1:
        raise BatchThrottled(
            f"batch {index}: {throttled} call(s) still throttled or unavailable after their retries; "
            f"attempt {attempt + 1} of {BATCH_ATTEMPTS}"
        )
    written = results_key(job, index)
    s3.put_object(
        Bucket=job.bucket,
        Key=written,
        Body=_jsonl([result_record(result) for result in results]),
        ContentType="application/x-ndjson; charset=utf-8",
    )
    return BatchOutcome(
        index=index,
        examples=len(results),
        failed_calls={
            "candidate": sum(1 for r in results if r.candidate.error),
            "baseline": sum(1 for r in results if r.baseline.error),
        },
        results_key=written,
    )


# -- the conclusion ------------------------------------------------------------------------------------------


def read_results(s3: Any, evaluation: BatchPlan) -> tuple[list[ExampleResult], list[BatchRef]]:
    """Every batch's results in the evaluation set's order, and the batches that left none."""
    job = evaluation.job
    manifest = json.loads(s3.get_object(Bucket=job.bucket, Key=evaluation.manifest_key)["Body"].read())
    refs = [BatchRef.model_validate(item) for item in manifest]
    # Listed rather than tried: S3 answers a missing key with AccessDenied to a reader that may not list.
    written: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=job.bucket, Prefix=job.prefix):
        written.update(item["Key"] for item in page.get("Contents", []))
    results: list[ExampleResult] = []
    missing: list[BatchRef] = []
    for ref in refs:
        key = results_key(job, ref.index)
        if key not in written:
            missing.append(ref)
            continue
        body = s3.get_object(Bucket=job.bucket, Key=key)["Body"].read().decode("utf-8")
        results += [result_from(json.loads(line)) for line in body.splitlines() if line.strip()]
    return results, missing


def complete_results(s3: Any, evaluation: BatchPlan) -> list[ExampleResult]:
    """Every example's results; EvaluationFailed, with the count, when a batch left none: such a run has no
    decision, and nothing more (the managed judge's jobs) is spent on it."""
    results, missing = read_results(s3, evaluation)
    if missing:
        shown = ", ".join(str(ref.index) for ref in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise EvaluationFailed(
            f"{len(missing)} of {evaluation.batches} evaluation batches failed for good "
            f"({sum(ref.examples for ref in missing)} of {evaluation.examples} examples; batches {shown}); "
            "the run has no decision"
        )
    return results


def aggregate(
    s3: Any, run: RunInput, evaluation: BatchPlan, *, judge_scores_uri: str | None = None, now: str | None = None
) -> tuple[EvaluationSummary, GateDecision]:
    """``judge_scores_uri``: the managed judge's per-example scores, merged into each example's metrics."""
    job = evaluation.job
    results = complete_results(s3, evaluation)
    if judge_scores_uri:
        merge_scores(results, load_judge_scores(s3, judge_scores_uri))
    return conclude(
        s3,
        run,
        results,
        candidate_model=job.candidate_model,
        baseline_model=job.baseline_model,
        artifacts_bucket=job.bucket,
        evaluation_set_uri=evaluation.evaluation_set_uri,
        judged=job.judge_model is not None,
        now=now,
    )
