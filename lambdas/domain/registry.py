"""The run registry (DynamoDB): one item per run, updated by every step.

Two kinds of item share the table:
- a run (``run_id`` = the execution name): ``status`` is a ``RunStatus``; where the run ends, its outcome
  (``outcomes.Outcome``) is written under ``OUTCOME_ATTRIBUTE`` by RECORD_DECISION (a decided run),
  ``update(run_outcome=…)`` (a rejection in Validate or Estimate, Cleanup where a run fails or is torn down);
- a refused upload (``run_id`` = ``upload~`` + a hash of the object version, ``status`` = ``IGNORED_UPLOAD``,
  ``item_kind`` = ``ignored-upload``): an upload that started nothing, with the reason and what to do
  (``record_ignored_upload``). Listings show or skip them by ``item_kind``;
- a dataset folder waiting for its ``manifest.json`` (``run_id`` = ``folder~`` + a hash of the folder, ``status``
  = ``AWAITING_MANIFEST``, ``item_kind`` = ``awaiting-manifest``): one item per folder, however many files
  arrive in it, written by StartRun for each data file (``record_awaiting_manifest``) and marked for the
  janitor's sweep index ``MANIFEST_GRACE`` after the latest one; the janitor tells the data owners once if the
  manifest is still missing then (``lambdas.domain.awaiting_manifest``).

Takes a boto3 DynamoDB ``Table`` resource from the caller, so the same code runs against AWS, moto
and the offline emulator.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lambdas.domain.names import (
    RUNS_BY_JOB_INDEX,
    RUNS_BY_PROFILE_INDEX,
    RUNS_BY_START_INDEX,
    RUNS_BY_STATUS_INDEX,
    SWEEP_INDEX,
)
from lambdas.domain.outcomes import Outcome
from lambdas.domain.runs import RunInput, RunStatus, S3ObjectRef, utc_now

# Registry items outlive their runs for a year, then DynamoDB's TTL removes them.
RETENTION_SECONDS = 365 * 24 * 3600
# The janitor's sparse index (stacks/storage.py): only runs that may still hold something billable carry
# these two attributes, so its query grows with what is left behind, not with the history of runs.
SWEEP_DUE = "due"
# The listing index's partition key (RUNS_BY_START_INDEX): every run carries this one value, so one Query
# in that partition, sorted by started_at, reads runs newest first at any scale. One partition is enough:
# a partition takes 1,000 writes a second and runs start a few times an hour
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html, read
# 2026-12-07), and a GSI's partition has no 10 GB item-collection cap, which binds only tables with local
# secondary indexes (ItemCollectionSizeLimitExceededException in
# https://docs.aws.amazon.com/botocore/latest/reference/services/dynamodb/client/exceptions/ItemCollectionSizeLimitExceededException.html,
# read 2026-12-07).
RUNS_LISTED_ATTRIBUTE = "listed"
RUNS_LISTED = "run"
# Where a run's outcome (outcomes.Outcome) is recorded. Not "outcome": promotion already writes that
# attribute ("promoted" / "superseded", read by the janitor).
OUTCOME_ATTRIBUTE = "run_outcome"
# A refused upload's item (record_ignored_upload): its status, and the kind that tells it from a run's.
IGNORED_UPLOAD = "IGNORED_UPLOAD"
IGNORED_UPLOAD_KIND = "ignored-upload"
# A dataset folder's item while its manifest.json is awaited (record_awaiting_manifest).
AWAITING_MANIFEST = "AWAITING_MANIFEST"
AWAITING_MANIFEST_KIND = "awaiting-manifest"
AWAITING_MANIFEST_PREFIX = "folder~"


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


def is_conditional_failure(error: Exception) -> bool:
    """A conditional write that did not hold. Matched by error code, not by class: botocore builds its
    modeled exception classes per client, so the class of one client is not the class another raises."""
    response = getattr(error, "response", None) or {}
    code: object = response.get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class StateMachineUpdate:
    """An update the state machine writes to a run's item itself, through its DynamoDB integration: defined here
    with every other write of the registry, so a run's status changes only by what this module says."""

    expression: str
    names: dict[str, str]
    literals: dict[str, str]  # placeholder -> value
    paths: dict[str, str]  # placeholder -> JSONPath in the execution's state ($) or context ($$)


