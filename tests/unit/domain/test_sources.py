import boto3
import pytest
from moto import mock_aws

from lambdas.domain.sources import as_source, in_memory, local_file, parse_s3_uri, s3_media_checker, s3_object
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import NOVA_LITE, TITAN_EXPRESS, conv, convs, jsonl, pcs


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="data")
        yield client


def test_s3_object_is_streamed_and_validated(s3):
    body = jsonl(*pcs(500), b"{broken")
    s3.put_object(Bucket="data", Key="incoming/p/train.jsonl", Body=body)
    source = s3_object(s3, "s3://data/incoming/p/train.jsonl")
    assert (source.name, source.bucket, source.size()) == ("s3://data/incoming/p/train.jsonl", "data", len(body))
    report = validate_dataset(source, TITAN_EXPRESS, "FINE_TUNING")
    assert report.training.records == 500 and report.training.bytes == len(body)
    assert [(i.line, i.kind) for i in report.issues()] == [(501, "invalid-json")]


def test_s3_uri_with_client_and_media_same_bucket_rule(s3):
    image = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://data/media/a.png"}}}}
    other = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://elsewhere/a.png"}}}}
    records = convs(9)
    records[0]["messages"][0]["content"].append(image)
    records[1]["messages"][0]["content"].append(other)
    s3.put_object(Bucket="data", Key="train.jsonl", Body=jsonl(*records))
    s3.put_object(Bucket="data", Key="media/a.png", Body=b"\x89PNG")
    report = validate_dataset(
        "s3://data/train.jsonl", NOVA_LITE, "FINE_TUNING", s3_client=s3, media_exists=s3_media_checker(s3)
    )
    assert [(i.line, i.kind) for i in report.issues()] == [(2, "media-other-bucket")]
    records[0]["messages"][0]["content"][1]["image"]["source"]["s3Location"]["uri"] = "s3://data/media/missing.png"
    s3.put_object(Bucket="data", Key="train.jsonl", Body=jsonl(*records[:1], *records[2:]))
    report = validate_dataset(
        "s3://data/train.jsonl", NOVA_LITE, "FINE_TUNING", s3_client=s3, media_exists=s3_media_checker(s3)
    )
    assert [(i.line, i.kind) for i in report.issues()] == [(1, "media-not-found")]


def test_missing_s3_object_is_reported(s3):
    report = validate_dataset(s3_object(s3, "s3://data/nope.jsonl"), TITAN_EXPRESS, "FINE_TUNING")
    assert list(report.counts()) == ["source-unreadable"]


def test_local_file_and_memory(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl(*pcs(3)))
    assert local_file(path).size() == path.stat().st_size
    assert validate_dataset(str(path), TITAN_EXPRESS, "FINE_TUNING").valid
    assert validate_dataset(in_memory(jsonl(conv())), TITAN_EXPRESS, "FINE_TUNING").issues()[0].kind == "missing-field"


def test_as_source_and_uri_parsing():
    assert parse_s3_uri("s3://b/k/x.jsonl") == ("b", "k/x.jsonl")
    for bad in ("s3://b", "s3:///k", "http://b/k"):
        with pytest.raises(ValueError):
            parse_s3_uri(bad)
    with pytest.raises(ValueError, match="S3 client"):
        as_source("s3://b/k")
    with pytest.raises(TypeError):
        as_source(42)


def test_very_long_line_is_skipped_with_constant_memory(monkeypatch):
    import lambdas.domain.validation as validation

    monkeypatch.setattr(validation, "MAX_LINE_BYTES", 100)
    data = jsonl(pcs(1)[0]) + b'{"prompt": "' + b"x" * 500 + b'", "completion": "y"}\n' + jsonl(pcs(2)[1])
    report = validate_dataset(data, TITAN_EXPRESS, "FINE_TUNING")
    assert [(i.line, i.kind) for i in report.issues()] == [(2, "line-too-long")]
    assert report.training.lines == 3 and report.training.valid_records == 2
