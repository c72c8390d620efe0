"""Evaluate: candidate vs baseline on the evaluation set, the gate's decision, reports in the artifacts bucket.

Returns numbers and URIs only (the Step Functions payload limit is 256 KB); every example is in
``evaluation-examples.jsonl``. Metrics go to CloudWatch as EMF, per profile and per model.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.champion import current_champion
from lambdas.domain.contracts import EvaluateInput
from lambdas.domain.endpoints import baseline_model_for
from lambdas.domain.evaluation import (
    EvaluationSummary,
    evaluate,
    evaluation_set_location,
    invocable_model,
    load_evaluation_set,
)
from lambdas.domain.names import Env
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import champions_table, client, env, region_and_account, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()

METRIC_NAMES = {
    "exact_match": "EvaluationExactMatch",
    "token_f1": "EvaluationTokenF1",
    "rouge_l": "EvaluationRougeL",
    "judge": "EvaluationJudgeScore",
}


def _publish(summary: EvaluationSummary, profile: str) -> None:
    # One dimension set per (profile, model): a Metrics object holds a single set per flush.
    for model, values in (("candidate", summary.candidate), ("baseline", summary.baseline)):
        for metric, value in values.items():
            with single_metric(
                name=METRIC_NAMES.get(metric, metric), unit=MetricUnit.NoUnit, value=value, namespace=metrics.namespace
            ) as emitted:
                emitted.add_dimension(name="profile", value=profile)
                emitted.add_dimension(name="model", value=model)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(EvaluateInput)
def handler(event: EvaluateInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    if not event.endpoint.arn:
        raise ValueError(f"endpoint {event.endpoint.name} has no ARN")
    s3 = client("s3")
    bucket, key = evaluation_set_location(
        run, data_bucket=env(Env.DATA_BUCKET), artifacts_bucket=env(Env.ARTIFACTS_BUCKET)
    )
    examples = load_evaluation_set(s3, bucket, key, run.profile.evaluation.max_examples)
    # Base model and judge invoked as Bedrock requires from this Region: by their own id, or through the
    # inference profile the catalogue records for them (the account is the function's own).
    region, account = region_and_account(context)
    baseline = baseline_model_for(
        run,
        current_champion(champions_table(), run.profile.name),
        invocable_model(run.profile.base_model, region, account).model_id,
    )
    judge = (
        invocable_model(run.profile.evaluation.judge_model, region, account).model_id
        if run.profile.evaluation.judge_model
        else None
    )
    summary, decision = evaluate(
        client("bedrock-runtime"),
        s3,
        run,
        examples=examples,
        candidate_model=event.endpoint.arn,
        baseline_model=baseline,
        artifacts_bucket=env(Env.ARTIFACTS_BUCKET),
        evaluation_set_uri=f"s3://{bucket}/{key}",
        judge_model=judge,
    )
    registry().update(
        run.run_id,
        status=RunStatus.EVALUATING,
        evaluation_report=summary.report_uri,
        evaluation_html=summary.html_uri,
        evaluation_metrics={"candidate": summary.candidate, "baseline": summary.baseline},
        baseline_model=baseline,
        evaluation_usage=summary.usage,
        gate_passed=decision.passed,
        gate_summary=decision.summary,
    )
    _publish(summary, run.profile.name)
    metrics.add_dimension(name="profile", value=run.profile.name)
    metrics.add_metric(name="GatePassed" if decision.passed else "GateFailed", unit=MetricUnit.Count, value=1)
    logger.info(
        "evaluation finished", extra={"run_id": run.run_id, "passed": decision.passed, "summary": decision.summary}
    )
    return summary.model_dump()
