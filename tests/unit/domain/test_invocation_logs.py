"""Distillation from invocation logs: the profile's settings, the request Bedrock receives, which records a job
learns from, and what Validate and Estimate do for a run that has no upload."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.customization import build_job_request
from lambdas.domain.dataset_check import ValidationOutcome, estimate_run
from lambdas.domain.invocation_logs import (
    InvocationLogsSettings,
    LoggedInvocation,
    RequestMetadataFilters,
    parse_record,
    selected,
)
from lambdas.domain.logs_runs import logs_run_id, logs_run_input
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.runs import Infrastructure, RunSource
from stacks.config import load_stages

ROOT = Path(__file__).resolve().parents[3]
PROFILES = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles
ACCOUNT = "123456789012"
INFRA = Infrastructure(
    artifacts_bucket="tuneforge-dev-artifacts",
    bedrock_role_arn=f"arn:aws:iam::{ACCOUNT}:role/tuneforge-dev-bedrock-customization",
    subnet_ids=["subnet-0a1b2c3d4e5f60718"],
    security_group_ids=["sg-0123456789abcdef0"],
    kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
)
AT = datetime(2026, 12, 7, 21, 0, 5, tzinfo=timezone.utc)
LOGS = "support-qa-vi-logs"


def _profile(name: str = LOGS, **changes: Any) -> TuningProfile:
    return PROFILES[name].model_copy(update=changes)


def _settings(**fields: Any) -> InvocationLogsSettings:
    return InvocationLogsSettings.model_validate({"s3_uri": "s3://acme-logs/bedrock/", **fields})


# --- the profile -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields,named",
    [
        ({"s3_uri": "s3://Acme_Logs/"}, "s3_uri"),
        ({"s3_uri": "https://acme-logs.s3.amazonaws.com/"}, "s3_uri"),
        ({"schedule": "every week"}, "schedule"),
        ({"schedule": "rate(7 day)"}, "plural"),
        ({"schedule": "rate(1 days)"}, "singular"),
        ({"schedule": "cron(0 3 * * ?)"}, "schedule"),
        ({"request_metadata_filters": {}}, "exactly one"),
        ({"request_metadata_filters": {"equals": {"team": "a"}, "or_all": [{"equals": {"b": "c"}}]}}, "exactly one"),
        ({"request_metadata_filters": {"equals": {"team": "a", "env": "prod"}}}, "one metadata key"),
        ({"request_metadata_filters": {"and_all": []}}, "at least 1"),
        ({"request_metadata_filters": {"or_all": [{"equals": {"k": "v"}}] * 17}}, "at most 16"),
        ({"request_metadata_filters": {"and_all": [{"equals": {"k": "v"}, "not_equals": {"k": "w"}}]}}, "exactly one"),
        ({"request_metadata_filters": {"equals": {"team": "ü"}}}, "pattern"),
    ],
)
def test_settings_bedrock_would_refuse_are_refused_with_the_field(fields, named):
    with pytest.raises(ValidationError, match=named):
        _settings(**fields)


@pytest.mark.parametrize("schedule", ["rate(1 day)", "rate(7 days)", "rate(30 minutes)", "cron(0 3 ? * MON *)"])
def test_schedules_eventbridge_takes_are_kept(schedule):
    assert _settings(schedule=schedule).schedule == schedule


def test_only_the_documented_customization_types_learn_from_invocation_logs():
    fine_tuning = _profile("support-qa-vi", invocation_logs=_settings())
    assert [field for field, _ in fine_tuning.problems()] == ["invocation_logs"]
    assert "DISTILLATION and REINFORCEMENT_FINE_TUNING" in fine_tuning.problems()[0][1]
    assert _profile().problems() == []


def test_a_held_out_split_needs_an_upload():
    profile = _profile(evaluation=PROFILES["support-qa-vi-holdout"].evaluation)
    reasons = [reason for field, reason in profile.problems() if field == "evaluation.holdout_fraction"]
    assert any("no uploaded file" in reason for reason in reasons)


def test_profiles_without_invocation_logs_keep_their_fingerprints():
    # Measured on main before the field existed (2026-12-07).
    before = {
        "support-qa-vi": "8637f45b528c376fcce36c4bef0eca86",
        "support-qa-vi-holdout": "2eabd98ac2bbed988a8683d19d510bb6",
        "release-notes": "433ba2b3812ead7ffd2e10c7bc2db17a",
        "distilled-support": "63dea8de713ccd7a260a62ac2da4e9bd",
        "vqa-vi": "eab61f6598d5ebe3632cb1b161190410",
    }
    assert {name: PROFILES[name].fingerprint() for name in before} == before
    assert _profile().fingerprint() != _profile(invocation_logs=_settings()).fingerprint()


# --- the request -------------------------------------------------------------------------------------------
def _request(profile: TuningProfile) -> dict[str, Any]:
    run = logs_run_input(profile, AT)
    return build_job_request(
        run, INFRA, base_model=profile.base_model, execution_arn=None, training_uri=profile.invocation_logs.s3_uri
    )


@pytest.mark.parametrize(
    "filters",
    [
        None,
        {"equals": {"team": "support"}},
        {"not_equals": {"environment": "test"}},
        {"and_all": [{"equals": {"team": "support"}}, {"not_equals": {"environment": "test"}}]},
        {"or_all": [{"equals": {"team": "support"}}, {"equals": {"team": "sales"}}]},
    ],
)
def test_a_run_from_logs_sends_invocation_logs_config_instead_of_an_s3_uri(filters):
    settings = _settings(use_prompt_response=True, request_metadata_filters=filters)
    request = _request(_profile(invocation_logs=settings))
    assert request_problems("CreateModelCustomizationJob", request) == []
    config = request["trainingDataConfig"]["invocationLogsConfig"]
    assert list(request["trainingDataConfig"]) == ["invocationLogsConfig"]
    assert config["invocationLogSource"] == {"s3Uri": "s3://acme-logs/bedrock/"}
    assert config["usePromptResponse"] is True
    assert ("requestMetadataFilters" in config) == (filters is not None)
    assert request["customizationConfig"]["distillationConfig"]["teacherModelConfig"]["teacherModelIdentifier"]


def test_the_log_location_comes_from_the_profile_and_an_upload_run_of_the_same_profile_sends_its_file():
    profile = _profile()
    upload = logs_run_input(profile, AT).model_copy(update={"source": RunSource.UPLOAD})
    request = build_job_request(
        upload, INFRA, base_model=profile.base_model, execution_arn=None, training_uri="s3://data/snapshots/x.jsonl"
    )
    assert request["trainingDataConfig"] == {"s3Uri": "s3://data/snapshots/x.jsonl"}
    forged = logs_run_input(profile, AT).model_copy(update={"profile": _profile(invocation_logs=None)})
    with pytest.raises(ValueError, match="names none"):
        build_job_request(forged, INFRA, base_model=profile.base_model, execution_arn=None, training_uri="s3://x/y")


def test_a_run_from_logs_is_named_by_profile_and_start_second():
    run = logs_run_input(_profile(), AT)
    assert run.run_id == logs_run_id(LOGS, AT) == "support-qa-vi-logs-logs-20261207T210005Z"
    assert run.source is RunSource.INVOCATION_LOGS
    assert run.dataset.training.uri == "s3://acme-bedrock-invocation-logs/bedrock/"
    with pytest.raises(ValueError, match="uploads only"):
        logs_run_input(PROFILES["distilled-support"], AT)


# --- which records -----------------------------------------------------------------------------------------
def _record(model: str, prompt: str, answer: str | None, **metadata: str) -> dict[str, Any]:
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "operation": "Converse",
        "modelId": model,
        "input": {"inputBodyJson": {"messages": [{"role": "user", "content": [{"text": prompt}]}]}},
        "output": {
            "outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": answer}]}}}
            if answer
            else {}
        },
        **({"requestMetadata": metadata} if metadata else {}),
    }


def test_log_records_of_converse_invoke_model_and_other_schemas():
    converse = parse_record(_record("amazon.nova-pro-v1:0", "Hỏi?", "Đáp.", team="support"))
    assert converse == LoggedInvocation(
        model_id="amazon.nova-pro-v1:0", prompt="Hỏi?", response="Đáp.", metadata={"team": "support"}
    )
    invoke = {  # the user guide's InvokeModel example
        "schemaType": "ModelInvocationLog",
        "modelId": "meta.llama3-1-405b-instruct-v1:0",
        "input": {"inputBodyJson": {"prompt": "story of two dogs"}},
        "output": {"outputBodyJson": {"completion": " Here is a story"}},
    }
    assert parse_record(invoke).response == " Here is a story"
    assert parse_record({"schemaType": "Other"}) is None


def test_filters_and_the_teacher_pick_the_records():
    teacher = "amazon.nova-pro-v1:0"
    invocations = [
        parse_record(r)
        for r in [
            _record(teacher, "a", "A", team="support", environment="prod"),
            _record(teacher, "b", "B", team="support", environment="test"),
            _record(teacher, "c", "C", team="sales"),
            _record("amazon.nova-lite-v1:0", "d", "D", team="support"),
            _record(teacher, "e", None, team="support"),
            _record(teacher, "f", "F"),
        ]
    ]
    profile_filters = PROFILES[LOGS].invocation_logs.request_metadata_filters
    with_responses = _settings(use_prompt_response=True, request_metadata_filters=profile_filters)
    assert [i.prompt for i in selected(invocations, with_responses, teacher)] == ["a"]
    prompts_only = _settings(request_metadata_filters=profile_filters)
    assert [i.prompt for i in selected(invocations, prompts_only, teacher)] == ["a", "d", "e"]
    either = RequestMetadataFilters.model_validate({"or_all": [{"equals": {"team": "sales"}}, {"equals": {"k": "v"}}]})
    assert [i.prompt for i in selected(invocations, _settings(request_metadata_filters=either), None)] == ["c"]
    assert len(selected(invocations, _settings(), None)) == 6


# --- the estimate ------------------------------------------------------------------------------------------
def test_the_estimate_of_a_run_from_logs_cannot_price_training_and_fails_closed():
    validation = ValidationOutcome(
        valid=True,
        report_uri="s3://a/r",
        error_count=0,
        warning_count=0,
        training_records=0,
        training_tokens=0,
        summary=[],
    )
    strict = _profile(
        accept_unpriced_runs=False, prices={"training_per_1k_tokens": "0.001", "as_of": "2026-12-01", "source": "test"}
    )
    run = logs_run_input(strict, AT)
    outcome = estimate_run(
        run, validation, region="us-east-1", baseline_model="amazon.nova-micro-v1:0", today=date(2026, 12, 7)
    )
    training = next(line for line in outcome.estimate["lines"] if line["item"] == "training")
    assert training["amount_usd"] is None and "invocation logs" in training["basis"]
    assert outcome.within_budget is False and "unpriced" in outcome.summary
    accepting = estimate_run(
        logs_run_input(_profile(), AT),
        validation,
        region="us-east-1",
        baseline_model="amazon.nova-micro-v1:0",
        today=date(2026, 12, 7),
    )
    assert accepting.within_budget is True and accepting.budget_verified is False


def test_customization_types_named_in_the_profile_problem_are_the_documented_ones():
    from lambdas.domain.profiles import INVOCATION_LOG_TYPES

    assert INVOCATION_LOG_TYPES == (CustomizationType.DISTILLATION, CustomizationType.REINFORCEMENT_FINE_TUNING)


# --- Validate ----------------------------------------------------------------------------------------------
@pytest.fixture
def s3():
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("data", "artifacts"):
            client.create_bucket(Bucket=bucket)
        client.put_object(
            Bucket="data",
            Key="evaluation/support-qa-vi.jsonl",
            Body=(ROOT / "samples/evaluation/support-qa-vi.jsonl").read_bytes(),
        )
        yield client


def test_validate_checks_what_it_can_without_reading_the_logs_and_says_the_rest(s3):
    from lambdas.domain.logs_runs import validate_logs_run

    run = logs_run_input(_profile(), AT)
    planned = lambda training, validation: [("CreateModelCustomizationJob", _request(run.profile))]  # noqa: E731
    outcome = validate_logs_run(s3, run, artifacts_bucket="artifacts", data_bucket="data", planned_requests=planned)
    assert outcome.valid and outcome.training_uri == "s3://acme-bedrock-invocation-logs/bedrock/"
    assert outcome.evaluation_examples == 12 and outcome.snapshot_uri is None
    report = json.loads(
        s3.get_object(Bucket="artifacts", Key=f"reports/{LOGS}/{run.run_id}/validation.json")["Body"].read()
    )
    assert report["source"] == "invocation-logs" and len(report["not_checked_before_the_job"]) == 4
    assert not any(key.startswith("bedrock/") for key in _keys(s3, "data"))  # nothing read or copied from logs


def test_validate_rejects_a_logs_run_of_a_profile_that_names_no_logs(s3):
    from lambdas.domain.logs_runs import validate_logs_run

    forged = logs_run_input(_profile(), AT).model_copy(update={"profile": PROFILES["distilled-support"]})
    outcome = validate_logs_run(s3, forged, artifacts_bucket="artifacts", data_bucket="data", planned_requests=None)
    assert not outcome.valid and outcome.training_uri is None
    assert "sets no invocation_logs" in outcome.summary[0]


def _keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
