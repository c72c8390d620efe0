"""S3 Object Created (via EventBridge) -> start one execution per object version."""

import hashlib
import json
import os
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="fixture")
tracer = Tracer(service="fixture")
metrics = Metrics(service="fixture")
sfn = boto3.client("stepfunctions")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    detail = event["detail"]
    bucket, key = detail["bucket"]["name"], unquote_plus(detail["object"]["key"])  # S3 sends the key URL-encoded
    version = detail["object"].get("version-id") or detail["object"]["etag"]
    name = hashlib.sha256(f"{bucket}/{key}/{version}".encode()).hexdigest()[:40]
    logger.append_keys(run=name)
    try:
        sfn.start_execution(
            stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=name, input=json.dumps({"bucket": bucket, "key": key})
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return {"started": False, "name": name}
    metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    return {"started": True, "name": name}
