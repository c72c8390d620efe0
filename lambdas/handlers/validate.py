"""Validate: run the validation engine on the uploaded dataset and write the report next to the run."""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.catalogue import on_demand_eligibility
from lambdas.domain.contracts import ValidateInput
from lambdas.domain.customization import build_job_request
from lambdas.domain.dataset_check import validate_run_dataset
from lambdas.domain.endpoints import evaluation_endpoint_request, production_throughput_request
from lambdas.domain.logs_runs import validate_logs_run
from lambdas.domain.names import Env
from lambdas.domain.outcomes import Outcome
from lambdas.domain.profiles import ProfileNotDeployed, deployment_problem, parse_fingerprints
from lambdas.domain.runs import RunInput, RunSource, RunStatus
from lambdas.handlers._aws import client, env, infrastructure, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def planned_requests(
    run: RunInput, execution_arn: str | None, training_uri: str, validation_uri: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """The requests the run will send Bedrock, checked field by field before money is spent. An
    incremental profile's champion and the model the job will create are ARNs Bedrock generates in
    this account; one of that shape stands in for them (what is checked is every field of ours)."""
    infra = infrastructure()
    account_region = infra.kms_key_arn.split(":")
    model_arn = f"arn:{account_region[1]}:bedrock:{account_region[3]}:{account_region[4]}:custom-model/{run.profile.base_model}/{'0' * 12}"
    job = build_job_request(
        run,
        infra,
        base_model=run.profile.base_model,
        execution_arn=execution_arn,
        training_uri=training_uri,
        validation_uri=validation_uri,
    )
    on_demand, _ = on_demand_eligibility(
        run.profile.base_model, account_region[3], date.today()
    )  # the model will be customized from today
    return [
        ("CreateModelCustomizationJob", job),
        evaluation_endpoint_request(run, model_arn, on_demand=on_demand),
        ("CreateProvisionedModelThroughput", production_throughput_request(run, model_arn)),
    ]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@parsed_event(ValidateInput)
def handler(event: ValidateInput, context: LambdaContext) -> dict[str, Any]:
    run = event.run
    # The execution input is anyone's with states:StartExecution; the deployment's fingerprints are not.
    problem = deployment_problem(run.profile, parse_fingerprints(env(Env.PROFILE_FINGERPRINTS)))
    if problem:
        logger.warning(
            "refused a run whose profile is not the deployed one",
            extra={"run_id": run.run_id, "profile": run.profile.name},
        )
        raise ProfileNotDeployed(problem)
    registry().update(run.run_id, status=RunStatus.VALIDATING)
    validate_run = validate_logs_run if run.source is RunSource.INVOCATION_LOGS else validate_run_dataset
    outcome = validate_run(
        client("s3"),
        run,
        artifacts_bucket=env(Env.ARTIFACTS_BUCKET),
        data_bucket=env(Env.DATA_BUCKET),
        planned_requests=lambda training, validation: planned_requests(run, event.execution_arn, training, validation),
    )
    registry().update(
        run.run_id,
        status=RunStatus.VALIDATING if outcome.valid else RunStatus.REJECTED,
        run_outcome=None if outcome.valid else Outcome.REJECTED,  # a rejected run ends here
        validation_report=outcome.report_uri,
        validation_errors=outcome.error_count,
        validation_beyond_report=outcome.beyond_report,
        training_records=outcome.training_records,
        training_tokens=outcome.training_tokens,
        evaluation_examples=outcome.evaluation_examples,
        # What the job trains on, and which upload versions it was copied from (the model's lineage).
        snapshot_uri=outcome.snapshot_uri,
        snapshot_files=outcome.snapshot_files,
        snapshot_media=outcome.snapshot_media,
    )
    logger.info("dataset validated", extra={"run_id": run.run_id, **outcome.model_dump(exclude={"summary"})})
    metrics.add_metric(name="DatasetsValid" if outcome.valid else "DatasetsRejected", unit=MetricUnit.Count, value=1)
    return outcome.model_dump()
