"""A manifest names files in its own folder; anything else is refused with a reason a person can act on."""

import json

import pytest

from lambdas.domain.profiles import TuningProfile
from lambdas.domain.runs import Manifest, ManifestError, S3ObjectRef
from lambdas.domain.trigger import start_run_for_upload

MANIFEST = S3ObjectRef(bucket="data", key="incoming/support-qa-vi/set-1/manifest.json", version_id="v1")
PROFILE = TuningProfile.model_validate(
    {
        "name": "support-qa-vi",
        "base_model": "amazon.nova-micro-v1:0:128k",
        "customization_type": "FINE_TUNING",
        "evaluation": {"dataset_key": "evaluation/support-qa-vi.jsonl"},
        "gate": {"minimums": {"token_f1": 0.5}},
        "budget_cap_usd": 50,
    }
)


class _Untouchable:
    """A registry or Step Functions client that a refused manifest must never reach."""

    def __getattr__(self, name):
        raise AssertionError(f"a refused manifest reached {name}")


def _trigger(manifest: dict) -> str:
    outcome = start_run_for_upload(
        MANIFEST,
        load_profile=lambda name: PROFILE if name == PROFILE.name else None,
        read_object=lambda obj: json.dumps(manifest).encode(),
        registry=_Untouchable(),  # type: ignore[arg-type]  # a manifest refused before the registry is touched, which this proves
        stepfunctions=_Untouchable(),
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:tuneforge",
    )
    assert outcome.started is False and outcome.run_id is None
    assert "\n" not in outcome.reason
    return outcome.reason


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"training": "manifest.json"}, "the manifest names itself as training data; name the .jsonl file instead"),
        ({"training": "./manifest.json"}, "the manifest names itself as training data; name the .jsonl file instead"),
        (
            {"training": "train.jsonl", "validation": "manifest.json"},
            "the manifest names itself as validation data; name the .jsonl file instead",
        ),
        (
            {"training": "../../other-profile/train.jsonl"},
            "the training path '../../other-profile/train.jsonl' escapes its folder",
        ),
        (
            {"training": "/incoming/support-qa-vi/set-1/train.jsonl"},
            "the training path '/incoming/support-qa-vi/set-1/train.jsonl' escapes its folder",
        ),
        (
            {"training": "train.jsonl", "validation": "../v.jsonl"},
            "the validation path '../v.jsonl' escapes its folder",
        ),
        (
            {"training": "s3://data/incoming/support-qa-vi/set-1/train.jsonl"},
            "the training path 's3://data/incoming/support-qa-vi/set-1/train.jsonl' is a URI",
        ),
        ({"training": "."}, "the training path '.' names the manifest's folder, not a file in it"),
    ],
)
def test_a_manifest_that_names_itself_or_leaves_its_folder_gets_a_one_line_reason(manifest, reason):
    got = _trigger(manifest)
    assert got.startswith("ignored incoming/support-qa-vi/set-1/manifest.json: invalid manifest: ")
    assert reason in got
    with pytest.raises(ManifestError, match="^" + reason.replace(".", r"\.").replace("(", r"\(")):
        Manifest.model_validate(manifest).dataset(MANIFEST)


def test_the_escape_reason_names_the_folder_to_use():
    assert "name a file inside incoming/support-qa-vi/set-1/, relative to the manifest" in _trigger(
        {"training": "../t.jsonl"}
    )
    assert "name a file in the manifest's folder (incoming/support-qa-vi/set-1/)" in _trigger(
        {"training": "s3://data/t.jsonl"}
    )


def test_files_in_the_folder_and_below_it_resolve_next_to_the_manifest():
    dataset = Manifest(training="train.jsonl", validation="held-out/validation.jsonl").dataset(MANIFEST)
    assert dataset.training == S3ObjectRef(bucket="data", key="incoming/support-qa-vi/set-1/train.jsonl")
    assert dataset.validation == S3ObjectRef(
        bucket="data", key="incoming/support-qa-vi/set-1/held-out/validation.jsonl"
    )
    assert dataset.trigger == MANIFEST


def test_a_manifest_that_is_not_a_manifest_still_says_which_field():
    assert _trigger({"trainng": "train.jsonl"}).endswith(
        "invalid manifest: training: Field required; trainng: Extra inputs are not permitted"
    )
    assert _trigger({}).endswith("invalid manifest: training: Field required")
    assert "invalid manifest: manifest: Input should be an object" in _trigger(["train.jsonl"])  # type: ignore[arg-type]  # a manifest that is no object, on purpose
