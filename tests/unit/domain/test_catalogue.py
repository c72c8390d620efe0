import re
from decimal import Decimal

import pytest

from lambdas.domain.catalogue import (
    MODELS,
    TEACHER_MODELS,
    CatalogueError,
    CustomizationType,
    DatasetFormat,
    derived_record_bytes,
    get_model,
    resolve_base_model,
)
from tests.unit.domain.helpers import COHERE, HAIKU, LLAMA_31_8B, NOVA_LITE, NOVA_MICRO, TITAN_EXPRESS, TITAN_LITE

FT = CustomizationType.FINE_TUNING


def test_every_model_from_the_issue_is_catalogued_with_its_context_suffix():
    expected = {
        "amazon.titan-text-express-v1:0:8k",
        "amazon.titan-text-lite-v1:0:4k",
        "amazon.titan-text-premier-v1:0:32k",
        "amazon.nova-micro-v1:0:128k",
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-pro-v1:0:300k",
        "amazon.nova-2-lite-v1:0:256k",
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-1-70b-instruct-v1:0:128k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "meta.llama3-2-11b-instruct-v1:0:128k",
        "meta.llama3-2-90b-instruct-v1:0:128k",
        "meta.llama3-3-70b-instruct-v1:0:128k",
        "cohere.command-text-v14:7:4k",
        "cohere.command-light-text-v14:7:4k",
    }
    assert set(MODELS) == expected


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_every_supported_type_has_a_format_and_limits(model_id):
    spec = MODELS[model_id]
    for ctype in spec.customization_types:
        assert isinstance(spec.dataset_format(ctype), DatasetFormat)
        limits = spec.dataset_limits(ctype)
        assert limits.chars_per_token > 0
        # an unknown token limit must say so rather than be silently absent
        limit, note = spec.record_token_limit(ctype)
        assert limit is not None or note or limits.tokens.prompt or limits.notes


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_every_model_and_type_caps_a_record_in_tokens_and_bytes_with_a_dated_source(model_id):
    spec = MODELS[model_id]
    assert spec.customization_types
    for ctype in spec.customization_types:
        limits = spec.dataset_limits(ctype)
        assert limits.tokens.ceiling is not None and limits.tokens.ceiling > 0, ctype
        assert limits.max_record_bytes is not None, ctype
        # never tighter than the token estimate: a record the token check passes is never refused for its size
        assert limits.max_record_bytes >= limits.tokens.ceiling * limits.chars_per_token * 6, ctype
        source = limits.tokens.source
        assert source is not None and source.url.startswith("https://docs.aws.amazon.com/"), ctype
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source.read), ctype


@pytest.mark.parametrize(
    ("model_id", "ctype", "tokens"),
    [
        (NOVA_MICRO, FT, 32_000),
        (NOVA_LITE, FT, 32_000),
        ("amazon.nova-pro-v1:0:300k", FT, 32_000),
        (HAIKU, FT, 32_000),
        (LLAMA_31_8B, FT, 16_000),
        ("meta.llama3-2-90b-instruct-v1:0:128k", FT, 10_000),
        ("meta.llama3-3-70b-instruct-v1:0:128k", FT, 16_000),
        (TITAN_EXPRESS, CustomizationType.CONTINUED_PRE_TRAINING, 4_096),
        (COHERE, FT, 4_096 + 2_048),
        # distillation prompts: no published cap, so the student's fine-tuning cap
        (NOVA_MICRO, CustomizationType.DISTILLATION, 32_000),
        (LLAMA_31_8B, CustomizationType.DISTILLATION, 16_000),
    ],
)
def test_per_record_token_ceilings(model_id, ctype, tokens):
    assert get_model(model_id).dataset_limits(ctype).tokens.ceiling == tokens


def test_distillation_caps_say_they_are_derived():
    limits = get_model(NOVA_MICRO).dataset_limits(CustomizationType.DISTILLATION)
    assert "no per-record limit is published" in limits.tokens.note and "32,000" in limits.tokens.note


def test_derived_record_bytes_leave_room_for_escaped_text():
    # a record of only \uXXXX-escaped characters, exactly at the token cap, still fits
    assert derived_record_bytes(32_000, 4.0) >= 32_000 * 4 * len("\\u00e0")
    assert derived_record_bytes(4_096, 6.0) == 4_096 * 6 * 12


def test_unsupported_type_lists_the_supported_ones():
    with pytest.raises(CatalogueError, match="supports: FINE_TUNING"):
        get_model("amazon.titan-text-premier-v1:0:32k").dataset_limits(CustomizationType.DISTILLATION)


