"""Evaluate a candidate against its baseline on the profile's evaluation set, through Converse.

* The evaluation set is JSONL, one ``{"prompt": ..., "reference": ...}`` per line (``referenceResponse``,
  Bedrock evaluation jobs' name, and ``completion``, the prompt-completion training format, are
  accepted for ``reference``), optionally with ``"images": [s3 URIs]`` (``lambdas.domain.evaluation_images``).
  It is checked in the Validate step (:func:`check_evaluation_set`), so a missing or malformed set (or
  image) rejects the run before any job or endpoint exists.
* Both models answer every prompt through bedrock-runtime Converse with bounded concurrency; throttling
  is retried by botocore's retry config and then by a bounded backoff here.
* Reference metrics (``lambdas.domain.metrics``) and, when the profile names a judge model, an LLM
  judge score; the gate decides; three reports go to the artifacts bucket.

Clients are passed in; nothing here imports boto3.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydantic import BaseModel

from lambdas.domain import metrics as text_metrics
from lambdas.domain.catalogue import CatalogueError, Invocation, ModelSpec, invocation_for
from lambdas.domain.confidence import Interval, intervals_for, seed_for
from lambdas.domain.evaluation_images import (
    IMAGES_FIELD,
    ImageLoadError,
    image_blocks,
    image_problems,
    parse_images,
    report_thumbnails,
)
from lambdas.domain.evaluation_report import render_html
from lambdas.domain.gate import GateDecision, decide
from lambdas.domain.judge_prompt import JUDGE_SYSTEM, judge_prompt, parse_judge_score
from lambdas.domain.names import HELD_OUT_FILE, REPORTS_PREFIX
from lambdas.domain.runs import RunInput, utc_now

# Lambda memory, not Bedrock, is the limit here: the evaluation set is read whole.
MAX_EVALUATION_SET_BYTES = 50 * 1024 * 1024
MAX_REPORTED_PROBLEMS = 20
REFERENCE_FIELDS = ("reference", "referenceResponse", "completion")

# Converse: deterministic answers, long enough for a paragraph; ROUGE-L is quadratic in length.
MAX_ANSWER_TOKENS = 512
RETRYABLE_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ModelNotReadyException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
    }
)
ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 20.0
# More failed calls than this share means the endpoint (or a permission) is broken: no decision.
MAX_FAILED_SHARE = 0.1
HTML_SAMPLE_SIZE = 12


class EvaluationSetError(ValueError):
    """A missing or malformed evaluation set; ``problems`` names each line and what is wrong with it."""

    def __init__(self, uri: str, problems: list[tuple[int | None, str]]):
        self.uri = uri
        self.problems = problems
        shown = "; ".join(
            f"line {line}: {problem}" if line else problem for line, problem in problems[:MAX_REPORTED_PROBLEMS]
        )
        more = f" (and {len(problems) - MAX_REPORTED_PROBLEMS} more)" if len(problems) > MAX_REPORTED_PROBLEMS else ""
        super().__init__(f"evaluation set {uri}: {shown}{more}")


class EvaluationFailed(RuntimeError):
    """Too many model calls failed to judge the candidate: the run goes to cleanup without a decision."""


class Example(BaseModel):
    line: int
    prompt: str
    reference: str
    images: list[str] = []  # S3 URIs in the data bucket, sent before the prompt as Converse image blocks


class EvaluationSetSize(BaseModel):
    """How much text evaluation will send, for the estimate: known in the Validate step."""

    examples: int = 0
    prompt_chars: int = 0
    reference_chars: int = 0

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> "EvaluationSetSize":
        examples = prompt_chars = reference_chars = 0
        for prompt, reference in pairs:
            examples, prompt_chars, reference_chars = (
                examples + 1,
                prompt_chars + len(prompt),
                reference_chars + len(reference),
            )
        return cls(examples=examples, prompt_chars=prompt_chars, reference_chars=reference_chars)


# --- the evaluation set -----------------------------------------------------------------------
def parse_evaluation_set(body: bytes, uri: str) -> list[Example]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        raise EvaluationSetError(uri, [(None, f"not UTF-8 text (byte {bad.start})")]) from None
    examples: list[Example] = []
    problems: list[tuple[int | None, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as bad:
            problems.append((number, f"not valid JSON ({bad.msg} at column {bad.colno})"))
            continue
        if not isinstance(record, dict):
            problems.append((number, f"expected a JSON object, got {type(record).__name__}"))
            continue
        prompt = record.get("prompt")
        reference_field = next((name for name in REFERENCE_FIELDS if name in record), None)
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append((number, "missing prompt" if prompt is None else "prompt must be a non-empty string"))
        if reference_field is None:
            problems.append((number, "missing reference (or referenceResponse)"))
        elif not isinstance(record[reference_field], str):
            problems.append(
                (number, f"{reference_field} must be a string, got {type(record[reference_field]).__name__}")
            )
        images, bad_images = parse_images(record)
        if bad_images:
            problems.append((number, bad_images))
        if problems and problems[-1][0] == number:
            continue
        examples.append(Example(line=number, prompt=prompt, reference=record[reference_field], images=images))
    if problems:
        raise EvaluationSetError(uri, problems)
    if not examples:
        raise EvaluationSetError(uri, [(None, "no examples (the file is empty)")])
    return examples


def load_evaluation_set(s3: Any, bucket: str, key: str, max_examples: int) -> list[Example]:
    """The first ``max_examples`` examples; every line is checked, so a bad line is never hidden."""
    uri = f"s3://{bucket}/{key}"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise EvaluationSetError(uri, [(None, "the object does not exist")]) from None
        if code in ("403", "AccessDenied"):
            raise EvaluationSetError(
                uri, [(None, "access denied (check the key and the function's permissions)")]
            ) from None
        raise
    if head["ContentLength"] > MAX_EVALUATION_SET_BYTES:
        raise EvaluationSetError(
            uri, [(None, f"{head['ContentLength']:,} bytes; at most {MAX_EVALUATION_SET_BYTES:,}")]
        )
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return parse_evaluation_set(body, uri)[:max_examples]


def check_evaluation_set(
    s3: Any, bucket: str, key: str, max_examples: int, *, model: ModelSpec | None = None
) -> dict[str, Any]:
    """For the Validate step: raises :class:`EvaluationSetError`, else says what evaluation will use.

    Examples' images are checked against ``model`` (the profile's base model) by the media rules of its
    training data, in the set's own bucket; a set with images and no model to check them against is refused.
    """
    examples = load_evaluation_set(s3, bucket, key, max_examples)
    check_evaluation_images(s3, examples, bucket=bucket, key=key, model=model)
    size = EvaluationSetSize.of((example.prompt, example.reference) for example in examples)
    return {"evaluation_set_uri": f"s3://{bucket}/{key}", "evaluation_examples": len(examples), "size": size}


def check_evaluation_images(
    s3: Any, examples: list[Example], *, bucket: str, key: str, model: ModelSpec | None
) -> None:
    """Raises :class:`EvaluationSetError` naming each line whose images ``model`` could not be shown."""
    if any(example.images for example in examples):
        problems: list[tuple[int | None, str]] = (
            image_problems(s3, examples, model=model, bucket=bucket)
            if model is not None
            else [(None, "the examples have images, but no base model was given to check them against")]
        )
        if problems:
            raise EvaluationSetError(f"s3://{bucket}/{key}", problems)


def holdout_key_for(run: RunInput) -> str:
    """Where a profile with ``holdout_fraction`` expects the held-out split (artifacts bucket)."""
    return f"{report_prefix(run)}{HELD_OUT_FILE}"


def evaluation_set_location(run: RunInput, *, data_bucket: str, artifacts_bucket: str) -> tuple[str, str]:
    settings = run.profile.evaluation
    if settings.dataset_key:
        return data_bucket, settings.dataset_key
    return artifacts_bucket, holdout_key_for(run)


def report_prefix(run: RunInput) -> str:
    return f"{REPORTS_PREFIX}{run.profile.name}/{run.run_id}/"


def invocable_model(model: str, region: str, account: str) -> Invocation:
    """What Converse takes for a base model, teacher or judge invoked on demand from ``region`` (its own
    id, or the inference profile the catalogue records for it), and the IAM resources that needs. A
    model the catalogue has no invocation facts for (a judge named freely) is invoked by its own id."""
    try:
        return invocation_for(model, region, account=account)
    except CatalogueError:
        return Invocation(
            model,
            (f"arn:aws:bedrock:{region}::foundation-model/{model}",),
            False,
            f"{model}: no invocation facts recorded; invoked by its own id",
        )


# --- calling models -----------------------------------------------------------------------------
@dataclass
class Answer:
    text: str
    error: str | None = None
    attempts: int = 1
    # Converse's own count of what the call was billed for (its ``usage``), for the run's actual cost.
    input_tokens: int = 0
    output_tokens: int = 0


def _text_of(response: dict[str, Any]) -> str:
    content = response.get("output", {}).get("message", {}).get("content", [])
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def ask(
    runtime: Any,
    model_id: str,
    prompt: str,
    *,
    max_tokens: int = MAX_ANSWER_TOKENS,
    system: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    content: list[dict[str, Any]] | None = None,
) -> Answer:
    """One Converse call; throttling and transient errors get a bounded, jittered backoff.

    ``content``: blocks sent before the prompt's text in the user turn (an example's images).
    Errors after the last attempt are returned, not raised: one failed example must not discard the
    other answers; :func:`evaluate` decides whether too many failed.
    """
    request: dict[str, Any] = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [*(content or []), {"text": prompt}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.0},
    }
    if system:
        request["system"] = [{"text": system}]
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = runtime.converse(**request)
            usage = response.get("usage") or {}
            return Answer(
                _text_of(response),
                attempts=attempt,
                input_tokens=int(usage.get("inputTokens", 0)),
                output_tokens=int(usage.get("outputTokens", 0)),
            )
        except runtime.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = f"{code}: {error.response.get('Error', {}).get('Message', '')}"
            if code not in RETRYABLE_ERRORS or attempt == ATTEMPTS:
                return Answer("", error=message, attempts=attempt)
            sleep(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


def _ask_judge(runtime: Any, judge_model: str, example: Example, answer: str, sleep: Callable[[float], None]) -> Answer:
    return ask(runtime, judge_model, judge_prompt(example, answer), max_tokens=10, system=JUDGE_SYSTEM, sleep=sleep)


def _score_of(reply: Answer) -> float | None:
    return None if reply.error else parse_judge_score(reply.text)


def judge(
    runtime: Any, judge_model: str, example: Example, answer: str, *, sleep: Callable[[float], None] = time.sleep
) -> float | None:
    return _score_of(_ask_judge(runtime, judge_model, example, answer, sleep))


# --- the evaluation -----------------------------------------------------------------------------
@dataclass
class ExampleResult:
    example: Example
    candidate: Answer
    baseline: Answer
    candidate_scores: dict[str, float | None] = field(default_factory=dict)
    baseline_scores: dict[str, float | None] = field(default_factory=dict)
    judge_replies: list[Answer] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "line": self.example.line,
            "prompt": self.example.prompt,
            **({IMAGES_FIELD: self.example.images} if self.example.images else {}),
            "reference": self.example.reference,
            "candidate": self.candidate.text,
            "baseline": self.baseline.text,
            "metrics": {"candidate": self.candidate_scores, "baseline": self.baseline_scores},
        }
        errors = {
            name: answer.error
            for name, answer in (("candidate", self.candidate), ("baseline", self.baseline))
            if answer.error
        }
        if errors:
            record["errors"] = errors
        return record


class EvaluationSummary(BaseModel):
    """What the Evaluate step returns to the state machine: numbers and URIs, never the examples."""

    passed: bool
    summary: str
    candidate_model: str
    baseline_model: str
    examples: int
    candidate: dict[str, float]
    baseline: dict[str, float]
    checks: list[dict[str, Any]]
    failed_calls: dict[str, int]
    report_uri: str
    html_uri: str
    examples_uri: str
    usage: dict[str, dict[str, int]] = {}  # candidate / baseline / judge: calls and tokens, by Converse's count
    intervals: dict[str, Interval] = {}  # metric -> its paired bootstrap interval of candidate minus baseline
    warnings: list[str] = []  # the gate's: e.g. a set too small for the margin asked


def _score(example: Example, answer: Answer) -> dict[str, float | None]:
    return dict(text_metrics.score(answer.text, example.reference))


def _evaluate_one(
    runtime: Any,
    example: Example,
    candidate_model: str,
    baseline_model: str,
    judge_model: str | None,
    sleep: Callable[[float], None],
    s3: Any = None,
) -> ExampleResult:
    """Candidate and baseline see the example's images (read with ``s3``); the judge sees text only: it grades
    against the reference answer, which says what the image shows, and a judge need not take images."""
    try:
        content = image_blocks(s3, example.images) if example.images else None
    except ImageLoadError as unusable:  # both sides fail this example alike; the failed-call share decides
        failed = Answer("", error=f"ImageLoadError: {unusable}", attempts=0)
        return ExampleResult(example, failed, failed, _score(example, failed), _score(example, failed))
    candidate = ask(runtime, candidate_model, example.prompt, sleep=sleep, content=content)
    baseline = ask(runtime, baseline_model, example.prompt, sleep=sleep, content=content)
    result = ExampleResult(example, candidate, baseline, _score(example, candidate), _score(example, baseline))
    if judge_model:
        for answer, scores in ((candidate, result.candidate_scores), (baseline, result.baseline_scores)):
            if answer.error:  # no answer to grade: its None is skipped by the mean, its error counted
                scores["judge"] = None
                continue
            reply = _ask_judge(runtime, judge_model, example, answer.text, sleep)
            result.judge_replies.append(reply)
            scores["judge"] = _score_of(reply)
    return result


def token_usage(answers: Iterable[Answer]) -> dict[str, int]:
    """What a set of Converse calls was billed for, by Converse's own count."""
    calls = list(answers)
    return {
        "calls": len(calls),
        "input_tokens": sum(a.input_tokens for a in calls),
        "output_tokens": sum(a.output_tokens for a in calls),
    }


