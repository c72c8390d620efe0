"""Estimate: what the run will cost, against the profile's budget cap, before anything is started."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import EstimateInput
from lambdas.domain.dataset_check import estimate_run
from lambdas.domain.evaluation import invocable_model
from lambdas.domain.outcomes import Outcome
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import region_and_account, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(EstimateInput)
def handler(event: EstimateInput, context: LambdaContext) -> dict[str, Any]:
    region, account = region_and_account(context)
    baseline = invocable_model(event.run.profile.base_model, region, account).model_id
    outcome = estimate_run(
        event.run, event.validation, region=region, baseline_model=baseline, today=datetime.now(timezone.utc).date()
    )
    registry().update(
        event.run.run_id,
        status=None if outcome.within_budget else RunStatus.REJECTED,
        run_outcome=None if outcome.within_budget else Outcome.REJECTED,  # refused over budget: the run ends here
        estimate=outcome.estimate,
        estimate_summary=outcome.summary,
    )
    logger.info(outcome.summary, extra={"run_id": event.run.run_id})
    metrics.add_dimension(name="profile", value=event.run.profile.name)
    metrics.add_metric(name="EstimatedRunCostUsd", unit=MetricUnit.NoUnit, value=float(outcome.total_usd))
    metrics.add_metric(name="RunsOverBudget", unit=MetricUnit.Count, value=0 if outcome.within_budget else 1)
    return outcome.model_dump()
