"""The Validate and Estimate steps of a run, over the validation engine and the cost model."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from lambdas.domain.cost import estimate_cost
from lambdas.domain.customization import bedrock_uri_problem
from lambdas.domain.evaluation import EvaluationSetError, check_evaluation_set
from lambdas.domain.holdout import HoldoutError, split_holdout
from lambdas.domain.runs import RunInput
from lambdas.domain.sources import s3_media_checker, s3_object
from lambdas.domain.validation import validate_dataset

REPORTS_PREFIX = "reports/"
SUMMARY_EXAMPLES = 5


class ValidationOutcome(BaseModel):
    valid: bool
    report_uri: str
    error_count: int
    warning_count: int
    training_records: int
    training_tokens: int
    summary: list[str]  # the first few problems, already phrased for the data owner
    evaluation_examples: int = 0
    training_uri: str | None = None  # what the job trains on when it is not the upload (a held-out split)


class EstimateOutcome(BaseModel):
    within_budget: bool
    budget_verified: bool  # False when a price figure is unknown, so the total is a lower bound
    total_usd: str
    budget_cap_usd: str
    summary: str
    estimate: dict[str, Any]


def validate_run_dataset(s3: Any, run: RunInput, *, artifacts_bucket: str, data_bucket: str) -> ValidationOutcome:
    """Validate the dataset and the profile's evaluation set, so neither fails after money is spent."""
    dataset = run.dataset
    training = s3_object(s3, dataset.training.uri, dataset.training.version_id)
    validation = s3_object(s3, dataset.validation.uri, dataset.validation.version_id) if dataset.validation else None
    report = validate_dataset(
        training,
        run.profile.model,
        run.profile.customization_type,
        validation_source=validation,
        hyperparameters=run.profile.hyperparameters,
        bucket=dataset.training.bucket,
        s3_client=s3,
        media_exists=s3_media_checker(s3),
    )
    key = f"{REPORTS_PREFIX}{run.profile.name}/{run.run_id}/validation.json"
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=report.to_json(indent=2).encode(), ContentType="application/json")
    summary = [str(issue) for issue in report.issues()[:SUMMARY_EXAMPLES]]
    # The engine reads OpenAI chat files by converting them, but the job would receive the file as
    # uploaded, which Bedrock refuses: the data owner converts first.
    wrong_source_format = report.source_format != report.dataset_format
    if wrong_source_format:
        summary.insert(
            0,
            f"the file is in {report.source_format} format, but {report.model_name} trains on {report.dataset_format}: convert it with "
            f"`tuneforge validate FILE --model {report.model_id} --convert-out converted.jsonl` and upload the converted file",
        )
    evaluation_examples, evaluation_problem, training_uri = 0, None, None
    try:
        if run.profile.evaluation.dataset_key:
            evaluation_examples = check_evaluation_set(s3, data_bucket, run.profile.evaluation.dataset_key, run.profile.evaluation.max_examples)["evaluation_examples"]
        elif report.valid and not wrong_source_format:
            training_uri, _, evaluation_examples = split_holdout(s3, run, data_bucket=data_bucket, artifacts_bucket=artifacts_bucket)
    except (EvaluationSetError, HoldoutError) as bad_set:
        evaluation_problem = str(bad_set)
        summary.insert(0, evaluation_problem)
    # The job reads the upload itself (or the held-out split written under a key of ours), and Bedrock
    # refuses some keys S3 takes: say so now, with the fix, rather than fail at StartCustomization.
    holdout_planned = not run.profile.evaluation.dataset_key and run.profile.evaluation.holdout_fraction is not None
    job_reads = [training_uri] if training_uri else ([] if holdout_planned else [dataset.training.uri])
    job_reads += [dataset.validation.uri] if dataset.validation else []
    key_problems = [problem for problem in map(bedrock_uri_problem, job_reads) if problem]
    summary[:0] = key_problems
    return ValidationOutcome(
        valid=report.valid and evaluation_problem is None and not wrong_source_format and not key_problems,
        evaluation_examples=evaluation_examples,
        training_uri=training_uri,
        report_uri=f"s3://{artifacts_bucket}/{key}",
        error_count=report.error_count + (evaluation_problem is not None) + wrong_source_format + len(key_problems),
        warning_count=report.warning_count,
        training_records=report.training.records,
        training_tokens=report.training.tokens.total,
        summary=summary,
    )


def estimate_run(run: RunInput, validation: ValidationOutcome) -> EstimateOutcome:
    profile = run.profile
    estimate = estimate_cost(
        validation.training_tokens,
        profile.model,
        profile.hyperparameters,
        profile.throughput,
        profile.budget_cap_usd,
        customization_type=profile.customization_type.value,
        prices=profile.prices,
    )
    data = estimate.to_dict()
    # An unknown price cannot prove the run is over budget; it runs, and the notification says so.
    within = estimate.within_budget is not False
    verdict = "within" if estimate.within_budget else ("OVER" if estimate.within_budget is False else "not verifiable against")
    summary = f"estimated {data['total_usd']} USD{'' if estimate.complete else ' (lower bound: some prices unknown)'}; {verdict} the budget cap of {data['budget_cap_usd']} USD"
    return EstimateOutcome(within_budget=within, budget_verified=estimate.within_budget is not None, total_usd=data["total_usd"], budget_cap_usd=data["budget_cap_usd"], summary=summary, estimate=json.loads(json.dumps(data)))
