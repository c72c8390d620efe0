"""Handlers run against moto: real boto3 calls, real request validation, an emulated account."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

# Powertools reads these when a handler module is imported, as Lambda sets them before import.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "tuneforge")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tuneforge-test")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from lambdas.domain.profiles import fingerprints_variable  # noqa: E402
from local import bedrock  # noqa: E402
from local import state as emulator_state  # noqa: E402
from local.clock import Clock  # noqa: E402
from stacks.config import load_stages  # noqa: E402
from tests.doubles import (  # noqa: E402
    FakeContext,
    create_bedrock_role,
    create_registry_tables,
    create_versioned_buckets,
    forget_handler_clients,
)
from tests.unit.handlers.helpers import (  # noqa: E402
    ACCOUNT,
    ARTIFACTS_BUCKET,
    DATA_BUCKET,
    PROFILE_PREFIX,
    REGION,
    ROOT,
    STATE_MACHINE_NAME,
)


@dataclass
class Account:
    s3: object
    dynamodb: object
    stepfunctions: object
    bedrock: object
    state_machine_arn: str
    profiles: dict
    notifications: object  # () -> message bodies published on the notification topic since the last call


@pytest.fixture
def account(monkeypatch) -> Account:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "tuneforge")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "tuneforge-test")
    env = {
        "RUNS_TABLE": "runs",
        "CHAMPIONS_TABLE": "champions",
        "ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "DATA_BUCKET": DATA_BUCKET,
        "PROFILE_PARAMETER_PREFIX": PROFILE_PREFIX,
        "BEDROCK_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization",
        "SUBNET_IDS": "subnet-0a,subnet-0b",
        "JOB_SECURITY_GROUP_IDS": "sg-0job",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The emulator's Bedrock control plane (local.bedrock) over moto's: jobs found by ARN as well as
    # by name, AWS-shaped ARNs, Bedrock's validation. Its clock is frozen here, so a job stays
    # InProgress until a test changes it.
    bedrock.apply()
    previous_state = emulator_state.current()
    emulator_state.install(emulator_state.EmulatorState(clock=Clock(0)))
    with mock_aws():
        forget_handler_clients()
        s3 = boto3.client("s3", region_name=REGION)
        create_versioned_buckets(s3, DATA_BUCKET, ARTIFACTS_BUCKET)
        for evaluation_set in (ROOT / "samples" / "evaluation").glob("*.jsonl"):
            s3.put_object(Bucket=DATA_BUCKET, Key=f"evaluation/{evaluation_set.name}", Body=evaluation_set.read_bytes())
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_registry_tables(dynamodb)
        profiles = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles
        # What a deployment of the bundled configuration installs (stacks/pipeline_stack.py).
        monkeypatch.setenv("PROFILE_FINGERPRINTS", fingerprints_variable(profiles.values()))
        ssm = boto3.client("ssm", region_name=REGION)
        for profile in profiles.values():
            ssm.put_parameter(Name=f"{PROFILE_PREFIX}/{profile.name}", Value=profile.model_dump_json(), Type="String")
        iam = boto3.client("iam", region_name=REGION)
        create_bedrock_role(iam, "bedrock-customization", DATA_BUCKET, ARTIFACTS_BUCKET)
        # a real key: the emulator checks the caller may use the custom-model key through Bedrock
        monkeypatch.setenv(
            "KMS_KEY_ARN",
            boto3.client("kms", region_name=REGION).create_key(Description="tuneforge test")["KeyMetadata"]["Arn"],
        )
        role = iam.create_role(
            RoleName="sfn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
        state_machine_arn = stepfunctions.create_state_machine(
            name=STATE_MACHINE_NAME, definition=definition, roleArn=role
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", state_machine_arn)
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name="notifications")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic_arn)
        try:
            yield Account(
                s3,
                dynamodb,
                stepfunctions,
                boto3.client("bedrock", region_name=REGION),
                state_machine_arn,
                profiles,
                lambda: [
                    m["Body"] for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
                ],
            )
        finally:
            emulator_state.install(previous_state)
            forget_handler_clients()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
