"""Read the dataset; reject it (DatasetValidationError) or fail transiently once for 'flaky' keys."""

import os

import boto3
from aws_lambda_powertools import Logger

logger = Logger(service="fixture")
s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


class DatasetValidationError(Exception):
    pass


class TransientError(Exception):
    pass


@logger.inject_lambda_context
def handler(event, context):
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
    if "flaky" in event["key"]:
        attempts = table.update_item(
            Key={"pk": f"attempts#{event['key']}"},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )["Attributes"]["n"]
        if attempts < 2:
            raise TransientError(f"attempt {attempts} failed")
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines or "broken" in body:
        raise DatasetValidationError(f"{len(lines)} records; broken file")
    return {"records": len(lines)}
