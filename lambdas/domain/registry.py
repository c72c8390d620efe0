"""The run registry (DynamoDB): one item per run, updated by every step.

Takes a boto3 DynamoDB ``Table`` resource from the caller, so the same code runs against AWS, moto
and the offline emulator.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lambdas.domain.runs import RunInput, RunStatus, utc_now

# Registry items outlive their runs for a year, then DynamoDB's TTL removes them.
RETENTION_SECONDS = 365 * 24 * 3600


def _to_dynamodb(value: Any) -> Any:
    # DynamoDB numbers are Decimals; a JSON round trip converts nested floats in one pass.
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamodb(value: Any) -> Any:
    if isinstance(value, list):
        return [from_dynamodb(item) for item in value]
    if isinstance(value, dict):
        return {key: from_dynamodb(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class RunRegistry:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_start(self, run: RunInput, *, execution_arn: str | None = None, epoch_seconds: int) -> dict[str, Any]:
        """Create the run's item, or leave an existing one as it is (a repeated event is the same run).

        Returns the stored item, whose ``started_at`` is the first attempt's.
        """
        fields = {
            "profile": run.profile.name,
            "started_at": run.started_at,
            "status": RunStatus.STARTED.value,
            "dataset_uri": run.dataset.training.uri,
            "dataset_version": run.dataset.trigger.version_id or "unversioned",
            "trigger_key": run.dataset.trigger.key,
            "base_model": run.profile.base_model,
            "customization_type": run.profile.customization_type.value,
            "expires_at": epoch_seconds + RETENTION_SECONDS,
        }
        if execution_arn:
            fields["execution_arn"] = execution_arn
        names = {f"#{key}": key for key in fields}
        values = {f":{key}": _to_dynamodb(value) for key, value in fields.items()}
        response = self._table.update_item(
            Key={"run_id": run.run_id},
            UpdateExpression="SET " + ", ".join(f"#{key} = if_not_exists(#{key}, :{key})" for key in fields),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return from_dynamodb(response["Attributes"])

    def update(self, run_id: str, *, status: RunStatus | None = None, remove: tuple[str, ...] = (), condition: str | None = None, **fields: Any) -> None:
        """Set ``fields`` and remove ``remove``; ``condition`` (names as ``#field``) makes the write
        conditional, raising the table's ConditionalCheckFailedException when it does not hold."""
        if status is not None:
            fields["status"] = status.value
        fields["updated_at"] = utc_now()
        names = {f"#{key}": key for key in (*fields, *remove)}
        expression = "SET " + ", ".join(f"#{key} = :{key}" for key in fields)
        if remove:
            expression += " REMOVE " + ", ".join(f"#{key}" for key in remove)
        extra = {"ConditionExpression": condition} if condition else {}
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{key}": _to_dynamodb(value) for key, value in fields.items()},
            **extra,
        )

    @property
    def conditional_failed(self) -> type[Exception]:
        return self._table.meta.client.exceptions.ConditionalCheckFailedException

    def append_endpoint(self, run_id: str, endpoint: dict[str, Any]) -> None:
        """Record a billable endpoint before it is requested, so cleanup can always find it."""
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="SET #endpoints = list_append(if_not_exists(#endpoints, :empty), :endpoint), #updated_at = :now",
            ExpressionAttributeNames={"#endpoints": "endpoints", "#updated_at": "updated_at"},
            ExpressionAttributeValues={":endpoint": [_to_dynamodb(endpoint)], ":empty": [], ":now": utc_now()},
        )

    def get(self, run_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"run_id": run_id}, ConsistentRead=True).get("Item")
        return from_dynamodb(item) if item else None

    def find_by_job(self, job_arn: str) -> str | None:
        items = self._table.query(IndexName="by-job", KeyConditionExpression="job_arn = :arn", ExpressionAttributeValues={":arn": job_arn}).get("Items", [])
        return items[0]["run_id"] if items else None

    def runs_with_status(self, status: RunStatus) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"IndexName": "by-status", "KeyConditionExpression": "#status = :status", "ExpressionAttributeNames": {"#status": "status"}, "ExpressionAttributeValues": {":status": status.value}}
        while True:
            page = self._table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return [from_dynamodb(item) for item in items]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def runs_of_profile(self, profile: str, *, limit: int = 20) -> list[dict[str, Any]]:
        page = self._table.query(IndexName="by-profile", KeyConditionExpression="profile = :p", ExpressionAttributeValues={":p": profile}, ScanIndexForward=False, Limit=limit)
        return [from_dynamodb(item) for item in page.get("Items", [])]
