"""What tests that build an emulated account by hand share: the registry tables as the Foundation stack
defines them, and the Lambda context a handler receives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def forget_handler_clients() -> None:
    """Handlers cache their clients per process; each emulated account needs fresh ones."""
    from lambdas.handlers import _aws

    for cached in (_aws.client, _aws.registry, _aws.champions_table):
        cached.cache_clear()


def create_versioned_buckets(s3: Any, *names: str) -> None:
    for bucket in names:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def create_bedrock_role(iam: Any, role_name: str, *buckets: str) -> str:
    """The role jobs pass to Bedrock, which the emulator checks as AWS does: assumable by Bedrock, allowed
    to read the data and write the output in ``buckets``."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets],
            }
        ],
    }
    arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="data", PolicyDocument=json.dumps(access))
    return arn


def create_registry_tables(dynamodb: Any, *, runs: str = "runs", champions: str = "champions") -> None:
    dynamodb.create_table(
        TableName=runs,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("run_id", "profile", "started_at", "job_arn", "status", "sweep", "sweep_after")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-profile",
                "KeySchema": [
                    {"AttributeName": "profile", "KeyType": "HASH"},
                    {"AttributeName": "started_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-job",
                "KeySchema": [{"AttributeName": "job_arn", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "started_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-sweep",
                "KeySchema": [
                    {"AttributeName": "sweep", "KeyType": "HASH"},
                    {"AttributeName": "sweep_after", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["sweep_deadlines"]},
            },
        ],
    )
    dynamodb.create_table(
        TableName=champions,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "profile", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "profile", "AttributeType": "S"}],
    )
