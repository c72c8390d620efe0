"""``tuneforge init profile``: what it writes passes synth, keeps the file's comments, and refuses what synth
would refuse before writing anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli.main import main

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config" / "tuneforge.yaml"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    copy = tmp_path / "tuneforge.yaml"
    shutil.copy(CONFIG, copy)
    return copy


def test_an_inserted_profile_synthesizes(capsys, config, tmp_path):
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    code, out, _ = run(
        capsys, "init", "profile", "faq-bot", "--model", "amazon.nova-lite-v1:0:300k", "--config", config
    )
    assert code == 0 and "shared by stages dev, prod" in out
    code, _, _ = run(
        capsys,
        "init",
        "profile",
        "faq-distilled",
        "--model",
        "amazon.nova-micro-v1:0:128k",
        "--type",
        "DISTILLATION",
        "--config",
        config,
    )
    assert code == 0
    stages = load_stages(config, only=["dev"])
    profile = stages[0].profiles["faq-bot"]
    assert profile.hyperparameters == {"epochCount": 2, "learningRate": 0.00001, "learningRateWarmupSteps": 10}
    assert profile.evaluation.dataset_key == "evaluation/faq-bot.jsonl" and profile.promotion_monthly_cap_usd == 44165
    assert stages[0].profiles["faq-distilled"].teacher_model == "amazon.nova-pro-v1:0"
    outdir = tmp_path / "cdk.out"
    build_app(stages, context=cdk_context(), outdir=str(outdir)).synth()  # with every nag pack, as `make synth`
    pipeline = json.loads((outdir / "Tuneforge-dev-Pipeline.template.json").read_text())
    parameters = [
        r["Properties"]["Name"]
        for r in pipeline["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter" and isinstance(r["Properties"].get("Name"), str)
    ]
    assert any(name.endswith("/faq-bot") for name in parameters), parameters


def test_the_file_keeps_its_comments_and_other_profiles(capsys, config):
    before = config.read_text(encoding="utf-8")
    run(capsys, "init", "profile", "faq-bot", "--model", "amazon.nova-micro-v1:0:128k", "--config", config)
    after = config.read_text(encoding="utf-8")
    assert [line for line in after.splitlines() if line not in before.splitlines()][0] == "  faq-bot:"
    for line in before.splitlines():
        assert line in after  # nothing removed or reformatted: comments and anchors included
    assert "epochCount: 2  # epochs (passes over the training data), 1 to 5" in after
    loaded = yaml.safe_load(after)
    assert set(loaded["stages"]["prod"]["profiles"]) == {*yaml.safe_load(before)["profiles"], "faq-bot"}


def test_printed_without_config(capsys):
    code, out, _ = run(capsys, "init", "profile", "faq-bot", "--model", "amazon.nova-micro-v1:0:128k")
    assert code == 0 and out.startswith("# Paste under `profiles:`")
    entry = yaml.safe_load(out)["faq-bot"]
    assert entry["base_model"] == "amazon.nova-micro-v1:0:128k" and entry["customization_type"] == "FINE_TUNING"
    assert "learningRate: 0.00001  # step size (no unit), 0.000001 to 0.0001" in out


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--model", "meta.llama3-1-8b-instruct-v1:0:128k"], "available only in us-west-2, not us-east-1"),
        (["--model", "anthropic.claude-3-haiku-20240307-v1:0:200k"], "reached end of life"),
        (["--model", "amazon.titan-text-premier-v1:0:32k", "--type", "DISTILLATION"], "supports: FINE_TUNING"),
        (["--model", "amazon.nova-micro-v1:0:128k", "--teacher", "amazon.nova-pro-v1:0"], "DISTILLATION only"),
    ],
)
def test_refuses_what_synth_would_refuse_and_leaves_the_file(capsys, config, argv, reason):
    before = config.read_text(encoding="utf-8")
    code, _, err = run(capsys, "init", "profile", "faq-bot", *argv, "--config", config)
    assert code == 2 and reason in err
    assert config.read_text(encoding="utf-8") == before


def test_refuses_a_taken_name_or_unknown_stage(capsys, config):
    code, _, err = run(
        capsys, "init", "profile", "support-qa-vi", "--model", "amazon.nova-micro-v1:0:128k", "--config", config
    )
    assert code == 2 and "already has a profile named 'support-qa-vi'" in err
    code, _, err = run(
        capsys, "init", "profile", "x1", "--model", "amazon.nova-micro-v1:0:128k", "--config", config, "--stage", "qa"
    )
    assert code == 2 and "no stage 'qa'" in err
    code, _, err = run(capsys, "init", "profile", "Bad_Name", "--model", "amazon.nova-micro-v1:0:128k")
    assert code == 2 and "profile Bad_Name: name" in err
