"""Bedrock's managed judge: the run's own responses scored by Bedrock evaluation jobs on built-in judge metrics.

Besides the project's own Converse judge (``judge_model``, lambdas.domain.evaluation), a profile may set
``evaluation.managed_judge: {evaluator_model, metrics}``. Then, once every batch of the evaluation has written its
per-example results (``<report prefix>batches/*.results.jsonl``, one ``ExampleResult.to_json()`` per line):

1. :func:`start` writes one dataset per side (candidate, baseline) and per 1,000 examples, in the format for your
   own inference responses, and starts one evaluation job for each: an automated job judges one model, so the
   two sides cannot share a job (``MODELS_PER_AUTOMATED_JOB``). Which example each dataset line is, is kept in a
   manifest beside the datasets.
2. :func:`check` describes the jobs (Bedrock sends no event for them, so they are polled): running, failed with
   Bedrock's reasons, or done; when done it reads every job's results and writes the per-example scores
   (:class:`JudgeScores`) to ``<report prefix>judge-scores.json``, keyed by the example's line number, with
   the gate's names (``judge_correctness``…).
3. The aggregate step merges them into each example's metrics (:func:`load_judge_scores`, :func:`merge_scores`).

Every fact about the API is in lambdas.domain.catalogue.evaluation_jobs; every request is checked against
botocore's service model before it is sent. Clients are passed in; nothing here imports boto3.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from typing import Any, Iterable, Literal

from pydantic import BaseModel

from lambdas.domain.bedrock_requests import check_request
from lambdas.domain.catalogue import evaluation_jobs as facts
from lambdas.domain.evaluation import ExampleResult, report_prefix
from lambdas.domain.names import (
    JUDGE_DATASETS_PREFIX,
    JUDGE_OUTPUT_PREFIX,
    JUDGE_SCORES_FILE,
)
from lambdas.domain.runs import RunInput, client_request_token_for

# The batches' per-example results (written by EvaluateBatch) under the run's report folder.
# Which dataset line holds which example: the judge's datasets' own manifest, beside them.
DATASETS_MANIFEST_FILE = "manifest.json"
DATASET_NAME = "tuneforge-evaluation"
# Jobs of a few hundred prompts take minutes; the state machine waits this long between checks.
CHECK_INTERVAL_SECONDS = 300

Side = Literal["candidate", "baseline"]
SIDES: tuple[Side, Side] = ("candidate", "baseline")


class JudgeEvaluationFailed(RuntimeError):
    """A managed-judge job failed or was stopped: the run has no decision (Bedrock's reasons in the message)."""


class ManagedJudgeError(ValueError):
    """Nothing to judge, or results that do not fit the datasets sent."""


# --- contracts ---------------------------------------------------------------------------------------------
class JudgeJob(BaseModel):
    side: Side
    part: int
    job_name: str
    job_arn: str
    examples: int


class JudgeEvaluationStarted(BaseModel):
    """What StartJudgeEvaluation returns, and CheckJudgeEvaluation takes back."""

    evaluator_model: str  # as the jobs name it: its own id or its inference profile
    metrics: list[str]  # the gate's names: judge_correctness, …
    examples: int
    manifest_uri: str
    output_uri: str
    jobs: list[JudgeJob]


class JudgeJobStatus(BaseModel):
    job_arn: str
    side: Side
    status: str
    failure_messages: list[str] = []


class JudgeEvaluationCheck(BaseModel):
    status: Literal["running", "done", "failed"]
    done: bool
    failed: bool
    failure_message: str | None = None
    jobs: list[JudgeJobStatus]
    scores_uri: str | None = None
    next_check_seconds: int = CHECK_INTERVAL_SECONDS


class JudgeScores(BaseModel):
    """The object at ``scores_uri``: per example line, per side, per gate metric, the score (None: not scored)."""

    evaluator_model: str
    metrics: list[str]
    jobs: list[str]
    examples: dict[int, dict[Side, dict[str, float | None]]]


# --- names -------------------------------------------------------------------------------------------------
def job_name_for(run_id: str, side: Side, part: int) -> str:
    """``[a-z0-9](-*[a-z0-9]){0,62}`` (EvaluationJobName), unique per run, side and part."""
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:24]
    return f"tf-judge-{digest}-{side}-{part}"


