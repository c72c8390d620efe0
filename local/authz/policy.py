"""IAM policy statements evaluated the way AWS evaluates them, for the conditions tuneforge's templates use.

Sources (read 2026-12-02):
* Policy evaluation logic, same account: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an explicit deny in any policy wins; otherwise an allow in an identity policy or in the resource policy;
  a permissions boundary and a VPC endpoint policy must also allow).
* Condition operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (``...IfExists``: a missing key matches; any other operator on a missing key does not match, except the
  negated ones, which match a missing key; ``Null``; ``ForAnyValue:``/``ForAllValues:`` on multivalued keys).
* Condition keys are case-insensitive, values of ``String*`` are case-sensitive:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html

Pure code: a statement, a request (action, resource, principal, context) in, a match out.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass(frozen=True)
class Principal:
    """Who makes a call. ``arn`` is the role or user ARN as IAM evaluates it (aws:PrincipalArn);
    ``service`` is set when an AWS service acts on its own behalf (e.g. ``events.amazonaws.com``)."""

    arn: str
    account: str
    service: str | None = None

    @property
    def is_service(self) -> bool:
        return self.service is not None


@dataclass
class Request:
    action: str  # "s3:GetObject"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    principal: Principal
    context: dict[str, Any] = field(default_factory=dict)  # condition keys, lower-cased on lookup

    def key(self, name: str) -> Any:
        lowered = name.lower()
        for key, value in self.context.items():
            if key.lower() == lowered:
                return value
        return None

    def has_key(self, name: str) -> bool:
        lowered = name.lower()
        return any(key.lower() == lowered for key in self.context)


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    # Action names are case-insensitive (IAM JSON policy elements: Action).
    return any(_glob(p, action, case_sensitive=False) for p in patterns)


def resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(_glob(p, resource) for p in patterns)


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts is matched on its own (the resource part keeps
    its colons)."""
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return _glob(pattern, value)
    return all(_glob(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        number = _number(value)
        return datetime.fromtimestamp(number) if number is not None else None


def _single(op: str, policy_value: Any, request_value: Any) -> bool:
    """One operator on one policy value and one request value (neither negated)."""
    rv = request_value
    if op == "StringEquals":
        return isinstance(rv, str) and rv == str(policy_value)
    if op == "StringEqualsIgnoreCase":
        return isinstance(rv, str) and rv.lower() == str(policy_value).lower()
    if op == "StringLike":
        return isinstance(rv, str) and _glob(str(policy_value), rv)
    if op in ("ArnEquals", "ArnLike"):
        return isinstance(rv, str) and _arn_like(str(policy_value), rv)
    if op == "Bool":
        return _to_bool(rv) is not None and _to_bool(rv) == _to_bool(policy_value)
    if op.startswith("Numeric"):
        a, b = _number(rv), _number(policy_value)
        if a is None or b is None:
            return False
        return {
            "NumericEquals": a == b,
            "NumericLessThan": a < b,
            "NumericLessThanEquals": a <= b,
            "NumericGreaterThan": a > b,
            "NumericGreaterThanEquals": a >= b,
        }[op]
    if op.startswith("Date"):
        when, limit = _date(rv), _date(policy_value)
        if when is None or limit is None:
            return False
        return {
            "DateEquals": when == limit,
            "DateLessThan": when < limit,
            "DateLessThanEquals": when <= limit,
            "DateGreaterThan": when > limit,
            "DateGreaterThanEquals": when >= limit,
        }[op]
    if op == "IpAddress":
        try:
            return ipaddress.ip_address(str(rv)) in ipaddress.ip_network(str(policy_value), strict=False)
        except ValueError:
            return False
    if op == "BinaryEquals":
        return rv == policy_value
    raise UnsupportedCondition(op)


class UnsupportedCondition(ValueError):
    """An operator the emulator does not evaluate: refusing beats guessing (the caller fails loudly)."""


_OPERATORS = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
}

_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def condition_matches(operator: str, key: str, policy_values: Any, request: Request) -> bool:
    """One ``"Operator": {"key": values}`` entry of a Condition block."""
    qualifier = None
    op = operator
    if ":" in op:
        qualifier, op = op.split(":", 1)  # ForAnyValue / ForAllValues
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    values = [str(v) if not isinstance(v, (bool, int, float)) else v for v in _as_list(policy_values)]
    present = request.has_key(key)
    if op == "Null":
        # Null: "true" matches when the key is absent, "false" when it is present.
        want_absent = _to_bool(values[0]) if values else True
        return (not present) if want_absent else present
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _OPERATORS or qualifier not in (None, "ForAnyValue", "ForAllValues"):
        raise UnsupportedCondition(operator)  # even when the key is absent: never guess what an unknown operator means
    if not present:
        if qualifier == "ForAllValues":
            return True  # vacuously true for an empty set (documented pitfall)
        if qualifier == "ForAnyValue":
            return False
        return True if (if_exists or negated) else False
    raw = request.key(key)
    request_values = _as_list(raw)
    if qualifier is None and len(request_values) != 1:
        # A single-valued operator on a multivalued key: treat as "any" (how AWS matches lists loosely).
        qualifier = "ForAnyValue"

    def one(rv: Any) -> bool:
        hit = any(_single(base, pv, rv) for pv in values)
        return (not hit) if negated else hit

    if qualifier == "ForAllValues":
        return all(one(rv) for rv in request_values)
    if qualifier == "ForAnyValue":
        return any(one(rv) for rv in request_values)
    return one(request_values[0])


def conditions_match(conditions: dict | None, request: Request) -> bool:
    """Every operator and every key of the block must match (AND); values within one key are OR."""
    for operator, entries in (conditions or {}).items():
        for key, values in (entries or {}).items():
            if not condition_matches(operator, key, values, request):
                return False
    return True


def _principal_matches(spec: Any, principal: Principal) -> bool:
    """The Principal element of a resource policy against the caller."""
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            value = str(value)
            if kind == "AWS":
                if value == "*":
                    return True
                if principal.is_service:
                    continue
                # An account (12 digits or ...:root) names every principal of the account.
                if re.fullmatch(r"\d{12}", value) and value == principal.account:
                    return True
                if value.endswith(":root") and value.split(":")[4] == principal.account:
                    return True
                if value == principal.arn:
                    return True
            elif kind == "Service":
                if principal.service and principal.service == value:
                    return True
    return False


def names_account_root(spec: Any, account: str) -> bool:
    """A key-policy statement for the account root: it delegates the key's use to IAM policies."""
    if not isinstance(spec, dict):
        return False
    return any((str(v) == account or str(v) == f"arn:aws:iam::{account}:root") for v in _as_list(spec.get("AWS")))


@dataclass
class StatementMatch:
    effect: str  # "Allow" | "Deny"
    sid: str | None
    source: str  # which policy: "identity arn:...", "bucket policy ...", ...


def statement_applies(statement: dict, request: Request, *, resource_policy: bool) -> bool:
    if "Action" in statement and not action_matches(_as_list(statement["Action"]), request.action):
        return False
    if "NotAction" in statement and action_matches(_as_list(statement["NotAction"]), request.action):
        return False
    if "Resource" in statement and not resource_matches(_as_list(statement["Resource"]), request.resource):
        return False
    if "NotResource" in statement and resource_matches(_as_list(statement["NotResource"]), request.resource):
        return False
    if resource_policy:
        if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal):
            return False
        if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request.principal):
            return False
    return conditions_match(statement.get("Condition"), request)


def statements(document: Any) -> list[dict]:
    if not document:
        return []
    if isinstance(document, str):
        import json

        document = json.loads(document)
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]


def evaluate(
    document: Any, request: Request, *, source: str, resource_policy: bool = False
) -> tuple[list[StatementMatch], list[StatementMatch]]:
    """(denies, allows) of one policy document that apply to ``request``."""
    denies: list[StatementMatch] = []
    allows: list[StatementMatch] = []
    for statement in statements(document):
        if statement_applies(statement, request, resource_policy=resource_policy):
            match = StatementMatch(statement.get("Effect", "Allow"), statement.get("Sid"), source)
            (denies if match.effect == "Deny" else allows).append(match)
    return denies, allows
