import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import cli._common
import cli.validate
from cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples"
NOVA = "amazon.nova-micro-v1:0:128k"
TITAN = "amazon.titan-text-express-v1:0:8k"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("fine-tuning/nova-micro-vi-qa.jsonl", ["--model", NOVA]),
        ("fine-tuning/openai-chat-vi-qa.jsonl", ["--model", NOVA]),
        ("fine-tuning/titan-support-prompt-completion.jsonl", ["--model", TITAN]),
        ("continued-pre-training/titan-runbooks.jsonl", ["--model", TITAN, "--type", "CONTINUED_PRE_TRAINING"]),
        ("distillation/support-prompts.jsonl", ["--model", NOVA, "--type", "DISTILLATION"]),
        (
            "distillation/support-prompts.jsonl",
            ["--model", "anthropic.claude-3-haiku-20240307-v1:0:200k", "--type", "distillation"],
        ),
    ],
)
def test_samples_are_valid(capsys, path, extra):
    code, out, _ = run(capsys, "validate", SAMPLES / path, *extra)
    assert code == 0, out
    assert out.startswith("VALID")


def test_broken_sample_exits_1_and_lists_every_line(capsys):
    code, out, _ = run(capsys, "validate", SAMPLES / "broken/nova-micro-broken.jsonl", "--model", NOVA, "--json")
    assert code == 1
    report = json.loads(out)  # --json: nothing but the report on stdout
    lines = sorted({e["line"] for g in report["errors"] + report["warnings"] for e in g["examples"]})
    assert lines == list(range(2, 11))
    assert report["counts"]["roles-not-alternating"] == 1 and report["valid"] is False


def test_usage_errors_exit_2_with_choices(capsys, tmp_path):
    sample = SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl"
    code, _, err = run(capsys, "validate", sample, "--model", "gpt-4")
    assert code == 2 and "amazon.nova-micro-v1:0:128k" in err and "cohere.command-text-v14:7:4k" in err
    code, _, err = run(
        capsys, "validate", sample, "--model", "amazon.titan-text-premier-v1:0:32k", "--type", "DISTILLATION"
    )
    assert code == 2 and "supports: FINE_TUNING" in err
    code, _, err = run(capsys, "validate", sample, "--model", NOVA, "--type", "RLHF")
    assert code == 2 and "DISTILLATION, FINE_TUNING" in err
    code, _, err = run(capsys, "validate", tmp_path / "missing.jsonl", "--model", NOVA)
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "validate", sample, "--model", NOVA, "--hp", "epochCount=99")
    assert code == 2 and "between 1 and 5" in err
    with pytest.raises(SystemExit) as exit_:
        main(["validate", str(sample)])  # --model missing: argparse's own usage error
    assert exit_.value.code == 2


def test_convert_out_writes_the_converted_file(capsys, tmp_path):
    out_path = tmp_path / "converted.jsonl"
    code, out, err = run(
        capsys, "validate", SAMPLES / "fine-tuning/openai-chat-vi-qa.jsonl", "--model", NOVA, "--convert-out", out_path
    )
    assert code == 0 and "converted" in out and "wrote 12 converted training record(s)" in err
    first = json.loads(out_path.read_text(encoding="utf-8").splitlines()[0])
    assert first["schemaVersion"] == "bedrock-conversation-2024" and first["system"][0]["text"].startswith("Bạn là")
    # the converted file is valid in its own right
    code, _, _ = run(capsys, "validate", out_path, "--model", NOVA, "--format", "native")
    assert code == 0


def test_convert_out_with_a_native_file_converts_nothing(capsys, tmp_path):
    out_path = tmp_path / "converted.jsonl"
    code, _, err = run(
        capsys, "validate", SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl", "--model", NOVA, "--convert-out", out_path
    )
    assert code == 0 and "nothing converted" in err and not out_path.exists()


