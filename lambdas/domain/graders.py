"""The built-in RFT graders: each scores one sampled response from 0 (wrong) to 1 (right), and never raises.

Every grader returns a ``GraderScore`` whose first metric (type ``Reward``) is named after the grader and equals
the score; other metrics (type ``Metric``) say what else was measured or why the score is 0
(``no_reference_answer``, ``no_number_in_response``, ``invalid_json``…), so a job's metrics show why rewards are
low. A response the grader cannot read scores 0; it is the model's answer, and an unreadable answer is wrong.

The reference answer (``GraderSample.reference_answer``: a string, a number, or an object) as text, for
exact_match and token_f1 (``reference_text``): a string as is; a number in plain decimal notation (``3.0`` is
``"3"``, never ``"3e-07"``); ``true``/``false``; an object's ``answer``, else ``solution``, else
``final_answer`` field (reduced the same way); any other object or list as canonical JSON (sorted keys, no
spaces, non-ASCII kept), so ``{"a": 1}`` is matched by a response that is exactly that JSON.

Numbers (numeric_tolerance, ``numbers_in``): the grader reads the LAST number in the response (the final answer
follows the working) and the reference's number (a number, or the last number in its text). A number is
digits with ``.`` or ``,`` between digit groups, optionally signed (``-``, ``+``, ``−``) when the sign does not
follow a letter or digit (so in ``3-5`` the number is 5, and ``x2`` holds none). Which mark is the decimal one:

- no mark: ``42`` is 42;
- both marks: the last one is the decimal mark: ``1.234,5`` (Vietnamese, European) and ``1,234.5`` are 1234.5;
- one mark, more than once: it groups thousands: ``1.234.567`` and ``1,234,567`` are 1234567;
- one mark once, not followed by exactly three digits (or after a leading 0): decimal: ``3,5`` and ``-3.5``
  are 3.5 and -3.5, ``0,125`` is 0.125;
- one mark once, followed by exactly three digits: ambiguous (``1.234`` is 1234 in Vietnamese, 1.234 in
  English). Both readings are kept and the response is right if either is within the tolerance; a model that
  writes those digits meant one of them.

Exponents (``1e5``), fractions (``3/4``) and spelled-out numbers are not read. ``tolerance`` is absolute:
``|response - reference| <= tolerance``, computed in decimal so that 1.1 is within 0.1 of 1.0.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable

from lambdas.domain.grader_contract import GraderMetric, GraderSample, GraderScore
from lambdas.domain.json_schema_subset import violations
from lambdas.domain.metrics import exact_match, token_f1
from lambdas.domain.profiles import BuiltinGrader, GraderSettings

ANSWER_FIELDS = ("answer", "solution", "final_answer")
_HUGE = Decimal("1e300")
_NUMBER = re.compile(r"(?<![\w.,])(?:[-+\u2212](?=\d))?\d+(?:[.,]\d+)*")
# A fenced block, ```json or bare ```; the json_schema grader reads the last one when the response is not JSON.
_FENCED = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)```", re.DOTALL)


def reference_text(reference: Any) -> str | None:
    """The reference answer as text (the module's docstring says how); None when there is none."""
    if reference is None:
        return None
    if isinstance(reference, bool):
        return "true" if reference else "false"
    if isinstance(reference, str):
        return reference
    if isinstance(reference, (int, float)):
        return _plain(Decimal(repr(reference)) if isinstance(reference, float) else Decimal(reference))
    if isinstance(reference, dict):
        for name in ANSWER_FIELDS:
            if reference.get(name) is not None:
                return reference_text(reference[name])
    return json.dumps(reference, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _readings(token: str) -> tuple[Decimal, ...]:
    sign = "-" if token[0] in "-\u2212" else ""
    digits = token.lstrip("+-\u2212")
    marks = [ch for ch in digits if ch in ".,"]
    if not marks:
        return (Decimal(sign + digits),)
    if len(set(marks)) == 2:
        decimal_mark = marks[-1]
        whole, _, fraction = digits.rpartition(decimal_mark)
        return (Decimal(f"{sign}{whole.replace('.', '').replace(',', '')}.{fraction}"),)
    if len(marks) > 1:
        return (Decimal(sign + digits.replace(marks[0], "")),)
    whole, fraction = digits.split(marks[0])
    as_decimal = Decimal(f"{sign}{whole}.{fraction}")
    if len(fraction) == 3 and whole != "0" and len(whole) <= 3:
        return (Decimal(sign + whole + fraction), as_decimal)
    return (as_decimal,)


def numbers_in(text: str) -> list[tuple[Decimal, ...]]:
    """Every number in ``text``, in order, each as its possible readings (one, or two when ambiguous)."""
    found = []
    for match in _NUMBER.finditer(text or ""):
        try:
            found.append(_readings(match.group()))
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            continue
    return found


def reference_number(reference: Any) -> tuple[Decimal, ...]:
    """The reference answer's number (its readings); empty when it has none."""
    if isinstance(reference, bool) or reference is None:
        return ()
    if isinstance(reference, (int, float)):
        try:
            return (Decimal(repr(reference)) if isinstance(reference, float) else Decimal(reference),)
        except InvalidOperation:
            return ()
    if isinstance(reference, dict):
        return next((reference_number(reference[n]) for n in ANSWER_FIELDS if reference.get(n) is not None), ())
    numbers = numbers_in(reference) if isinstance(reference, str) else []
    return numbers[-1] if numbers else ()


def _score(sample: GraderSample, name: str, value: float, **measured: float) -> GraderScore:
    metrics = [GraderMetric(name=name, value=value, type="Reward")]
    metrics += [GraderMetric(name=key, value=float(amount)) for key, amount in measured.items()]
    return GraderScore(id=sample.id, aggregate_reward_score=value, metrics_list=metrics)


def grade_exact_match(sample: GraderSample, settings: GraderSettings) -> GraderScore:
    reference = reference_text(sample.reference_answer)
    if reference is None:
        return _score(sample, "exact_match", 0.0, no_reference_answer=1)
    return _score(sample, "exact_match", exact_match(sample.response, reference))


def grade_token_f1(sample: GraderSample, settings: GraderSettings) -> GraderScore:
    reference = reference_text(sample.reference_answer)
    if reference is None:
        return _score(sample, "token_f1", 0.0, no_reference_answer=1)
    return _score(
        sample, "token_f1", token_f1(sample.response, reference), exact_match=exact_match(sample.response, reference)
    )


def grade_numeric_tolerance(sample: GraderSample, settings: GraderSettings) -> GraderScore:
    if sample.reference_answer is None:
        return _score(sample, "numeric_tolerance", 0.0, no_reference_answer=1)
    expected = reference_number(sample.reference_answer)
    if not expected:
        return _score(sample, "numeric_tolerance", 0.0, no_reference_number=1)
    numbers = numbers_in(sample.response)
    if not numbers:
        return _score(sample, "numeric_tolerance", 0.0, no_number_in_response=1)
    error = min(abs(got - want) for got in numbers[-1] for want in expected)
    tolerance = Decimal(repr(settings.tolerance or 0.0))
    score = 1.0 if error <= tolerance else 0.0
    # A metric is a finite float: an error beyond float's range (a response of 400 digits) is left unsaid.
    return _score(sample, "numeric_tolerance", score, **({"absolute_error": float(error)} if error < _HUGE else {}))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_response(response: str) -> tuple[bool, Any]:
    """(True, value) when the response is JSON, or holds it in its last fenced block; (False, None) otherwise."""
    candidates = [response.strip()] + [block.strip() for block in reversed(_FENCED.findall(response))][:1]
    for text in candidates:
        try:
            return True, json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            continue
    return False, None


def grade_json_schema(sample: GraderSample, settings: GraderSettings) -> GraderScore:
    parsed, value = parse_json_response(sample.response)
    if not parsed:
        return _score(sample, "json_schema", 0.0, invalid_json=1)
    found = violations(value, settings.json_schema if settings.json_schema is not None else True)
    return _score(sample, "json_schema", 0.0 if found else 1.0, schema_violations=len(found))


@lru_cache(maxsize=32)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def grade_regex(sample: GraderSample, settings: GraderSettings) -> GraderScore:
    matched = _compiled(settings.pattern or "").fullmatch(sample.response.strip()) is not None
    return _score(sample, "regex", 1.0 if matched else 0.0)


BuiltinFunction = Callable[[GraderSample, GraderSettings], GraderScore]
BUILTIN_GRADERS: dict[BuiltinGrader, BuiltinFunction] = {
    BuiltinGrader.EXACT_MATCH: grade_exact_match,
    BuiltinGrader.TOKEN_F1: grade_token_f1,
    BuiltinGrader.NUMERIC_TOLERANCE: grade_numeric_tolerance,
    BuiltinGrader.JSON_SCHEMA: grade_json_schema,
    BuiltinGrader.REGEX: grade_regex,
}
