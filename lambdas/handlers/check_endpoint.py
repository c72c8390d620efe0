"""CheckEndpoint: one poll of an endpoint's status, for the state machine's Wait loop (evaluation and promotion).

Ready: ``ready`` is true. Failed, gone or not ready within ``max_wait_seconds`` of the request: raises
``EndpointFailed`` / ``EndpointTimedOut``, which the state machine routes to cleanup (not to Retry).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import CheckEndpointInput, EndpointCheck
from lambdas.domain.endpoints import (
    MAX_CHECK_INTERVAL_SECONDS,
    MIN_CHECK_INTERVAL_SECONDS,
    EndpointFailed,
    EndpointTimedOut,
    describe_endpoint,
)
from lambdas.handlers._aws import client
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def next_check_seconds(previous_interval: int) -> int:
    """Double the interval each check (capped), so polling a slow endpoint adds a handful of states, not hundreds."""
    return min(MAX_CHECK_INTERVAL_SECONDS, max(MIN_CHECK_INTERVAL_SECONDS, previous_interval * 2))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(CheckEndpointInput)
def handler(event: CheckEndpointInput, context: LambdaContext) -> dict[str, Any]:
    endpoint = event.endpoint
    state, message = describe_endpoint(client("bedrock"), endpoint)
    waited = int((datetime.now(timezone.utc) - datetime.fromisoformat(endpoint.requested_at)).total_seconds())
    result = EndpointCheck(
        status=state.status,
        ready=state.ready,
        failed=state.failed,
        waited_seconds=waited,
        failure_message=message,
        next_check_seconds=next_check_seconds(event.previous_interval),
    )
    logger.info("endpoint status", extra={"run_id": event.run.run_id, "endpoint": endpoint.name, **result.model_dump()})
    metrics.add_metric(name="EndpointChecks", unit=MetricUnit.Count, value=1)
    if state.failed:
        raise EndpointFailed(
            f"{endpoint.kind} {endpoint.identifier} is {state.status}: {message or 'no failure message'}"
        )
    if not state.ready and waited > event.max_wait_seconds:
        raise EndpointTimedOut(
            f"{endpoint.kind} {endpoint.identifier} still {state.status} after {waited} s (limit {event.max_wait_seconds} s)"
        )
    return result.model_dump()
