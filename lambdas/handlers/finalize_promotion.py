"""FinalizePromotion: the candidate becomes the profile's champion (table + SSM parameter); drop what is no longer needed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import FinalizePromotionInput
from lambdas.domain.endpoints import EndpointFailed, describe_endpoint, finalize_promotion
from lambdas.domain.names import Env
from lambdas.handlers._aws import champions_table, client, env, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(FinalizePromotionInput)
def handler(event: FinalizePromotionInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    bedrock = client("bedrock")
    # Applications will read this ARN from the parameter at once: never publish one that cannot answer.
    state, message = describe_endpoint(bedrock, event.promoted)
    if not state.ready:
        raise EndpointFailed(
            f"promoted throughput {event.promoted.identifier} is {state.status}, not InService: {message or ''}"
        )
    result = finalize_promotion(
        bedrock,
        registry(),
        champions_table(),
        client("ssm"),
        run,
        custom_model_arn=event.training.output_model_arn or event.promoted.model_arn,
        promoted=event.promoted,
        evaluation=event.endpoint,
        parameter_prefix=env(Env.CHAMPION_PARAMETER_PREFIX),
    )
    metrics.add_dimension(name="profile", value=run.profile.name)
    if not result.promoted:
        logger.info("superseded: a newer upload's run is the champion", extra=result.model_dump())
        metrics.add_metric(name="PromotionsSuperseded", unit=MetricUnit.Count, value=1)
        return result.model_dump()
    logger.info("champion promoted", extra=result.model_dump())
    metrics.add_metric(name="ChampionsPromoted", unit=MetricUnit.Count, value=1)
    if result.retire_error:
        logger.warning("previous champion's throughput kept", extra={"error": result.retire_error})
        metrics.add_metric(name="ChampionRetirementsRefused", unit=MetricUnit.Count, value=1)
    return result.model_dump()
