"""The Validate and Estimate steps of a run, over the validation engine and the cost model."""

from __future__ import annotations

import json
from typing import Any, Callable

from pydantic import BaseModel

from lambdas.domain.cost import estimate_cost
from lambdas.domain.evaluation import EvaluationSetError, check_evaluation_set
from lambdas.domain.holdout import HoldoutError, split_holdout
from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef
from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.snapshot import Snapshot, snapshot_uri, take_snapshot
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
    # What the job reads: the run's snapshot of the validated versions (None unless the dataset is valid).
    training_uri: str | None = None
    validation_uri: str | None = None
    snapshot_uri: str | None = None  # the snapshot's manifest: every file and medium, source version and ETag
    snapshot_files: list[dict[str, Any]] = []
    snapshot_media: int = 0


class EstimateOutcome(BaseModel):
    within_budget: bool
    budget_verified: bool  # False when a price figure is unknown, so the total is a lower bound
    total_usd: str
    budget_cap_usd: str
    summary: str
    estimate: dict[str, Any]


def pin_versions(s3: Any, dataset: Dataset) -> Dataset:
    """The dataset with every file at the version S3 holds now: a manifest names keys, not versions,
    and validation, the snapshot and the registry must all speak of the same bytes."""

    def pinned(ref: S3ObjectRef | None) -> S3ObjectRef | None:
        if ref is None or ref.version_id:
            return ref
        try:
            version = s3.head_object(Bucket=ref.bucket, Key=ref.key).get("VersionId")
        except Exception:  # missing or unreadable: validation reports it with the reason
            return ref
        return ref.model_copy(update={"version_id": version}) if version and version != "null" else ref

    return dataset.model_copy(update={"training": pinned(dataset.training), "validation": pinned(dataset.validation)})


# (training_uri, validation_uri) -> every (operation, request) the run will send Bedrock
PlannedRequests = Callable[[str, "str | None"], list[tuple[str, dict[str, Any]]]]


def validate_run_dataset(s3: Any, run: RunInput, *, artifacts_bucket: str, data_bucket: str, planned_requests: PlannedRequests | None = None) -> ValidationOutcome:
    """Validate the dataset and the profile's evaluation set, so neither fails after money is spent;
    a valid dataset is snapshotted (``lambdas.domain.snapshot``) and the job trains on the snapshot.

    ``planned_requests(training_uri, validation_uri)`` builds the requests the run will send Bedrock
    (the customization job, its endpoints); every field of them is checked against Bedrock's service
    model before the snapshot is taken, so a request Bedrock would refuse is refused here, one line
    per field.
    """
    run = run.model_copy(update={"dataset": pin_versions(s3, run.dataset)})
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
    prefix = f"{REPORTS_PREFIX}{run.profile.name}/{run.run_id}/"
    s3.put_object(Bucket=artifacts_bucket, Key=f"{prefix}validation.json", Body=report.to_json(indent=2).encode(), ContentType="application/json")
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
    request_problems_found: list[str] = []
    if planned_requests is not None and report.valid and not wrong_source_format:
        planned = planned_requests(snapshot_uri(data_bucket, run.run_id, "training"), snapshot_uri(data_bucket, run.run_id, "validation") if dataset.validation else None)
        request_problems_found = [f"Bedrock would refuse this run's {operation} request: {problem}" for operation, request in planned for problem in request_problems(operation, request)]
        summary[:0] = request_problems_found
    # Only data the job may train on is snapshotted.
    ready = report.valid and not wrong_source_format and not request_problems_found
    media = run.profile.model.dataset_limits(run.profile.customization_type).media
    has_media = bool(media.images or media.videos)
    evaluation_examples, evaluation_problem, snapshot = 0, None, None
    try:
        if run.profile.evaluation.dataset_key:
            evaluation_examples = check_evaluation_set(s3, data_bucket, run.profile.evaluation.dataset_key, run.profile.evaluation.max_examples)["evaluation_examples"]
            if ready:
                snapshot = take_snapshot(s3, run, data_bucket=data_bucket, has_media=has_media)
        elif ready:
            taken: list[Snapshot] = []
            _, evaluation_examples = split_holdout(
                s3, run, artifacts_bucket=artifacts_bucket, write_training=lambda lines: taken.append(take_snapshot(s3, run, data_bucket=data_bucket, has_media=has_media, training_lines=lines))
            )
            snapshot = taken[0]
    except (EvaluationSetError, HoldoutError) as bad_set:
        evaluation_problem = str(bad_set)
        summary.insert(0, evaluation_problem)
    manifest_uri = None
    if snapshot is not None:
        manifest_uri = f"s3://{artifacts_bucket}/{prefix}snapshot.json"
        s3.put_object(Bucket=artifacts_bucket, Key=f"{prefix}snapshot.json", Body=snapshot.model_dump_json(indent=2).encode(), ContentType="application/json")
    valid = report.valid and evaluation_problem is None and not wrong_source_format and snapshot is not None
    return ValidationOutcome(
        valid=valid,
        evaluation_examples=evaluation_examples,
        training_uri=snapshot.uri("training") if snapshot and valid else None,
        validation_uri=snapshot.uri("validation") if snapshot and valid else None,
        snapshot_uri=manifest_uri,
        snapshot_files=[f.model_dump() for f in snapshot.files] if snapshot else [],
        snapshot_media=len(snapshot.media) if snapshot else 0,
        report_uri=f"s3://{artifacts_bucket}/{prefix}validation.json",
        error_count=report.error_count + (evaluation_problem is not None) + wrong_source_format + len(request_problems_found),
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
    unpriced = "; ".join(f"{line.item} ({line.basis})" for line in estimate.unpriced)
    how = "set them in the profile's prices (training_per_1k_tokens, storage_per_month, throughput_per_unit_hour), or accept_unpriced_runs: true"
    if estimate.within_budget is False:
        within, verdict = False, f"OVER the budget cap of {data['budget_cap_usd']} USD"
    elif estimate.within_budget is None and not profile.accept_unpriced_runs:
        # Fail closed: a total that is only a lower bound cannot prove the run is within its cap.
        within, verdict = False, f"refused: not verifiable against the budget cap of {data['budget_cap_usd']} USD because these are unpriced: {unpriced}; {how}"
    elif estimate.within_budget is None:
        within, verdict = True, f"accepted unpriced (the profile sets accept_unpriced_runs): {unpriced}; not verifiable against the budget cap of {data['budget_cap_usd']} USD"
    else:
        within, verdict = True, f"within the budget cap of {data['budget_cap_usd']} USD"
    summary = f"estimated {data['total_usd']} USD{'' if estimate.complete else ' (lower bound)'}; {verdict}"
    return EstimateOutcome(within_budget=within, budget_verified=estimate.within_budget is not None, total_usd=data["total_usd"], budget_cap_usd=data["budget_cap_usd"], summary=summary, estimate=json.loads(json.dumps(data)))
