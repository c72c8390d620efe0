"""Completes WaitForJob: from Bedrock's job state-change event, or from the scheduled fallback check."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from lambdas.domain.job_wait import check_waiting_runs, on_job_state_change
from lambdas.handlers._aws import client, registry

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class JobStateChangeDetail(BaseModel):
    jobArn: str
    jobStatus: str
    jobName: str | None = None
    failureMessage: str | None = None


class JobStateChangeEvent(EventBridgeModel):
    detail_type: Literal["Model Customization Job State Change"] = Field(alias="detail-type")
    detail: JobStateChangeDetail


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int] | dict[str, str]:
    if event.get("detail-type") == "Scheduled Event":
        counts = check_waiting_runs(registry(), client("bedrock"), client("stepfunctions"))
        logger.info("fallback check of waiting runs", extra=counts)
        metrics.add_metric(name="JobsFinishedByFallback", unit=MetricUnit.Count, value=counts["finished"])
        return counts
    change = parse(event=event, model=JobStateChangeEvent)
    result = on_job_state_change(registry(), client("bedrock"), client("stepfunctions"), job_arn=change.detail.jobArn)
    logger.info(result, extra={"job_arn": change.detail.jobArn, "job_status": change.detail.jobStatus})
    return {"result": result}
