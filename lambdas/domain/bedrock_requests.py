"""Bedrock's own constraints on every field of a request, checked before anything is spent.

Bedrock refuses a request whose names, URIs, tags or hyperparameters break its API model, but only once
the request reaches it: after Validate let the run go ahead. The model ships with botocore, and botocore
checks only types, required members, unions and minimums before sending (``ParamValidator.
VALIDATED_METADATA_ATTRS`` in botocore/validate.py), leaving patterns, maximums and enums to the
service. This module checks all of them, reading every constraint from botocore's model, so Bedrock's
rules live in one place (its model) and a request it would refuse is refused at Validate.

Public API
----------
``request_problems(operation, request, *, service="bedrock") -> list[str]``
    Every field of ``request`` (the keyword arguments of the boto3 call, e.g. what
    ``lambdas.domain.customization.build_job_request`` returns) checked against the input shape of
    ``operation`` (its API name, e.g. ``"CreateModelCustomizationJob"``): pattern, minimum and maximum
    length of strings, lists and maps, minimum and maximum of numbers, enum, type, required and unknown
    members, one member of a union. One line per refused field, ``<field path>: <rule broken> (got
    <excerpt of the value>)``, with paths like ``trainingDataConfig.s3Uri``, ``jobTags[2].value`` or
    ``hyperParameters.epochCount``; empty when Bedrock's model accepts the request. Values of fields the
    model marks sensitive are not shown. An operation the model lacks raises botocore's
    ``OperationNotFoundError``.
``check_request(operation, request, *, service="bedrock") -> None``
    The same check for callers that fail fast: raises ``BedrockRequestRefused`` when there is a problem.
``BedrockRequestRefused(ValueError)``
    ``.operation`` and ``.problems`` (the lines above); ``str()`` joins them into one line.
``string_rule(shape_name, *, service="bedrock") -> StringRule``
    The model's constraints on one string shape (``"TagKey"``, ``"TagValue"``, ``"JobName"``…), for code
    that must produce values Bedrock takes (``lambdas.domain.runs.lineage_tags``).
``StringRule``
    ``.shape``, ``.pattern`` (the model's text), ``.min_length``, ``.max_length`` and ``.admits(value)``.

How a value is held against the model
-------------------------------------
- Patterns must match the whole value. The model prints them unanchored, but a pattern such as TagValue's
  ``[a-zA-Z0-9\\s._:/=+@-]*`` would then admit every string, and Bedrock refuses tag values with
  Vietnamese letters (tuneforge issue 11); CloudFormation's reference prints the same pattern
  anchored, ``^[a-zA-Z0-9\\s._:/=+@-]*$`` (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-bedrock-guardrail-tag.html,
  read 2026-12-04).
- The patterns are written for java.util.regex (the model uses ``\\p{L}``, which Python's ``re`` lacks);
  AWS does not say which engine checks them, so they are read as Java reads them: ``\\s``, ``\\d`` and
  ``\\w`` are ASCII only, ``.`` matches no line terminator (``\\n \\r \\u0085 \\u2028 \\u2029``), and
  ``\\p{X}``/``\\P{X}`` are Unicode general categories (from this Python's ``unicodedata``, whose Unicode
  version may differ from Java's). A construct this translation does not know (class intersections,
  ``\\Q…\\E``…) leaves that one pattern unchecked, with a warning logged; the tests translate every pattern
  of the installed model.
- Lengths count code points: Smithy's length trait is "the number of Unicode code points when applied
  to string shapes" (smithy.io/1.0/spec/core/constraint-traits.html#length-trait, as smithy-rs's
  changelog quotes it; read 2026-12-04). A value longer or shorter than allowed is
  reported for its length only, so each field gives one line and no long value reaches a pattern.
- Matching uses Python's backtracking ``re``. Bedrock's JobName pattern ``[a-zA-Z0-9](-*[a-zA-Z0-9\\+\\-\\.])*``
  backtracks exponentially on a run of '-' followed by a refused character: ``"a" + "-" * 24 + "!"``
  takes half a second and each further '-' doubles it. The names this project sends hold no such run
  (``lambdas.domain.runs`` collapses them) and match at once, so no guard is spent on it; a caller
  checking names from elsewhere should know.

The model read: botocore 1.44.8, ``bedrock/2023-04-20/service-2.json``, read 2026-12-04. botocore is not
pinned itself: boto3==1.44.5 takes any botocore >=1.44.5,<1.45.0, and in Lambda the runtime's botocore is
read instead, which may be older or newer.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape
from botocore.utils import parse_to_aware_datetime

logger = logging.getLogger(__name__)

_EXCERPT_HEAD = 48
_EXCERPT_TAIL = 16
_PATTERN_SHOWN = 100
# Kinds of character tried for "it would be accepted without …": every set of them is at most 1,023 tries.
_HINT_UNITS = 10

# Smithy's integer and long are 32- and 64-bit (smithy.io/2.0/spec/simple-types.html, read 2026-12-04).
_INTEGER_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# java.util.regex's '.' without DOTALL: any character but a line terminator.
_JAVA_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"


class BedrockRequestRefused(ValueError):
    """A request Bedrock's model refuses; ``problems`` holds one line per refused field."""

    def __init__(self, operation: str, problems: list[str]) -> None:
        super().__init__(f"Bedrock would refuse {operation}: " + "; ".join(problems))
        self.operation = operation
        self.problems = list(problems)


