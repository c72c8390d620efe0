"""PrepareEvaluation: read and check the evaluation set once, write it as batches for the Map state.

Decides the models once for every batch: the candidate's endpoint, the baseline (the base model, or the
champion for incremental profiles) and the judge, each as Bedrock requires it to be invoked from here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.champion import current_champion
from lambdas.domain.contracts import PrepareEvaluationInput
from lambdas.domain.endpoints import baseline_model_for
from lambdas.domain.evaluation import evaluation_set_location, invocable_model, load_evaluation_set
from lambdas.domain.evaluation_batches import plan
from lambdas.domain.names import Env
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import champions_table, client, env, region_and_account, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@parsed_event(PrepareEvaluationInput)
def handler(event: PrepareEvaluationInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    if not event.endpoint.arn:
        raise ValueError(f"endpoint {event.endpoint.name} has no ARN")
    s3 = client("s3")
    artifacts_bucket = env(Env.ARTIFACTS_BUCKET)
    bucket, key = evaluation_set_location(run, data_bucket=env(Env.DATA_BUCKET), artifacts_bucket=artifacts_bucket)
    examples = load_evaluation_set(s3, bucket, key, run.profile.evaluation.max_examples)
    region, account = region_and_account(context)
    baseline = baseline_model_for(
        run,
        current_champion(champions_table(), run.profile.name),
        invocable_model(run.profile.base_model, region, account).model_id,
    )
    judge = run.profile.evaluation.judge_model
    evaluation = plan(
        s3,
        run,
        examples,
        artifacts_bucket=artifacts_bucket,
        evaluation_set_uri=f"s3://{bucket}/{key}",
        candidate_model=event.endpoint.arn,
        baseline_model=baseline,
        judge_model=invocable_model(judge, region, account).model_id if judge else None,
    )
    registry().update(run.run_id, status=RunStatus.EVALUATING)
    logger.info("evaluation planned", extra={"run_id": run.run_id, **evaluation.model_dump()})
    return evaluation.model_dump()
