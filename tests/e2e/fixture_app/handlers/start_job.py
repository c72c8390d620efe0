"""Start the Bedrock customization job (idempotent on the execution name)."""

import os

import boto3
from aws_lambda_powertools import Logger

logger = Logger(service="fixture")
bedrock = boto3.client("bedrock")


@logger.inject_lambda_context
def handler(event, context):
    run = event["run"]
    response = bedrock.create_model_customization_job(
        jobName=f"job-{run[:20]}",
        customModelName=f"model-{run[:20]}",
        roleArn=os.environ["BEDROCK_ROLE_ARN"],
        baseModelIdentifier="amazon.titan-text-express-v1:0:8k",
        customizationType="FINE_TUNING",
        trainingDataConfig={"s3Uri": f"s3://{event['bucket']}/{event['key']}"},
        outputDataConfig={"s3Uri": f"s3://{event['bucket']}/output/{run[:20]}/"},
        hyperParameters={"epochCount": "2"},
        clientRequestToken=run[:60],
    )
    return {"jobArn": response["jobArn"]}