@dataclass(frozen=True)
class StringRule:
    shape: str
    pattern: str | None
    min_length: int | None
    max_length: int | None

    def admits(self, value: str) -> bool:
        if self.min_length is not None and len(value) < self.min_length:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        compiled = _compiled(self.pattern) if self.pattern is not None else None
        return compiled is None or compiled.fullmatch(value) is not None


def request_problems(operation: str, request: dict[str, Any], *, service: str = "bedrock") -> list[str]:
    shape = _service_model(service).operation_model(operation).input_shape
    problems: list[str] = []
    if shape is None:
        if request:
            problems.append(f"{operation}: takes no fields (got {_excerpt(request)})")
        return problems
    _check(request, shape, operation, problems, sensitive=False, root=True)
    return problems


def check_request(operation: str, request: dict[str, Any], *, service: str = "bedrock") -> None:
    problems = request_problems(operation, request, service=service)
    if problems:
        raise BedrockRequestRefused(operation, problems)


def string_rule(shape_name: str, *, service: str = "bedrock") -> StringRule:
    shape = _service_model(service).shape_for(shape_name)
    if not isinstance(shape, StringShape):
        raise ValueError(f"{service}'s {shape_name} is a {shape.type_name}, not a string")
    metadata = shape.metadata
    return StringRule(
        shape=shape_name,
        pattern=metadata.get("pattern"),
        min_length=metadata.get("min"),
        max_length=metadata.get("max"),
    )


@functools.lru_cache(maxsize=None)
def _service_model(service: str) -> ServiceModel:
    # Reading and parsing the model takes about 0.15 s; a warm Lambda reuses it.
    return botocore.session.get_session().get_service_model(service)


# --- walking a value against its shape ----------------------------------------------------------
def _check(value: Any, shape: Shape, path: str, problems: list[str], *, sensitive: bool, root: bool = False) -> None:
    sensitive = sensitive or bool(shape.metadata.get("sensitive"))
    if isinstance(shape, StructureShape) and shape.is_document_type:
        return  # any JSON value
    checker = _CHECKERS.get(shape.type_name)
    if checker is None:
        return
    expected, accepts = checker
    if not accepts(value):
        problems.append(f"{path}: must be {expected}, not {_kind(value)} (got {_excerpt(value, sensitive)})")
        return
    if isinstance(shape, StructureShape):
        _check_structure(value, shape, path, problems, sensitive=sensitive, root=root)
    elif isinstance(shape, ListShape):
        _check_size(value, shape, path, problems, sensitive=sensitive, unit="items")
        for index, item in enumerate(value):
            _check(item, shape.member, f"{path}[{index}]", problems, sensitive=sensitive)
    elif isinstance(shape, MapShape):
        _check_size(value, shape, path, problems, sensitive=sensitive, unit="entries")
        for key, item in value.items():
            _check(
                key, shape.key, f"{path} key {key!r}" if not sensitive else f"{path} key", problems, sensitive=sensitive
            )
            _check(item, shape.value, _map_path(path, key), problems, sensitive=sensitive)
    elif shape.type_name == "string":
        _check_string(value, shape, path, problems, sensitive=sensitive)
    elif shape.type_name in ("integer", "long", "float", "double"):
        _check_number(value, shape, path, problems, sensitive=sensitive)
    elif shape.type_name == "blob" and isinstance(value, (bytes, bytearray, str)):
        _check_size(value, shape, path, problems, sensitive=sensitive, unit="bytes")


