"""`tuneforge validate` and `tuneforge estimate` for reinforcement fine-tuning prompts."""

import json

import yaml

from cli.main import main
from lambdas.domain.profiles import TuningProfile

NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"
RFT = ("--model", NOVA_2_LITE, "--type", "REINFORCEMENT_FINE_TUNING")


def _prompts(tmp_path, n=150, bad_line=None):
    records = [
        {"messages": [{"role": "user", "content": f"{i} + 3 = ?"}], "reference_answer": str(i + 3)} for i in range(n)
    ]
    if bad_line is not None:
        records[bad_line - 1] = {"messages": [{"role": "user", "content": "1 + 1 = ?"}]}
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_knows_the_rft_format_and_its_hyperparameters(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", _prompts(tmp_path), *RFT)
    assert code == 0 and out.startswith("VALID") and "rft-openai-chat" in out, out
    code, out, _ = run(capsys, "validate", _prompts(tmp_path, bad_line=7), *RFT, "--json")
    report = json.loads(out)
    assert code == 1 and report["counts"] == {"missing-field": 1}
    assert [e["line"] for g in report["errors"] for e in g["examples"]] == [7]
    code, _, err = run(capsys, "validate", _prompts(tmp_path), *RFT, "--hp", "trainingSamplePerPrompt=1")
    assert code == 2 and "trainingSamplePerPrompt must be between 2 and 16" in err, err


def test_estimate_of_an_rft_run_is_unpriced_and_fails_closed_unless_accepted(capsys, tmp_path):
    code, _, err = run(capsys, "estimate", _prompts(tmp_path), *RFT, "--budget", 50)
    assert code == 3 and "not fully priced" in err, err
    code, _, _ = run(capsys, "estimate", _prompts(tmp_path), *RFT, "--budget", 50, "--accept-unpriced")
    assert code == 0


def test_init_writes_an_rft_profile_with_the_accepted_ranges_and_no_invented_defaults(capsys):
    code, out, _ = run(capsys, "init", "profile", "vi-math", *RFT)
    assert code == 0, out
    entry = yaml.safe_load(out)["vi-math"]
    assert entry["customization_type"] == "REINFORCEMENT_FINE_TUNING" and entry["hyperparameters"] == {}
    assert "epochCount 1 to 50" in out and "reasoningEffort low|medium|high" in out
    assert "maxPromptLength at least 1" in out
    profile = TuningProfile.model_validate({"name": "vi-math", **entry})
    assert profile.problems() == []