def source_identifier(side: Side) -> str:
    """The dataset's modelIdentifier and the job's inferenceSourceIdentifier (``[a-zA-Z0-9]([a-zA-Z0-9._-]){0,255}``)."""
    return f"tuneforge-{side}"


def datasets_prefix(run: RunInput) -> str:
    return f"{JUDGE_DATASETS_PREFIX}{run.profile.name}/{run.run_id}/"


def output_prefix(run: RunInput) -> str:
    return f"{JUDGE_OUTPUT_PREFIX}{run.profile.name}/{run.run_id}/"


def gate_metric_of(builtin: str) -> str | None:
    return next(
        (facts.gate_metric(name) for name, metric in facts.BUILTIN_JUDGE_METRICS.items() if metric == builtin), None
    )


# --- reading what Bedrock wrote ----------------------------------------------------------------------------
def _keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def _jsonl(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- the datasets ------------------------------------------------------------------------------------------
def dataset_record(prompt: str, reference: str, response: str, side: Side) -> dict[str, Any]:
    """One line of a dataset with your own inference responses (facts.DATASET_SOURCE)."""
    record: dict[str, Any] = {"prompt": prompt}
    if reference:
        record["referenceResponse"] = reference
    record["modelResponses"] = [{"response": response, "modelIdentifier": source_identifier(side)}]
    return record


def judged_examples(results: Iterable[dict[str, Any]], side: Side) -> list[dict[str, Any]]:
    """The examples one side answered: a call that failed left no response to judge (its error is counted already)."""
    return [result for result in results if not (result.get("errors") or {}).get(side)]


def _parts(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    size = facts.MAX_PROMPTS_PER_JOB
    return [items[start : start + size] for start in range(0, len(items), size)]


def build_job_request(
    *,
    job_name: str,
    role_arn: str,
    evaluator_model: str,
    metrics: Iterable[str],
    dataset_uri: str,
    output_uri: str,
    side: Side,
    client_request_token: str,
) -> dict[str, Any]:
    """CreateEvaluationJob for one side: an automated judge job over our own responses (no model invoked)."""
    request: dict[str, Any] = {
        "jobName": job_name,
        "jobDescription": f"tuneforge managed judge: the {side}'s answers",
        "clientRequestToken": client_request_token,
        "roleArn": role_arn,
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": facts.TASK_TYPE,
                        "dataset": {"name": DATASET_NAME, "datasetLocation": {"s3Uri": dataset_uri}},
                        "metricNames": [facts.BUILTIN_JUDGE_METRICS[metric] for metric in metrics],
                    }
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": evaluator_model}]},
            }
        },
        "inferenceConfig": {
            "models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": source_identifier(side)}}]
        },
        "outputDataConfig": {"s3Uri": output_uri},
    }
    check_request("CreateEvaluationJob", request)
    return request