def _check_structure(
    value: dict[str, Any], shape: StructureShape, path: str, problems: list[str], *, sensitive: bool, root: bool
) -> None:
    prefix = "" if root else f"{path}."
    for name in shape.required_members:
        if name not in value:
            problems.append(f"{prefix}{name}: Bedrock requires this field and the request has none")
    members = shape.members
    if shape.is_tagged_union and len(value) != 1:
        problems.append(
            f"{path}: must set exactly one of {', '.join(members)}; it sets {len(value)} (got {_excerpt(value, sensitive)})"
        )
    for name, item in value.items():
        if name not in members:
            problems.append(
                f"{prefix}{name}: is not a field Bedrock's {shape.name} takes; it takes {', '.join(members)} (got {_excerpt(item, sensitive)})"
            )
            continue
        _check(item, members[name], f"{prefix}{name}", problems, sensitive=sensitive)


def _check_string(value: str, shape: Shape, path: str, problems: list[str], *, sensitive: bool) -> None:
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        problems.append(f"{path}: must be one of {', '.join(enum)} (got {_excerpt(value, sensitive)})")
        return
    if _check_size(value, shape, path, problems, sensitive=sensitive, unit="characters"):
        return
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern is not None else None
    if pattern is None or compiled is None or compiled.fullmatch(value):
        return
    shown = pattern if len(pattern) <= _PATTERN_SHOWN else pattern[:_PATTERN_SHOWN] + "…"
    hint = "" if sensitive else _without_hint(value, compiled)
    problems.append(
        f"{path}: not of the form Bedrock accepts for {shape.name} values, {shown}{hint} (got {_excerpt(value, sensitive)})"
    )


def _check_number(value: int | float, shape: Shape, path: str, problems: list[str], *, sensitive: bool) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{path}: must be a finite number (got {_excerpt(value, sensitive)})")
        return
    low, high = _INTEGER_BOUNDS.get(shape.type_name, (None, None))
    low = shape.metadata.get("min", low)
    high = shape.metadata.get("max", high)
    if low is not None and value < low:
        problems.append(f"{path}: must be at least {low} (got {_excerpt(value, sensitive)})")
    elif high is not None and value > high:
        problems.append(f"{path}: must be at most {high} (got {_excerpt(value, sensitive)})")


def _check_size(value: Any, shape: Shape, path: str, problems: list[str], *, sensitive: bool, unit: str) -> bool:
    """Report a length outside the shape's min/max; True when one was reported."""
    size = len(value.encode() if isinstance(value, str) and unit == "bytes" else value)
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        wanted = "must not be empty" if low == 1 else f"must have at least {low:,} {unit}"
        problems.append(f"{path}: {wanted}, this has {size:,} (got {_excerpt(value, sensitive)})")
        return True
    if high is not None and size > high:
        problems.append(
            f"{path}: must have at most {high:,} {unit}, this has {size:,} (got {_excerpt(value, sensitive)})"
        )
        return True
    return False


def _is_timestamp(value: Any) -> bool:
    try:
        parse_to_aware_datetime(value)
        return True
    except (TypeError, ValueError, AttributeError):  # botocore's own catch: dateutil raises all three
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What each model type takes from Python, as botocore serializes it, except that a bool is not a number:
# botocore's validator lets True through for an integer (a bool is an int in Python) and sends JSON true.
_CHECKERS: dict[str, tuple[str, Any]] = {
    "structure": ("an object with named fields", lambda v: isinstance(v, dict)),
    "map": ("a map of names to values", lambda v: isinstance(v, dict)),
    "list": ("a list", lambda v: isinstance(v, (list, tuple))),
    "string": ("text (a string)", lambda v: isinstance(v, str)),
    "integer": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "long": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", _is_number),
    "double": ("a number", _is_number),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "timestamp": ("a date and time", lambda v: isinstance(v, datetime) or _is_timestamp(v)),
    "blob": ("bytes", lambda v: isinstance(v, (bytes, bytearray, str)) or hasattr(v, "read")),
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (None)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}" if len(repr(value)) <= 20 else "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _map_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


