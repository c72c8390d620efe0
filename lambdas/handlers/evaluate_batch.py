"""EvaluateBatch: one batch of the evaluation set, run by the Map state; its results go to S3."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import EvaluateBatchInput
from lambdas.domain.evaluation_batches import evaluate_batch
from lambdas.handlers._aws import client
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@parsed_event(EvaluateBatchInput)
def handler(event: EvaluateBatchInput, context: LambdaContext) -> dict[str, Any]:
    outcome = evaluate_batch(client("bedrock-runtime"), client("s3"), event.job, event.batch, attempt=event.attempt)
    logger.info("batch evaluated", extra=outcome.model_dump())
    return outcome.model_dump()