def comparison(results: list[ExampleResult]) -> dict[str, dict[str, int]]:
    """Per metric: on how many examples the candidate scored higher, equal or lower than the baseline."""
    out: dict[str, dict[str, int]] = {}
    for result in results:
        for name, value in result.candidate_scores.items():
            other = result.baseline_scores.get(name)
            if value is None or other is None:
                continue
            counts = out.setdefault(name, {"wins": 0, "ties": 0, "losses": 0})
            counts["wins" if value > other + 1e-12 else "losses" if value < other - 1e-12 else "ties"] += 1
    return out


def confidence_intervals(run: RunInput, results: list[ExampleResult]) -> dict[str, Interval]:
    """Per metric, candidate minus baseline over the examples, seeded by the run so a rerun agrees."""
    return intervals_for(
        run.profile.gate,
        [r.candidate_scores for r in results],
        [r.baseline_scores for r in results],
        seed=seed_for(run.run_id),
    )


def evaluate(
    runtime: Any,
    s3: Any,
    run: RunInput,
    *,
    examples: list[Example],
    candidate_model: str,
    baseline_model: str,
    artifacts_bucket: str,
    evaluation_set_uri: str,
    sleep: Callable[[float], None] = time.sleep,
    now: str | None = None,
    judge_model: str | None = None,
) -> tuple[EvaluationSummary, GateDecision]:
    """``judge_model`` is the id to invoke the profile's judge by (its inference profile where it needs one).

    The whole set in one process: for tests, tools and small sets. The pipeline evaluates in batches
    (lambdas/domain/evaluation_batches.py) and concludes with :func:`conclude` as this does."""
    settings = run.profile.evaluation
    judge_id = judge_model or settings.judge_model
    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="evaluate") as pool:
        results = list(
            pool.map(
                lambda example: _evaluate_one(runtime, example, candidate_model, baseline_model, judge_id, sleep, s3),
                examples,
            )
        )
    return conclude(
        s3,
        run,
        results,
        candidate_model=candidate_model,
        baseline_model=baseline_model,
        artifacts_bucket=artifacts_bucket,
        evaluation_set_uri=evaluation_set_uri,
        judged=bool(judge_id),
        now=now,
    )


