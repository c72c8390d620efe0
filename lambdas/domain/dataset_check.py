"""The Validate and Estimate steps of a run, over the validation engine and the cost model."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any, Callable, Iterable

from pydantic import BaseModel

from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.catalogue import on_demand_eligibility
from lambdas.domain.cost import EvaluationPlan, all_priced, estimate_cost
from lambdas.domain.endpoints import MAX_CHECK_INTERVAL_SECONDS, READY_WITHIN_SECONDS
from lambdas.domain.evaluation import (
    MAX_ANSWER_TOKENS,
    EvaluationSetError,
    EvaluationSetSize,
    Example,
    check_evaluation_images,
    load_evaluation_set,
)
from lambdas.domain.evaluation_batches import evaluation_seconds
from lambdas.domain.holdout import HoldoutError, split_holdout
from lambdas.domain.judge_prompt import JUDGE_SYSTEM, JUDGE_TEMPLATE
from lambdas.domain.names import REPORTS_PREFIX
from lambdas.domain.overlap import EvaluationPrompts
from lambdas.domain.quoting import one_line
from lambdas.domain.runs import Dataset, RunInput, RunSource, S3ObjectRef
from lambdas.domain.snapshot import Snapshot, snapshot_uri, take_snapshot
from lambdas.domain.sources import s3_media_checker, s3_object
from lambdas.domain.validation import validate_dataset

SUMMARY_EXAMPLES = 5


class ValidationOutcome(BaseModel):
    valid: bool
    report_uri: str
    error_count: int
    warning_count: int
    training_records: int
    training_tokens: int
    summary: list[str]  # the first few problems, already phrased for the data owner
    # Why the run is refused beyond the report's issues (the evaluation set, the file's format, Bedrock's request
    # rules): the report at report_uri cannot say these, so the registry keeps them for the CLI.
    beyond_report: list[str] = []
    evaluation_examples: int = 0
    evaluation_size: EvaluationSetSize = EvaluationSetSize()  # what the estimate prices evaluation from
    # What the job reads: the run's snapshot of the validated versions (None unless the dataset is valid).
    training_uri: str | None = None
    validation_uri: str | None = None
    snapshot_uri: str | None = None  # the snapshot's manifest: every file and medium, source version and ETag
    snapshot_files: list[dict[str, Any]] = []
    snapshot_media: int = 0


class EstimateOutcome(BaseModel):
    within_budget: bool
    budget_verified: bool  # False when a price figure is unknown, so a total is a lower bound
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


def _evaluation_set(s3: Any, run: RunInput, data_bucket: str) -> tuple[list[Example], EvaluationSetError | None]:
    """The profile's evaluation set (the examples evaluation will use), read before the training file so
    Validate can warn where training repeats its prompts; its error is raised later, beside the others."""
    settings = run.profile.evaluation
    if settings.dataset_key is None:  # a held-out split cannot repeat what it was split from
        return [], None
    try:
        return load_evaluation_set(s3, data_bucket, settings.dataset_key, settings.max_examples), None
    except EvaluationSetError as bad_set:
        return [], bad_set


# (training_uri, validation_uri) -> every (operation, request) the run will send Bedrock
PlannedRequests = Callable[[str, "str | None"], list[tuple[str, dict[str, Any]]]]


def validate_run_dataset(
    s3: Any, run: RunInput, *, artifacts_bucket: str, data_bucket: str, planned_requests: PlannedRequests | None = None
) -> ValidationOutcome:
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
    evaluation_examples, evaluation_set_error = _evaluation_set(s3, run, data_bucket)
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
        evaluation_prompts=EvaluationPrompts.of((e.line, e.prompt) for e in evaluation_examples)
        if evaluation_examples
        else None,
    )
    prefix = f"{REPORTS_PREFIX}{run.profile.name}/{run.run_id}/"
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=f"{prefix}validation.json",
        Body=report.to_json(indent=2).encode(),
        ContentType="application/json",
    )
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
        planned = planned_requests(
            snapshot_uri(data_bucket, run.run_id, "training"),
            snapshot_uri(data_bucket, run.run_id, "validation") if dataset.validation else None,
        )
        request_problems_found = [
            f"Bedrock would refuse this run's {operation} request: {problem}"
            for operation, request in planned
            for problem in request_problems(operation, request)
        ]
        summary[:0] = request_problems_found
    # Only data the job may train on is snapshotted.
    ready = report.valid and not wrong_source_format and not request_problems_found
    media = run.profile.model.dataset_limits(run.profile.customization_type).media
    has_media = bool(media.images or media.videos)
    evaluation_size, evaluation_problem, snapshot = EvaluationSetSize(), None, None
    try:
        if run.profile.evaluation.dataset_key:
            if evaluation_set_error is not None:
                raise evaluation_set_error
            check_evaluation_images(
                s3,
                evaluation_examples,
                bucket=data_bucket,
                key=run.profile.evaluation.dataset_key,
                model=run.profile.model,
            )
            evaluation_size = EvaluationSetSize.of((e.prompt, e.reference) for e in evaluation_examples)
            if ready:
                snapshot = take_snapshot(s3, run, data_bucket=data_bucket, has_media=has_media)
        elif ready:
            taken: list[Snapshot] = []

            def snapshot_split(lines: Iterable[bytes], held_out_media: list[str]) -> dict[str, str]:
                taken.append(
                    take_snapshot(
                        s3,
                        run,
                        data_bucket=data_bucket,
                        has_media=has_media,
                        training_lines=lines,
                        held_out_media=held_out_media,
                    )
                )
                return {media.source_uri: media.snapshot_uri for media in taken[0].media}

            _, _, evaluation_size = split_holdout(
                s3, run, artifacts_bucket=artifacts_bucket, write_training=snapshot_split
            )
            snapshot = taken[0]
    except (EvaluationSetError, HoldoutError) as bad_set:
        evaluation_problem = str(bad_set)
        summary.insert(0, evaluation_problem)
    manifest_uri = None
    if snapshot is not None:
        manifest_uri = f"s3://{artifacts_bucket}/{prefix}snapshot.json"
        s3.put_object(
            Bucket=artifacts_bucket,
            Key=f"{prefix}snapshot.json",
            Body=snapshot.model_dump_json(indent=2).encode(),
            ContentType="application/json",
        )
    valid = report.valid and evaluation_problem is None and not wrong_source_format and snapshot is not None
    return ValidationOutcome(
        valid=valid,
        evaluation_examples=evaluation_size.examples,
        evaluation_size=evaluation_size,
        training_uri=snapshot.uri("training") if snapshot and valid else None,
        validation_uri=snapshot.uri("validation") if snapshot and valid else None,
        snapshot_uri=manifest_uri,
        snapshot_files=[f.model_dump() for f in snapshot.files] if snapshot else [],
        snapshot_media=len(snapshot.media) if snapshot else 0,
        report_uri=f"s3://{artifacts_bucket}/{prefix}validation.json",
        error_count=report.error_count
        + (evaluation_problem is not None)
        + wrong_source_format
        + len(request_problems_found),
        warning_count=report.warning_count,
        training_records=report.training.records,
        training_tokens=report.training.tokens.total,
        # Messages may quote the dataset: the full text is in the report, its first line here.
        summary=[one_line(line) for line in summary],
        beyond_report=[
            one_line(line)
            for line in summary[: (evaluation_problem is not None) + wrong_source_format + len(request_problems_found)]
        ],
    )


def evaluation_plan(
    run: RunInput, validation: ValidationOutcome, *, region: str, baseline_model: str, today: date
) -> EvaluationPlan:
    """What evaluating this run's candidate will send. The candidate will be customized today, so its
    on-demand eligibility turns on its family and the Region only."""
    profile = run.profile
    chars_per_token = profile.model.dataset_limits(profile.customization_type).chars_per_token
    size = validation.evaluation_size

    def tokens(chars: int) -> int:
        return math.ceil(chars / chars_per_token)

    on_demand, why = on_demand_eligibility(profile.base_model, region, today)
    return EvaluationPlan(
        examples=size.examples,
        prompt_tokens=tokens(size.prompt_chars),
        reference_tokens=tokens(size.reference_chars),
        answer_tokens=MAX_ANSWER_TOKENS,
        candidate_on_demand=on_demand,
        candidate_why=why,
        model_units=profile.evaluation_model_units,
        endpoint_hours=math.ceil(
            (
                READY_WITHIN_SECONDS
                + MAX_CHECK_INTERVAL_SECONDS
                + evaluation_seconds(
                    size.examples,
                    judged=bool(profile.evaluation.judge_model),
                    concurrency=profile.evaluation.concurrency,
                )
            )
            / 3600
        ),
        baseline_model=baseline_model,
        judge_model=profile.evaluation.judge_model,
        judge_overhead_tokens=tokens(len(JUDGE_TEMPLATE) + len(JUDGE_SYSTEM)),
    )


def estimate_run(
    run: RunInput, validation: ValidationOutcome, *, region: str, baseline_model: str, today: date
) -> EstimateOutcome:
    """The whole run priced before anything is spent, against two caps: ``budget_cap_usd`` for the run
    (training, storage, evaluation) and ``promotion_monthly_cap_usd`` for what a promotion keeps running.
    Fails closed: a line without a price refuses the run unless the profile accepts unpriced runs."""
    profile = run.profile
    estimate = estimate_cost(
        validation.training_tokens,
        profile.model,
        profile.hyperparameters,
        profile.throughput,
        profile.budget_cap_usd,
        customization_type=profile.customization_type.value,
        prices=profile.prices,
        evaluation=evaluation_plan(run, validation, region=region, baseline_model=baseline_model, today=today),
        monthly_cap=profile.promotion_monthly_cap_usd,
    )
    if run.source is RunSource.INVOCATION_LOGS:
        from lambdas.domain.logs_runs import unpriced_training  # logs_runs builds on this module

        estimate = unpriced_training(estimate)
    data = estimate.to_dict()
    unpriced = "; ".join(
        [f"{line.item} ({line.basis})" for line in estimate.lines if line.amount is None]
        + [
            f"after a promotion, monthly {line.item} ({line.basis})"
            for line in estimate.monthly_lines
            if line.amount is None
        ]
    )
    how = "set them in the profile's prices (training_per_1k_tokens, storage_per_month, throughput_per_unit_hour, on_demand_input_per_1k, on_demand_output_per_1k), or accept_unpriced_runs: true"
    monthly = f"a promotion keeps {data['monthly_total_usd']} USD a month{'' if all_priced(estimate.monthly_lines) else ' (lower bound)'} running"
    refusals: list[str] = []
    if estimate.within_budget is False:
        refusals.append(f"OVER the budget cap of {data['budget_cap_usd']} USD")
    if estimate.within_monthly_cap is False:
        refusals.append(f"{monthly}, OVER promotion_monthly_cap_usd of {data['monthly_cap_usd']} USD")
    elif profile.promotion_monthly_cap_usd is None and estimate.monthly_lines:
        refusals.append(f"{monthly} and the profile sets no promotion_monthly_cap_usd to allow it")
    if estimate.unpriced and not profile.accept_unpriced_runs:
        # Fail closed: a total that is only a lower bound cannot prove the run is within its caps.
        refusals.append(f"refused: not verifiable against the caps because these are unpriced: {unpriced}; {how}")
    if refusals:
        within, verdict = False, "; ".join(refusals)
    elif estimate.unpriced:
        within, verdict = (
            True,
            f"accepted unpriced (the profile sets accept_unpriced_runs): {unpriced}; not verifiable against the budget cap of {data['budget_cap_usd']} USD"
            + (
                f"; {monthly}, under promotion_monthly_cap_usd of {data['monthly_cap_usd']} USD"
                if estimate.monthly_lines
                else ""
            ),
        )
    else:
        within, verdict = (
            True,
            f"within the budget cap of {data['budget_cap_usd']} USD"
            + (
                f"; {monthly}, within promotion_monthly_cap_usd of {data['monthly_cap_usd']} USD"
                if estimate.monthly_lines
                else ""
            ),
        )
    lower = "" if all_priced(estimate.lines) else " (lower bound)"
    summary = f"estimated {data['total_usd']} USD{lower}; {verdict}"
    return EstimateOutcome(
        within_budget=within,
        budget_verified=estimate.complete,
        total_usd=data["total_usd"],
        budget_cap_usd=data["budget_cap_usd"],
        summary=summary,
        estimate=json.loads(json.dumps(data)),
    )
