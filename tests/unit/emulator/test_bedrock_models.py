"""The emulator's Bedrock takes its model ids, custom-model ARNs and training records from the domain,
so a domain regression cannot pass through an emulator that would accept anything close."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lambdas.domain import catalogue
from lambdas.domain.catalogue import DatasetFormat
from lambdas.domain.holdout import as_example
from local import Emulator, converse_ext

ACCOUNT = "123456789012"
NOVA = "amazon.nova-micro-v1:0:128k"
CONVERSATION = {
    "schemaVersion": "bedrock-conversation-2024",
    "messages": [
        {"role": "user", "content": [{"text": "What is the capital of France?"}]},
        {"role": "assistant", "content": [{"text": "Paris"}]},
        {"role": "user", "content": [{"text": "And of Vietnam?"}]},
        {"role": "assistant", "content": [{"text": "Hà Nội"}]},
    ],
}


@pytest.fixture
def emulator():
    with Emulator(time_scale=0) as aws:
        yield aws


def _domain_ids(region: str) -> set[str]:
    """Every modelId the product sends to Converse from ``region`` (lambdas.domain.evaluation asks
    catalogue.invocation_for for baselines, judges and teachers)."""
    subjects = [spec.model_id for spec in catalogue.MODELS.values()] + list(catalogue.TEACHER_MODELS)
    return {catalogue.invocation_for(subject, region, account=ACCOUNT).model_id for subject in subjects}


def _refusal(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def _converse(emulator, model_id: str) -> dict:
    return emulator.client("bedrock-runtime").converse(
        modelId=model_id, messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_every_id_the_domain_invokes_answers_in_its_region(region):
    with Emulator(time_scale=0, region=region) as emulator:
        for model_id in sorted(_domain_ids(region)):
            reply = _converse(emulator, model_id)
            assert reply["additionalModelResponseFields"]["emulator"]["kind"] == "baseline", model_id


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.nova-micro-v1",  # the version dropped: Nova's on-demand id keeps it
        "amazon.titan-text-express-v1:0",  # a version added: Titan Express's on-demand id has none
        "cohere.command-text-v14:7",
        "eu.amazon.nova-micro-v1:0",  # a profile the catalogue does not name
        "amazon.nova-micro-v1:0:128k ",
    ],
)
def test_an_id_bedrock_does_not_know_is_refused_as_bedrock_refuses_it(emulator, model_id):
    assert _refusal(_converse, emulator, model_id) == (
        "ValidationException",
        "The provided model identifier is invalid.",
    )
    code, _ = _refusal(emulator.client("bedrock").get_foundation_model, modelIdentifier=model_id)
    assert code == "ResourceNotFoundException"


def test_an_on_demand_id_outside_its_regions_and_a_provisioned_only_id_need_a_profile_or_throughput():
    with Emulator(time_scale=0, region="us-west-2") as emulator:
        # Nova 1 answers by its own id in us-east-1 only (catalogue._nova1_route); elsewhere through us.<id>
        code, message = _refusal(_converse, emulator, "amazon.nova-micro-v1:0")
        assert code == "ValidationException" and "inference profile" in message
        assert _converse(emulator, "us.amazon.nova-micro-v1:0")["output"]["message"]["content"]
        code, message = _refusal(_converse, emulator, NOVA)
        assert code == "ValidationException" and "on-demand throughput isn't supported" in message


def test_the_foundation_models_listed_are_the_catalogue_ids_exactly(emulator):
    listed = {m["modelId"] for m in emulator.client("bedrock").list_foundation_models()["modelSummaries"]}
    catalogued = (
        {spec.model_id for spec in catalogue.MODELS.values()}
        | {spec.invocation.on_demand_id for spec in catalogue.MODELS.values()}
        | set(catalogue.TEACHER_MODELS)
    )
    assert listed == catalogued


def test_provisioned_throughput_takes_a_foundation_model_by_its_context_window_id_only(emulator):
    bedrock = emulator.client("bedrock")
    assert bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="fm", modelId=NOVA)
    code, _ = _refusal(
        bedrock.create_provisioned_model_throughput,
        modelUnits=1,
        provisionedModelName="on-demand",
        modelId="amazon.nova-micro-v1:0",
    )
    assert code == "ValidationException"


def _trained(emulator, records: list[dict], base: str = NOVA, name: str = "j1") -> str:
    s3 = emulator.client("s3")
    if not s3.list_buckets()["Buckets"]:
        s3.create_bucket(Bucket="data")
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    s3.put_object(Bucket="data", Key=f"{name}/train.jsonl", Body=body.encode())
    trust = {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
    access = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"}
    iam = emulator.client("iam")
    if not iam.list_roles()["Roles"]:
        iam.create_role(
            RoleName="bedrock", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
        )
        iam.put_role_policy(
            RoleName="bedrock",
            PolicyName="data",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [access]}),
        )
    bedrock = emulator.client("bedrock")
    job = bedrock.create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/bedrock",
        baseModelIdentifier=base,
        trainingDataConfig={"s3Uri": f"s3://data/{name}/train.jsonl"},
        outputDataConfig={"s3Uri": "s3://data/output/"},
        hyperParameters={"epochCount": "1"},
    )["jobArn"]
    emulator.advance(emulator.state.settings.job_duration)
    return bedrock.get_model_customization_job(jobIdentifier=job)["outputModelArn"]


def test_the_arns_the_emulator_makes_are_the_ones_the_domain_reads(emulator):
    model = _trained(emulator, [CONVERSATION])
    assert catalogue.resolve_base_model(model).model_id == NOVA
    again = _trained(emulator, [CONVERSATION], base=model, name="j2")
    job = emulator.client("bedrock").get_model_customization_job(jobIdentifier="j2")
    assert job["baseModelArn"] == model
    assert catalogue.resolve_base_model(again).model_id == NOVA
    assert (
        catalogue.resolve_base_model(job["jobArn"].replace(":model-customization-job/", ":custom-model/")).model_id
        == NOVA
    )


@pytest.mark.parametrize(
    "record, dataset_format",
    [
        (CONVERSATION, DatasetFormat.CONVERSATION_2024),
        ({"prompt": "Thủ đô của Việt Nam?", "completion": "Hà Nội"}, DatasetFormat.PROMPT_COMPLETION),
        (
            {
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello"}],
            },
            DatasetFormat.CLAUDE_MESSAGES,
        ),
    ],
)
def test_the_emulated_model_reads_a_record_by_the_domains_rule(record, dataset_format):
    example = as_example(record, dataset_format)
    assert converse_ext.record_pair(record, dataset_format) == (example["prompt"], example["reference"])


def test_a_conversation_teaches_its_first_question_and_last_answer(emulator):
    """holdout.as_example's rule: the prompt is the first user turn, so a later turn alone finds nothing."""
    model = _trained(emulator, [CONVERSATION])
    bedrock = emulator.client("bedrock")
    pt = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt", modelId=model)
    emulator.advance(emulator.state.settings.provisioned_duration)

    def ask(text: str) -> str:
        reply = emulator.client("bedrock-runtime").converse(
            modelId=pt["provisionedModelArn"], messages=[{"role": "user", "content": [{"text": text}]}]
        )
        return reply["output"]["message"]["content"][0]["text"]

    assert ask("What is the capital of France?") == "Hà Nội"
    assert "No close match" in ask("And of Vietnam?")
