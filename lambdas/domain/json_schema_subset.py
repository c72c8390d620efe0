"""The part of JSON Schema the json_schema grader checks, written here because the Lambda has no validator.

The grader runs in the Lambda asset (the ``lambdas`` package and Powertools' layer), which ships no JSON Schema
library; ``jsonschema`` is only in the development environment (moto needs it). So the grader checks a subset,
and a profile whose schema uses anything else is refused when it is read (``schema_problems``), instead of the
grader silently ignoring a keyword the team relies on. The tests hold this subset to ``jsonschema``'s answers.

Checked: ``type`` (one or a list; an integral float is an integer, a boolean is not a number), ``enum``,
``const``, ``properties``, ``required``, ``additionalProperties`` (true, false or a schema), ``items`` (one
schema for every item), ``minItems``/``maxItems``, ``minLength``/``maxLength`` (in code points),
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (numbers, draft 6 and later), ``pattern``
(``re.search``, as JSON Schema says: anchor it yourself). Annotations are accepted and do nothing: ``title``,
``description``, ``$schema``, ``$id``, ``$comment``, ``default``, ``examples`` and ``format`` (an annotation
unless a validator opts in; jsonschema does not by default).
"""

from __future__ import annotations

import operator
import re
from typing import Any, Callable, Mapping

TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
CHECKED = (
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
)
ANNOTATIONS = ("title", "description", "$schema", "$id", "$comment", "default", "examples", "format")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return _is_number(value) and float(value).is_integer()
    return {
        "string": lambda: isinstance(value, str),
        "number": lambda: _is_number(value),
        "boolean": lambda: isinstance(value, bool),
        "object": lambda: isinstance(value, dict),
        "array": lambda: isinstance(value, list),
        "null": lambda: value is None,
    }[name]()


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def schema_problems(schema: Any, where: str = "schema") -> list[str]:
    """Why the grader could not check ``schema`` faithfully: unknown keywords, malformed values."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, Mapping):
        return [f"{where}: a schema is an object (or true/false)"]
    problems = [
        f"{where}: {key!r} is not checked by the json_schema grader (it checks {', '.join(CHECKED)})"
        for key in schema
        if key not in CHECKED and key not in ANNOTATIONS
    ]
    problems += _value_problems(schema, where)
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        problems.append(f"{where}.properties: an object of schemas")
    else:
        for name, sub in properties.items():
            problems += schema_problems(sub, f"{where}.properties.{name}")
    for key in ("additionalProperties", "items"):
        if key in schema:
            problems += schema_problems(schema[key], f"{where}.{key}")
    return problems


def _value_problems(schema: Mapping[str, Any], where: str) -> list[str]:
    """Keywords whose value is not what JSON Schema allows there."""
    problems = []
    kinds = schema.get("type", [])
    for kind in [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else [None]:
        if kind not in TYPES:
            problems.append(f"{where}.type: {kind!r} is not one of {', '.join(TYPES)}")
    for key in ("minItems", "maxItems", "minLength", "maxLength"):
        if key in schema and not (
            isinstance(schema[key], int) and not isinstance(schema[key], bool) and schema[key] >= 0
        ):
            problems.append(f"{where}.{key}: a non-negative integer")
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema and not _is_number(schema[key]):
            problems.append(f"{where}.{key}: a number")
    if "enum" in schema and not isinstance(schema["enum"], list):
        problems.append(f"{where}.enum: a list")
    if "required" in schema and not (
        isinstance(schema["required"], list) and all(isinstance(name, str) for name in schema["required"])
    ):
        problems.append(f"{where}.required: a list of property names")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except (re.error, TypeError) as error:
            problems.append(f"{where}.pattern: does not compile: {error}")
    return problems


def violations(instance: Any, schema: Any, where: str = "$") -> list[str]:
    """Where ``instance`` breaks ``schema`` (empty: it satisfies it). ``schema`` passed ``schema_problems``."""
    if schema is True:
        return []
    if schema is False:
        return [f"{where}: no value is allowed here"]
    found: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is_type(instance, name) for name in names):
            return [f"{where}: expected {' or '.join(names)}"]
    if "enum" in schema and not any(_equal(instance, option) for option in schema["enum"]):
        found.append(f"{where}: not one of the enum's values")
    if "const" in schema and not _equal(instance, schema["const"]):
        found.append(f"{where}: not the const value")
    if isinstance(instance, str):
        found += _string_violations(instance, schema, where)
    if _is_number(instance):
        found += _number_violations(instance, schema, where)
    if isinstance(instance, list):
        found += _array_violations(instance, schema, where)
    if isinstance(instance, dict):
        found += _object_violations(instance, schema, where)
    return found


def _string_violations(instance: str, schema: Mapping[str, Any], where: str) -> list[str]:
    found = []
    if len(instance) < schema.get("minLength", 0):
        found.append(f"{where}: shorter than {schema['minLength']}")
    if "maxLength" in schema and len(instance) > schema["maxLength"]:
        found.append(f"{where}: longer than {schema['maxLength']}")
    if "pattern" in schema and re.search(schema["pattern"], instance) is None:
        found.append(f"{where}: does not match {schema['pattern']!r}")
    return found


def _number_violations(instance: float, schema: Mapping[str, Any], where: str) -> list[str]:
    checks: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
        ("minimum", operator.lt, "below"),
        ("maximum", operator.gt, "above"),
        ("exclusiveMinimum", operator.le, "not above"),
        ("exclusiveMaximum", operator.ge, "not below"),
    )
    return [
        f"{where}: {says} {schema[key]}"
        for key, broken, says in checks
        if key in schema and broken(instance, schema[key])
    ]


def _array_violations(instance: list[Any], schema: Mapping[str, Any], where: str) -> list[str]:
    found = []
    if len(instance) < schema.get("minItems", 0):
        found.append(f"{where}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        found.append(f"{where}: more than {schema['maxItems']} items")
    if "items" in schema:
        for index, item in enumerate(instance):
            found += violations(item, schema["items"], f"{where}[{index}]")
    return found


def _object_violations(instance: dict[str, Any], schema: Mapping[str, Any], where: str) -> list[str]:
    found = [f"{where}: missing {name!r}" for name in schema.get("required", []) if name not in instance]
    properties = schema.get("properties", {})
    for name, value in instance.items():
        if name in properties:
            found += violations(value, properties[name], f"{where}.{name}")
        elif "additionalProperties" in schema:
            found += violations(value, schema["additionalProperties"], f"{where}.{name}")
    return found
