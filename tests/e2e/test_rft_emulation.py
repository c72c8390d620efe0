"""The emulated Bedrock's reinforcement fine-tuning jobs, through boto3: what it refuses up front, and the training
loop against a grader function (good, refused, raising, answering outside the contract)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e

NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"
ROLE = "arn:aws:iam::123456789012:role/bedrock"
V = "2012-10-17"
TRAIN = "\n".join(
    json.dumps({"messages": [{"role": "user", "content": f"{a} cộng {b} bằng mấy?"}], "reference_answer": str(a + b)})
    for a, b in [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)]
)
# Graders, as the code of a function of their own: scores 1 for the reference number, 0 otherwise.
RIGHT = """
import re
def handler(event, context):
    def score(s):
        numbers = re.findall(r"\\d+", s["messages"][-1]["content"])
        return 1.0 if numbers and numbers[-1] == str(s["reference_answer"]) else 0.0
    return [{"id": s["id"], "aggregate_reward_score": score(s)} for s in event]
"""
RAISES = "def handler(event, context):\n    raise ValueError('reference missing')\n"
SKIPS = "def handler(event, context):\n    return [{'id': s['id'], 'aggregate_reward_score': 1.0} for s in event[1:]]\n"


@pytest.fixture
def emulator():
    from local import Emulator

    with Emulator(time_scale=0) as aws:
        yield aws


def _grader(emulator, name: str, code: str, *, granted: bool = True) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("index.py", code)
    arn = emulator.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/grader",
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    if granted:
        emulator.client("iam").put_role_policy(
            RoleName="bedrock",
            PolicyName=f"invoke-{name}",
            PolicyDocument=json.dumps(
                {"Version": V, "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn}]}
            ),
        )
    return arn


@pytest.fixture
def bedrock(emulator):
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="train/rft.jsonl", Body=TRAIN.encode())
    iam = emulator.client("iam")
    trust = {
        "Version": V,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    lambda_trust = {
        "Version": V,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="bedrock", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_role(RoleName="grader", AssumeRolePolicyDocument=json.dumps(lambda_trust))
    data = {
        "Version": V,
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"}
        ],
    }
    iam.put_role_policy(RoleName="bedrock", PolicyName="data", PolicyDocument=json.dumps(data))
    return emulator.client("bedrock")


def _rft_job(bedrock, grader: str, name: str = "rft1", **extra) -> str:
    params: dict = dict(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn=ROLE,
        baseModelIdentifier=NOVA_2_LITE,
        customizationType="REINFORCEMENT_FINE_TUNING",
        trainingDataConfig={"s3Uri": "s3://data/train/rft.jsonl"},
        outputDataConfig={"s3Uri": "s3://data/output/"},
        customizationConfig={
            "rftConfig": {
                "graderConfig": {"lambdaGrader": {"lambdaArn": grader}},
                "hyperParameters": {"epochCount": 2, "trainingSamplePerPrompt": 4},
            }
        },
    )
    params.update(extra)
    return bedrock.create_model_customization_job(**params)["jobArn"]


def _finished(emulator, bedrock, arn: str) -> dict:
    emulator.advance(3600)
    emulator.settle()
    return bedrock.get_model_customization_job(jobIdentifier=arn)


def test_an_rft_job_trains_against_its_grader_and_leaves_rising_rewards_and_a_model(emulator, bedrock):
    from lambdas.domain.training_metrics import read_reward_curve

    arn = _rft_job(bedrock, _grader(emulator, "right", RIGHT))
    job = _finished(emulator, bedrock, arn)
    assert job["status"] == "Completed", job.get("failureMessage")
    assert bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])["modelArn"] == job["outputModelArn"]
    curve = read_reward_curve(emulator.client("s3"), "s3://data/output/", arn)
    assert curve.notes == [] and len(curve.rewards) == 4  # 2 epochs of 6 prompts, 4 prompts a step: 2 steps each
    assert curve.rewards[0].mean < curve.rewards[-1].mean
    graded = [e for e in emulator.journal if e["event"] == "lambda" and e.get("function") == "right"]
    assert len(graded) == 4 and not any(e["error"] for e in graded)


@pytest.mark.parametrize(
    "change,message",
    [
        ("no-config", "rftConfig is required"),
        ({"hyperParameters": {"epochCount": "2"}}, "set customizationConfig.rftConfig.hyperParameters instead"),
        ("no-function", "does not exist"),
        ({"customizationType": "FINE_TUNING"}, "only for REINFORCEMENT_FINE_TUNING"),
    ],
)
def test_what_bedrock_refuses_of_an_rft_request(emulator, bedrock, change, message):
    grader = _grader(emulator, "right", RIGHT)
    if change == "no-function":
        grader, change = grader.replace(":function:right", ":function:gone"), {}
    with pytest.raises(ClientError) as refused:
        if change == "no-config":
            params = {"jobName": "rft1", "customModelName": "rft1-model", "roleArn": ROLE}
            bedrock.create_model_customization_job(
                **params,
                baseModelIdentifier=NOVA_2_LITE,
                customizationType="REINFORCEMENT_FINE_TUNING",
                trainingDataConfig={"s3Uri": "s3://data/train/rft.jsonl"},
                outputDataConfig={"s3Uri": "s3://data/output/"},
            )
        else:
            _rft_job(bedrock, grader, **change)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert message in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "code,granted,message",
    [
        (RIGHT, False, "is not authorized to perform: lambda:InvokeFunction"),
        (RAISES, True, "returned an error: ValueError: reference missing"),
        (SKIPS, True, "returned unusable scores: 1 sample(s) got no score: 0-0-0"),
    ],
)
def test_a_grader_refused_failing_or_answering_outside_the_contract_fails_the_job(
    emulator, bedrock, code, granted, message
):
    arn = _rft_job(bedrock, _grader(emulator, "grader", code, granted=granted))
    job = _finished(emulator, bedrock, arn)
    assert job["status"] == "Failed" and message in job["failureMessage"], job.get("failureMessage")
    assert bedrock.list_custom_models()["modelSummaries"] == []
