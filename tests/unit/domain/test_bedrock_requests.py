"""Requests the pipeline sends Bedrock, held against botocore's model of Bedrock before anything is spent."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.domain.bedrock_requests import BedrockRequestRefused, check_request, request_problems, string_rule
from lambdas.domain.customization import build_job_request
from lambdas.domain.endpoints import endpoint_name_for, evaluation_endpoint_request, production_throughput_request
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.runs import Dataset, Infrastructure, RunInput, S3ObjectRef, lineage_tags, run_id_for
from stacks.config import load_stages

ROOT = Path(__file__).resolve().parents[3]
PROFILES = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles
ACCOUNT = "123456789012"
DATA_BUCKET = "tuneforge-dev-data"
INFRA = Infrastructure(
    artifacts_bucket="tuneforge-dev-artifacts",
    bedrock_role_arn=f"arn:aws:iam::{ACCOUNT}:role/tuneforge-dev-bedrock-customization",
    subnet_ids=["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
    security_group_ids=["sg-0123456789abcdef0"],
    kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    grader_arns={
        name: f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:tuneforge-dev-grader-{name}"
        for name, profile in PROFILES.items()
        if profile.grader is not None
    },
)
EXECUTION_ARN = (
    f"arn:aws:states:us-east-1:{ACCOUNT}:execution:tuneforge-dev-pipeline:support-qa-vi-0123456789abcdef01234567"
)
JOB = "CreateModelCustomizationJob"


def _run(
    profile: str | TuningProfile = "support-qa-vi", key: str | None = None, validation_key: str | None = None
) -> RunInput:
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    obj = S3ObjectRef(
        bucket=DATA_BUCKET, key=key or f"incoming/{chosen.name}/vi.jsonl", version_id="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd9t"
    )
    validation = S3ObjectRef(bucket=DATA_BUCKET, key=validation_key) if validation_key else None
    return RunInput(
        run_id=run_id_for(chosen.name, obj),
        profile=chosen,
        dataset=Dataset(trigger=obj, training=obj, validation=validation),
        started_at="2026-12-04T10:00:00+00:00",
    )


def _job_request(run: RunInput | None = None, **changes: Any) -> dict[str, Any]:
    run = run or _run()
    # The URIs the job is pointed at are the checker's input here (in a run they are its snapshot's).
    uris = {
        "training_uri": run.dataset.training.uri,
        "validation_uri": run.dataset.validation.uri if run.dataset.validation else None,
    }
    return build_job_request(
        run, INFRA, base_model=run.profile.base_model, execution_arn=EXECUTION_ARN, **{**uris, **changes}
    )


def _custom_model_arn(profile: TuningProfile) -> str:
    # The form Bedrock gives a job's outputModelArn: custom-model/<base model id>/<12 characters>.
    return f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/{profile.base_model}/a1b2c3d4e5f6"


def _paths(problems: list[str]) -> list[str]:
    return [problem.split(": ", 1)[0] for problem in problems]


# --- CreateModelCustomizationJob ----------------------------------------------------------------
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_job_request_of_every_profile_is_one_bedrock_accepts(profile):
    assert (
        request_problems(JOB, _job_request(_run(profile, validation_key=f"incoming/{profile}/set/validation.jsonl")))
        == []
    )


def test_an_incremental_job_on_the_champion_is_accepted():
    run = _run("release-notes")
    request = build_job_request(
        run,
        INFRA,
        base_model=_custom_model_arn(run.profile),
        execution_arn=EXECUTION_ARN,
        training_uri=run.dataset.training.uri,
    )
    assert request_problems(JOB, request) == []


@pytest.mark.parametrize(
    "key,named",
    [
        ("incoming/support-qa-vi/thang 11.jsonl", "' '"),
        ("incoming/support-qa-vi/a+b.jsonl", "'+'"),
        ("incoming/support-qa-vi/100%.jsonl", "'%'"),
        ("incoming/support-qa-vi/dữliệu.jsonl", "'ữ', 'ệ'"),
    ],
)
def test_a_training_uri_bedrock_refuses_is_one_problem_naming_the_field_and_the_characters(key, named):
    problems = request_problems(JOB, _job_request(training_uri=f"s3://{DATA_BUCKET}/{key}"))
    assert _paths(problems) == ["trainingDataConfig.s3Uri"]
    assert f"without {named} (got" in problems[0] and key in problems[0] and "\n" not in problems[0]


def test_a_training_uri_of_more_than_1024_characters_is_one_problem_with_a_short_excerpt():
    uri = f"s3://{DATA_BUCKET}/incoming/support-qa-vi/{'a' * 1000}.jsonl"
    problems = request_problems(JOB, _job_request(training_uri=uri))
    assert _paths(problems) == ["trainingDataConfig.s3Uri"]
    assert f"at most 1,024 characters, this has {len(uri):,}" in problems[0]
    assert uri not in problems[0] and len(problems[0]) < 250


def test_a_validation_uri_is_named_by_its_place_in_the_list():
    problems = request_problems(JOB, _job_request(_run(validation_key="incoming/support-qa-vi/kiểm tra.jsonl")))
    assert _paths(problems) == ["validationDataConfig.validators[0].s3Uri"]


def test_tags_of_a_vietnamese_key_were_refused_and_are_now_accepted():
    run = _run(key="incoming/support-qa-vi/dữ liệu tháng 11.jsonl")
    request = _job_request(run, training_uri=f"s3://{DATA_BUCKET}/incoming/support-qa-vi/_holdout/x/training.jsonl")
    # The dataset's key as the tag value, letters and all, is what Bedrock refuses.
    raw = [
        {**tag, "value": run.dataset.training.uri} if tag["key"] == "tuneforge:dataset-uri" else tag
        for tag in request["jobTags"]
    ]
    assert _paths(request_problems(JOB, {**request, "jobTags": raw, "customModelTags": raw})) == [
        "jobTags[2].value",
        "customModelTags[2].value",
    ]
    assert request_problems(JOB, request) == []
    assert request["jobTags"][2] == {
        "key": "tuneforge:dataset-uri",
        "value": f"s3://{DATA_BUCKET}/incoming/support-qa-vi/du lieu thang 11.jsonl",
    }


def test_tag_values_keep_what_bedrock_takes_and_replace_the_rest():
    tags = lineage_tags(_run(key="incoming/support-qa-vi/Đường dẫn ß #3\t(ổn).jsonl"))
    assert tags[2]["value"] == f"s3://{DATA_BUCKET}/incoming/support-qa-vi/Duong dan _ _3__on_.jsonl"


def test_tag_values_are_cut_to_the_models_maximum():
    tags = lineage_tags(_run(key=f"incoming/support-qa-vi/{'đ' * 300}.jsonl"))
    assert tags[2]["value"] == f"s3://{DATA_BUCKET}/incoming/support-qa-vi/{'d' * 300}"[:256]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(min_size=1, max_size=300))
def test_lineage_tags_of_any_key_are_accepted_by_bedrock(key):
    tags = lineage_tags(_run(key=key), EXECUTION_ARN)
    request = {
        "modelUnits": 1,
        "provisionedModelName": "tf-prod-x",
        "modelId": _custom_model_arn(PROFILES["release-notes"]),
        "tags": tags,
    }
    assert request_problems("CreateProvisionedModelThroughput", request) == []


def test_a_job_name_longer_than_63_characters():
    problems = request_problems(JOB, {**_job_request(), "jobName": "tf-" + "a" * 61})
    assert problems == [f"jobName: must have at most 63 characters, this has 64 (got {'tf-' + 'a' * 61!r})"]


def test_an_unknown_customization_type():
    problems = request_problems(JOB, {**_job_request(), "customizationType": "FINE_TUNE"})
    assert len(problems) == 1
    assert (
        problems[0].startswith("customizationType: must be one of FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION")
        and "(got 'FINE_TUNE')" in problems[0]
    )


def test_a_hyperparameter_that_is_not_a_string():
    request = _job_request()
    problems = request_problems(JOB, {**request, "hyperParameters": {**request["hyperParameters"], "epochCount": 2}})
    assert problems == ["hyperParameters.epochCount: must be text (a string), not the number 2 (got 2)"]


def test_missing_unknown_and_mistyped_fields():
    request = {key: value for key, value in _job_request().items() if key != "roleArn"}
    problems = request_problems(
        JOB, {**request, "jobname": "tf-x", "vpcConfig": {"subnetIds": [], "securityGroupIds": "sg-0123456789abcdef0"}}
    )
    assert _paths(problems) == ["roleArn", "vpcConfig.subnetIds", "vpcConfig.securityGroupIds", "jobname"]
    assert "Bedrock requires this field" in problems[0] and "must not be empty" in problems[1]
    assert "must be a list, not text" in problems[2] and "takes jobName, customModelName" in problems[3]


def test_a_union_sets_exactly_one_member():
    request = _job_request(_run("distilled-support"))
    both = {**request["customizationConfig"], "rftConfig": {}}
    assert _paths(request_problems(JOB, {**request, "customizationConfig": both})) == ["customizationConfig"]


def test_sensitive_values_are_not_shown():
    filters = {"equals": {"team": "nội bộ"}}
    request = _job_request()
    request["trainingDataConfig"]["invocationLogsConfig"] = {
        "invocationLogSource": {"s3Uri": f"s3://{DATA_BUCKET}/logs/"},
        "requestMetadataFilters": filters,
    }
    problems = request_problems(JOB, request)
    assert _paths(problems) == ["trainingDataConfig.invocationLogsConfig.requestMetadataFilters.equals.team"]
    assert "nội" not in problems[0] and "not shown" in problems[0]


@pytest.mark.parametrize(
    "change",
    [
        {"jobName": 7},
        {"hyperParameters": {"epochCount": 2}},
        {"trainingDataConfig": {"s3Uri": ""}},
        {"outputDataConfig": {}},
        {"jobTags": [{"key": "k"}]},
        {"vpcConfig": {"subnetIds": [1], "securityGroupIds": ["sg-1"]}},
        {"extra": True},
    ],
)
def test_whatever_botocore_refuses_before_sending_is_refused_here_too(change):
    request = {**_job_request(), **change}
    shape = botocore.session.get_session().get_service_model("bedrock").operation_model(JOB).input_shape
    assert ParamValidator().validate(request, shape).has_errors()
    assert request_problems(JOB, request)


def test_check_request_raises_with_every_problem():
    with pytest.raises(BedrockRequestRefused) as refused:
        check_request(JOB, {**_job_request(), "jobName": "", "customizationType": "X"})
    assert refused.value.operation == JOB and _paths(refused.value.problems) == ["jobName", "customizationType"]
    assert isinstance(refused.value, ValueError) and "\n" not in str(refused.value)
    check_request(JOB, _job_request())


# --- endpoints ----------------------------------------------------------------------------------
# Every bundled profile's model deploys on demand; this one's custom models need provisioned throughput.
PROVISIONED_ONLY = TuningProfile.model_validate(
    {
        **PROFILES["release-notes"].model_dump(mode="json"),
        "name": "provisioned-only",
        "base_model": "meta.llama3-1-8b-instruct-v1:0:128k",
        "hyperparameters": {"epochCount": 2, "batchSize": 1, "learningRate": 0.00001},
    }
)


def _longest_name(profile: str) -> TuningProfile:
    source = PROVISIONED_ONLY if profile == "provisioned-only" else PROFILES[profile]
    return TuningProfile.model_validate({**source.model_dump(mode="json"), "name": "a" * 31 + "z"})


@pytest.mark.parametrize("profile", ["support-qa-vi", "provisioned-only"])
def test_endpoint_requests_of_the_longest_profile_names_are_accepted(profile):
    run = _run(_longest_name(profile), key="incoming/support-qa-vi/dữ liệu.jsonl")
    model = _custom_model_arn(run.profile)
    operation, evaluation = evaluation_endpoint_request(
        run, model, on_demand=run.profile.model.supports_on_demand_deployment
    )
    production = production_throughput_request(run, model)
    assert operation == (
        "CreateCustomModelDeployment"
        if run.profile.model.supports_on_demand_deployment
        else "CreateProvisionedModelThroughput"
    )
    name = evaluation.get("modelDeploymentName") or evaluation["provisionedModelName"]
    assert len(name) == 63 and name == endpoint_name_for(run.run_id, "evaluation")
    for checked, request in ((operation, evaluation), ("CreateProvisionedModelThroughput", production)):
        assert request_problems(checked, request) == [], checked


def test_throughput_requests_bedrock_refuses():
    request = {
        "modelUnits": 0,
        "provisionedModelName": "tf--prod",
        "modelId": _custom_model_arn(PROFILES["release-notes"]),
        "commitmentDuration": "none",
    }
    problems = request_problems("CreateProvisionedModelThroughput", request)
    assert _paths(problems) == ["modelUnits", "provisionedModelName", "commitmentDuration"]
    assert "must be at least 1 (got 0)" in problems[0] and "must be one of OneMonth, SixMonths" in problems[2]
    assert _paths(
        request_problems(
            "CreateProvisionedModelThroughput",
            {**request, "modelUnits": True, "provisionedModelName": "p", "commitmentDuration": "OneMonth"},
        )
    ) == ["modelUnits"]


def test_a_deployment_description_is_one_line():
    request = {
        "modelDeploymentName": "tf-eval-x",
        "modelArn": _custom_model_arn(PROFILES["support-qa-vi"]),
        "description": "tuneforge evaluation",
    }
    assert request_problems("CreateCustomModelDeployment", request) == []
    for terminator in ("\n", "\r", "\u2028"):
        assert _paths(
            request_problems("CreateCustomModelDeployment", {**request, "description": f"line{terminator}next"})
        ) == ["description"]


# --- how the model's patterns are read ----------------------------------------------------------
def test_every_pattern_of_the_model_is_checked(caplog):
    model = botocore.session.get_session().get_service_model("bedrock")
    shapes = [
        name
        for name in model.shape_names
        if model.shape_for(name).type_name == "string" and "pattern" in model.shape_for(name).metadata
    ]
    with caplog.at_level(logging.WARNING, logger="lambdas.domain.bedrock_requests"):
        for name in shapes:
            string_rule(name).admits("x")
    assert len(shapes) > 100 and caplog.records == []


def test_patterns_match_whole_values_with_javas_classes():
    tag = string_rule("TagValue")
    assert (tag.pattern, tag.max_length) == ("[a-zA-Z0-9\\s._:/=+@-]*", 256)
    assert tag.admits("run 1\t2") and not tag.admits("run\u00a01") and not tag.admits("Hà Nội")
    variable = string_rule("AutomatedReasoningPolicyDefinitionVariableName")
    assert (
        variable.admits("Tiếng Việt")
        and variable.admits("số_lượng")
        and not variable.admits("1 thing")
        and not variable.admits("a  b")
    )
