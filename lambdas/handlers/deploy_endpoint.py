"""DeployForEvaluation: put the candidate behind an endpoint, recorded in the registry before it is requested."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import DeployEndpointInput
from lambdas.domain.endpoints import deploy_for_evaluation
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import client, region_and_account, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(DeployEndpointInput)
def handler(event: DeployEndpointInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    if not event.training.output_model_arn:
        raise ValueError(f"job {event.training.job_arn} ended {event.training.status} without an output model")
    registry().update(run.run_id, status=RunStatus.EVALUATING)
    region, _ = region_and_account(context)
    endpoint = deploy_for_evaluation(client("bedrock"), registry(), run, event.training.output_model_arn, region=region)
    logger.info("evaluation endpoint requested", extra={"run_id": run.run_id, "endpoint": endpoint.model_dump()})
    metrics.add_dimension(name="kind", value=endpoint.kind)
    metrics.add_metric(name="EvaluationEndpointsRequested", unit=MetricUnit.Count, value=1)
    return endpoint.model_dump()
