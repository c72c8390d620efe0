"""`tuneforge grade FILE --grader G`: a grader's scores on sample responses, before a job pays for them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main
from lambdas.domain.grading import load_user_grader

ROOT = Path(__file__).resolve().parents[3]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def samples(tmp_path, *rows, extra_lines=()):
    lines = [
        json.dumps(
            {
                "id": sample_id,
                "messages": [
                    {"role": "user", "content": "Mẹ mua 3 kg cam, mỗi kg 25.000 đồng. Mẹ trả bao nhiêu tiền?"},
                    {"role": "assistant", "content": response},
                ],
                "metadata": {"reference_answer": reference},
            },
            ensure_ascii=False,
        )
        for sample_id, response, reference in rows
    ]
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


ROWS = [
    ("dung", "3 × 25.000 = 75.000 đồng", 75000),
    ("sai", "Mẹ trả 70.000 đồng", 75000),
    ("thap-phan", "Khoảng 75,4 nghìn", "75"),
]


@pytest.fixture(autouse=True)
def fresh_modules():
    load_user_grader.cache_clear()
    yield
    load_user_grader.cache_clear()


def test_a_builtin_grader_prints_each_score_and_the_mean(capsys, tmp_path):
    code, out, _ = run(capsys, "grade", samples(tmp_path, *ROWS), "--grader", "numeric_tolerance", "--tolerance", 0.5)
    assert code == 0, out
    assert "dung" in out and "numeric_tolerance=1" in out and "absolute_error=5000" in out
    assert "mean score: 0.667" in out


def test_json_output(capsys, tmp_path):
    code, out, _ = run(
        capsys, "grade", samples(tmp_path, *ROWS), "--grader", "numeric_tolerance", "--tolerance", 0, "--json"
    )
    result = json.loads(out)
    assert code == 0 and result["samples"] == 3 and result["mean"] == pytest.approx(1 / 3)
    assert [s["aggregate_reward_score"] for s in result["scores"]] == [1.0, 0.0, 0.0]
    assert result["grader"] == {
        "builtin": "numeric_tolerance",
        "tolerance": 0.0,
        "function": "grade",
        "timeout_seconds": 60,
    }
    assert result["errors"] == result["bad_lines"] == result["problems"] == []


def test_bad_lines_are_reported_with_their_numbers_and_the_rest_is_graded(capsys, tmp_path):
    path = samples(tmp_path, *ROWS[:1], extra_lines=["{not json", "", json.dumps({"messages": []}), "[1]"])
    code, out, _ = run(capsys, "grade", path, "--grader", "exact_match", "--json")
    result = json.loads(out)
    assert code == 1 and result["samples"] == 1
    assert [(bad["line"], bad["error"].split(":")[0]) for bad in result["bad_lines"]] == [
        (2, "Invalid JSON"),
        (4, "id"),
        (5, "Input should be an object"),
    ]
    code, out, _ = run(capsys, "grade", path, "--grader", "exact_match")
    assert code == 1 and "line 4" in out and "id: Field required" in out


def test_the_answer_is_checked_against_the_request(capsys, tmp_path):
    path = samples(tmp_path, ("a", "1", 1), ("a", "2", 2))
    code, out, _ = run(capsys, "grade", path, "--grader", "exact_match", "--json")
    assert code == 1 and json.loads(out)["problems"] == ["scored more than once: a"]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--grader", "levenshtein"], "unknown grader 'levenshtein'"),
        (["--grader", "numeric_tolerance"], "--grader numeric_tolerance: builtin numeric_tolerance needs tolerance"),
        (["--grader", "exact_match", "--pattern", "x"], "builtin exact_match takes no pattern"),
        (["--grader", "regex", "--pattern", "(x"], "pattern does not compile"),
        (["--grader", "graders/absent.py"], "graders/absent.py does not exist"),
        (["--grader", "json_schema", "--json-schema", "/nonexistent.json"], "--json-schema /nonexistent.json"),
    ],
)
def test_usage_errors_exit_2_and_say_why(capsys, tmp_path, argv, says):
    code, _, err = run(capsys, "grade", samples(tmp_path, *ROWS), *argv)
    assert code == 2 and says in err, err


def test_json_schema_from_a_file(capsys, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["so_tien"]}))
    path = samples(tmp_path, ("ok", '```json\n{"so_tien": 75000}\n```', None), ("prose", "75.000 đồng", None))
    code, out, _ = run(capsys, "grade", path, "--grader", "json_schema", "--json-schema", schema, "--json")
    assert code == 0 and [s["aggregate_reward_score"] for s in json.loads(out)["scores"]] == [1.0, 0.0]


def test_a_user_module_from_the_current_directory(capsys, tmp_path, monkeypatch):
    (tmp_path / "graders").mkdir()
    shutil.copy(ROOT / "graders" / "vi_arithmetic.py", tmp_path / "graders" / "vi_arithmetic.py")
    (tmp_path / "graders" / "flaky.py").write_text(
        "def score(sample):\n    if sample.id == 'sai':\n        raise ValueError('không đọc được')\n    return 0.5\n"
    )
    path = samples(tmp_path, *ROWS)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "grade", path, "--grader", "graders/vi_arithmetic.py", "--json")
    assert code == 0 and [s["aggregate_reward_score"] for s in json.loads(out)["scores"]] == [1.0, 0.2, 0.0]
    code, out, _ = run(capsys, "grade", path, "--grader", "graders/flaky.py:score")
    assert code == 1 and "grader_error=1" in out and "sample sai" in out and "không đọc được" in out
    code, _, err = run(capsys, "grade", path, "--grader", "graders/flaky.py")
    assert code == 2 and "defines no function grade(sample)" in err


def test_a_grader_that_raises_on_every_sample(capsys, tmp_path, monkeypatch):
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "broken.py").write_text("def grade(sample):\n    return sample.missing\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "grade", samples(tmp_path, *ROWS), "--grader", "graders/broken.py")
    assert code == 1 and "raised on every sample" in out and out.count("AttributeError") == 3


def _config(tmp_path, grader):
    profile = {
        "base_model": "amazon.nova-2-lite-v1:0:256k",
        "customization_type": "REINFORCEMENT_FINE_TUNING",
        **({"grader": grader} if grader else {}),
    }
    path = tmp_path / "tuneforge.yaml"
    path.write_text(json.dumps({"stages": {"dev": {"profiles": {"vi-math": profile}}}}))  # JSON is YAML
    return path


def test_a_profiles_grader(capsys, tmp_path):
    config = _config(tmp_path, {"builtin": "numeric_tolerance", "tolerance": 0.5})
    code, out, _ = run(capsys, "grade", samples(tmp_path, *ROWS), "--profile", "vi-math", "--config", config, "--json")
    assert code == 0 and json.loads(out)["mean"] == pytest.approx(2 / 3)
    code, _, err = run(capsys, "grade", samples(tmp_path, *ROWS), "--profile", "other", "--config", config)
    assert code == 2 and "stage dev has no profile 'other'; it has: vi-math" in err
    code, _, err = run(
        capsys, "grade", samples(tmp_path, *ROWS), "--profile", "vi-math", "--config", _config(tmp_path, None)
    )
    assert code == 2 and "profile vi-math has no grader" in err
    code, _, err = run(
        capsys, "grade", samples(tmp_path, *ROWS), "--profile", "vi-math", "--config", config, "--tolerance", 1
    )
    assert code == 2 and "from the profile" in err


def test_grader_or_profile_is_required(capsys, tmp_path):
    with pytest.raises(SystemExit) as usage:
        main(["grade", str(samples(tmp_path, *ROWS))])
    assert usage.value.code == 2 and "one of the arguments --grader --profile is required" in capsys.readouterr().err
