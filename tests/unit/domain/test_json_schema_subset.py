"""The json_schema grader's subset of JSON Schema agrees with the jsonschema library, and refuses the rest."""

from __future__ import annotations

import jsonschema
import pytest

from lambdas.domain.json_schema_subset import schema_problems, violations

SCHEMAS = [
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
    {"type": ["string", "null"], "minLength": 2, "maxLength": 4, "pattern": "^[A-Z]"},
    {"type": "array", "items": {"enum": ["đỏ", "xanh", 1]}, "minItems": 1, "maxItems": 2},
    {"type": "number", "minimum": 0, "exclusiveMaximum": 10},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
    {"properties": {"x": {"const": True}}, "additionalProperties": {"type": "string"}},
    {"type": "object", "additionalProperties": False, "properties": {"k": True, "n": False}},
    {"title": "Hóa đơn", "description": "…", "format": "date", "type": "string"},
]
INSTANCES = [
    {"a": 1},
    {"a": 1.0},
    {"a": True},
    {"a": "1"},
    {},
    {"x": True, "y": "ô"},
    {"x": 1, "y": 2},
    {"k": 1},
    {"n": 1},
    None,
    "A",
    "Abc",
    "abc",
    "Abcde",
    ["đỏ"],
    ["đỏ", 1.0],
    ["tím"],
    [],
    ["xanh", "xanh", "đỏ"],
    0,
    10,
    -1,
    9.5,
    True,
    False,
    "2026-13-45",
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
def test_the_subset_agrees_with_jsonschema(schema):
    assert schema_problems(schema) == []
    jsonschema.Draft202012Validator.check_schema(schema)
    for instance in INSTANCES:
        expected = jsonschema.Draft202012Validator(schema).is_valid(instance)
        assert (violations(instance, schema) == []) == expected, (schema, instance)


@pytest.mark.parametrize(
    "schema, says",
    [
        ({"anyOf": [{"type": "string"}]}, "'anyOf' is not checked"),
        ({"properties": {"a": {"$ref": "#/x"}}}, "schema.properties.a: '$ref' is not checked"),
        ({"type": "text"}, "schema.type: 'text' is not one of"),
        ({"minLength": -1}, "schema.minLength: a non-negative integer"),
        ({"maximum": "10"}, "schema.maximum: a number"),
        ({"pattern": "("}, "schema.pattern: does not compile"),
        ({"required": "a"}, "schema.required: a list of property names"),
        ({"items": []}, "schema.items: a schema is an object"),
        ({"enum": "a"}, "schema.enum: a list"),
    ],
)
def test_what_the_subset_cannot_check_is_refused(schema, says):
    assert any(says in problem for problem in schema_problems(schema)), schema_problems(schema)
