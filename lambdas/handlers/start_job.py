"""StartCustomization: CreateModelCustomizationJob for the run, idempotent by clientRequestToken."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import StartJobInput
from lambdas.domain.customization import start_customization_job
from lambdas.domain.registry import from_dynamodb
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import champions_table, client, infrastructure, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(StartJobInput)
def handler(event: StartJobInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    champion = from_dynamodb(champions_table().get_item(Key={"profile": run.profile.name}).get("Item") or {})
    job = start_customization_job(
        client("bedrock"),
        run,
        infrastructure(),
        champion_model_arn=champion.get("custom_model_arn"),
        execution_arn=event.execution_arn,
        training_uri=event.training_uri,
        validation_uri=event.validation_uri,
    )
    registry().update(
        run.run_id,
        status=RunStatus.TRAINING,
        job_arn=job.job_arn,
        job_name=job.job_name,
        custom_model_name=job.custom_model_name,
        base_model_identifier=job.base_model_identifier,
    )
    logger.info(
        "customization job started",
        extra={"run_id": run.run_id, "job_arn": job.job_arn, "base_model": job.base_model_identifier},
    )
    metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
    return job.model_dump()