@pytest.mark.parametrize(
    ("model_id", "batch", "limit"),
    [
        (TITAN_EXPRESS, None, 4096),
        (TITAN_EXPRESS, "1", 4096),
        (TITAN_EXPRESS, 4, 2048),
        (TITAN_EXPRESS, 5, None),
        (TITAN_LITE, 2, 4096),
        (TITAN_LITE, 6, 2048),
        (TITAN_LITE, 7, None),
    ],
)
def test_titan_token_limit_depends_on_batch_size(model_id, batch, limit):
    hp = {} if batch is None else {"batchSize": batch}
    got, note = get_model(model_id).record_token_limit(FT, hp)
    assert got == limit
    if limit is None:
        assert "not checked" in note


def test_published_limits():
    haiku = get_model(HAIKU).dataset_limits(FT)
    assert (haiku.records.training.minimum, haiku.records.training.maximum, haiku.records.validation.maximum) == (
        32,
        10_000,
        1_000,
    )
    assert haiku.tokens.record == 32_000 and haiku.max_training_bytes == 10 * 1024**3
    nova = get_model(NOVA_MICRO).dataset_limits(FT)
    assert (nova.records.training.minimum, nova.records.training.maximum) == (8, 20_000)
    assert nova.tokens.record == 32_000 and "nova/latest/userguide" in nova.tokens.source.url
    assert not nova.media.images and get_model(NOVA_LITE).dataset_limits(FT).media.max_images_per_record == 10
    assert get_model(LLAMA_31_8B).dataset_limits(FT).records.total.minimum == 100
    cohere = get_model(COHERE).dataset_limits(FT)
    assert (cohere.tokens.prompt, cohere.tokens.completion) == (4096, 2048)
    assert get_model(TITAN_EXPRESS).dataset_limits(FT).max_validation_bytes == 100 * 1024**2


def test_distillation_students_single_turn_except_nova():
    assert get_model(HAIKU).dataset_limits(CustomizationType.DISTILLATION).single_turn_only
    assert get_model(LLAMA_31_8B).dataset_limits(CustomizationType.DISTILLATION).single_turn_only
    assert not get_model(NOVA_MICRO).dataset_limits(CustomizationType.DISTILLATION).single_turn_only


def test_custom_model_arn_resolves_to_base():
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123def456"
    assert resolve_base_model(arn).model_id == NOVA_MICRO


def test_existing_public_api_still_works():
    spec = get_model(NOVA_MICRO)
    assert spec.supports(FT) and spec.supports_on_demand_deployment
    assert spec.hyperparameter_problems({"epochCount": 9}) == [("epochCount", "must be between 1 and 5, got 9")]
    assert spec.bedrock_hyperparameters({"epochCount": 2, "learningRate": 0.00001}) == {
        "epochCount": "2",
        "learningRate": "0.00001",
    }
    assert "amazon.nova-pro-v1:0" in TEACHER_MODELS


def test_prices_are_dated_or_explicitly_absent():
    for spec in MODELS.values():
        p = spec.prices
        figures = (
            p.training_per_1k_tokens,
            p.storage_per_month,
            p.on_demand_input_per_1k,
            p.on_demand_output_per_1k,
            *p.throughput_per_unit_hour.values(),
        )
        if any(figure is not None for figure in figures):
            assert p.as_of and p.source, spec.model_id
        else:
            assert "no recorded price" in p.note


def test_price_overrides():
    prices = get_model(NOVA_MICRO).prices.with_overrides(
        {"training_per_1k_tokens": "0.002", "throughput_per_unit_hour": {"OneMonth": 20}, "as_of": "2026-01"}
    )
    assert prices.training_per_1k_tokens == Decimal("0.002") and prices.throughput_per_unit_hour["OneMonth"] == Decimal(
        "20"
    )
    assert prices.as_of == "2026-01" and prices.source == "configuration"
    with pytest.raises(CatalogueError, match="unknown price field"):
        prices.with_overrides({"trainign": 1})
    with pytest.raises(CatalogueError, match="unknown commitment"):
        prices.with_overrides({"throughput_per_unit_hour": {"TwoYears": 1}})


def test_domain_package_does_not_import_boto3():
    import subprocess
    import sys

    code = "import sys, lambdas.domain.validation, lambdas.domain.cost, lambdas.domain.sources; print('boto3' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
