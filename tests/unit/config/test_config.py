"""A user's configuration mistake: one line naming the file and the field, exit 2, no cdk.out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from lambdas.domain.catalogue import customization_region_problem, lifecycle_problem
from stacks.config import ConfigError, load_stages

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config" / "tuneforge.yaml"


def _config(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(CONFIG.read_text())
    # Resolve YAML anchors into plain copies so a mutation touches one stage only.
    data = yaml.safe_load(yaml.safe_dump(data))
    mutate(data)
    path = tmp_path / "tuneforge.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _profile(data: dict, name: str = "support-qa-vi") -> dict:
    return data["stages"]["dev"]["profiles"][name]


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (
            lambda d: _profile(d).update(base_model="amazon.nova-mega-v9:0"),
            "profiles.support-qa-vi.base_model",
            "unknown base model",
        ),
        (
            lambda d: _profile(d).update(customization_type="CONTINUED_PRE_TRAINING"),
            "profiles.support-qa-vi.customization_type",
            "does not support CONTINUED_PRE_TRAINING",
        ),
        (
            lambda d: _profile(d)["hyperparameters"].update(epochCount=9),
            "profiles.support-qa-vi.hyperparameters.epochCount",
            "between 1 and 5",
        ),
        (
            lambda d: _profile(d)["hyperparameters"].update(learningRate="fast"),
            "profiles.support-qa-vi.hyperparameters.learningRate",
            "must be a float",
        ),
        (
            lambda d: _profile(d)["hyperparameters"].update(batchSize=4),
            "profiles.support-qa-vi.hyperparameters.batchSize",
            "not a hyperparameter",
        ),
        (
            lambda d: _profile(d, "distilled-support").pop("teacher_model"),
            "profiles.distilled-support.teacher_model",
            "needs a teacher",
        ),
        (
            lambda d: _profile(d)["gate"]["minimums"].update(bleu=0.3),
            "profiles.support-qa-vi.gate",
            "unknown metric 'bleu'",
        ),
        (lambda d: _profile(d).pop("budget_cap_usd"), "profiles.support-qa-vi.budget_cap_usd", "required but missing"),
        (lambda d: d["stages"]["dev"].update(account="12345"), "stages.dev.account", "should match pattern"),
        (
            lambda d: d["stages"]["dev"].update(availability_zones=["eu-west-1a"]),
            "stages.dev",
            "not in region us-east-1",
        ),
        (lambda d: d["stages"]["dev"].update(log_retention_days=42), "stages.dev", "log_retention_days"),
        (
            lambda d: d["stages"]["dev"].update(function_availability_zones=["us-east-1a", "us-east-1z"]),
            "stages.dev",
            "'us-east-1z' is not one of availability_zones",
        ),
        (
            lambda d: d["stages"]["dev"].update(function_availability_zones=["us-east-1a", "us-east-1a"]),
            "stages.dev",
            "listed twice",
        ),
        (
            lambda d: d["stages"]["dev"].update(function_availability_zones=[]),
            "stages.dev.function_availability_zones",
            "at least 1 item",
        ),
        (lambda d: d["stages"]["dev"].update(colour="blue"), "stages.dev.colour", "not a known setting"),
        (lambda d: _profile(d).update(prices={"training_per_1k_tokens": "cheap"}), "profiles.support-qa-vi.prices", ""),
        (
            lambda d: _profile(d, "distilled-support").update(evaluation={"holdout_fraction": 0.1}),
            "profiles.distilled-support.evaluation.holdout_fraction",
            "carry no answer",
        ),
        (
            lambda d: _profile(d).update(evaluation={"holdout_fraction": 0.1, "dataset_key": "evaluation/x.jsonl"}),
            "profiles.support-qa-vi.evaluation",
            "exactly one of",
        ),
        (
            lambda d: _profile(d).update(evaluation={"dataset_key": "incoming/eval.jsonl"}),
            "profiles.support-qa-vi.evaluation",
            "must be under evaluation/",
        ),
        # the catalogue's lifecycle and Region facts, checked at synth (on the synth date)
        (
            lambda d: _profile(d, "distilled-support").update(teacher_model="amazon.nova-premier-v1:0"),
            "profiles.distilled-support.teacher_model",
            "reached end of life on 2026-09-14",
        ),
        (
            lambda d: _profile(d).update(base_model="meta.llama3-1-8b-instruct-v1:0:128k", hyperparameters={}),
            "profiles.support-qa-vi.base_model",
            "available only in us-west-2, not us-east-1",
        ),
        (
            lambda d: d["stages"]["dev"]["profiles"]["vi-arithmetic"].update(grader={"module": "graders/absent.py"}),
            "profiles.vi-arithmetic.grader",
            "graders/absent.py",
        ),
        (
            lambda d: d["stages"]["dev"].update(janitor_interval_minutes=2),
            "stages.dev.janitor_interval_minutes",
            "greater than or equal to 5",
        ),
        (
            lambda d: d["stages"]["dev"].update(model_retention_days=0),
            "stages.dev.model_retention_days",
            "greater than or equal to 1",
        ),
        (
            lambda d: d["stages"]["dev"].update(janitor_alarm_after_hours=0),
            "stages.dev.janitor_alarm_after_hours",
            "greater than or equal to 1",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_field(tmp_path, mutate, field, words):
    path = _config(tmp_path, mutate)
    with pytest.raises(ConfigError) as raised:
        load_stages(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ") and field in message and words in message


def test_unknown_stage_lists_the_defined_ones():
    with pytest.raises(ConfigError, match=r"stages\.staging: unknown stage; defined: dev, prod"):
        load_stages(CONFIG, only=["staging"])


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stages:\n  dev: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+: not valid YAML"):
        load_stages(path)


def test_the_shipped_configuration_is_sound():
    stages = load_stages(CONFIG)
    assert [s.name for s in stages] == ["dev", "prod"]
    assert stages[0].profiles.keys() == stages[1].profiles.keys()


def test_the_bundled_profiles_use_current_models_customizable_in_their_region():
    # On the day the catalogue's facts were read: no lifecycle error or warning, and AWS's table lists the
    # model and type in the stage's Region (Titan Text Express, the old release-notes and domain-pretrain
    # model, fails both).
    read_on = date(2026, 12, 4)
    for stage in load_stages(CONFIG):
        for profile in stage.profiles.values():
            assert lifecycle_problem(profile.base_model, read_on) is None, profile.name
            assert customization_region_problem(profile.base_model, profile.customization_type, stage.region) is None, (
                profile.name
            )
            if profile.teacher_model:
                assert lifecycle_problem(profile.teacher_model, read_on) is None, profile.name
    assert lifecycle_problem("amazon.titan-text-express-v1:0:8k", read_on) is not None
    assert (
        customization_region_problem("amazon.titan-text-express-v1:0:8k", "CONTINUED_PRE_TRAINING", "us-east-1")
        is not None
    )


def test_functions_run_in_the_first_two_zones_unless_the_stage_names_its_own(tmp_path):
    [dev] = load_stages(CONFIG, only=["dev"])
    assert dev.function_zones == dev.availability_zones[:2] == ["us-east-1a", "us-east-1b"]
    path = _config(
        tmp_path,
        lambda d: d["stages"]["dev"].update(function_availability_zones=["us-east-1c", "us-east-1d", "us-east-1f"]),
    )
    [chosen] = load_stages(path, only=["dev"])
    assert chosen.function_zones == ["us-east-1c", "us-east-1d", "us-east-1f"]
    assert chosen.availability_zones == dev.availability_zones, "the customization jobs keep every zone"


def test_app_exits_2_with_one_line_and_writes_no_cloud_assembly(tmp_path):
    path = _config(tmp_path, lambda d: _profile(d)["hyperparameters"].update(epochCount=0))
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env={**os.environ, "TUNEFORGE_CONFIG": str(path), "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "hyperparameters.epochCount" in result.stderr
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr
    assert not outdir.exists()


def test_a_model_within_90_days_of_its_end_of_life_is_a_warning_not_a_refusal(tmp_path):
    path = _config(
        tmp_path, lambda d: _profile(d, "distilled-support").update(teacher_model="amazon.nova-premier-v1:0")
    )
    warnings: list[str] = []
    [stage] = load_stages(path, only=["dev"], today=date(2026, 8, 15), warn=warnings.append)
    assert stage.profiles["distilled-support"].teacher_model == "amazon.nova-premier-v1:0"
    [warning] = warnings
    assert (
        "profiles.distilled-support.teacher_model" in warning and "end of life on 2026-09-14, in 30 days" in warning
    ), warning
    with pytest.raises(ConfigError, match="reached end of life on 2026-09-14"):
        load_stages(path, only=["dev"], today=date(2026, 9, 14), warn=warnings.append)
