"""What every handler shares: AWS clients with retries, and deployed resource names from the environment.

Clients are created on first use, not at import, so importing a handler never touches AWS.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.domain.customization import parse_grader_arns
from lambdas.domain.names import Env
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import Infrastructure

# Throttling inside one call is absorbed here; longer waits (quota for concurrent jobs) are the state
# machine's Retry, so a handler never sleeps for minutes while billed.
_RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_RETRIES)


@cache
def registry() -> RunRegistry:
    return RunRegistry(boto3.resource("dynamodb", config=_RETRIES).Table(os.environ[Env.RUNS_TABLE]))


@cache
def champions_table() -> Any:
    return boto3.resource("dynamodb", config=_RETRIES).Table(os.environ[Env.CHAMPIONS_TABLE])


def infrastructure() -> Infrastructure:
    return Infrastructure(
        artifacts_bucket=os.environ[Env.ARTIFACTS_BUCKET],
        bedrock_role_arn=os.environ[Env.BEDROCK_ROLE_ARN],
        subnet_ids=os.environ[Env.SUBNET_IDS].split(","),
        security_group_ids=os.environ[Env.JOB_SECURITY_GROUP_IDS].split(","),
        kms_key_arn=os.environ[Env.KMS_KEY_ARN],
        grader_arns=parse_grader_arns(os.environ.get(Env.GRADER_ARNS, "")),
    )


def region_and_account(context: LambdaContext) -> tuple[str, str]:
    """The Region and account the function runs in, from its own ARN (Lambda's context)."""
    _, _, _, region, account, *_ = context.invoked_function_arn.split(":")
    return region, account


def env(name: str) -> str:
    return os.environ[name]
