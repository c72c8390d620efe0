"""Bedrock job state change (EventBridge) or the scheduled poller -> complete the parked task token."""

import json
import os

import boto3
from aws_lambda_powertools import Logger
from helper import done

logger = Logger(service="fixture")
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
sfn = boto3.client("stepfunctions")
bedrock = boto3.client("bedrock")


def _complete(job_arn, status, output_model_arn=None, message=None):
    item = table.get_item(Key={"pk": f"token#{job_arn}"}).get("Item")
    if not item:
        return False
    if status == "Completed":
        sfn.send_task_success(
            taskToken=item["token"], output=json.dumps({"jobStatus": status, "outputModelArn": output_model_arn})
        )
    else:
        sfn.send_task_failure(taskToken=item["token"], error=f"Job{status}", cause=message or status)
    table.delete_item(Key={"pk": f"token#{job_arn}"})
    return True


@logger.inject_lambda_context
def handler(event, context):
    detail = event["detail"]
    logger.append_keys(job=detail["jobArn"])
    return {
        "completed": _complete(
            detail["jobArn"], detail["jobStatus"], detail.get("outputModelArn"), detail.get("failureMessage")
        )
    }


def poll(event, context):
    completed = []
    for item in table.scan().get("Items", []):
        if not item["pk"].startswith("token#"):
            continue
        job = bedrock.get_model_customization_job(jobIdentifier=item["jobArn"])
        if done(job["status"]):
            _complete(item["jobArn"], job["status"], job.get("outputModelArn"), job.get("failureMessage"))
            completed.append(item["jobArn"])
    return {"completed": completed}
