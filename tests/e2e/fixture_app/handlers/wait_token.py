"""Park the task token until the job's state-change event (or the poller) completes it."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    table.put_item(Item={"pk": f"token#{event['jobArn']}", "token": event["taskToken"], "jobArn": event["jobArn"]})
    return {"parked": True}
