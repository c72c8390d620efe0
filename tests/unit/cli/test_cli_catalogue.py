"""``tuneforge models``, "did you mean" wherever a model id is taken, ``validate DIR`` and a credentials
problem that is not a data problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from lambdas.domain.catalogue import MODELS, CatalogueError, get_model, model_suggestions

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples"
NOVA = "amazon.nova-micro-v1:0:128k"
GOOD = SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- models -------------------------------------------------------------------------------------------
def test_models_lists_every_catalogue_model_with_its_facts(capsys):
    code, out, _ = run(capsys, "models", "--json")
    rows = {row["model_id"]: row for row in json.loads(out)}
    assert code == 0 and set(rows) == set(MODELS)
    micro = rows[NOVA]
    assert micro["name"] == "Nova Micro" and micro["on_demand_id"] == "amazon.nova-micro-v1:0"
    assert micro["customization_types"]["FINE_TUNING"]["regions"] == ["us-east-1"]
    assert "read 2026-12-04" in micro["customization_types"]["FINE_TUNING"]["regions_source"]
    assert micro["lifecycle"]["status"] == "Active" and micro["lifecycle"]["end_of_life"] is None
    assert micro["on_demand_deployment"]["customized_on_or_after"] == "2025-07-16"
    assert micro["prices_as_of"] == "2026-09-01"
    haiku = rows["anthropic.claude-3-haiku-20240307-v1:0:200k"]
    assert haiku["lifecycle"]["end_of_life"] == "2026-09-10" and haiku["on_demand_deployment"] is None


def test_models_filters_by_type_and_region(capsys):
    _, out, _ = run(capsys, "models", "--type", "distillation", "--region", "us-east-1", "--json")
    ids = [row["model_id"] for row in json.loads(out)]
    assert NOVA in ids and all(MODELS[i].customization_regions[_dist()].regions == {"us-east-1"} for i in ids)
    assert "meta.llama3-2-1b-instruct-v1:0:128k" not in ids
    _, out, _ = run(capsys, "models", "--type", "CONTINUED_PRE_TRAINING", "--region", "us-east-1")
    assert "no model in the catalogue is customizable CONTINUED_PRE_TRAINING in us-east-1" in out
    code, _, err = run(capsys, "models", "--type", "RLHF")
    assert code == 2 and "unknown customization type" in err


def _dist():
    from lambdas.domain.catalogue import CustomizationType

    return CustomizationType.DISTILLATION


def test_models_table_shows_id_lifecycle_on_demand_and_price_date():
    env = {**os.environ, "COLUMNS": "220", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "models"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    micro = next(line for line in done.stdout.splitlines() if line.startswith(NOVA))
    assert "Nova Micro" in micro and "FINE_TUNING: us-east-1" in done.stdout and "2026-09-01" in micro
    assert "yes: us-east-1, us-west-2" in micro
    haiku = next(line for line in done.stdout.splitlines() if line.startswith("anthropic.claude-3-haiku"))
    assert "EOL 2026-09-10" in haiku and "no (provisioned throughput)" in haiku


# --- did you mean -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("amazon.nova-micro-v1:0", [NOVA]),  # the on-demand id the report prints as the baseline
        ("us.amazon.nova-micro-v1:0", [NOVA]),  # an inference profile's id
        ("amazon.titan-text-express-v1", ["amazon.titan-text-express-v1:0:8k"]),
        ("meta.llama3-2-90b-instruct-v1:0", ["meta.llama3-2-90b-instruct-v1:0:128k"]),
    ],
)
def test_an_invocation_id_suggests_the_customizable_id(given, meant):
    assert model_suggestions(given) == meant


def test_a_typo_suggests_the_closest_id():
    assert model_suggestions("amazon.nova-micor-v1:0:128k") == [NOVA]  # one typo: that id alone
    assert model_suggestions("gpt-4") == []
    with pytest.raises(CatalogueError, match=r"did you mean amazon\.nova-micro-v1:0:128k\?"):
        get_model("amazon.nova-micro-v1:0")


@pytest.mark.parametrize("command", ["validate", "estimate", "init"])
def test_every_command_taking_a_model_suggests(capsys, tmp_path, command):
    argv = {
        "validate": ["validate", GOOD, "--model", "amazon.nova-micro-v1:0"],
        "estimate": ["estimate", "--tokens", "1000", "--model", "amazon.nova-micro-v1:0"],
        "init": ["init", "profile", "my-profile", "--model", "amazon.nova-micro-v1:0", "--type", "FINE_TUNING"],
    }[command]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "unknown model 'amazon.nova-micro-v1:0'; did you mean amazon.nova-micro-v1:0:128k?" in err


# --- validate DIR ---------------------------------------------------------------------------------------
def _dataset_folder(tmp_path: Path, manifest: object, files: dict[str, Path]) -> Path:
    folder = tmp_path / "support"
    folder.mkdir()
    for name, source in files.items():
        (folder / name).write_bytes(source.read_bytes())
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_validate_a_dataset_folder_checks_the_files_its_manifest_names(capsys, tmp_path):
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    (tmp_path / "valid.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    folder = _dataset_folder(
        tmp_path,
        {"training": "train.jsonl", "validation": "valid.jsonl"},
        {"train.jsonl": GOOD, "valid.jsonl": tmp_path / "valid.jsonl"},
    )
    code, out, _ = run(capsys, "validate", folder, "--model", NOVA, "--json")
    report = json.loads(out)
    assert code == 0 and report["valid"]
    assert [(f["split"], Path(f["name"]).name) for f in report["files"]] == [
        ("training", "train.jsonl"),
        ("validation", "valid.jsonl"),
    ]


def test_validate_a_folder_with_a_broken_file_is_invalid(capsys, tmp_path):
    folder = _dataset_folder(tmp_path, {"training": "data/train.jsonl"}, {})
    (folder / "data").mkdir()
    (folder / "data" / "train.jsonl").write_bytes((SAMPLES / "broken/nova-micro-broken.jsonl").read_bytes())
    code, out, _ = run(capsys, "validate", folder, "--model", NOVA, "--json")
    assert code == 1 and json.loads(out)["valid"] is False


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"training": "../other/train.jsonl"}, "escapes its folder"),
        ({"training": "s3://bucket/train.jsonl"}, "is a URI"),
        ({"training": "manifest.json"}, "names itself"),
        ({"training": "train.jsonl", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"validation": "train.jsonl"}, "training: Field required"),
        ({"training": "missing.jsonl"}, "'missing.jsonl', which is not a file"),
    ],
)
def test_validate_a_folder_applies_the_upload_triggers_manifest_rules(capsys, tmp_path, manifest, reason):
    folder = _dataset_folder(tmp_path, manifest, {"train.jsonl": GOOD})
    code, out, _ = run(capsys, "validate", folder, "--model", NOVA)
    assert code == 1 and out.startswith("INVALID") and reason in out


def test_validate_a_folder_without_manifest_is_refused(capsys, tmp_path):
    (tmp_path / "train.jsonl").write_bytes(GOOD.read_bytes())
    code, _, err = run(capsys, "validate", tmp_path, "--model", NOVA)
    assert code == 2 and "folder without manifest.json" in err and "no such file" not in err
    folder = _dataset_folder(tmp_path, {"training": "train.jsonl"}, {"train.jsonl": GOOD})
    code, _, err = run(capsys, "validate", folder, "--model", NOVA, "--validation", GOOD)
    assert code == 2 and "manifest.json names the validation file" in err


# --- credentials -----------------------------------------------------------------------------------------
def test_missing_credentials_are_a_setup_problem_not_invalid_data(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key not in ("PYTHONPATH",)}
    env.update(
        PYTHONPATH=str(ROOT),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "validate", "s3://data/incoming/p/train.jsonl", "--model", NOVA],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Unable to locate credentials" in done.stderr and "nothing was validated" in done.stderr
    assert "INVALID" not in done.stdout
