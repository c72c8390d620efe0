"""Cleanup: on any failure, stop the run's job and delete every endpoint it created but did not promote.

Invoked by the state machine (``{"run_id", "error"}`` or ``{"run_id", "final_status"}``), and by the
``ExecutionEndedAbnormally`` rule with the ``Step Functions Execution Status Change`` event of an
execution that timed out, was aborted or failed: no Catch runs then, and the execution name is the run id.
"""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.runs import RunStatus, utc_now
from lambdas.handlers._aws import client, env, registry

logger = Logger()
tracer = Tracer()
metrics = Metrics()


STATUS_CHANGE = "Step Functions Execution Status Change"
# What describe_execution reports for an execution that ended without an error of its own.
STATUS_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.Aborted"}
# Executions that end this way run no Catch, so nobody else tells the data owner and the platform team.
UNNOTIFIED_ENDINGS = frozenset(STATUS_ERRORS)


class CleanupEvent(BaseModel):
    run_id: str
    error: dict | None = None
    final_status: RunStatus = RunStatus.FAILED
    ended: str | None = None  # the execution's status when a status-change event invoked cleanup
    profile: str | None = None


def cleanup_event(event: dict) -> CleanupEvent:
    """The state machine's payload, or the run an execution status-change event is about."""
    if event.get("detail-type") == STATUS_CHANGE:
        detail = event.get("detail") or {}
        status = detail.get("status", "FAILED")
        error = detail.get("error") or STATUS_ERRORS.get(status, status)
        cause = detail.get("cause") or f"the execution ended {status}"
        try:
            profile = (json.loads(detail.get("input") or "{}").get("profile") or {}).get("name")
        except (ValueError, AttributeError):
            profile = None
        return CleanupEvent(run_id=detail["name"], error={"Error": error, "Cause": cause}, ended=status, profile=profile)
    return parse(event=event, model=CleanupEvent)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    event = cleanup_event(event)
    result = cleanup_run(registry(), client("bedrock"), event.run_id)
    error = event.error or {}
    registry().update(event.run_id, status=event.final_status, error=error.get("Error"), error_cause=error.get("Cause"), finished_at=utc_now())
    logger.info("cleanup finished", extra=result.model_dump())
    if event.ended in UNNOTIFIED_ENDINGS:
        profile = event.profile or (registry().get(event.run_id) or {}).get("profile") or "unknown"
        client("sns").publish(
            TopicArn=env("NOTIFICATION_TOPIC_ARN"),
            Subject=f"tuneforge run {event.ended.lower().replace('_', ' ')}",
            Message=json.dumps({"run_id": event.run_id, "profile": profile, "outcome": event.ended, "error": error, "cleanup": result.model_dump()}),
            MessageAttributes={"profile": {"DataType": "String", "StringValue": profile}, "outcome": {"DataType": "String", "StringValue": event.ended}},
        )
    metrics.add_metric(name="EndpointsDeletedByCleanup", unit=MetricUnit.Count, value=len(result.deleted_endpoints))
    return result.model_dump()