def start(
    bedrock: Any,
    s3: Any,
    run: RunInput,
    evaluated: Iterable[ExampleResult],
    *,
    artifacts_bucket: str,
    role_arn: str,
    evaluator_model: str,
) -> JudgeEvaluationStarted:
    """Write the datasets and the manifest, start one job per side and part. ``evaluated``: every example the
    batches answered (lambdas.domain.evaluation_batches.complete_results). ``evaluator_model`` is the id the
    profile's evaluator is invoked by from this Region (its own, or an inference profile's)."""
    settings = run.profile.evaluation.managed_judge
    if settings is None:
        raise ManagedJudgeError(f"profile {run.profile.name!r} sets no evaluation.managed_judge")
    results = sorted((result.to_json() for result in evaluated), key=lambda record: int(record["line"]))
    if not results:
        raise ManagedJudgeError(f"run {run.run_id}: the batches left no per-example results to judge")
    datasets, output = datasets_prefix(run), output_prefix(run)
    output_uri = f"s3://{artifacts_bucket}/{output}"
    manifest: dict[str, dict[str, Any]] = {}
    jobs: list[JudgeJob] = []
    for side in SIDES:
        for part, chunk in enumerate(_parts(judged_examples(results, side))):
            key = f"{datasets}{side}-{part}.jsonl"
            body = "".join(
                json.dumps(
                    dataset_record(r["prompt"], r.get("reference") or "", r[side] or "", side), ensure_ascii=False
                )
                + "\n"
                for r in chunk
            )
            s3.put_object(Bucket=artifacts_bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")
            name = job_name_for(run.run_id, side, part)
            manifest[name] = {"side": side, "part": part, "lines": [int(r["line"]) for r in chunk]}
            request = build_job_request(
                job_name=name,
                role_arn=role_arn,
                evaluator_model=evaluator_model,
                metrics=settings.metrics,
                dataset_uri=f"s3://{artifacts_bucket}/{key}",
                output_uri=output_uri,
                side=side,
                client_request_token=client_request_token_for(run.run_id, f"judge-{side}-{part}"),
            )
            arn = bedrock.create_evaluation_job(**request)["jobArn"]
            jobs.append(JudgeJob(side=side, part=part, job_name=name, job_arn=arn, examples=len(chunk)))
    if not jobs:
        raise ManagedJudgeError("neither side answered any example: nothing to judge")
    manifest_key = f"{datasets}{DATASETS_MANIFEST_FILE}"
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=manifest_key,
        Body=json.dumps(manifest).encode(),
        ContentType="application/json",
    )
    return JudgeEvaluationStarted(
        evaluator_model=evaluator_model,
        metrics=[facts.gate_metric(metric) for metric in settings.metrics],
        examples=len(results),
        manifest_uri=f"s3://{artifacts_bucket}/{manifest_key}",
        output_uri=output_uri,
        jobs=jobs,
    )


# --- the jobs' results -------------------------------------------------------------------------------------
def _record_key(record: dict[str, Any]) -> tuple[str, str, str]:
    responses = record.get("modelResponses") or [{}]
    return (
        str(record.get("prompt", "")),
        str(record.get("referenceResponse", "")),
        str(responses[0].get("response", "")),
    )


def parse_results(
    lines: Iterable[dict[str, Any]], dataset: list[dict[str, Any]], dataset_lines: list[int], metrics: list[str]
) -> dict[int, dict[str, float | None]]:
    """Per example line, the gate's metric -> score of one job's result lines (documented format:
    facts.RESULTS_SOURCE). A result is matched to its dataset record by its ``inputRecord`` (the same prompt,
    reference and response), in order among equal records, since Bedrock does not promise the order of its
    output. An example with no result, or a null result, scores None: not scored, not zero."""
    waiting: dict[tuple[str, str, str], deque[int]] = defaultdict(deque)
    for record, line in zip(dataset, dataset_lines, strict=True):
        waiting[_record_key(record)].append(line)
    scores: dict[int, dict[str, float | None]] = {line: dict.fromkeys(metrics) for line in dataset_lines}
    for result in lines:
        pending = waiting.get(_record_key(result.get("inputRecord") or {}))
        if not pending:
            raise ManagedJudgeError(f"a result for a record the dataset does not hold: {str(result)[:200]}")
        line = pending.popleft()
        for score in (result.get("automatedEvaluationResult") or {}).get("scores") or []:
            metric = gate_metric_of(str(score.get("metricName")))
            value = score.get("result")
            if metric in scores[line]:
                scores[line][metric] = float(value) if isinstance(value, (int, float)) else None
    return scores


