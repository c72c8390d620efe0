"""The evaluation set: errors name the line and the problem; the Validate step's check uses the same code."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lambdas.domain.evaluation import (
    EvaluationSetError,
    EvaluationSetSize,
    check_evaluation_set,
    invocable_model,
    load_evaluation_set,
    parse_evaluation_set,
)

URI = "s3://data/evaluation/set.jsonl"


def _body(*lines: object) -> bytes:
    return "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines
    ).encode()


def test_reads_prompt_and_reference_and_the_aliases():
    examples = parse_evaluation_set(
        _body(
            {"prompt": "Thủ đô?", "reference": "Hà Nội"},
            "",
            {"prompt": "2+2", "referenceResponse": "4", "category": "math"},
            {"prompt": "p", "completion": "c"},
        ),
        URI,
    )
    assert [(e.line, e.prompt, e.reference) for e in examples] == [
        (1, "Thủ đô?", "Hà Nội"),
        (3, "2+2", "4"),
        (4, "p", "c"),
    ]


def test_every_bad_line_is_named_with_its_problem():
    body = _body(
        {"prompt": "ok", "reference": "fine"},
        '{"prompt": "unterminated',
        ["a", "list"],
        {"reference": "no prompt"},
        {"prompt": "no reference"},
        {"prompt": "", "reference": "x"},
        {"prompt": "p", "reference": 42},
    )
    with pytest.raises(EvaluationSetError) as raised:
        parse_evaluation_set(body, URI)
    problems = dict(raised.value.problems)
    assert problems[2].startswith("not valid JSON")
    assert problems[3] == "expected a JSON object, got list"
    assert problems[4] == "missing prompt"
    assert problems[5] == "missing reference (or referenceResponse)"
    assert problems[6] == "prompt must be a non-empty string"
    assert problems[7] == "reference must be a string, got int"
    assert 1 not in problems
    message = str(raised.value)
    assert message.startswith(f"evaluation set {URI}: ") and "line 4: missing prompt" in message


def test_empty_and_non_utf8_files_are_rejected():
    with pytest.raises(EvaluationSetError, match="no examples"):
        parse_evaluation_set(b"\n\n", URI)
    with pytest.raises(EvaluationSetError, match="not UTF-8"):
        parse_evaluation_set(b'{"prompt": "\xff"}', URI)


def test_many_problems_are_summarized_not_dumped():
    with pytest.raises(EvaluationSetError) as raised:
        parse_evaluation_set(_body(*(["nope"] * 50)), URI)
    assert len(raised.value.problems) == 50 and "(and 30 more)" in str(raised.value)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="data")
        yield client


def test_a_missing_object_is_an_evaluation_set_error(s3):
    with pytest.raises(EvaluationSetError, match=r"s3://data/evaluation/missing.jsonl: the object does not exist"):
        check_evaluation_set(s3, "data", "evaluation/missing.jsonl", 50)


def test_check_reports_how_many_examples_evaluation_will_use(s3):
    s3.put_object(
        Bucket="data",
        Key="evaluation/set.jsonl",
        Body=_body(*({"prompt": f"p{i}", "reference": f"r{i}"} for i in range(7))),
    )
    # Only the five evaluation will send are measured for the estimate: "p0".."p4" and "r0".."r4".
    assert check_evaluation_set(s3, "data", "evaluation/set.jsonl", 5) == {
        "evaluation_set_uri": URI,
        "evaluation_examples": 5,
        "size": EvaluationSetSize(examples=5, prompt_chars=10, reference_chars=10),
    }
    assert [e.prompt for e in load_evaluation_set(s3, "data", "evaluation/set.jsonl", 3)] == ["p0", "p1", "p2"]


def test_a_bad_line_beyond_max_examples_still_rejects_the_set(s3):
    s3.put_object(
        Bucket="data", Key="evaluation/set.jsonl", Body=_body({"prompt": "p", "reference": "r"}, {"prompt": "p"})
    )
    with pytest.raises(EvaluationSetError, match="line 2: missing reference"):
        check_evaluation_set(s3, "data", "evaluation/set.jsonl", 1)


@pytest.mark.parametrize(
    ("catalogue_id", "region", "invoked", "resources"),
    [
        (
            "amazon.nova-micro-v1:0:128k",
            "us-east-1",
            "amazon.nova-micro-v1:0",
            ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"],
        ),
        # outside us-east-1 Nova answers only through its geographic inference profile
        (
            "amazon.nova-micro-v1:0:128k",
            "us-west-2",
            "us.amazon.nova-micro-v1:0",
            [
                "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
                "arn:aws:bedrock:us-*::foundation-model/amazon.nova-micro-v1:0",
            ],
        ),
        (
            "amazon.titan-text-express-v1:0:8k",
            "us-east-1",
            "amazon.titan-text-express-v1",
            ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"],
        ),
        (
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "us-east-1",
            "anthropic.claude-3-haiku-20240307-v1:0",
            ["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"],
        ),
        (
            "meta.llama3-3-70b-instruct-v1:0",
            "us-east-1",
            "us.meta.llama3-3-70b-instruct-v1:0",
            [
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
                "arn:aws:bedrock:us-*::foundation-model/meta.llama3-3-70b-instruct-v1:0",
            ],
        ),
        (
            "some.judge-v1",
            "us-east-1",
            "some.judge-v1",
            ["arn:aws:bedrock:us-east-1::foundation-model/some.judge-v1"],
        ),  # no facts: its own id
    ],
)
def test_baselines_and_judges_are_invoked_as_bedrock_requires_from_the_region(catalogue_id, region, invoked, resources):
    invocation = invocable_model(catalogue_id, region, "123456789012")
    assert invocation.model_id == invoked and list(invocation.iam_resources) == resources
