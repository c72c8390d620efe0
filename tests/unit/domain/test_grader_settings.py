"""GraderSettings: each builtin grader takes the one option it needs, and nothing it would ignore."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lambdas.domain.profiles import GraderSettings


@pytest.mark.parametrize(
    "settings",
    [
        {"builtin": "exact_match"},
        {"builtin": "token_f1", "timeout_seconds": 30},
        {"builtin": "numeric_tolerance", "tolerance": 0},
        {"builtin": "numeric_tolerance", "tolerance": 0.01},
        {"builtin": "regex", "pattern": r"(Có|Không)"},
        {"builtin": "json_schema", "json_schema": {"type": "object", "required": ["ten"]}},
        {"module": "graders/vi_arithmetic.py"},
        {"module": "graders/mine.py", "function": "score"},
    ],
)
def test_valid_graders_round_trip_through_the_lambdas_environment_variable(settings):
    parsed = GraderSettings.model_validate(settings)
    assert GraderSettings.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"builtin": "numeric_tolerance"}, "builtin numeric_tolerance needs tolerance"),
        ({"builtin": "numeric_tolerance", "tolerance": -1}, "greater than or equal to 0"),
        ({"builtin": "regex"}, "builtin regex needs pattern"),
        ({"builtin": "regex", "pattern": "(Có"}, "pattern does not compile"),
        ({"builtin": "json_schema"}, "builtin json_schema needs json_schema"),
        ({"builtin": "json_schema", "json_schema": {"oneOf": []}}, "'oneOf' is not checked by the json_schema grader"),
        ({"builtin": "json_schema", "json_schema": {"type": "chuỗi"}}, "json_schema.type: 'chuỗi' is not one of"),
        ({"builtin": "exact_match", "tolerance": 0.5}, "builtin exact_match takes no tolerance"),
        ({"builtin": "token_f1", "pattern": "x"}, "builtin token_f1 takes no pattern"),
        (
            {"builtin": "numeric_tolerance", "tolerance": 1, "pattern": "x"},
            "takes no pattern (it takes tolerance)",
        ),
        ({"builtin": "regex", "pattern": "x", "json_schema": {}}, "takes no json_schema (it takes pattern)"),
        ({"builtin": "exact_match", "function": "score"}, "a builtin grader takes none"),
        ({"module": "graders/mine.py", "tolerance": 1}, "a module takes no tolerance"),
        ({"module": "graders/mine.py", "json_schema": {"type": "object"}}, "a module takes no json_schema"),
        ({"module": "graders/mine.py", "function": "not-a-name"}, "should match pattern"),
    ],
)
def test_a_grader_option_that_is_missing_or_would_be_ignored_is_refused(settings, says):
    with pytest.raises(ValidationError, match=None) as refused:
        GraderSettings.model_validate(settings)
    assert says in str(refused.value)
