"""Waiting for a customization job without polling from the state machine.

The WaitForJob task stores its task token with the run. Whichever comes first completes it: the
EventBridge job state-change event, or the scheduled fallback check (event delivery is best effort).
The execution's history holds the same few events whether the job runs an hour or two weeks.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import RunStatus

TERMINAL_JOB_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
# Stopping is not terminal: keep waiting until Bedrock says Stopped.
FAILURE_ERRORS = {"Failed": "BedrockJobFailed", "Stopped": "BedrockJobStopped"}


class JobOutcome(BaseModel):
    job_arn: str
    status: str
    output_model_arn: str | None = None
    output_model_name: str | None = None
    failure_message: str | None = None
    training_loss: float | None = None
    validation_loss: float | None = None
    epochs: int | None = None  # the epochCount the job ran with, for the run's actual cost

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES


def read_job(bedrock: Any, job_arn: str) -> JobOutcome:
    job = bedrock.get_model_customization_job(jobIdentifier=job_arn)
    validation = job.get("validationMetrics") or []
    epochs = (job.get("hyperParameters") or {}).get("epochCount")
    return JobOutcome(
        epochs=int(float(epochs)) if epochs not in (None, "", "Auto") else None,
        job_arn=job_arn,
        status=job["status"],
        output_model_arn=job.get("outputModelArn"),
        output_model_name=job.get("outputModelName"),
        failure_message=job.get("failureMessage"),
        training_loss=(job.get("trainingMetrics") or {}).get("trainingLoss"),
        validation_loss=validation[-1].get("validationLoss") if validation else None,
    )


def _report(stepfunctions: Any, token: str, outcome: JobOutcome) -> bool:
    """Complete the waiting task; False when another reporter already did (the token is spent)."""
    try:
        if outcome.status == "Completed":
            stepfunctions.send_task_success(taskToken=token, output=outcome.model_dump_json())
        else:
            stepfunctions.send_task_failure(
                taskToken=token,
                error=FAILURE_ERRORS[outcome.status],
                cause=json.dumps(
                    {
                        "job_arn": outcome.job_arn,
                        "status": outcome.status,
                        "failure_message": outcome.failure_message or f"the job ended {outcome.status}",
                    }
                ),
            )
    except (
        stepfunctions.exceptions.TaskTimedOut,
        stepfunctions.exceptions.InvalidToken,
        stepfunctions.exceptions.TaskDoesNotExist,
    ):
        return False
    return True


def finish(registry: RunRegistry, stepfunctions: Any, run_id: str, token: str, outcome: JobOutcome) -> bool:
    reported = _report(stepfunctions, token, outcome)
    registry.update(
        run_id,
        remove=("task_token",),
        job_status=outcome.status,
        output_model_arn=outcome.output_model_arn,
        job_failure_message=outcome.failure_message,
        trained_epochs=outcome.epochs,
    )
    return reported


def register_wait(
    registry: RunRegistry, bedrock: Any, stepfunctions: Any, *, run_id: str, job_arn: str, token: str
) -> JobOutcome:
    """Store the token; if the job already ended (a very short job, or a retried step), finish now."""
    registry.update(run_id, status=RunStatus.TRAINING, job_arn=job_arn, task_token=token)
    outcome = read_job(bedrock, job_arn)
    if outcome.terminal:
        finish(registry, stepfunctions, run_id, token, outcome)
    return outcome


def on_job_state_change(registry: RunRegistry, bedrock: Any, stepfunctions: Any, *, job_arn: str) -> str:
    """Handle a Bedrock job state-change event. Returns what happened, for the log."""
    run_id = registry.find_by_job(job_arn)
    if run_id is None:
        return f"no tuneforge run started {job_arn}"
    token = (registry.get(run_id) or {}).get("task_token")
    if not token:
        return f"run {run_id} is not waiting (already finished)"
    # The event carries no training metrics, so read them from the job itself.
    outcome = read_job(bedrock, job_arn)
    if not outcome.terminal:
        return f"job of run {run_id} is {outcome.status}; still waiting"
    finish(registry, stepfunctions, run_id, token, outcome)
    return f"run {run_id}: job {outcome.status}"


def check_waiting_runs(registry: RunRegistry, bedrock: Any, stepfunctions: Any) -> dict[str, int]:
    """The fallback: finish runs whose job ended without an event; keep the others' heartbeat alive."""
    counts = {"finished": 0, "still_running": 0}
    for item in registry.runs_with_status(RunStatus.TRAINING):
        token, job_arn = item.get("task_token"), item.get("job_arn")
        if not token or not job_arn:
            continue
        outcome = read_job(bedrock, job_arn)
        if outcome.terminal:
            finish(registry, stepfunctions, item["run_id"], token, outcome)
            counts["finished"] += 1
        else:
            try:
                stepfunctions.send_task_heartbeat(taskToken=token)
            except (
                stepfunctions.exceptions.TaskTimedOut,
                stepfunctions.exceptions.InvalidToken,
                stepfunctions.exceptions.TaskDoesNotExist,
            ):
                registry.update(item["run_id"], remove=("task_token",))
                continue
            counts["still_running"] += 1
    return counts
