"""Promote: buy the throughput the profile asks for a candidate that passed the gate (recorded before it is requested)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.champion import newer_champion
from lambdas.domain.contracts import PromoteInput, PromoteOutcome
from lambdas.domain.endpoints import promote
from lambdas.handlers._aws import champions_table, client, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class GateNotPassed(RuntimeError):
    """Promote was reached with a failed gate: a wiring error, and nothing is bought."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(PromoteInput)
def handler(event: PromoteInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    # Throughput with a commitment cannot be undone: check the decision here too, not only in a Choice.
    if not event.evaluation.passed:
        raise GateNotPassed(
            f"run {run.run_id}: the gate failed ({event.evaluation.summary}); refusing to provision throughput"
        )
    if not event.training.output_model_arn:
        raise ValueError(f"job {event.training.job_arn} has no output model")
    metrics.add_dimension(name="profile", value=run.profile.name)
    # A newer upload's model already holds the champion (lambdas.domain.champion): buy nothing.
    newer = newer_champion(champions_table(), run)
    if newer is not None:
        registry().update(run.run_id, outcome="superseded", superseded_by=newer.get("run_id"))
        logger.info("superseded before promotion", extra={"run_id": run.run_id, "champion_run": newer.get("run_id")})
        metrics.add_metric(name="PromotionsSuperseded", unit=MetricUnit.Count, value=1)
        return PromoteOutcome(superseded_by=newer.get("run_id")).model_dump()
    endpoint = promote(client("bedrock"), registry(), run, event.training.output_model_arn, event.endpoint)
    logger.info(
        "production throughput requested",
        extra={
            "run_id": run.run_id,
            "reused_evaluation_endpoint": endpoint.purpose == "evaluation",
            "endpoint": endpoint.model_dump(),
        },
    )
    metrics.add_metric(name="ProductionThroughputRequested", unit=MetricUnit.Count, value=1)
    return PromoteOutcome(endpoint=endpoint).model_dump()
