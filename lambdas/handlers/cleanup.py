"""Cleanup: on any failure, stop the run's job and delete every endpoint it created but did not promote.

Invoked by the state machine (``{"run_id", "error"}`` or ``{"run_id", "final_status", "decision"}``), and by the
``ExecutionEndedAbnormally`` rule with the ``Step Functions Execution Status Change`` event of every
execution that failed, timed out or was aborted (the execution name is the run id): then it also
announces the end, exactly once (lambdas/domain/abnormal_end.py).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.abnormal_end import (
    UnverifiedEnd,
    abnormal_end_message,
    claim_notification,
    one_line_cause,
    release_notification,
    verified_end,
)
from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.contracts import CleanupInput
from lambdas.domain.names import Env
from lambdas.domain.outcomes import Outcome, outcome_of
from lambdas.domain.runs import utc_now
from lambdas.handlers._aws import champions_table, client, env, registry

logger = Logger()
tracer = Tracer()
metrics = Metrics()


STATUS_CHANGE = "Step Functions Execution Status Change"


def cleanup_event(event: dict[str, Any]) -> CleanupInput:
    """The state machine's payload, or the run of the execution a status-change event names, as Step
    Functions describes it (UnverifiedEnd when it is no abnormal end of this stage's state machine)."""
    if event.get("detail-type") == STATUS_CHANGE:
        end = verified_end(
            client("stepfunctions"),
            (event.get("detail") or {}).get("executionArn"),
            state_machine_arn=env(Env.STATE_MACHINE_ARN),
        )
        return CleanupInput(
            run_id=end.run_id,
            error={"Error": end.error, "Cause": end.cause},
            ended=end.status,
            profile=end.profile,
            execution_arn=end.execution_arn,
        )
    return parse(event=event, model=CleanupInput)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = cleanup_event(event)
    except UnverifiedEnd as refusal:
        # Nothing is stopped, deleted, recorded or announced on an end Step Functions does not confirm.
        logger.warning("status-change event not acted on", extra={"reason": str(refusal)})
        metrics.add_metric(name="UnverifiedStatusChangeIgnored", unit=MetricUnit.Count, value=1)
        return {"ignored": str(refusal)}
    runs = registry()
    result = cleanup_run(runs, client("bedrock"), request.run_id, champions_table())
    error = request.error or {}
    cause = one_line_cause(error.get("Error"), error.get("Cause")) if error else None
    # Every end but a rejection passes here; a decided run's teardown knows its decision, an abnormal end its status.
    outcome = outcome_of(request.final_status.value, request.decision, request.ended) or Outcome.FAILED
    result.outcome = outcome.value
    runs.update(
        request.run_id,
        status=request.final_status,
        run_outcome=outcome,
        error=error.get("Error"),
        error_cause=cause,
        finished_at=utc_now(),
    )
    logger.info("cleanup finished", extra=result.model_dump())
    # The status-change event is the one announcement of an abnormal end, Catch or no Catch.
    if request.ended and claim_notification(runs, request.run_id, request.ended):
        item = runs.get(request.run_id) or {}
        profile = request.profile or item.get("profile") or "unknown"
        message = abnormal_end_message(
            run_id=request.run_id,
            profile=profile,
            outcome=request.ended,
            error=error.get("Error"),
            cause=cause or one_line_cause(None, None),
            execution_arn=request.execution_arn,
            item=item,
            cleanup=result.model_dump(),
        )
        try:
            client("sns").publish(
                TopicArn=env(Env.NOTIFICATION_TOPIC_ARN),
                Subject=f"tuneforge run {request.ended.lower().replace('_', ' ')}: {profile}"[:100],
                Message=json.dumps(message),
                MessageAttributes={
                    "profile": {"DataType": "String", "StringValue": profile},
                    "outcome": {"DataType": "String", "StringValue": request.ended},
                },
            )
        except Exception:
            release_notification(runs, request.run_id)  # the retried delivery publishes instead
            raise
        metrics.add_metric(name="AbnormalEndsNotified", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="EndpointsDeletedByCleanup", unit=MetricUnit.Count, value=len(result.deleted_endpoints))
    return result.model_dump()
