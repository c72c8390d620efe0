"""Evaluate: the batches' results concluded (metrics, the gate's decision, reports in the artifacts bucket).

The examples were answered by EvaluateBatch, one Map iteration per batch (lambdas/domain/evaluation_batches.py).
Returns numbers and URIs only (the Step Functions payload limit is 256 KB); every example is in
``evaluation-examples.jsonl``. Metrics go to CloudWatch as EMF, per profile and per model.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import EvaluateInput
from lambdas.domain.evaluation import EvaluationSummary
from lambdas.domain.evaluation_batches import aggregate
from lambdas.domain.runs import RunStatus
from lambdas.handlers._aws import client, registry
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
    summary, decision = aggregate(client("s3"), run, event.evaluation_plan, judge_scores_uri=event.judge_scores_uri)
    baseline = summary.baseline_model
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
