"""The run and champion tables as the Foundation stack defines them, for tests that build an account by hand."""

from __future__ import annotations

from typing import Any


def create_registry_tables(dynamodb: Any, *, runs: str = "runs", champions: str = "champions") -> None:
    dynamodb.create_table(
        TableName=runs,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("run_id", "profile", "started_at", "job_arn", "status")],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-profile", "KeySchema": [{"AttributeName": "profile", "KeyType": "HASH"}, {"AttributeName": "started_at", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by-job", "KeySchema": [{"AttributeName": "job_arn", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "by-status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "started_at", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}},
        ],
    )
    dynamodb.create_table(TableName=champions, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "profile", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "profile", "AttributeType": "S"}])
