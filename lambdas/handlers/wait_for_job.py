"""WaitForJob (waitForTaskToken): store the token with the run; finish at once if the job already ended."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import WaitForJobInput, WaitStarted
from lambdas.domain.job_wait import register_wait
from lambdas.handlers._aws import client, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(WaitForJobInput)
def handler(event: WaitForJobInput, context: LambdaContext) -> dict[str, Any]:
    outcome = register_wait(
        registry(),
        client("bedrock"),
        client("stepfunctions"),
        run_id=event.run_id,
        job_arn=event.job_arn,
        token=event.task_token,
    )
    logger.info("waiting for job", extra={"run_id": event.run_id, "job_arn": event.job_arn, "status": outcome.status})
    # Jobs that ended before their task token was parked finish here rather than from their event.
    metrics.add_metric(
        name="JobsFinishedBeforeWait" if outcome.terminal else "JobsWaitedOn", unit=MetricUnit.Count, value=1
    )
    return WaitStarted(status=outcome.status).model_dump()
