"""Cleanup: on any failure, stop the run's job and delete every endpoint it created but did not promote."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from lambdas.domain.cleanup import cleanup_run
from lambdas.domain.runs import RunStatus, utc_now
from lambdas.handlers._aws import client, registry

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class CleanupEvent(BaseModel):
    run_id: str
    error: dict | None = None
    final_status: RunStatus = RunStatus.FAILED


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=CleanupEvent)
def handler(event: CleanupEvent, context: LambdaContext) -> dict:
    result = cleanup_run(registry(), client("bedrock"), event.run_id)
    error = event.error or {}
    registry().update(event.run_id, status=event.final_status, error=error.get("Error"), error_cause=error.get("Cause"), finished_at=utc_now())
    logger.info("cleanup finished", extra=result.model_dump())
    metrics.add_metric(name="EndpointsDeletedByCleanup", unit=MetricUnit.Count, value=len(result.deleted_endpoints))
    return result.model_dump()