def test_validation_file_overlap_and_progress_bar(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(cli.validate, "PROGRESS_THRESHOLD", 0)
    train = SAMPLES / "fine-tuning/titan-support-prompt-completion.jsonl"
    validation = tmp_path / "validation.jsonl"
    validation.write_text(train.read_text(encoding="utf-8").splitlines()[5] + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", train, "--model", TITAN, "--validation", validation, "--json")
    report = json.loads(out)
    assert code == 0 and report["counts"] == {"validation-overlaps-training": 1}
    assert [f["split"] for f in report["files"]] == ["training", "validation"]


def test_evaluation_set_prompts_the_training_data_repeats_are_warned_about_with_both_lines(capsys, tmp_path):
    evaluation = tmp_path / "evaluation.jsonl"
    evaluation.write_text(
        json.dumps({"prompt": "Một câu hỏi khác?", "reference": "x"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"prompt": "thủ đô của việt nam là thành phố nào", "reference": "Hà Nội."}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    train = SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl"
    code, out, _ = run(capsys, "validate", train, "--model", NOVA, "--evaluation-set", evaluation, "--json")
    report = json.loads(out)
    assert code == 0 and report["counts"] == {"evaluation-overlaps-training": 1}
    [group] = report["warnings"]
    assert group["examples"][0]["message"].startswith("evaluation line 2 repeats training line 1 (after normalization)")
    code, _, err = run(capsys, "validate", train, "--model", NOVA, "--evaluation-set", tmp_path / "missing.jsonl")
    assert code == 2 and "--evaluation-set" in err


def test_s3_paths_use_the_default_client(capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(cli._common, "_s3_client", None)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        s3.put_object(
            Bucket="data",
            Key="incoming/vi/train.jsonl",
            Body=(SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl").read_bytes(),
        )
        code, out, _ = run(capsys, "validate", "s3://data/incoming/vi/train.jsonl", "--model", NOVA, "--json")
    assert code == 0 and json.loads(out)["files"][0]["name"] == "s3://data/incoming/vi/train.jsonl"


def test_estimate_from_tokens(capsys, tmp_path):
    # The run: 3,000,000 billed tokens x $0.004 per 1,000 = $12 + a month of storage $1.95. A promotion
    # keeps 2 units x $49.50 x 730 h = $72,270 + $1.95 storage a month running.
    promoted = (
        "estimate",
        "--tokens",
        1_000_000,
        "--model",
        "cohere.command-text-v14:7:4k",
        "--hp",
        "epochCount=3",
        "--model-units",
        2,
        "--budget",
        2000,
    )
    code, out, _ = run(capsys, *promoted, "--monthly-cap", 80_000, "--json")
    estimate = json.loads(out)
    assert code == 0 and estimate["total_usd"] == "13.95" and estimate["within_budget"] is True
    assert estimate["monthly_total_usd"] == "72271.95" and estimate["within_monthly_cap"] is True
    code, out, _ = run(capsys, *promoted, "--monthly-cap", 1_000)
    assert code == 1 and "OVER the monthly cap" in " ".join(out.split())
    code, out, _ = run(
        capsys,
        "estimate",
        "--tokens",
        1_000_000,
        "--model",
        "cohere.command-text-v14:7:4k",
        "--hp",
        "epochCount=3",
        "--budget",
        5,
    )
    assert code == 1 and "OVER" in out and "assumptions" in out


def test_estimate_from_a_dataset_with_a_price_file(capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "training_per_1k_tokens": "0.001",
                "storage_per_month": "1.95",
                "as_of": "2026-01",
                "source": "team price sheet",
            }
        )
    )
    code, out, _ = run(
        capsys,
        "estimate",
        SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl",
        "--model",
        NOVA,
        "--prices",
        prices,
        "--json",
    )
    estimate = json.loads(out)
    # 925 estimated tokens x 2 epochs (Nova default) = 1,850 billable; 1.85 x $0.001 = $0.00185
    assert code == 0 and estimate["billable_tokens"] == 1850 and estimate["lines"][0]["amount_usd"] == "0.00"
    assert estimate["total_usd"] == "1.95" and estimate["prices_source"] == "team price sheet"
    code, _, err = run(capsys, "estimate", "--tokens", 5, "--model", NOVA, "--prices", tmp_path / "nope.json")
    assert code == 2 and "cannot read price file" in err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "tuneforge"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run(
        [str(script), "validate", str(SAMPLES / "broken/nova-micro-broken.jsonl"), "--model", NOVA, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 1 and json.loads(result.stdout)["valid"] is False


def test_bucket_option_applies_the_same_bucket_media_rule(capsys, tmp_path):
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "q"},
                    {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://media-bucket/a.png"}}}},
                ],
            },
            {"role": "assistant", "content": [{"text": "a"}]},
        ],
    }
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps({**record, "system": [{"text": f"s{i}"}]}) for i in range(8)) + "\n")
    assert run(capsys, "validate", path, "--model", "amazon.nova-lite-v1:0:300k")[0] == 0
    code, out, _ = run(
        capsys, "validate", path, "--model", "amazon.nova-lite-v1:0:300k", "--bucket", "data-bucket", "--json"
    )
    assert code == 1 and json.loads(out)["counts"] == {"media-other-bucket": 8}


def test_estimate_fails_closed_when_a_line_is_unpriced_or_the_source_is_unreadable(capsys, tmp_path):
    sample = SAMPLES / "fine-tuning/nova-micro-vi-qa.jsonl"
    # No Nova training or storage price is recorded: the total is a lower bound, which proves nothing.
    code, _, err = run(capsys, "estimate", sample, "--model", NOVA, "--budget", 50)
    assert code == 3 and "not fully priced" in err and "training" in err, err
    code, _, _ = run(capsys, "estimate", sample, "--model", NOVA, "--budget", 50, "--accept-unpriced")
    assert code == 0
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {"training_per_1k_tokens": "0.001", "storage_per_month": "1.95", "as_of": "2026-12-04", "source": "a test"}
        )
    )
    code, out, _ = run(capsys, "estimate", sample, "--model", NOVA, "--budget", 50, "--prices", prices, "--json")
    assert code == 0 and json.loads(out)["within_budget"] is True
    code, _, _ = run(capsys, "estimate", sample, "--model", NOVA, "--budget", 1, "--prices", prices)
    assert code == 1  # priced, and over the cap
    code, _, err = run(capsys, "estimate", tmp_path / "missing.jsonl", "--model", NOVA, "--budget", 50)
    assert code == 2 and "missing.jsonl" in err, err  # an unreadable source is an error, not zero tokens


@pytest.mark.parametrize(
    "argv", [["submit", "--profile", "p"], ["submit", "data.jsonl", "--profile", "p", "--from-invocation-logs"]]
)
def test_submit_takes_a_dataset_or_the_invocation_logs_not_both(capsys, argv):
    code, _, err = run(capsys, *argv)  # refused before any stage is looked up
    assert code == 2 and "--from-invocation-logs" in err
