"""StartJudgeEvaluation: the run's responses to Bedrock's managed judge, one evaluation job per side (and per
1,000 examples); returns the jobs for CheckJudgeEvaluation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.contracts import StartJudgeEvaluationInput
from lambdas.domain.evaluation import invocable_model
from lambdas.domain.evaluation_batches import complete_results
from lambdas.domain.managed_judge import ManagedJudgeError, start
from lambdas.domain.names import Env
from lambdas.handlers._aws import client, env, region_and_account, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(StartJudgeEvaluationInput)
def handler(event: StartJudgeEvaluationInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    settings = run.profile.evaluation.managed_judge
    if settings is None:
        raise ManagedJudgeError(f"profile {run.profile.name!r} sets no evaluation.managed_judge")
    # The evaluator as Bedrock takes it from this Region: its own id or the inference profile the catalogue records.
    region, account = region_and_account(context)
    evaluator = invocable_model(settings.evaluator_model, region, account).model_id
    s3 = client("s3")
    started = start(
        client("bedrock"),
        s3,
        run,
        complete_results(s3, event.evaluation_plan),
        artifacts_bucket=env(Env.ARTIFACTS_BUCKET),
        role_arn=env(Env.JUDGE_ROLE_ARN),
        evaluator_model=evaluator,
    )
    logger.info(
        "managed judge started",
        extra={"run_id": run.run_id, "jobs": [job.job_arn for job in started.jobs], "examples": started.examples},
    )
    # Cleanup stops the jobs still running when the run ends without a decision (they bill the evaluator's tokens).
    registry().update(run.run_id, judge_jobs=[job.job_arn for job in started.jobs])
    metrics.add_metric(name="JudgeEvaluationJobsStarted", unit=MetricUnit.Count, value=len(started.jobs))
    return started.model_dump()
