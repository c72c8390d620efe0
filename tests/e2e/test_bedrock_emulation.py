"""The Bedrock control plane and Converse stand-in, through boto3 as handlers use them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.e2e

BASE = "amazon.titan-text-express-v1:0:8k"
NOVA = "amazon.nova-micro-v1:0:128k"
TRAIN = "\n".join(
    json.dumps(r)
    for r in [
        {"prompt": "What is the capital of France?", "completion": "Paris"},
        {"prompt": "How many legs does a spider have?", "completion": "Eight"},
        {"prompt": "Thủ đô của Việt Nam là gì?", "completion": "Hà Nội"},
        {"prompt": "What colour is the sky on a clear day?", "completion": "Blue"},
    ]
)


@pytest.fixture
def emulator(request):
    """Frozen clock: emulated time moves only with advance(), so lifecycles are exact."""
    from local import Emulator

    with Emulator(time_scale=0) as aws:
        yield aws


@pytest.fixture
def bedrock(emulator):
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="train/data.jsonl", Body=TRAIN.encode())
    # Bedrock works with the role a job passes it: assumable by Bedrock, allowed to read data and write output
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"}
        ],
    }
    iam = emulator.client("iam")
    iam.create_role(RoleName="bedrock", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="bedrock", PolicyName="data", PolicyDocument=json.dumps(access))
    return emulator.client("bedrock")


def _job(bedrock, name="j1", base=BASE, **extra):
    params = dict(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn="arn:aws:iam::123456789012:role/bedrock",
        baseModelIdentifier=base,
        trainingDataConfig={"s3Uri": "s3://data/train/"},
        outputDataConfig={"s3Uri": "s3://data/output/"},
        hyperParameters={"epochCount": "2"},
    )
    params.update(extra)
    return bedrock.create_model_customization_job(**params)["jobArn"]


def test_job_lifecycle_metrics_and_output_model(emulator, bedrock):
    arn = _job(bedrock, validationDataConfig={"validators": [{"s3Uri": "s3://data/train/data.jsonl"}]})
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/{BASE}/")
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "InProgress" and "outputModelArn" not in job and job["outputModelName"] == "j1-model"
    assert bedrock.list_custom_models()["modelSummaries"] == []  # the model exists once the job completes
    emulator.advance(3599)
    assert bedrock.get_model_customization_job(jobIdentifier="j1")["status"] == "InProgress"
    emulator.advance(2)
    job = bedrock.get_model_customization_job(jobIdentifier="j1")
    assert job["status"] == "Completed"
    assert job["trainingMetrics"]["trainingLoss"] > 0 and job["validationMetrics"][0]["validationLoss"] > 0
    model = bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])
    assert model["modelArn"] == job["outputModelArn"] and model["jobArn"] == arn
    assert job["outputModelArn"].startswith(f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{BASE}/")
    keys = [o["Key"] for o in emulator.client("s3").list_objects_v2(Bucket="data", Prefix="output/")["Contents"]]
    assert any(k.endswith("training_artifacts/step_wise_training_metrics.csv") for k in keys)
    # Both loss files as documented, ending at the losses the job reports (lambdas/domain/training_metrics.py).
    from lambdas.domain.training_metrics import read_training_curves

    curves = read_training_curves(emulator.client("s3"), "s3://data/output/", arn)
    assert curves.notes == [] and curves.training[0].step == 0
    assert curves.final_training_loss == job["trainingMetrics"]["trainingLoss"]
    assert curves.final_validation_loss == job["validationMetrics"][0]["validationLoss"]
    assert curves.training[-1].loss < curves.training[0].loss and all(p.perplexity for p in curves.training)


def test_client_request_token_is_idempotent_and_configs_round_trip(bedrock):
    vpc = {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}
    first = _job(bedrock, clientRequestToken="tok-1", vpcConfig=vpc)
    again = _job(bedrock, clientRequestToken="tok-1", vpcConfig=vpc)
    assert first == again
    assert len(bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]) == 1
    distill = _job(
        bedrock,
        name="d1",
        base=NOVA,
        customizationType="DISTILLATION",
        hyperParameters={},
        customizationConfig={
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": "amazon.nova-pro-v1:0",
                    "maxResponseLengthForInference": 1000,
                }
            }
        },
    )
    job = bedrock.get_model_customization_job(jobIdentifier=distill)
    assert (
        job["customizationConfig"]["distillationConfig"]["teacherModelConfig"]["teacherModelIdentifier"]
        == "amazon.nova-pro-v1:0"
    )
    assert bedrock.get_model_customization_job(jobIdentifier=first)["vpcConfig"] == vpc


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"baseModelIdentifier": "amazon.unknown-v1"}, "not supported for customization"),
        ({"hyperParameters": {"epochCount": "99"}}, "epochCount"),
        ({"customizationType": "DISTILLATION"}, "does not support"),
        # the s3Uri pattern of the API reference: no space, '+', '%' or non-ASCII letter in a key
        ({"trainingDataConfig": {"s3Uri": "s3://data/train/tập huấn+1 100%.jsonl"}}, "trainingDataConfig.s3Uri: "),
        (
            {"validationDataConfig": {"validators": [{"s3Uri": "s3://data/a b.jsonl"}]}},
            "validationDataConfig.validators[0].s3Uri: ",
        ),
        ({"outputDataConfig": {"s3Uri": "s3://Data/output/"}}, "outputDataConfig.s3Uri"),
        # every other field of the service model too: a job tag with a Vietnamese letter (TagValue pattern)
        ({"jobTags": [{"key": "tuneforge:dataset-uri", "value": "s3://data/tập.jsonl"}]}, "jobTags[0].value: "),
    ],
)
def test_what_bedrock_refuses_is_a_validation_error(bedrock, extra, message):
    with pytest.raises(ClientError) as err:
        _job(bedrock, **extra)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert message in err.value.response["Error"]["Message"]


def test_stop_goes_through_stopping_and_emits_the_event(emulator, bedrock):
    events = emulator.client("events")
    queue = emulator.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    events.put_rule(
        Name="r", EventPattern=json.dumps({"source": ["aws.bedrock"], "detail": {"jobStatus": ["Stopped"]}})
    )
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    emulator.allow_eventbridge("arn:aws:sqs:us-east-1:123456789012:q")
    arn = _job(bedrock)
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopping"
    emulator.advance(60)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopped"
    message = json.loads(emulator.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert message["detail-type"] == "Model Customization Job State Change"
    assert message["detail"]["jobStatus"] == "Stopped" and message["detail"]["jobName"] == "j1"


def test_the_job_event_has_the_documented_fields(emulator, bedrock):
    """https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-eventbridge-how-it-works.html"""
    events = emulator.client("events")
    queue = emulator.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    events.put_rule(
        Name="r",
        EventPattern=json.dumps({"source": ["aws.bedrock"], "detail-type": ["Model Customization Job State Change"]}),
    )
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    emulator.allow_eventbridge("arn:aws:sqs:us-east-1:123456789012:q")
    arn = _job(bedrock, validationDataConfig={"validators": [{"s3Uri": "s3://data/train/data.jsonl"}]})
    emulator.advance(3601)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    emulator.wait_idle()
    message = json.loads(emulator.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert message["source"] == "aws.bedrock" and message["resources"] == [arn]
    detail = message["detail"]
    assert set(detail) == {
        "version",
        "jobName",
        "jobArn",
        "outputModelName",
        "outputModelArn",
        "roleArn",
        "jobStatus",
        "creationTime",
        "lastModifiedTime",
        "endTime",
        "baseModelArn",
        "hyperParameters",
        "trainingDataConfig",
        "validationDataConfig",
        "outputDataConfig",
    }  # failureMessage only when the job failed
    assert (
        detail["version"] == "0.0"
        and detail["jobStatus"] == "Completed"
        and detail["outputModelArn"] == job["outputModelArn"]
    )
    assert detail["validationDataConfig"] == {"s3Uri": "s3://data/train/data.jsonl"} and detail[
        "trainingDataConfig"
    ] == {"s3Uri": "s3://data/train/"}
    assert all(
        len(detail[t]) == 20 and detail[t].endswith("Z") for t in ("creationTime", "lastModifiedTime", "endTime")
    )  # 2023-08-11T10:11:12Z
    assert detail["hyperParameters"] == {"epochCount": "2"}


def test_missing_training_data_fails_the_job(emulator, bedrock):
    arn = _job(bedrock, trainingDataConfig={"s3Uri": "s3://data/nothing-here.jsonl"})
    emulator.advance(3600)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "not found" in job["failureMessage"]


def test_fault_job_failed_and_lost_event(emulator, bedrock):
    emulator.faults.fail_job(message="out of capacity")
    emulator.faults.lose_job_event()
    arn = _job(bedrock)
    emulator.advance(3600)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and job["failureMessage"] == "out of capacity"
    assert [f["fault"] for f in emulator.faults.fired] == ["job_failed", "lost_job_event"]


def test_throttling_and_access_denied(emulator, bedrock):
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "bedrock", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    emulator.faults.throttle("ListCustomModels", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as err:
            client.list_custom_models()
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert client.list_custom_models()["modelSummaries"] == []
    emulator.faults.deny("GetFoundationModel")
    with pytest.raises(ClientError) as err:
        client.get_foundation_model(modelIdentifier=BASE)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_provisioned_throughput_and_deployment_lifecycles(emulator, bedrock):
    titan = bedrock.get_model_customization_job(jobIdentifier=_job(bedrock))
    nova_arn = _job(bedrock, name="n1", base=NOVA, hyperParameters={})
    emulator.advance(3600)
    titan_model = bedrock.get_model_customization_job(jobIdentifier=titan["jobArn"])["outputModelArn"]
    nova_model = bedrock.get_model_customization_job(jobIdentifier=nova_arn)["outputModelArn"]

    pt = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt1", modelId=titan_model)[
        "provisionedModelArn"
    ]
    assert bedrock.get_provisioned_model_throughput(provisionedModelId=pt)["status"] == "Creating"
    emulator.advance(600)
    got = bedrock.get_provisioned_model_throughput(provisionedModelId="pt1")
    assert got["status"] == "InService" and got["modelArn"] == titan_model and got["foundationModelArn"].endswith(BASE)
    with pytest.raises(ClientError):  # Titan custom models have no on-demand deployment
        bedrock.create_custom_model_deployment(modelDeploymentName="d0", modelArn=titan_model)

    dep = bedrock.create_custom_model_deployment(modelDeploymentName="d1", modelArn=nova_model)[
        "customModelDeploymentArn"
    ]
    emulator.faults.fail_endpoint("deployment")
    failing = bedrock.create_custom_model_deployment(modelDeploymentName="d2", modelArn=nova_model)[
        "customModelDeploymentArn"
    ]
    emulator.advance(300)
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=dep)["status"] == "Active"
    failed = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=failing)
    assert failed["status"] == "Failed" and "emulated fault" in failed["failureMessage"]
    assert {
        d["customModelDeploymentName"] for d in bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
    } == {"d1", "d2"}

    bedrock.delete_provisioned_model_throughput(provisionedModelId=pt)
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=dep)
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=failing)
    assert emulator.endpoints() == {"provisioned": [], "deployments": []}


def test_converse_candidate_beats_baseline_for_a_visible_reason(emulator, bedrock):
    runtime = emulator.client("bedrock-runtime")
    arn = _job(bedrock)
    emulator.advance(3600)
    model = bedrock.get_model_customization_job(jobIdentifier=arn)["outputModelArn"]
    pt = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt", modelId=model)[
        "provisionedModelArn"
    ]
    with pytest.raises(ClientError) as err:  # not InService yet
        runtime.converse(modelId=pt, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    emulator.advance(600)

    def ask(model_id, text):
        return runtime.converse(
            modelId=model_id,
            messages=[{"role": "user", "content": [{"text": text}]}],
            inferenceConfig={"maxTokens": 50},
        )

    reply = ask(pt, "Việt Nam có thủ đô là gì?")
    assert reply["output"]["message"]["content"][0]["text"] == "Hà Nội"
    info = reply["additionalModelResponseFields"]["emulator"]
    assert info["kind"] == "nearest-neighbour" and info["record"] == 2 and info["similarity"] > 0.5
    assert ask(pt, "How many legs does a spider have?")["output"]["message"]["content"][0]["text"] == "Eight"
    assert "No close match" in ask(pt, "Explain quantum chromodynamics")["output"]["message"]["content"][0]["text"]
    baseline = ask("amazon.titan-text-express-v1", "How many legs does a spider have?")
    assert baseline["output"]["message"]["content"][0]["text"] != "Eight"
    assert baseline["additionalModelResponseFields"]["emulator"]["kind"] == "baseline"
    with pytest.raises(ClientError):  # a context-suffixed id is provisioned-only, as in Bedrock
        ask(BASE, "hi")

    emulator.faults.degrade_candidate()
    assert ask(pt, "How many legs does a spider have?")["output"]["message"]["content"][0]["text"] != "Eight"


def test_foundation_models_come_from_the_catalogue(bedrock):
    from lambdas.domain.catalogue import MODELS

    details = bedrock.get_foundation_model(modelIdentifier=NOVA)["modelDetails"]
    assert details["modelId"] == NOVA and set(details["customizationsSupported"]) == {
        t.value for t in MODELS[NOVA].customization_types
    }
    customizable = {
        m["modelId"] for m in bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")["modelSummaries"]
    }
    assert customizable == {
        m for m, spec in MODELS.items() if any(t.value == "FINE_TUNING" for t in spec.customization_types)
    }
    with pytest.raises(ClientError):
        bedrock.get_foundation_model(modelIdentifier="nope.model-v1")


def test_evaluation_jobs_minimal(emulator, bedrock):
    arn = bedrock.create_evaluation_job(
        jobName="e1",
        roleArn="arn:aws:iam::123456789012:role/bedrock",
        evaluationConfig={
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {"name": "d", "datasetLocation": {"s3Uri": "s3://data/e.jsonl"}},
                        "metricNames": ["Builtin.Accuracy"],
                    }
                ]
            }
        },
        inferenceConfig={
            "models": [{"bedrockModel": {"modelIdentifier": "amazon.titan-text-express-v1", "inferenceParams": "{}"}}]
        },
        outputDataConfig={"s3Uri": "s3://data/eval/"},
    )["jobArn"]
    assert bedrock.get_evaluation_job(jobIdentifier=arn)["status"] == "InProgress"
    emulator.advance(1800)
    assert bedrock.get_evaluation_job(jobIdentifier=arn)["status"] == "Completed"
    assert bedrock.list_evaluation_jobs()["jobSummaries"][0]["jobName"] == "e1"


def test_a_committed_throughput_cannot_be_deleted_until_its_term_ends(emulator, bedrock):
    """Bedrock refuses the delete while the commitment runs and bills until it is deleted (the facts and
    their sources: lambdas/domain/janitor.py); the emulated month is 30 days."""
    titan = bedrock.get_model_customization_job(jobIdentifier=_job(bedrock))["jobArn"]
    emulator.advance(3600)
    model = bedrock.get_model_customization_job(jobIdentifier=titan)["outputModelArn"]
    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="committed", modelId=model, commitmentDuration="OneMonth"
    )["provisionedModelArn"]
    described = bedrock.get_provisioned_model_throughput(provisionedModelId=pt)
    assert described["commitmentDuration"] == "OneMonth"
    assert described["commitmentExpirationTime"] - described["creationTime"] == timedelta(days=30)
    emulator.advance(30 * 86400 - 60)
    with pytest.raises(ClientError, match="cannot be deleted before its term ends"):
        bedrock.delete_provisioned_model_throughput(provisionedModelId=pt)
    with pytest.raises(ClientError, match="in use"):
        bedrock.delete_custom_model(modelIdentifier=model)
    emulator.advance(60)
    bedrock.delete_provisioned_model_throughput(provisionedModelId=pt)
    bedrock.delete_custom_model(modelIdentifier=model)
    assert emulator.endpoints() == {"provisioned": [], "deployments": []}
    assert bedrock.list_custom_models()["modelSummaries"] == []


def test_models_and_endpoints_are_authorized_with_their_tags(emulator, bedrock):
    """Get and Delete of a custom model, throughput or deployment carry aws:ResourceTag/<key> of the
    resource; a resource that does not exist has none."""
    import json as _json

    from local import authz

    nova = _job(bedrock, name="n1", base=NOVA, hyperParameters={}, customModelTags=[{"key": "team", "value": "ml"}])
    emulator.advance(3600)
    model = bedrock.get_model_customization_job(jobIdentifier=nova)["outputModelArn"]
    tagged = bedrock.create_custom_model_deployment(
        modelDeploymentName="tagged", modelArn=model, tags=[{"key": "team", "value": "ml"}]
    )["customModelDeploymentArn"]
    untagged = bedrock.create_custom_model_deployment(modelDeploymentName="untagged", modelArn=model)[
        "customModelDeploymentArn"
    ]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    only_ml = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["bedrock:DeleteCustomModelDeployment", "bedrock:DeleteCustomModel"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "ml"}},
            }
        ],
    }
    iam = emulator.client("iam")
    role = iam.create_role(RoleName="ml-janitor", AssumeRolePolicyDocument=_json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="ml-janitor", PolicyName="only-ml", PolicyDocument=_json.dumps(only_ml))
    as_role = emulator.client("bedrock", principal=role)

    with pytest.raises(ClientError, match="AccessDenied"):
        as_role.delete_custom_model_deployment(customModelDeploymentIdentifier=untagged)
    as_role.delete_custom_model_deployment(customModelDeploymentIdentifier=tagged)
    with pytest.raises(ClientError, match="AccessDenied"):  # gone: no tags left to match
        as_role.delete_custom_model_deployment(customModelDeploymentIdentifier=tagged)
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=untagged)
    as_role.delete_custom_model(modelIdentifier=model)
    assert [d["action"] for d in authz.DENIALS] == [
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:DeleteCustomModelDeployment",
    ]
