"""Janitor: the scheduled sweep of what runs left billing (``lambdas.domain.janitor``).

Invoked by an EventBridge schedule (the event's content is not used). Reports on the stage topic each
committed throughput it must keep (once, with its end date) and each resource still billing past the
bound (at most once a day each); ``BillableLeftoversOverdue`` feeds the alarm. Tells the data owners, once,
of a dataset folder whose manifest.json never arrived (``lambdas.domain.awaiting_manifest``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.domain.janitor import JanitorSettings, Leftover, sweep
from lambdas.domain.names import Env
from lambdas.domain.trigger import publish_ignored_upload
from lambdas.handlers._aws import champions_table, client, env, registry

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def settings() -> JanitorSettings:
    return JanitorSettings(
        model_retention=timedelta(days=float(env(Env.MODEL_RETENTION_DAYS))),
        alarm_after=timedelta(hours=float(env(Env.ALARM_AFTER_HOURS))),
        execution_timeout=timedelta(hours=float(env(Env.EXECUTION_TIMEOUT_HOURS))),
    )


class SnsPublish(TypedDict):
    """The arguments of SNS Publish that report one leftover."""

    TopicArn: str
    Subject: str
    Message: str
    MessageAttributes: dict[str, dict[str, str]]


def report(leftover: Leftover) -> SnsPublish:
    if leftover.state == "committed" and not leftover.overdue:
        subject = f"tuneforge: committed throughput kept until {leftover.commitment_ends}"
    else:
        subject = f"tuneforge: {leftover.kind} still billing"
    message = {"janitor": True, "outcome": "LEFTOVER", **leftover.model_dump(exclude={"notify"})}
    return {
        "TopicArn": env(Env.NOTIFICATION_TOPIC_ARN),
        "Subject": subject[:100],
        "Message": json.dumps(message),
        "MessageAttributes": {
            "profile": {"DataType": "String", "StringValue": leftover.profile},
            "outcome": {"DataType": "String", "StringValue": "LEFTOVER"},
        },
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    sns = client("sns")
    result = sweep(
        client("bedrock"),
        registry(),
        champions_table(),
        settings=settings(),
        now=datetime.now(timezone.utc),
        s3=client("s3"),
        publish=lambda notice: publish_ignored_upload(sns, env(Env.NOTIFICATION_TOPIC_ARN), notice),
    )
    for leftover in result.leftovers:
        if leftover.notify:
            sns.publish(**report(leftover))
        if leftover.billing:
            logger.warning("still billing", extra=leftover.model_dump())
    metrics.add_metric(name="JanitorDeleted", unit=MetricUnit.Count, value=result.count("deleted"))
    metrics.add_metric(name="CommittedThroughputsKept", unit=MetricUnit.Count, value=result.count("committed"))
    metrics.add_metric(name="BillableLeftoversOverdue", unit=MetricUnit.Count, value=result.overdue)
    summary = {
        "runs": len(result.runs),
        "overdue": result.overdue,
        "folders_told": sum(1 for look in result.folders if look.verdict == "tell"),
        **{state: result.count(state) for state in ("deleted", "gone", "waiting", "refused", "committed", "kept")},
    }
    logger.info("sweep finished", extra=summary)
    return summary
