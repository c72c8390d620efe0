"""The built-in graders: passing and failing responses, Vietnamese included; a bad response scores 0, never raises."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lambdas.domain.grader_contract import GraderSample
from lambdas.domain.graders import (
    BUILTIN_GRADERS,
    numbers_in,
    parse_json_response,
    reference_number,
    reference_text,
)
from lambdas.domain.profiles import BuiltinGrader, GraderSettings


def sample(response, reference=None, **fields):
    record = {"id": "s1", "messages": [{"role": "user", "content": "?"}, {"role": "assistant", "content": response}]}
    if reference is not None:
        record["reference_answer"] = reference
    return GraderSample.model_validate({**record, **fields})


def grade(builtin, response, reference=None, **options):
    settings = GraderSettings(builtin=builtin, **options)
    return BUILTIN_GRADERS[BuiltinGrader(builtin)](sample(response, reference), settings)


def metrics(score):
    return {metric.name: (metric.value, metric.type) for metric in score.metrics_list}


def test_every_builtin_has_a_grader():
    assert set(BUILTIN_GRADERS) == set(BuiltinGrader)


@pytest.mark.parametrize(
    "response, reference, expected",
    [
        ("Hà Nội", "Hà Nội", 1.0),
        ("  hà nội! ", "Hà Nội", 1.0),  # the evaluation's normalization: case, punctuation, spaces
        ("Ha\u0300 Nội", "Hà Nội", 1.0),  # decomposed and precomposed Vietnamese compare equal
        ("Hà Nam", "Hà Nội", 0.0),
        ("Ha Noi", "Hà Nội", 0.0),  # tones matter
        ("7", 7, 1.0),
        ("3.5", 3.5, 1.0),
        ("3", 3.0, 1.0),
        ("Tích cực", {"answer": "tích cực", "explanation": "…"}, 1.0),
        ('{"a":1,"b":"ô"}', {"b": "ô", "a": 1}, 1.0),
        ("true", True, 1.0),
    ],
)
def test_exact_match(response, reference, expected):
    score = grade("exact_match", response, reference)
    assert score.aggregate_reward_score == expected
    assert metrics(score) == {"exact_match": (expected, "Reward")}


def test_token_f1_gives_partial_credit_and_reports_exact_match():
    score = grade("token_f1", "Thủ đô là Hà Nội", "Hà Nội")
    assert score.aggregate_reward_score == pytest.approx(2 * (2 / 5) * 1 / (2 / 5 + 1))  # 2 of 5 tokens, all of 2
    assert metrics(score)["exact_match"] == (0.0, "Metric")
    assert grade("token_f1", "Hà Nội", "Hà Nội").aggregate_reward_score == 1.0
    assert grade("token_f1", "Sài Gòn", "Hà Nội").aggregate_reward_score == 0.0


@pytest.mark.parametrize("builtin", ["exact_match", "token_f1", "numeric_tolerance"])
def test_a_sample_without_a_reference_answer_scores_0_and_says_so(builtin):
    options = {"tolerance": 0} if builtin == "numeric_tolerance" else {}
    score = grade(builtin, "42", None, **options)
    assert score.aggregate_reward_score == 0.0 and metrics(score)["no_reference_answer"] == (1.0, "Metric")


def test_the_reference_answer_is_read_from_metadata_too():
    graded = BUILTIN_GRADERS[BuiltinGrader.EXACT_MATCH](
        sample("Đúng", metadata={"reference_answer": "đúng"}), GraderSettings(builtin="exact_match")
    )
    assert graded.aggregate_reward_score == 1.0


@pytest.mark.parametrize(
    "reference, text",
    [
        ("x", "x"),
        (42, "42"),
        (3.0, "3"),
        (1e-7, "0.0000001"),
        (False, "false"),
        ({"solution": 12, "steps": []}, "12"),
        ({"final_answer": {"answer": "b"}}, "b"),
        ({"label": "b", "score": 2}, '{"label":"b","score":2}'),
        (["ô", 1], '["ô",1]'),
        (None, None),
    ],
)
def test_how_a_reference_answer_becomes_text(reference, text):
    assert reference_text(reference) == text


@pytest.mark.parametrize(
    "text, readings",
    [
        ("42", [("42",)]),
        ("x = -3.5", [("-3.5",)]),
        ("nhiệt độ −4", [("-4",)]),
        ("3,5 kg", [("3.5",)]),
        ("1,234", [("1234", "1.234")]),
        ("1.234", [("1234", "1.234")]),
        ("0,125", [("0.125",)]),
        ("12,3456", [("12.3456",)]),
        ("1.234,5 đồng", [("1234.5",)]),
        ("1,234.5", [("1234.5",)]),
        ("1.234.567", [("1234567",)]),
        ("1,234,567", [("1234567",)]),
        ("từ 3-5 quả", [("3",), ("5",)]),
        ("H2O và x2", []),
        ("Đáp án: 42.", [("42",)]),
        ("", []),
    ],
)
def test_numbers_and_their_readings(text, readings):
    assert numbers_in(text) == [tuple(Decimal(r) for r in reading) for reading in readings]


def test_the_reference_number_comes_from_a_number_a_text_or_an_answer_field():
    assert reference_number(7) == (Decimal(7),)
    assert reference_number(0.1) == (Decimal("0.1"),)
    assert reference_number("Đáp số: 3,5 lít") == (Decimal("3.5"),)
    assert reference_number({"answer": "12"}) == (Decimal(12),)
    assert reference_number(True) == () and reference_number("không có") == ()


@pytest.mark.parametrize(
    "response, reference, tolerance, expected",
    [
        ("Vậy Lan còn lại 7 quả táo.", 7, 0, 1.0),
        ("12 - 5 = 7. Đáp số: 7", "7", 0, 1.0),
        ("Đáp số: 8", 7, 0, 0.0),
        ("Đáp số: 7 quả, tức là 7 + 0 = 7", 7, 0, 1.0),
        ("7 ... không, đáp số là 8", 7, 0, 0.0),  # the last number is the answer
        ("Khoảng 3,5 lít", 3.5, 0, 1.0),
        ("Khoảng 3,6 lít", 3.5, 0.1, 1.0),  # within 0.1, in decimal: no float rounding
        ("Khoảng 3,7 lít", 3.5, 0.1, 0.0),
        ("Giá là 1.234.000 đồng", 1234000, 0, 1.0),
        ("Tổng: 1.234 đồng", 1234, 0, 1.0),  # Vietnamese thousands
        ("pi is about 3.142", 3.142, 0, 1.0),  # and the English reading of the same shape
        ("-3.5", -3.5, 0, 1.0),
        ("1,234", "1.234", 0, 1.0),
    ],
)
def test_numeric_tolerance(response, reference, tolerance, expected):
    score = grade("numeric_tolerance", response, reference, tolerance=tolerance)
    assert score.aggregate_reward_score == expected
    assert metrics(score)["numeric_tolerance"] == (expected, "Reward")
    assert "absolute_error" in metrics(score)


def test_numeric_tolerance_without_numbers_scores_0_and_says_why():
    none_in_response = grade("numeric_tolerance", "Mình không biết", 7, tolerance=0)
    assert metrics(none_in_response)["no_number_in_response"] == (1.0, "Metric")
    none_in_reference = grade("numeric_tolerance", "7", "bảy", tolerance=0)
    assert metrics(none_in_reference)["no_reference_number"] == (1.0, "Metric")
    assert none_in_response.aggregate_reward_score == none_in_reference.aggregate_reward_score == 0.0


SCHEMA = {
    "type": "object",
    "required": ["ten", "tuoi"],
    "properties": {"ten": {"type": "string", "minLength": 1}, "tuoi": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "response, expected, violations",
    [
        ('{"ten": "Nguyễn Văn An", "tuoi": 30}', 1.0, 0),
        ('Đây là kết quả:\n```json\n{"ten": "An", "tuoi": 30}\n```\nXong.', 1.0, 0),
        ('```\n{"ten": "An", "tuoi": 30}\n```', 1.0, 0),
        ('{"ten": "An"}', 0.0, 1),
        ('{"ten": "", "tuoi": -1, "them": 1}', 0.0, 3),
        ('{"ten": "An", "tuoi": "ba mươi"}', 0.0, 1),
    ],
)
def test_json_schema(response, expected, violations):
    score = grade("json_schema", response, json_schema=SCHEMA)
    assert score.aggregate_reward_score == expected
    assert metrics(score)["schema_violations"] == (violations, "Metric")


@pytest.mark.parametrize("response", ["Tên: An, tuổi: 30", '{"ten": "An",', "NaN", '{"tuoi": Infinity}', ""])
def test_json_schema_on_something_that_is_not_json_scores_0(response):
    score = grade("json_schema", response, json_schema=SCHEMA)
    assert score.aggregate_reward_score == 0.0 and metrics(score)["invalid_json"] == (1.0, "Metric")


def test_a_deeply_nested_response_is_invalid_json_not_a_crash():
    assert parse_json_response("[" * 100_000 + "]" * 100_000) == (False, None)


@pytest.mark.parametrize(
    "response, expected",
    [
        ("Tích cực", 1.0),
        ("  Tiêu cực\n", 1.0),  # the response is stripped first
        ("Trung tính", 1.0),
        ("Tích cực.", 0.0),  # the whole response must match
        ("Cảm xúc: Tích cực", 0.0),
    ],
)
def test_regex(response, expected):
    score = grade("regex", response, pattern="(Tích|Tiêu) cực|Trung tính")
    assert score.aggregate_reward_score == expected and metrics(score) == {"regex": (expected, "Reward")}


@pytest.mark.parametrize("response", ["", "```", "{" * 50, "\x00\udcff", "1" * 5000, "-" * 100])
@pytest.mark.parametrize("builtin", list(BuiltinGrader))
def test_no_builtin_raises_on_a_strange_response(builtin, response):
    options = {
        BuiltinGrader.NUMERIC_TOLERANCE: {"tolerance": 0.5},
        BuiltinGrader.REGEX: {"pattern": r"\d+"},
        BuiltinGrader.JSON_SCHEMA: {"json_schema": SCHEMA},
    }.get(builtin, {})
    score = grade(builtin.value, response, 7, **options)
    assert 0.0 <= score.aggregate_reward_score <= 1.0 and score.id == "s1"