def _excerpt(value: Any, sensitive: bool = False) -> str:
    if sensitive:
        return "a value Bedrock marks sensitive, not shown"
    if isinstance(value, str):
        if len(value) <= _EXCERPT_HEAD + _EXCERPT_TAIL:
            return repr(value)
        return f"{value[:_EXCERPT_HEAD] + '…' + value[-_EXCERPT_TAIL:]!r}, {len(value):,} characters"
    text = repr(value)
    return text if len(text) <= _EXCERPT_HEAD + _EXCERPT_TAIL else text[:_EXCERPT_HEAD] + "…" + text[-_EXCERPT_TAIL:]


def _without_hint(value: str, compiled: re.Pattern[str]) -> str:
    """``; it would be accepted without ' ', 'ữ'`` when removing a few kinds of character fixes the value.

    Only what a removal proves is named: the characters are found by trying, not guessed. Non-ASCII
    characters are tried as one kind, so a Vietnamese word costs one try, not one per letter.
    """
    seen: dict[str, None] = dict.fromkeys(value)
    foreign = tuple(c for c in seen if not c.isascii())
    units = ([foreign] if foreign else []) + [(c,) for c in seen if c.isascii() and not c.isalnum()]
    units = units[:_HINT_UNITS]
    for size in range(1, len(units) + 1):
        for combo in combinations(units, size):
            removed = {c for unit in combo for c in unit}
            trial = "".join(c for c in value if c not in removed)
            if trial and compiled.fullmatch(trial):
                return "; it would be accepted without " + ", ".join(repr(c) for c in seen if c in removed)
    return ""


# --- java.util.regex patterns in Python ---------------------------------------------------------
class _Untranslatable(ValueError):
    pass


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(_python_regex(pattern), re.ASCII)
    except (_Untranslatable, re.error) as unknown:
        logger.warning("Bedrock pattern %r is not checked: %s", pattern, unknown)
        return None


def _python_regex(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped in ("p", "P"):
                name, length = _property_name(pattern, i)
                ranges = _category_class(name)
                if in_class and escaped == "P":
                    raise _Untranslatable("\\P{…} inside a character class")
                out.append(ranges if in_class else f"[{'^' if escaped == 'P' else ''}{ranges}]")
                i += length
                continue
            if escaped in ("Q", "E", "h", "H", "v", "V", "R", "X", "G", "z", "Z", "k"):
                raise _Untranslatable(f"\\{escaped}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" or pattern.startswith("&&", i):
                raise _Untranslatable("a class union or intersection")
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("^]", i + 1) or pattern.startswith("]", i + 1):
                raise _Untranslatable("a ']' opening a class")
        elif char == ".":
            out.append(_JAVA_DOT)
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _property_name(pattern: str, start: int) -> tuple[str, int]:
    """The name in ``\\p{Lu}`` or ``\\pL`` starting at ``start``, and how many characters the escape takes."""
    braced = re.match(r"\\[pP]\{(\w+)\}", pattern[start:])
    if braced:
        return braced.group(1), braced.end()
    if len(pattern) > start + 2:
        return pattern[start + 2], 3
    raise _Untranslatable("a \\p without a name")


@functools.lru_cache(maxsize=None)
def _category_class(name: str) -> str:
    """The body of a character class holding Unicode general category ``name`` (L, Lu, M, N, Z…)."""
    if not re.fullmatch(r"[LMNPSZC][a-z]?", name):
        raise _Untranslatable(f"\\p{{{name}}} (only general categories are translated)")
    parts = []
    start = None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and unicodedata.category(chr(code)).startswith(name)
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            parts.append(f"\\U{start:08x}" if start == code - 1 else f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    return "".join(parts)
