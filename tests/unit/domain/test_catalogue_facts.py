"""The catalogue's facts about Bedrock as of 2026-12-04 and the questions asked of them.

Each test pins a fact to the value AWS's pages give, so a wrong fact fails here, not at run time.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from lambdas.domain.catalogue import (
    MODELS,
    TEACHER_MODELS,
    CatalogueError,
    CustomizationType,
    DatasetFormat,
    LifecycleStatus,
    customization_region_problem,
    get_model,
    invocation_for,
    lifecycle_problem,
    on_demand_eligibility,
)
from lambdas.domain.report import Severity
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import (
    COHERE,
    HAIKU,
    LLAMA_31_8B,
    NOVA_2_LITE,
    NOVA_LITE,
    NOVA_MICRO,
    TITAN_EXPRESS,
    TITAN_LITE,
    conv,
    convs,
    jsonl,
)

FT, CPT, DIST = CustomizationType.FINE_TUNING, CustomizationType.CONTINUED_PRE_TRAINING, CustomizationType.DISTILLATION
TODAY = date(2026, 12, 4)
ACCOUNT = "123456789012"
LLAMA_32_90B = "meta.llama3-2-90b-instruct-v1:0:128k"
CUSTOM_NOVA = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/abc123def456"


# --- lifecycle ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_id", "end_of_life"),
    [
        (HAIKU, date(2026, 9, 10)),
        (LLAMA_32_90B, date(2026, 7, 7)),
        ("amazon.nova-premier-v1:0", date(2026, 9, 14)),
        ("meta.llama3-1-405b-instruct-v1:0", date(2026, 7, 7)),
    ],
)
def test_end_of_life_is_an_error_on_the_day_and_a_warning_within_90_days(model_id, end_of_life):
    severity, message = lifecycle_problem(model_id, end_of_life)
    assert (
        severity is Severity.ERROR and end_of_life.isoformat() in message and "https://docs.aws.amazon.com/" in message
    )
    assert lifecycle_problem(model_id, TODAY)[0] is Severity.ERROR
    day_before = lifecycle_problem(model_id, end_of_life - timedelta(days=1))
    assert (
        day_before[0] is Severity.WARNING and "in 1 day " in day_before[1] and end_of_life.isoformat() in day_before[1]
    )
    assert lifecycle_problem(model_id, end_of_life - timedelta(days=90))[0] is Severity.WARNING
    assert lifecycle_problem(model_id, end_of_life - timedelta(days=91)) is None


@pytest.mark.parametrize(
    "model_id",
    [NOVA_MICRO, NOVA_LITE, "amazon.nova-pro-v1:0:300k", NOVA_2_LITE, "amazon.nova-pro-v1:0", "amazon.nova-micro-v1:0"],
)
def test_current_nova_models_and_the_nova_pro_teacher_are_active(model_id):
    assert lifecycle_problem(model_id, TODAY) is None


def test_a_custom_model_has_its_base_models_lifecycle():
    haiku_custom = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:custom-model/{HAIKU}/abc123def456"
    assert lifecycle_problem(haiku_custom, TODAY)[0] is Severity.ERROR
    assert lifecycle_problem(CUSTOM_NOVA, TODAY) is None


def test_a_model_without_a_published_lifecycle_is_a_warning_that_says_so():
    severity, message = lifecycle_problem(TITAN_EXPRESS, TODAY)
    assert severity is Severity.WARNING and "GetFoundationModel" in message and "2026-12-04" in message


def test_unknown_models_are_refused_by_name():
    with pytest.raises(CatalogueError, match="unknown base model"):
        lifecycle_problem("amazon.nova-giant-v9:0", TODAY)


def test_every_model_and_teacher_has_a_dated_lifecycle_source():
    lifecycles = [spec.lifecycle for spec in MODELS.values()] + [
        teacher.lifecycle for teacher in TEACHER_MODELS.values()
    ]
    for lifecycle in lifecycles:
        assert lifecycle.source.url.startswith("https://docs.aws") and re.fullmatch(
            r"\d{4}-\d{2}-\d{2}", lifecycle.source.read
        )
        assert (lifecycle.end_of_life is not None) == (lifecycle.status is LifecycleStatus.LEGACY)
        assert lifecycle.status is not LifecycleStatus.UNKNOWN or lifecycle.note


# --- regions --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_id", "ctype", "region"),
    [
        (NOVA_MICRO, FT, "us-east-1"),
        (NOVA_LITE, FT, "us-east-1"),
        (NOVA_2_LITE, FT, "us-east-1"),
        (NOVA_MICRO, DIST, "us-east-1"),
        (LLAMA_31_8B, FT, "us-west-2"),
        (HAIKU, FT, "us-west-2"),
    ],
)
def test_customizable_where_aws_lists_it(model_id, ctype, region):
    assert customization_region_problem(model_id, ctype, region) is None


@pytest.mark.parametrize(
    ("model_id", "ctype", "region", "says"),
    [
        (NOVA_MICRO, FT, "us-west-2", "only in us-east-1"),
        (NOVA_2_LITE, FT, "eu-west-1", "only in us-east-1"),
        (LLAMA_31_8B, FT, "us-east-1", "only in us-west-2"),
        (HAIKU, FT, "us-east-1", "only in us-west-2"),
        (TITAN_EXPRESS, FT, "us-east-1", "not in AWS's current customization table"),
        (TITAN_EXPRESS, CPT, "us-east-1", "not in AWS's current customization table"),
        (TITAN_LITE, FT, "us-west-2", "not in AWS's current customization table"),
        (COHERE, FT, "us-east-1", "not in AWS's current customization table"),
        ("amazon.titan-text-premier-v1:0:32k", DIST, "us-east-1", "does not support DISTILLATION"),
    ],
)
def test_not_customizable_elsewhere_with_the_reason(model_id, ctype, region, says):
    problem = customization_region_problem(model_id, ctype.value, region)
    assert problem is not None and says in problem


def test_a_custom_model_is_tuned_where_its_base_model_is():
    assert customization_region_problem(CUSTOM_NOVA, FT, "us-east-1") is None
    assert "only in us-east-1" in customization_region_problem(CUSTOM_NOVA, FT, "us-west-2")


# --- Nova 2 Lite ----------------------------------------------------------------------------------
def test_nova_2_lite_fine_tunes_in_the_conversation_format_with_reasoning_and_without_a_validation_set():
    spec = get_model(NOVA_2_LITE)
    assert spec.customization_types == {FT, DIST, CustomizationType.REINFORCEMENT_FINE_TUNING}
    assert (
        spec.dataset_format(FT) is DatasetFormat.CONVERSATION_2024
        and spec.dataset_format(DIST) is DatasetFormat.DISTILLATION_PROMPTS
    )
    limits = spec.dataset_limits(FT)
    assert limits.reasoning_content and not limits.validation_supported and limits.schema_version is None
    assert limits.media.image_formats == {"png", "jpeg", "gif"} and limits.media.video_formats == {"mov", "mkv", "mp4"}
    assert limits.tokens.ceiling == 256_000 and limits.max_record_bytes is not None
    assert not spec.supports_on_demand_deployment  # not among deploy-custom-model-on-demand's base models


def test_nova_2_lite_takes_no_hyperparameter_it_does_not_publish():
    spec = get_model(NOVA_2_LITE)
    assert spec.hyperparameter_problems({"epochCount": 2}) == [
        ("epochCount", "is not a hyperparameter of amazon.nova-2-lite-v1:0:256k; valid: ")
    ]
    assert spec.bedrock_hyperparameters({}) == {}


def test_nova_2_lite_refuses_a_validation_file():
    records = convs(20)
    report = validate_dataset(
        jsonl(*records), NOVA_2_LITE, FT, validation_source=jsonl(conv(user="Thủ đô của Pháp?", assistant="Paris."))
    )
    assert report.counts() == {"validation-not-supported": 1}
    assert validate_dataset(
        jsonl(*records), NOVA_MICRO, FT, validation_source=jsonl(conv(user="Thủ đô của Pháp?", assistant="Paris."))
    ).valid


# --- hyperparameters ------------------------------------------------------------------------------
def test_cohere_hyperparameters_are_the_published_table():
    hp = get_model(COHERE).hyperparameters
    lr, threshold, patience = hp["learningRate"], hp["earlyStoppingThreshold"], hp["earlyStoppingPatience"]
    assert (lr.minimum, lr.maximum, lr.default) == (5e-6, 0.1, 1e-5)
    assert (threshold.kind, threshold.minimum, threshold.maximum, threshold.default) == (float, 0.0, 0.1, 0.01)
    assert (patience.kind, patience.minimum, patience.maximum, patience.default) == (int, 1, 10, 6)
    assert get_model(COHERE).hyperparameter_problems({"earlyStoppingThreshold": 0.2, "earlyStoppingPatience": 11}) == [
        ("earlyStoppingThreshold", "must be between 0 and 0.1, got 0.2"),
        ("earlyStoppingPatience", "must be between 1 and 10, got 11"),
    ]
    assert get_model("cohere.command-light-text-v14:7:4k").hyperparameters["batchSize"].maximum == 32


# --- invocation -----------------------------------------------------------------------------------
def test_nova_answers_in_us_east_1_by_its_own_id():
    invocation = invocation_for(NOVA_MICRO, "us-east-1", account=ACCOUNT)
    assert invocation.model_id == "amazon.nova-micro-v1:0" and not invocation.via_profile
    assert invocation.iam_resources == ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0",)


@pytest.mark.parametrize(
    ("model_id", "region", "profile", "base"),
    [
        ("amazon.nova-pro-v1:0", "us-west-2", "us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        (NOVA_2_LITE, "us-east-1", "us.amazon.nova-2-lite-v1:0", "amazon.nova-2-lite-v1:0"),
        (
            "meta.llama3-3-70b-instruct-v1:0",
            "us-east-1",
            "us.meta.llama3-3-70b-instruct-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
        ),
        (LLAMA_32_90B, "us-west-2", "us.meta.llama3-2-90b-instruct-v1:0", "meta.llama3-2-90b-instruct-v1:0"),
        ("amazon.nova-premier-v1:0", "us-east-1", "us.amazon.nova-premier-v1:0", "amazon.nova-premier-v1:0"),
    ],
)
def test_models_behind_an_inference_profile_are_invoked_through_it_with_iam_for_every_region(
    model_id, region, profile, base
):
    invocation = invocation_for(model_id, region, account=ACCOUNT, partition="aws")
    assert invocation.via_profile and invocation.model_id == profile
    assert invocation.iam_resources == (
        f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{profile}",
        f"arn:aws:bedrock:us-*::foundation-model/{base}",
    )


def test_invocation_of_an_unknown_model_is_refused():
    with pytest.raises(CatalogueError, match="no invocation facts"):
        invocation_for("openai.gpt-9", "us-east-1", account=ACCOUNT)


# --- on-demand deployment -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "customized_on"), [("us-east-1", date(2025, 7, 16)), ("us-west-2", date(2026, 11, 30))]
)
def test_nova_customized_on_or_after_2025_07_16_in_us_east_1_or_us_west_2_deploys_on_demand(region, customized_on):
    eligible, reason = on_demand_eligibility(CUSTOM_NOVA, region, customized_on)
    assert eligible and "deploy-custom-model-on-demand" in reason


@pytest.mark.parametrize(
    ("model", "region", "customized_on", "says"),
    [
        (CUSTOM_NOVA, "us-east-1", date(2025, 7, 15), "before 2025-07-16"),
        (CUSTOM_NOVA, "eu-west-1", date(2026, 1, 1), "only in us-east-1, us-west-2"),
        (CUSTOM_NOVA, "us-east-1", None, "creation date is unknown"),
        (NOVA_2_LITE, "us-east-1", date(2026, 11, 1), "need provisioned throughput"),
        (LLAMA_31_8B, "us-west-2", date(2026, 11, 1), "need provisioned throughput"),
    ],
)
def test_other_custom_models_fall_back_to_provisioned_throughput_with_the_reason(model, region, customized_on, says):
    eligible, reason = on_demand_eligibility(model, region, customized_on)
    assert not eligible and says in reason


# --- prices ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model_id", "input_per_1k", "output_per_1k"),
    [
        (NOVA_MICRO, "0.000035", "0.00014"),
        (NOVA_LITE, "0.00006", "0.00024"),
        ("amazon.nova-pro-v1:0:300k", "0.0008", "0.0032"),
    ],
)
def test_nova_custom_on_demand_and_throughput_prices_are_recorded_with_their_source(
    model_id, input_per_1k, output_per_1k
):
    prices = get_model(model_id).prices
    assert (prices.on_demand_input_per_1k, prices.on_demand_output_per_1k) == (
        Decimal(input_per_1k),
        Decimal(output_per_1k),
    )
    assert prices.throughput_per_unit_hour == {
        "none": Decimal("60.50"),
        "OneMonth": Decimal("55.00"),
        "SixMonths": Decimal("30.25"),
    }
    assert prices.as_of == "2026-09-01" and "20260901205051" in prices.source
    # no source read gives Nova's training or storage price: unpriced, not zero
    assert prices.training_per_1k_tokens is None and prices.storage_per_month is None and "configure" in prices.note


def test_price_overrides_cover_the_new_figures():
    prices = get_model(NOVA_MICRO).prices.with_overrides(
        {"training_per_1k_tokens": "0.001", "on_demand_output_per_1k": "0.0002", "as_of": "2026-12"}
    )
    assert prices.training_per_1k_tokens == Decimal("0.001") and prices.on_demand_output_per_1k == Decimal("0.0002")
    assert prices.on_demand_input_per_1k == Decimal("0.000035") and prices.source == "configuration"
