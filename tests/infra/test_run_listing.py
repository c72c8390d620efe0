"""The run listing (`tuneforge runs`): an index orders every run by start time, the registry writes its key,
and the listing reads it newest first across pages; the data owners' role may query it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.domain.names import RUNS_BY_PROFILE_INDEX, RUNS_BY_START_INDEX
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def _runs_table(template: dict) -> dict:
    (runs,) = [
        r["Properties"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table" and lid.startswith("StorageRuns")
    ]
    return runs


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_run_is_in_an_index_ordered_by_start_time(assembly, stage):
    runs = _runs_table(assembly.templates[f"Tuneforge-{stage}-Foundation"])
    (index,) = [i for i in runs["GlobalSecondaryIndexes"] if i["IndexName"] == RUNS_BY_START_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": "listed", "KeyType": "HASH"},
        {"AttributeName": "started_at", "KeyType": "RANGE"},
    ]
    # The listing's columns come from the index alone.
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_the_data_owners_may_list_runs_through_the_two_listing_indexes_only(assembly):
    foundation = assembly.templates["Tuneforge-dev-Foundation"]
    (policy,) = [
        r["Properties"]
        for lid, r in foundation["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and lid.startswith("DataUploader")
    ]
    (listing,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "ListRuns"]
    assert listing["Action"] == "dynamodb:Query"
    indexes = sorted(part["Fn::Join"][1][-1] for part in listing["Resource"])
    assert indexes == sorted(f"/index/{name}" for name in (RUNS_BY_START_INDEX, RUNS_BY_PROFILE_INDEX))


class _SmallPages:
    """The synthesized table, with pages cut short as DynamoDB cuts them at 1 MB: the listing must follow them."""

    def __init__(self, table: Any, page_size: int) -> None:
        self._table, self._page_size, self.queries = table, page_size, 0

    def query(self, **kwargs: Any) -> Any:
        self.queries += 1
        return self._table.query(**{**kwargs, "Limit": min(kwargs.get("Limit", self._page_size), self._page_size)})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


@pytest.fixture
def registry_table(assembly):
    runs = _runs_table(assembly.templates["Tuneforge-dev-Foundation"])
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = dynamodb.create_table(
            TableName="runs",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=runs["KeySchema"],
            AttributeDefinitions=runs["AttributeDefinitions"],
            GlobalSecondaryIndexes=runs["GlobalSecondaryIndexes"],
        )
        yield table


def _start(registry: RunRegistry, profile: Any, number: int, started_at: str) -> None:
    obj = S3ObjectRef(bucket="data", key=f"incoming/{profile.name}/{number}.jsonl", version_id=str(number))
    run = RunInput(
        run_id=f"{profile.name}-run-{number:03d}",
        profile=profile,
        dataset=Dataset(trigger=obj, training=obj),
        started_at=started_at,
    )
    registry.record_start(run, epoch_seconds=0)


def test_the_listing_reads_every_profile_newest_first_across_pages(registry_table):
    from stacks.config import load_stages

    profiles = list(load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles.values())
    # Started out of order, over several profiles: minute m of the day for run m * 7 mod 30.
    for number in range(30):
        minute = (number * 7) % 30
        _start(RunRegistry(registry_table), profiles[number % len(profiles)], number, f"2026-12-07T10:{minute:02d}:00Z")

    paged = _SmallPages(registry_table, page_size=4)
    listed = RunRegistry(paged).recent_runs(limit=10)

    assert [item["started_at"] for item in listed] == [f"2026-12-07T10:{m:02d}:00Z" for m in range(29, 19, -1)]
    assert paged.queries == 3  # 4 + 4 + 2: the listing followed LastEvaluatedKey and stopped at its limit
    assert len({item["run_id"] for item in listed}) == 10

    everything = RunRegistry(registry_table).recent_runs(limit=100)
    assert len(everything) == 30
    assert [item["started_at"] for item in everything] == sorted((i["started_at"] for i in everything), reverse=True)

    one = profiles[0].name
    of_profile = RunRegistry(_SmallPages(registry_table, page_size=2)).recent_runs(limit=5, profile=one)
    assert {item["profile"] for item in of_profile} == {one}
    assert len(of_profile) == 5
    assert [item["started_at"] for item in of_profile] == sorted((i["started_at"] for i in of_profile), reverse=True)