def conclude(
    s3: Any,
    run: RunInput,
    results: list[ExampleResult],
    *,
    candidate_model: str,
    baseline_model: str,
    artifacts_bucket: str,
    evaluation_set_uri: str,
    judged: bool,
    now: str | None = None,
) -> tuple[EvaluationSummary, GateDecision]:
    """From every example's answers and scores: the metrics, the gate's decision and the three reports.
    Raises :class:`EvaluationFailed` when too many calls failed to judge the candidate."""
    settings = run.profile.evaluation
    failed = {
        "candidate": sum(1 for r in results if r.candidate.error),
        "baseline": sum(1 for r in results if r.baseline.error),
    }
    for side, count in failed.items():
        if count > MAX_FAILED_SHARE * len(results):
            first = next(getattr(r, side).error for r in results if getattr(r, side).error)
            raise EvaluationFailed(
                f"{count} of {len(results)} Converse calls to the {side} ({candidate_model if side == 'candidate' else baseline_model}) failed; first: {first}"
            )

    candidate = text_metrics.aggregate(r.candidate_scores for r in results)
    baseline = text_metrics.aggregate(r.baseline_scores for r in results)
    intervals = confidence_intervals(run, results)
    decision = decide(run.profile.gate, candidate, baseline, intervals)

    usage = {
        "candidate": token_usage(r.candidate for r in results),
        "baseline": token_usage(r.baseline for r in results),
        **({"judge": token_usage(reply for r in results for reply in r.judge_replies)} if judged else {}),
    }
    prefix = report_prefix(run)
    uris = {
        name: f"s3://{artifacts_bucket}/{prefix}{name}"
        for name in ("evaluation.json", "evaluation.html", "evaluation-examples.jsonl")
    }
    report = {
        "profile": run.profile.name,
        "run_id": run.run_id,
        "evaluated_at": now or utc_now(),
        "evaluation_set": evaluation_set_uri,
        "examples": len(results),
        "candidate_model": candidate_model,
        "baseline_model": baseline_model,
        "judge_model": settings.judge_model,
        "metrics": {"candidate": candidate, "baseline": baseline},
        "comparison": comparison(results),
        "failed_calls": failed,
        "usage": usage,
        "gate": run.profile.gate.model_dump(),
        "decision": decision.model_dump(),
        "summary": decision.summary,
        "intervals": {metric: interval.model_dump() for metric, interval in intervals.items()},
        "warnings": decision.warnings,
        "reports": {"examples": uris["evaluation-examples.jsonl"], "html": uris["evaluation.html"]},
    }
    examples_jsonl = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results)
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=f"{prefix}evaluation-examples.jsonl",
        Body=examples_jsonl.encode(),
        ContentType="application/x-ndjson; charset=utf-8",
    )
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=f"{prefix}evaluation.json",
        Body=json.dumps(report, indent=2, ensure_ascii=False).encode(),
        ContentType="application/json; charset=utf-8",
    )
    records = [r.to_json() for r in results]
    thumbnails = report_thumbnails(s3, records)  # the shown examples' images, read again for the page
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=f"{prefix}evaluation.html",
        Body=render_html(report, records, thumbnails=thumbnails).encode(),
        ContentType="text/html; charset=utf-8",
    )

    summary = EvaluationSummary(
        passed=decision.passed,
        summary=decision.summary,
        candidate_model=candidate_model,
        baseline_model=baseline_model,
        examples=len(results),
        candidate=candidate,
        baseline=baseline,
        checks=[check.model_dump() for check in decision.checks],
        failed_calls=failed,
        report_uri=uris["evaluation.json"],
        html_uri=uris["evaluation.html"],
        examples_uri=uris["evaluation-examples.jsonl"],
        usage=usage,
        intervals=intervals,
        warnings=decision.warnings,
    )
    return summary, decision