def _s3_location(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def describe(bedrock: Any, started: JudgeEvaluationStarted) -> list[JudgeJobStatus]:
    statuses = []
    for job in started.jobs:
        response = bedrock.get_evaluation_job(jobIdentifier=job.job_arn)
        statuses.append(
            JudgeJobStatus(
                job_arn=job.job_arn,
                side=job.side,
                status=response["status"],
                failure_messages=list(response.get("failureMessages") or []),
            )
        )
    return statuses


def collect_scores(s3: Any, started: JudgeEvaluationStarted) -> JudgeScores:
    bucket, manifest_key = _s3_location(started.manifest_uri)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    datasets = manifest_key.rsplit("/", 1)[0] + "/"
    output_bucket, output = _s3_location(started.output_uri)
    examples: dict[int, dict[Side, dict[str, float | None]]] = {}
    for job in started.jobs:
        entry = manifest[job.job_name]
        dataset = _jsonl(s3, bucket, f"{datasets}{job.side}-{job.part}.jsonl")
        results = [
            line
            for key in _keys_under(s3, output_bucket, facts.results_prefix(output, job.job_name))
            if key.endswith(facts.RESULTS_SUFFIX)
            for line in _jsonl(s3, output_bucket, key)
        ]
        for line, scores in parse_results(results, dataset, entry["lines"], started.metrics).items():
            examples.setdefault(line, {})[job.side] = scores
    return JudgeScores(
        evaluator_model=started.evaluator_model,
        metrics=started.metrics,
        jobs=[job.job_arn for job in started.jobs],
        examples=dict(sorted(examples.items())),
    )


def check(
    bedrock: Any, s3: Any, run: RunInput, started: JudgeEvaluationStarted, *, artifacts_bucket: str
) -> JudgeEvaluationCheck:
    """Running until every job has ended; failed when any failed or was stopped, with Bedrock's reasons; else done,
    with the per-example scores written to ``<report prefix>judge-scores.json``."""
    statuses = describe(bedrock, started)
    ended_badly = [s for s in statuses if s.status in facts.FAILED_STATUSES]
    if ended_badly:
        reasons = "; ".join(
            f"{s.side} job {s.job_arn} {s.status}" + (f": {' '.join(s.failure_messages)}" if s.failure_messages else "")
            for s in ended_badly
        )
        return JudgeEvaluationCheck(status="failed", done=False, failed=True, failure_message=reasons, jobs=statuses)
    if any(s.status != facts.COMPLETED_STATUS for s in statuses):
        return JudgeEvaluationCheck(status="running", done=False, failed=False, jobs=statuses)
    scores = collect_scores(s3, started)
    key = f"{report_prefix(run)}{JUDGE_SCORES_FILE}"
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=key,
        Body=scores.model_dump_json(indent=1).encode(),
        ContentType="application/json; charset=utf-8",
    )
    return JudgeEvaluationCheck(
        status="done", done=True, failed=False, jobs=statuses, scores_uri=f"s3://{artifacts_bucket}/{key}"
    )


def stop(bedrock: Any, started: JudgeEvaluationStarted) -> list[str]:
    """Stop the jobs still running (a run that fails or is cancelled while it is judged: for Cleanup); returns the
    ARNs of those stopped. A job that ended meanwhile is left as it is."""
    stopped = []
    for status in describe(bedrock, started):
        if status.status != "InProgress":
            continue
        try:
            bedrock.stop_evaluation_job(jobIdentifier=status.job_arn)
        except bedrock.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("ConflictException", "ValidationException"):
                raise
            continue
        stopped.append(status.job_arn)
    return stopped


# --- for the aggregate step --------------------------------------------------------------------------------
def load_judge_scores(s3: Any, uri: str) -> JudgeScores:
    bucket, key = _s3_location(uri)
    return JudgeScores.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def merge_scores(results: Iterable[ExampleResult], scores: JudgeScores) -> None:
    """Add each example's managed-judge scores to its per-example metrics; an example the judge did not score
    (its side's call failed) gets None for each metric, which the means skip."""
    for result in results:
        sides = scores.examples.get(result.example.line, {})
        pairs: tuple[tuple[Side, dict[str, float | None]], ...] = (
            ("candidate", result.candidate_scores),
            ("baseline", result.baseline_scores),
        )
        for side, metrics in pairs:
            judged = sides.get(side, {})
            for metric in scores.metrics:
                metrics[metric] = judged.get(metric)
