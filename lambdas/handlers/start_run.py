"""S3 Object Created (via EventBridge) -> exactly one pipeline execution per dataset object version."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.awaiting_manifest import await_manifest
from lambdas.domain.logs_runs import SCHEDULED_LOGS_RUN, ScheduledLogsRun, start_run_from_invocation_logs
from lambdas.domain.names import Env
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.runs import S3ObjectRef
from lambdas.domain.trigger import announce_ignored_upload, parse_profile_parameter, start_run_for_upload
from lambdas.handlers._aws import client, env, registry
from lambdas.handlers._events import parsed_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class StartRunResult(TypedDict):
    started: bool
    duplicate: bool
    run_id: str | None
    reason: str


def load_profile(name: str) -> TuningProfile | None:
    ssm = client("ssm")
    try:
        value = ssm.get_parameter(Name=f"{env(Env.PROFILE_PARAMETER_PREFIX)}/{name}")["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    return parse_profile_parameter(value)


def read_object(obj: S3ObjectRef) -> bytes:
    extra = {"VersionId": obj.version_id} if obj.version_id else {}
    head: bytes = client("s3").get_object(Bucket=obj.bucket, Key=obj.key, **extra)["Body"].read(1 << 20)
    return head


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> StartRunResult:
    """An upload's S3 event, or a profile's schedule (lambdas/domain/logs_runs.py): its rule's input names the
    profile, and the profile's deployed parameter says where the logs are."""
    if SCHEDULED_LOGS_RUN in event:
        return _scheduled_logs_run(ScheduledLogsRun.model_validate(event[SCHEDULED_LOGS_RUN]))
    return _upload(event, context)


def _scheduled_logs_run(scheduled: ScheduledLogsRun) -> StartRunResult:
    profile = load_profile(scheduled.profile)
    if profile is None:
        raise ValueError(f"the schedule names profile {scheduled.profile!r}, which is not deployed in this stage")
    run_id, _, started = start_run_from_invocation_logs(
        profile,
        registry=registry(),
        stepfunctions=client("stepfunctions"),
        state_machine_arn=env(Env.STATE_MACHINE_ARN),
        at=scheduled.scheduled_at,
        epoch_seconds=int(time.time()),
    )
    reason = f"{'started' if started else 'already started'} run {run_id} from the invocation logs of {profile.name}"
    logger.info(reason, extra={"run_id": run_id, "profile": profile.name, "started": started})
    metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1 if started else 0)
    return {"started": started, "duplicate": not started, "run_id": run_id, "reason": reason}


@parsed_event(S3EventNotificationEventBridgeModel)
def _upload(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> StartRunResult:
    detail = event.detail
    obj = S3ObjectRef.from_event(detail.bucket.name, detail.object.key, detail.object.version_id)
    outcome = start_run_for_upload(
        obj,
        load_profile=load_profile,
        read_object=read_object,
        registry=registry(),
        stepfunctions=client("stepfunctions"),
        state_machine_arn=env(Env.STATE_MACHINE_ARN),
        uploaded_at=event.time.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        sequencer=detail.object.sequencer,
    )
    logger.info(
        outcome.reason,
        extra={"run_id": outcome.run_id, "key": obj.key, "version_id": obj.version_id, "started": outcome.started},
    )
    if outcome.refused:
        announce_ignored_upload(
            obj,
            outcome,
            registry=registry(),
            sns=client("sns"),
            topic_arn=env(Env.NOTIFICATION_TOPIC_ARN),
            epoch_seconds=int(time.time()),
        )
    if outcome.awaiting_manifest and outcome.profile:
        # Nothing is wrong yet (the manifest comes last); the janitor tells the data owners if it never comes.
        await_manifest(
            registry(), obj, profile=outcome.profile, now=datetime.now(timezone.utc), epoch_seconds=int(time.time())
        )
    metrics.add_metric(name="RunsStarted" if outcome.started else "UploadsIgnored", unit=MetricUnit.Count, value=1)
    return {
        "started": outcome.started,
        "duplicate": outcome.duplicate,
        "run_id": outcome.run_id,
        "reason": outcome.reason,
    }
