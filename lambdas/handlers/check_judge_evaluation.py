"""CheckJudgeEvaluation: are the managed judge's jobs done? When they are, the per-example scores go to
``<report prefix>judge-scores.json`` for the aggregate step (Bedrock sends no event for evaluation jobs)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import CheckJudgeEvaluationInput
from lambdas.domain.managed_judge import JudgeEvaluationFailed, check
from lambdas.domain.names import Env
from lambdas.handlers._aws import client, env
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(CheckJudgeEvaluationInput)
def handler(event: CheckJudgeEvaluationInput, context: LambdaContext) -> dict[str, Any]:
    outcome = check(client("bedrock"), client("s3"), event.run, event.judge, artifacts_bucket=env(Env.ARTIFACTS_BUCKET))
    logger.info(
        "managed judge checked",
        extra={"run_id": event.run.run_id, "status": outcome.status, "failure": outcome.failure_message},
    )
    if outcome.failed:
        metrics.add_metric(name="JudgeEvaluationsFailed", unit=MetricUnit.Count, value=1)
        # The state machine's Catch takes the run to Cleanup, which tells the data owner why.
        raise JudgeEvaluationFailed(f"the managed judge failed: {outcome.failure_message}")
    return outcome.model_dump()
