"""Telling people a run ended abnormally: once, in one line, with where to look.

Every execution that ends FAILED, TIMED_OUT or ABORTED emits a Step Functions status-change event,
whether or not a Catch ran (a stop, a timeout, a payload over the limit, a failing notification); the
``ExecutionEndedAbnormally`` rule sends it to Cleanup, and this is the one place such an end is
announced. EventBridge and asynchronous invocation deliver at least once, so the run's registry item
is marked with a conditional write before publishing: a second delivery finds the mark and stays quiet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.domain.quoting import MAX_LINE, one_line
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import utc_now

MAX_CAUSE = MAX_LINE  # characters: a notification subject line and an email preview, not a stack trace


def one_line_cause(error: str | None, cause: str | None) -> str:
    """The cause as a person reads it: a Lambda error's type and the first line of its message (a
    Bedrock refusal reads "ValidationException: ..."), never the stack trace the Cause JSON carries."""
    text = (cause or "").strip()
    try:
        parsed = json.loads(text) if text.startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("failure_message"):  # a Bedrock job that failed (job_wait)
        text = f"{error or 'BedrockJobFailed'}: {str(parsed['failure_message']).strip().splitlines()[0]}"
    elif isinstance(parsed, dict) and ("errorMessage" in parsed or "errorType" in parsed):
        message = str(parsed.get("errorMessage") or "").strip().splitlines()
        kind = str(parsed.get("errorType") or error or "Error")
        text = f"{kind}: {message[0]}" if message else kind
    elif text:
        text = text.splitlines()[0]
    else:
        text = error or "the execution ended without a cause"
    return one_line(text, MAX_CAUSE)


ABNORMAL_ENDS = ("FAILED", "TIMED_OUT", "ABORTED")
# What DescribeExecution reports for an execution that ended without an error of its own.
STATUS_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.Aborted"}


@dataclass(frozen=True)
class VerifiedEnd:
    """An abnormal end as Step Functions itself describes it, never as the invoking event claims."""

    run_id: str
    status: str
    error: str
    cause: str
    profile: str | None
    execution_arn: str


class UnverifiedEnd(ValueError):
    """The event names no execution of this state machine that ended abnormally: act on nothing."""


def verified_end(stepfunctions: Any, execution_arn: str | None, *, state_machine_arn: str) -> VerifiedEnd:
    """Cleanup stops jobs and deletes endpoints on a status-change event, and whoever may invoke the function
    could hand it a made-up one; so the execution is described and must be of this stage's state machine, be
    over, and have ended FAILED, TIMED_OUT or ABORTED. Status, error, cause and profile are then its own."""
    prefix = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":"
    if not execution_arn or not execution_arn.startswith(prefix):
        raise UnverifiedEnd(f"{execution_arn!r} is not an execution of {state_machine_arn}")
    try:
        described = stepfunctions.describe_execution(executionArn=execution_arn)
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            raise UnverifiedEnd(f"{execution_arn} does not exist") from None
        raise
    status = described.get("status")
    if described.get("stateMachineArn") != state_machine_arn or status not in ABNORMAL_ENDS:
        raise UnverifiedEnd(
            f"{execution_arn} is {status} (of {described.get('stateMachineArn')}), not an abnormal end of {state_machine_arn}"
        )
    try:
        profile = (json.loads(described.get("input") or "{}").get("profile") or {}).get("name")
    except (ValueError, AttributeError):
        profile = None
    return VerifiedEnd(
        run_id=described["name"],
        status=status,
        error=described.get("error") or STATUS_ERRORS.get(status, status),
        cause=described.get("cause") or f"the execution ended {status}",
        profile=profile,
        execution_arn=execution_arn,
    )


def execution_console_url(execution_arn: str) -> str:
    region = execution_arn.split(":")[3]
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def claim_notification(registry: RunRegistry, run_id: str, outcome: str) -> bool:
    """True for the first delivery of a run's abnormal end, False for every repeat."""
    try:
        registry.update(
            run_id, notified_outcome=outcome, notified_at=utc_now(), condition="attribute_not_exists(#notified_outcome)"
        )
    except Exception as error:
        if registry.conditional_failed(error):
            return False
        raise
    return True


def release_notification(registry: RunRegistry, run_id: str) -> None:
    """Publishing failed after the claim: let the retried delivery publish instead."""
    registry.update(run_id, remove=("notified_outcome", "notified_at"))


def abnormal_end_message(
    *,
    run_id: str,
    profile: str,
    outcome: str,
    error: str | None,
    cause: str,
    execution_arn: str | None,
    item: dict[str, Any],
    cleanup: dict[str, Any],
) -> dict[str, Any]:
    """``cause`` is already one line (one_line_cause)."""
    still_billing = [
        e.get("arn") or e.get("name")
        for e in item.get("endpoints") or []
        if not e.get("deleted_at") and not e.get("promoted")
    ]
    reports = {
        name: item[field]
        for name, field in (("validation", "validation_report"), ("evaluation", "evaluation_report"))
        if item.get(field)
    }
    message: dict[str, Any] = {
        "outcome": outcome,  # first, as in every notice (outcomes.Outcome)
        "run_id": run_id,
        "profile": profile,
        "error": error or outcome,
        "cause": cause,
        "execution": execution_arn,
        "reports": reports,
        # What the run was expected to cost and what it spent before it ended.
        "estimate": item.get("estimate_summary"),
        "actual_cost": cleanup.get("actual_cost"),
        "cleanup": cleanup,
        "still_billing": still_billing,
    }
    if execution_arn:
        message["console"] = execution_console_url(execution_arn)
    return message
