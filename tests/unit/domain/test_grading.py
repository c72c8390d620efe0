"""Running a grader over a batch: user modules from graders/, their errors, and the synth-time check."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from lambdas.domain.grader_contract import GraderRequest
from lambdas.domain.grading import (
    ERROR_METRIC,
    PACKAGE_ROOT,
    GraderFailed,
    GraderUnavailable,
    grade_request,
    grader_problems,
    load_user_grader,
)
from lambdas.domain.profiles import GraderSettings

ROOT = Path(__file__).resolve().parents[3]


def request(*pairs):
    return GraderRequest.model_validate(
        [
            {"id": sample_id, "messages": [{"role": "assistant", "content": response}], "reference_answer": "7"}
            for sample_id, response in pairs
        ]
    )


def write_module(root, name, source):
    path = root / "graders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return GraderSettings(module=f"graders/{name}")


@pytest.fixture(autouse=True)
def fresh_modules():
    load_user_grader.cache_clear()
    yield
    load_user_grader.cache_clear()


def test_the_package_root_is_the_repository_that_holds_graders():
    assert PACKAGE_ROOT == ROOT and (PACKAGE_ROOT / "graders" / "vi_arithmetic.py").is_file()


def test_a_user_module_returning_floats_and_scores(tmp_path):
    settings = write_module(
        tmp_path,
        "length.py",
        "from dataclasses import dataclass\n"  # a dataclass needs its module in sys.modules
        "from lambdas.domain.grader_contract import GraderScore\n\n"
        "@dataclass\nclass Weight:\n    value: float = 0.5\n\n"
        "def grade(sample):\n"
        "    if sample.id == 'b':\n"
        "        return GraderScore(id='b', aggregate_reward_score=0.25)\n"
        "    return Weight().value * (sample.response == sample.reference_answer)\n",
    )
    outcome = grade_request(request(("a", "7"), ("b", "8"), ("c", "9")), settings, tmp_path)
    assert [(s.id, s.aggregate_reward_score) for s in outcome.response.root] == [("a", 0.5), ("b", 0.25), ("c", 0.0)]
    assert outcome.errors == []


def test_a_function_other_than_grade(tmp_path):
    write_module(tmp_path, "nested/pick.py", "def score(sample):\n    return 1\n")
    settings = GraderSettings(module="graders/nested/pick.py", function="score")
    assert grade_request(request(("a", "x")), settings, tmp_path).response.root[0].aggregate_reward_score == 1.0


def test_a_sample_the_module_raises_on_scores_0_and_is_reported(tmp_path):
    settings = write_module(
        tmp_path,
        "picky.py",
        "def grade(sample):\n"
        "    if sample.response == 'boom':\n"
        "        raise KeyError('câu trả lời lạ')\n"
        "    if sample.response == 'nan':\n"
        "        return float('nan')\n"
        "    if sample.response == 'other id':\n"
        "        from lambdas.domain.grader_contract import GraderScore\n"
        "        return GraderScore(id='zzz', aggregate_reward_score=1)\n"
        "    return 1.0\n",
    )
    outcome = grade_request(request(("a", "7"), ("b", "boom"), ("c", "nan"), ("d", "other id")), settings, tmp_path)
    scores = {s.id: s for s in outcome.response.root}
    assert scores["a"].aggregate_reward_score == 1.0
    for bad in "bcd":
        assert scores[bad].aggregate_reward_score == 0.0
        assert [(m.name, m.value) for m in scores[bad].metrics_list] == [(ERROR_METRIC, 1.0)]
    assert [e.sample_id for e in outcome.errors] == ["b", "c", "d"]
    assert "KeyError" in outcome.errors[0].error and "câu trả lời lạ" in outcome.errors[0].error
    assert outcome.response.problems_against(request(("a", ""), ("b", ""), ("c", ""), ("d", ""))) == []


def test_a_batch_where_every_sample_raises_fails(tmp_path):
    settings = write_module(tmp_path, "broken.py", "def grade(sample):\n    return sample.nope\n")
    with pytest.raises(GraderFailed) as failed:
        grade_request(request(("a", "7"), ("b", "8")), settings, tmp_path)
    assert [e.sample_id for e in failed.value.errors] == ["a", "b"] and "AttributeError" in str(failed.value)


def test_an_empty_batch_is_an_empty_answer(tmp_path):
    settings = write_module(tmp_path, "broken.py", "def grade(sample):\n    raise ValueError\n")
    assert grade_request(request(), settings, tmp_path).response.root == []


@pytest.mark.parametrize(
    "source, says",
    [
        ("def grade(sample:\n", "failed to load: SyntaxError"),
        ("raise ImportError('no numpy here')\n", "failed to load: ImportError: no numpy here"),
        ("grade = 3\n", "defines no function grade(sample)"),
        ("def other(sample):\n    return 1\n", "defines no function grade(sample)"),
    ],
)
def test_a_module_that_cannot_load_fails_every_invocation(tmp_path, source, says):
    settings = write_module(tmp_path, "bad.py", source)
    with pytest.raises(GraderUnavailable, match=re.escape(says)):
        grade_request(request(("a", "7")), settings, tmp_path)
    assert not any(name.startswith("tuneforge_grader_") and "bad.py" in str(m) for name, m in sys.modules.items())


def test_a_missing_module_names_its_path(tmp_path):
    with pytest.raises(GraderUnavailable, match=f"{tmp_path}/graders/absent.py does not exist"):
        grade_request(request(("a", "7")), GraderSettings(module="graders/absent.py"), tmp_path)


def test_a_module_is_never_loaded_from_outside_graders(tmp_path):
    (tmp_path / "elsewhere.py").write_text("def grade(sample):\n    return 1\n")
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "link.py").symlink_to(tmp_path / "elsewhere.py")
    settings = GraderSettings(module="graders/link.py")
    with pytest.raises(GraderUnavailable, match="outside graders/"):
        grade_request(request(("a", "7")), settings, tmp_path)
    assert grader_problems(settings, tmp_path) == [
        f"graders/link.py resolves outside graders/: {(tmp_path / 'elsewhere.py').resolve()}"
    ]


def test_grader_problems_reads_the_module_without_running_it(tmp_path):
    settings = write_module(
        tmp_path, "side_effect.py", "raise SystemExit('ran at synth')\ndef grade(sample):\n    return 1\n"
    )
    assert grader_problems(settings, tmp_path) == []
    assert grader_problems(GraderSettings(builtin="exact_match"), tmp_path) == []


@pytest.mark.parametrize(
    "source, says",
    [
        ("def grade(sample:\n", "does not parse"),
        ("def other(sample):\n    return 1\n", "defines no function grade(sample)"),
        ("async def grade(sample):\n    return 1\n", "grade is async"),
    ],
)
def test_grader_problems_names_what_is_wrong(tmp_path, source, says):
    settings = write_module(tmp_path, "bad.py", source)
    problems = grader_problems(settings, tmp_path)
    assert len(problems) == 1 and says in problems[0] and str(tmp_path / "graders" / "bad.py") in problems[0]


def test_grader_problems_accepts_a_function_bound_by_assignment_or_import(tmp_path):
    settings = write_module(tmp_path, "alias.py", "from lambdas.domain.graders import grade_regex as grade\n")
    assert grader_problems(settings, tmp_path) == []
    assert grader_problems(GraderSettings(module="graders/absent.py"), tmp_path) == [
        f"grader module {tmp_path}/graders/absent.py does not exist (a profile's module is a file under graders/)"
    ]


def test_the_shipped_graders_pass_their_check_and_import_only_the_domain():
    for path in sorted((ROOT / "graders").rglob("*.py")):
        if path.name == "__init__.py":
            continue  # the package marker for the code gates, not a grader
        settings = GraderSettings(module=str(path.relative_to(ROOT)))
        assert grader_problems(settings) == [], path
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        ]
        # The grader's asset is the lambdas package and graders/: nothing else of ours is shipped.
        assert all(m.split(".")[0] in sys.stdlib_module_names or m.startswith("lambdas.domain") for m in imported)
        assert len(path.read_text().splitlines()) <= 600


def test_the_example_gives_partial_credit_for_the_right_number_of_digits():
    outcome = grade_request(
        request(("right", "Đáp số: 7"), ("slip", "Đáp số: 8"), ("size", "Đáp số: 70"), ("none", "bảy")),
        GraderSettings(module="graders/vi_arithmetic.py"),
    )
    assert [s.aggregate_reward_score for s in outcome.response.root] == [1.0, 0.2, 0.0, 0.0]
