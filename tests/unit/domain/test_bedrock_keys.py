"""Keys S3 stores that Bedrock refuses to train on, and the message the data owner gets."""

from __future__ import annotations

import pytest

from lambdas.domain.customization import BEDROCK_S3_URI, bedrock_uri_problem, suggested_key
from lambdas.domain.runs import S3ObjectRef


@pytest.mark.parametrize("key", ["incoming/p/batch-1.jsonl", "incoming/p/Q_(v2)!'*.jsonl", "jobs/run-1/"])
def test_keys_bedrock_reads(key):
    assert bedrock_uri_problem(f"s3://data-bucket/{key}") is None


@pytest.mark.parametrize("key,found", [("incoming/p/a b.jsonl", "' '"), ("incoming/p/a+b.jsonl", "'+'"), ("incoming/p/100%.jsonl", "'%'"), ("incoming/p/dữ liệu/x.jsonl", "'ữ'")])
def test_keys_bedrock_refuses_are_named_with_a_fix(key, found):
    problem = bedrock_uri_problem(f"s3://data-bucket/{key}")
    assert problem and found in problem and f"s3://data-bucket/{key}" in problem
    suggestion = problem.rsplit("for example ", 1)[1].strip("'")
    assert BEDROCK_S3_URI.match(f"s3://data-bucket/{suggestion}") and suggestion == suggested_key(key)


def test_suggested_key_keeps_the_folders_and_drops_accents():
    assert suggested_key("incoming/support-qa-vi/dữ liệu/tập huấn+1 100%.jsonl") == "incoming/support-qa-vi/du-lieu/tap-huan-1-100.jsonl"
    assert suggested_key("incoming/p/Đường dẫn #3.jsonl") == "incoming/p/Duong-dan-3.jsonl"


@pytest.mark.parametrize(
    "event_key,key",
    [("incoming/p/t%E1%BA%ADp+hu%E1%BA%A5n%2B1+100%25.jsonl", "incoming/p/tập huấn+1 100%.jsonl"), ("a%2Bb+c.jsonl", "a+b c.jsonl"), ("plain/key.jsonl", "plain/key.jsonl")],
)
def test_an_event_key_is_decoded_once(event_key, key):
    assert S3ObjectRef.from_event("b", event_key, "v1") == S3ObjectRef(bucket="b", key=key, version_id="v1")
