"""The base model's lifecycle, checked at run time against GetFoundationModel on the emulator, whose
models follow the catalogue's dated lifecycle facts on the emulated day."""

from __future__ import annotations

from datetime import datetime, timezone

import botocore.exceptions
import pytest

from lambdas.domain.catalogue import MODELS
from lambdas.domain.customization import ModelNotCustomizable, check_base_model_lifecycle
from lambdas.domain.profiles import TuningProfile

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"  # end of life 2026-09-10 (catalogue, with its source)


def test_the_emulated_day_is_past_haikus_end_of_life(aws):
    today = datetime.fromtimestamp(aws.emulator.clock.now(), tz=timezone.utc).date()
    assert MODELS[HAIKU].lifecycle.end_of_life is not None and today >= MODELS[HAIKU].lifecycle.end_of_life


def test_an_end_of_life_base_model_is_refused_before_the_job_and_bedrock_refuses_it_too(aws):
    profile = TuningProfile.model_validate(
        {**aws.profiles["support-qa-vi"].model_dump(mode="json"), "base_model": HAIKU, "hyperparameters": {}}
    )
    run = aws.run(profile, "fine-tuning/nova-micro-vi-qa.jsonl")
    with pytest.raises(ModelNotCustomizable, match=f"no longer offers {HAIKU}"):
        check_base_model_lifecycle(aws.bedrock, run)
    with pytest.raises(botocore.exceptions.ClientError, match="reached end of life"):
        aws.train(run)


def test_an_active_base_model_passes(aws):
    run = aws.run(aws.profiles["support-qa-vi"], "fine-tuning/nova-micro-vi-qa.jsonl")
    check_base_model_lifecycle(aws.bedrock, run)
    assert (
        aws.bedrock.get_foundation_model(modelIdentifier=run.profile.base_model)["modelDetails"]["modelLifecycle"][
            "status"
        ]
        == "ACTIVE"
    )
