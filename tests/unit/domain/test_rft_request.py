"""The REINFORCEMENT_FINE_TUNING job request: the grader's ARN and typed hyperparameters in rftConfig, no string map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.catalogue import CatalogueError
from lambdas.domain.customization import (
    GraderNotDeployed,
    build_job_request,
    grader_arns_variable,
    parse_grader_arns,
    start_customization_job,
)
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.runs import Dataset, Infrastructure, RunInput, S3ObjectRef, run_id_for
from stacks.config import load_stages

ROOT = Path(__file__).resolve().parents[3]
PROFILES = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles
ACCOUNT = "123456789012"
GRADER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:Tuneforge-dev-Pipeline-GradersviarithmeticFunction-1A2B3C"
INFRA = Infrastructure(
    artifacts_bucket="tuneforge-dev-artifacts",
    bedrock_role_arn=f"arn:aws:iam::{ACCOUNT}:role/tuneforge-dev-bedrock-customization",
    subnet_ids=["subnet-0a1b2c3d4e5f60718"],
    security_group_ids=["sg-0123456789abcdef0"],
    kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    grader_arns={"vi-arithmetic": GRADER},
)
JOB = "CreateModelCustomizationJob"


def _run(profile: TuningProfile | None = None) -> RunInput:
    chosen = profile or PROFILES["vi-arithmetic"]
    obj = S3ObjectRef(bucket="tuneforge-dev-data", key=f"incoming/{chosen.name}/bai-toan.jsonl", version_id="v1")
    return RunInput(
        run_id=run_id_for(chosen.name, obj),
        profile=chosen,
        dataset=Dataset(trigger=obj, training=obj),
        started_at="2026-12-07T10:00:00+00:00",
    )


def _request(run: RunInput | None = None, infra: Infrastructure = INFRA) -> dict[str, Any]:
    run = run or _run()
    return build_job_request(
        run, infra, base_model=run.profile.base_model, execution_arn=None, training_uri=run.dataset.training.uri
    )


def _with(**changes: Any) -> TuningProfile:
    return TuningProfile.model_validate({**PROFILES["vi-arithmetic"].model_dump(mode="json"), **changes})


def test_the_rft_request_names_the_grader_and_types_the_hyperparameters():
    request = _request()
    assert request["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    assert request["customizationConfig"] == {
        "rftConfig": {
            "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER}},
            "hyperParameters": {"epochCount": 2, "batchSize": 16, "trainingSamplePerPrompt": 4},
        }
    }
    assert "hyperParameters" not in request  # the string map is for the other customization types
    assert request_problems(JOB, request) == []


def test_written_as_text_the_hyperparameters_still_go_out_as_numbers():
    request = _request(_run(_with(hyperparameters={"epochCount": "3", "learningRate": "0.00001"})))
    assert request["customizationConfig"]["rftConfig"]["hyperParameters"] == {"epochCount": 3, "learningRate": 1e-5}
    assert request_problems(JOB, request) == []


def test_without_hyperparameters_bedrock_applies_its_defaults():
    request = _request(_run(_with(hyperparameters={})))
    assert request["customizationConfig"]["rftConfig"] == {"graderConfig": {"lambdaGrader": {"lambdaArn": GRADER}}}
    assert request_problems(JOB, request) == []


def test_a_hyperparameter_out_of_rft_range_is_refused_before_the_request():
    with pytest.raises(CatalogueError, match="trainingSamplePerPrompt"):
        _request(_run(_with(hyperparameters={"trainingSamplePerPrompt": 64})))


def test_a_profile_whose_grader_is_not_deployed_fails_with_a_clear_error():
    with pytest.raises(GraderNotDeployed) as missing:
        _request(infra=INFRA.model_copy(update={"grader_arns": {"other-profile": GRADER}}))
    message = str(missing.value)
    assert "vi-arithmetic" in message and "other-profile" in message and "deploy" in message


def test_other_customization_types_are_unchanged_by_grader_arns():
    support = PROFILES["support-qa-vi"]
    request = _request(_run(support))
    assert "customizationConfig" not in request
    assert request["hyperParameters"] == support.bedrock_hyperparameters


def test_the_environment_variable_round_trips_and_sorts():
    variable = grader_arns_variable([("z-profile", "arn:z"), ("a-profile", "arn:a")])
    assert variable == "a-profile=arn:a,z-profile=arn:z"
    assert parse_grader_arns(variable) == {"a-profile": "arn:a", "z-profile": "arn:z"}
    assert parse_grader_arns("") == {}


class _Bedrock:
    """Records what would be sent; the lifecycle check passes."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def get_foundation_model(self, modelIdentifier: str) -> dict[str, Any]:
        return {"modelDetails": {"modelLifecycle": {"status": "ACTIVE"}}}

    def create_model_customization_job(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        return {"jobArn": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/{request['jobName']}/abc"}


def test_start_customization_job_sends_the_rft_request():
    bedrock = _Bedrock()
    run = _run()
    job = start_customization_job(
        bedrock, run, INFRA, champion_model_arn=None, execution_arn=None, training_uri=run.dataset.training.uri
    )
    [sent] = bedrock.sent
    assert sent["customizationConfig"]["rftConfig"]["graderConfig"]["lambdaGrader"]["lambdaArn"] == GRADER
    assert job.job_name == sent["jobName"]
