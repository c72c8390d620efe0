"""Grader: the Lambda a reinforcement fine-tuning job invokes with sampled responses; one reward per sample.

The event is AWS's list of samples (``GraderRequest``), the answer the list of scores (``GraderResponse``).
Which grader runs is the function's configuration: ``GraderSettings`` as JSON in ``Env.GRADER``, set by the
stack from the profile. The event is a list, so it is parsed here with the contract's model (Powertools'
``event_parser`` would do the same validation, but its wrapper is typed for a dictionary event).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.grader_contract import GraderRequest
from lambdas.domain.grading import GraderFailed, grade_request
from lambdas.domain.names import Env
from lambdas.domain.profiles import GraderSettings

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: Any, context: LambdaContext) -> list[dict[str, Any]]:
    settings = GraderSettings.model_validate_json(os.environ[Env.GRADER])
    request = GraderRequest.model_validate(event)
    try:
        outcome = grade_request(request, settings)
    except GraderFailed as failed:
        for error in failed.errors:
            logger.error("grader raised", extra={"sample_id": error.sample_id, "error": error.error})
        raise
    for error in outcome.errors:
        logger.error("grader raised; the sample scores 0", extra={"sample_id": error.sample_id, "error": error.error})
    logger.info("graded", extra={"samples": len(request.root), "errors": len(outcome.errors)})
    return [score.model_dump(mode="json") for score in outcome.response.root]