# A decided run (promoted, not promoted or superseded) has SUCCEEDED: the state machine records its decision, its
# outcome (the teardown derives it from the decision: outcomes.outcome_of_decision) and the model it trained once
# teardown is done.
RECORD_DECISION = StateMachineUpdate(
    expression="SET #status = :status, #model = :model, #finished = :finished, #decision = :decision, #outcome = :outcome",
    names={
        "#status": "status",
        "#model": "output_model_arn",
        "#finished": "finished_at",
        "#decision": "decision",
        "#outcome": OUTCOME_ATTRIBUTE,
    },
    literals={":status": RunStatus.SUCCEEDED.value},
    paths={
        ":decision": "$.decision",
        ":outcome": "$.teardown.value.outcome",
        ":model": "$.training.output_model_arn",
        ":finished": "$$.State.EnteredTime",
    },
)


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
            RUNS_LISTED_ATTRIBUTE: RUNS_LISTED,
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
        item: dict[str, Any] = from_dynamodb(response["Attributes"])
        return item

    def update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        run_outcome: Outcome | None = None,
        remove: tuple[str, ...] = (),
        condition: str | None = None,
        **fields: Any,
    ) -> None:
        """Set ``fields`` and remove ``remove``; ``condition`` (names as ``#field``) makes the write
        conditional, raising the table's ConditionalCheckFailedException when it does not hold.
        ``run_outcome``: the run ends with this write (recorded under OUTCOME_ATTRIBUTE)."""
        if status is not None:
            fields["status"] = status.value
        if run_outcome is not None:
            fields[OUTCOME_ATTRIBUTE] = run_outcome.value
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

    def record_ignored_upload(
        self, obj: S3ObjectRef, *, reason: str, remedy: str, profile: str | None, epoch_seconds: int
    ) -> str:
        """Leave a trace of an upload that started nothing; the same object version is one item however often
        its event arrives (the first delivery's fields stay). Returns the item's id."""
        item_id = ignored_upload_id(obj)
        fields: dict[str, Any] = {
            "item_kind": IGNORED_UPLOAD_KIND,
            "status": IGNORED_UPLOAD,
            "trigger_key": obj.key,
            "dataset_version": obj.version_id or "unversioned",
            "reason": reason,
            "remedy": remedy,
            "started_at": utc_now(),
            "expires_at": epoch_seconds + RETENTION_SECONDS,
            **({"profile": profile} if profile else {}),
        }
        self._table.update_item(
            Key={"run_id": item_id},
            UpdateExpression="SET " + ", ".join(f"#{key} = if_not_exists(#{key}, :{key})" for key in fields),
            ExpressionAttributeNames={f"#{key}": key for key in fields},
            ExpressionAttributeValues={f":{key}": _to_dynamodb(value) for key, value in fields.items()},
        )
        return item_id

    def record_awaiting_manifest(
        self, obj: S3ObjectRef, *, folder: str, profile: str, sweep_after: str, epoch_seconds: int
    ) -> str:
        """Note a data file of a dataset folder whose manifest has not started a run, and ask the janitor to look
        at the folder at ``sweep_after``: every file of the folder moves that look later, so the grace counts
        from the latest file. Returns the folder's item id."""
        item_id = awaiting_manifest_id(obj.bucket, folder)
        kept: dict[str, Any] = {
            "item_kind": AWAITING_MANIFEST_KIND,
            "status": AWAITING_MANIFEST,
            "bucket": obj.bucket,
            "folder": folder,
            "profile": profile,
            "started_at": utc_now(),
            "expires_at": epoch_seconds + RETENTION_SECONDS,
        }
        latest: dict[str, Any] = {
            "last_file": obj.key,
            "updated_at": utc_now(),
            "sweep": SWEEP_DUE,
            "sweep_after": sweep_after,
        }
        self._table.update_item(
            Key={"run_id": item_id},
            UpdateExpression="SET "
            + ", ".join(
                [f"#{key} = if_not_exists(#{key}, :{key})" for key in kept] + [f"#{key} = :{key}" for key in latest]
            ),
            ExpressionAttributeNames={f"#{key}": key for key in (*kept, *latest)},
            ExpressionAttributeValues={f":{key}": _to_dynamodb(value) for key, value in {**kept, **latest}.items()},
        )
        return item_id

    @staticmethod
    def conditional_failed(error: Exception) -> bool:
        return is_conditional_failure(error)

    def append_endpoint(self, run_id: str, endpoint: dict[str, Any]) -> None:
        """Record a billable endpoint before it is requested, so cleanup can always find it.

        The same write puts the run in the janitor's index (keeping an earlier mark's time): should
        cleanup never run, the janitor still finds the endpoint once the run has ended.
        """
        now = utc_now()
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression=(
                "SET #endpoints = list_append(if_not_exists(#endpoints, :empty), :endpoint), #updated_at = :now,"
                " #sweep = :due, #sweep_after = if_not_exists(#sweep_after, :now)"
            ),
            ExpressionAttributeNames={
                "#endpoints": "endpoints",
                "#updated_at": "updated_at",
                "#sweep": "sweep",
                "#sweep_after": "sweep_after",
            },
            ExpressionAttributeValues={
                ":endpoint": [_to_dynamodb(endpoint)],
                ":empty": [],
                ":now": now,
                ":due": SWEEP_DUE,
            },
        )

    def mark_for_sweep(self, run_id: str, *, after: str, deadlines: list[str] | None = None) -> None:
        """Ask the janitor to look at the run at ``after`` (an ISO time, ``runs.utc_now``'s format).

        ``deadlines``: when each resource still billing turns overdue; the index carries them, so the
        overdue count needs no read of the items.
        """
        fields: dict[str, str | list[str]] = {"sweep": SWEEP_DUE, "sweep_after": after, "updated_at": utc_now()}
        if deadlines is not None:
            fields["sweep_deadlines"] = deadlines
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in fields),
            ExpressionAttributeNames={f"#{key}": key for key in fields},
            ExpressionAttributeValues={f":{key}": value for key, value in fields.items()},
        )

    def clear_sweep(self, run_id: str) -> None:
        """Nothing billable is left: the run leaves the janitor's index."""
        self._table.update_item(
            Key={"run_id": run_id},
            UpdateExpression="REMOVE #sweep, #sweep_after, #sweep_deadlines SET #updated_at = :now",
            ExpressionAttributeNames={
                "#sweep": "sweep",
                "#sweep_after": "sweep_after",
                "#sweep_deadlines": "sweep_deadlines",
                "#updated_at": "updated_at",
            },
            ExpressionAttributeValues={":now": utc_now()},
        )

    def _swept(self, condition: str, values: dict[str, Any], *, limit: int | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": SWEEP_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#sweep": "sweep",
                **({"#sweep_after": "sweep_after"} if "#sweep_after" in condition else {}),
            },
            "ExpressionAttributeValues": {":due": SWEEP_DUE, **values},
        }
        while limit is None or len(items) < limit:
            page = self._table.query(**kwargs, **({"Limit": limit - len(items)} if limit is not None else {}))
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def runs_due_for_sweep(self, *, now: str, limit: int) -> list[str]:
        """Ids of up to ``limit`` marked runs whose ``sweep_after`` has come, the longest waiting first."""
        return [
            item["run_id"] for item in self._swept("#sweep = :due AND #sweep_after <= :now", {":now": now}, limit=limit)
        ]

    def overdue_leftovers(self, *, now: str) -> int:
        """Billable resources of every marked run whose deadline has passed (the janitor's alarm metric)."""
        return sum(
            1
            for item in self._swept("#sweep = :due", {})
            for deadline in item.get("sweep_deadlines") or []
            if deadline <= now
        )

    def get(self, run_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"run_id": run_id}, ConsistentRead=True).get("Item")
        return from_dynamodb(item) if item else None

    def find_by_job(self, job_arn: str) -> str | None:
        items = self._table.query(
            IndexName=RUNS_BY_JOB_INDEX,
            KeyConditionExpression="job_arn = :arn",
            ExpressionAttributeValues={":arn": job_arn},
        ).get("Items", [])
        return items[0]["run_id"] if items else None

    def runs_with_status(self, status: RunStatus) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": RUNS_BY_STATUS_INDEX,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": status.value},
        }
        while True:
            page = self._table.query(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return [from_dynamodb(item) for item in items]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def runs_of_profile(self, profile: str, *, limit: int = 20) -> list[dict[str, Any]]:
        return self.recent_runs(limit=limit, profile=profile)

    def recent_runs(self, *, limit: int = 20, profile: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` runs, newest start first: of one profile (its index), or of every profile.

        With ScanIndexForward false a Query reads the partition in descending sort-key order
        (https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/dynamodb/aws.sdk.kotlin.services.dynamodb.model/-query-request/-builder/scan-index-forward.html,
        read 2026-12-07); a page ends at Limit items or 1 MB, whichever comes first, and a LastEvaluatedKey
        means there may be more (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html,
        read 2026-12-07): pages are followed until ``limit`` runs are read or the index ends.
        """
        if profile is None:
            index, name, value = RUNS_BY_START_INDEX, RUNS_LISTED_ATTRIBUTE, RUNS_LISTED
        else:
            index, name, value = RUNS_BY_PROFILE_INDEX, "profile", profile
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#key = :value",
            "ExpressionAttributeNames": {"#key": name},
            "ExpressionAttributeValues": {":value": value},
            "ScanIndexForward": False,
        }
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            page = self._table.query(**kwargs, Limit=limit - len(items))
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [from_dynamodb(item) for item in items]
        page = self._table.query(
            IndexName=RUNS_BY_PROFILE_INDEX,
            KeyConditionExpression="profile = :p",
            ExpressionAttributeValues={":p": profile},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_dynamodb(item) for item in page.get("Items", [])]


def ignored_upload_id(obj: S3ObjectRef) -> str:
    """A refused upload's registry id: one per object version, and never a run's: a run's id is a profile name
    (``[a-z0-9-]``, profiles.ProfileName) and a hash, and no profile name holds a '~'."""
    digest = hashlib.sha256(f"{obj.bucket}\0{obj.key}\0{obj.version_id or 'null'}".encode()).hexdigest()[:24]
    return f"upload~{digest}"


def awaiting_manifest_id(bucket: str, folder: str) -> str:
    """A dataset folder's registry id while its manifest is awaited: one per folder, never a run's (no '~')."""
    return AWAITING_MANIFEST_PREFIX + hashlib.sha256(f"{bucket}\0{folder}".encode()).hexdigest()[:24]
