"""Deploy the custom model behind provisioned throughput, compare it with the base model, tear down."""

import json
import os

import boto3
from aws_lambda_powertools import Logger

logger = Logger(service="fixture")
bedrock = boto3.client("bedrock")
runtime = boto3.client("bedrock-runtime")
s3 = boto3.client("s3")


def create(event, context):
    arn = bedrock.create_provisioned_model_throughput(
        modelUnits=1,
        provisionedModelName=f"eval-{event['run'][:20]}",
        modelId=event["job"]["outputModelArn"],
        clientRequestToken=event["run"][:60],
    )["provisionedModelArn"]
    return {"provisionedModelArn": arn}


def status(event, context):
    return {
        "status": bedrock.get_provisioned_model_throughput(provisionedModelId=event["endpoint"]["provisionedModelArn"])[
            "status"
        ]
    }


def _ask(model_id, prompt):
    response = runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": prompt}]}])
    return response["output"]["message"]["content"][0]["text"]


def score(event, context):
    records = [
        json.loads(line)
        for line in s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode().splitlines()
        if line.strip()
    ]
    candidate = baseline = 0
    for record in records:
        candidate += _ask(event["endpoint"]["provisionedModelArn"], record["prompt"]) == record["completion"]
        baseline += _ask(os.environ["BASELINE_MODEL_ID"], record["prompt"]) == record["completion"]
    bedrock.delete_provisioned_model_throughput(provisionedModelId=event["endpoint"]["provisionedModelArn"])
    return {"candidate": candidate / len(records), "baseline": baseline / len(records), "passed": candidate > baseline}
