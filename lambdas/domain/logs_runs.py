"""A run that learns from the account's invocation logs: how it starts, and what Validate and Estimate do for it.

Such a run has no upload, so the earlier steps change, and each change has a cost:

* **Start.** ``tuneforge submit --from-invocation-logs`` or the profile's ``schedule`` (an EventBridge rule
  that invokes StartRun) start it; the run id is the profile and the start time, the execution input
  carries ``source: invocation-logs``, and its dataset names the log location (the registry shows it as
  the run's dataset). The log location always comes from the deployed profile, never from the input:
  Validate checks the profile's fingerprint, and builds the request from it.
* **Validate does not read the logs.** Reading them would give the Validate function (and the VPC's S3
  endpoint, and the logs' KMS key) read access to every prompt and response of every team logged in this
  account and Region, which only Bedrock's service role needs. Validate checks what it can without them:
  the profile's settings, the request field by field against Bedrock's service model, the evaluation
  set. What it cannot check — that records exist, that the filters match some, their format, whether the
  service role may read them — the job's own failure reports, and the run's failure notice carries it.
* **No snapshot.** Bedrock reads the logs as they are when the job starts; the lineage tags name the log
  location, not a version of it.
* **Estimate.** The number of records is unknown before the job, so the training line is unpriced and the
  cost guard refuses the run unless the profile accepts unpriced runs in writing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel

from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.cost import CostEstimate, CostLine
from lambdas.domain.dataset_check import PlannedRequests, ValidationOutcome, _evaluation_set
from lambdas.domain.evaluation import EvaluationSetError, EvaluationSetSize, check_evaluation_images
from lambdas.domain.invocation_logs import MAX_RECORDS
from lambdas.domain.names import REPORTS_PREFIX
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.quoting import one_line
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import Dataset, RunInput, RunSource, S3ObjectRef

NOT_CHECKED_BEFORE_THE_JOB = [
    "that log records exist under the location and that the request-metadata filters select any",
    "the records' format and count (Bedrock takes at most 15,000)",
    "with use_prompt_response, that records of the teacher model exist",
    "that the service role may read the log bucket (and its KMS key)",
]


# The key of the input a profile's schedule rule sends StartRun (stacks/logs_schedules.py builds it).
SCHEDULED_LOGS_RUN = "scheduled_invocation_logs_run"


class ScheduledLogsRun(BaseModel):
    profile: str
    scheduled_at: datetime  # the scheduled event's time: every delivery of one firing names the same run


def logs_run_id(profile: str, at: datetime) -> str:
    """One run per profile and start second: a repeated delivery of the same scheduled start is the same run."""
    return f"{profile}-logs-{at.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"[:80]


def logs_run_input(profile: TuningProfile, at: datetime) -> RunInput:
    settings = profile.invocation_logs
    if settings is None:
        raise ValueError(f"profile {profile.name!r} sets no invocation_logs; it learns from uploads only")
    location = S3ObjectRef(bucket=settings.bucket, key=settings.prefix)
    return RunInput(
        run_id=logs_run_id(profile.name, at),
        profile=profile,
        dataset=Dataset(trigger=location, training=location),
        started_at=at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        source=RunSource.INVOCATION_LOGS,
    )


def start_run_from_invocation_logs(
    profile: TuningProfile,
    *,
    registry: RunRegistry,
    stepfunctions: Any,
    state_machine_arn: str,
    at: datetime,
    epoch_seconds: int,
) -> tuple[str, str, bool]:
    """(run id, execution ARN, whether this call started it): the registry's record first, then the execution,
    named by the run id, so a repeated start finds the existing one."""
    run = logs_run_input(profile, at)
    execution_arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{run.run_id}"
    stored = registry.record_start(run, execution_arn=execution_arn, epoch_seconds=epoch_seconds)
    if stored.get("execution_started"):
        return run.run_id, execution_arn, False
    try:
        stepfunctions.start_execution(stateMachineArn=state_machine_arn, name=run.run_id, input=run.model_dump_json())
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return run.run_id, execution_arn, False
    registry.update(run.run_id, execution_started=True)
    return run.run_id, execution_arn, True


def validate_logs_run(
    s3: Any, run: RunInput, *, artifacts_bucket: str, data_bucket: str, planned_requests: PlannedRequests | None
) -> ValidationOutcome:
    """What can be checked of a run from invocation logs without reading them (see the module's docstring)."""
    settings = run.profile.invocation_logs
    problems: list[str] = []
    evaluation_size = EvaluationSetSize()
    if settings is None:
        problems.append(
            f"profile {run.profile.name} sets no invocation_logs, so it cannot run from invocation logs; upload a dataset instead"
        )
    else:
        examples, evaluation_error = _evaluation_set(s3, run, data_bucket)
        try:
            if evaluation_error is not None:
                raise evaluation_error
            key = run.profile.evaluation.dataset_key or ""
            check_evaluation_images(s3, examples, bucket=data_bucket, key=key, model=run.profile.model)
            evaluation_size = EvaluationSetSize.of((e.prompt, e.reference) for e in examples)
        except EvaluationSetError as bad_set:
            problems.append(str(bad_set))
        if planned_requests is not None:
            problems += [
                f"Bedrock would refuse this run's {operation} request: {problem}"
                for operation, request in planned_requests(settings.s3_uri, None)
                for problem in request_problems(operation, request)
            ]
    prefix = f"{REPORTS_PREFIX}{run.profile.name}/{run.run_id}/"
    report = {
        "source": RunSource.INVOCATION_LOGS.value,
        "valid": not problems,
        "invocation_logs": settings.to_bedrock() if settings else None,
        "max_records": MAX_RECORDS,
        "problems": problems,
        "not_checked_before_the_job": NOT_CHECKED_BEFORE_THE_JOB,
        "evaluation_examples": evaluation_size.examples,
    }
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=f"{prefix}validation.json",
        Body=json.dumps(report, indent=2).encode(),
        ContentType="application/json",
    )
    summary = [one_line(problem) for problem in problems]
    return ValidationOutcome(
        valid=not problems,
        report_uri=f"s3://{artifacts_bucket}/{prefix}validation.json",
        error_count=len(problems),
        warning_count=0,
        training_records=0,
        training_tokens=0,
        summary=summary,
        beyond_report=summary,
        evaluation_examples=evaluation_size.examples,
        evaluation_size=evaluation_size,
        # What the job reads: the log location itself (there is no snapshot of it).
        training_uri=settings.s3_uri if settings and not problems else None,
    )


def unpriced_training(estimate: CostEstimate) -> CostEstimate:
    """The estimate of a run from invocation logs: its training line has no figure, since only the job counts
    the records it takes; the cost guard then fails closed unless the profile accepts unpriced runs."""
    lines = [
        CostLine(
            "training",
            None,
            f"the records in the invocation logs are counted only by the job (at most {MAX_RECORDS:,}); tuneforge does not read the logs",
        )
        if line.item == "training"
        else line
        for line in estimate.lines
    ]
    return replace(
        estimate,
        lines=lines,
        assumptions=[*estimate.assumptions, "training data: the account's invocation logs, read by the job itself"],
    )
