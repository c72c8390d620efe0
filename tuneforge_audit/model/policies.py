"""What every part of the model shares: flags, readable names across stacks, policy statements as views
and facts, and the reasons on record (nag acknowledgements, checkov comments) that explain a wildcard."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from tuneforge_audit.acknowledgements import strip_rule
from tuneforge_audit.checklist.template import (
    as_list,
    render,
    target,
)

FAIL, REVIEW = "fail", "review"


def flag(level: str, message: str) -> dict:
    return {"level": level, "message": message}


class Names:
    """Readable names for template values. ``Fn::ImportValue`` of a CDK export is traced to the exporting
    stack's resource, so the Pipeline's ``<import:Tuneforge-dev-Foundation:ExportsOutput...>`` reads as
    ``<Tuneforge-dev-Foundation:StorageKeyBAA9457B.Arn>``."""

    def __init__(self, templates: dict[str, dict]):
        self.templates = templates
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in (template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name")
                if isinstance(name, str):
                    self.exports[name] = (stack, output.get("Value"))

    def resolve(self, value: Any) -> Any:
        """``value`` with every traceable import replaced by a Ref/GetAtt on ``<Stack>:<LogicalId>``."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if (
            set(value) == {"Fn::ImportValue"}
            and isinstance(value["Fn::ImportValue"], str)
            and value["Fn::ImportValue"] in self.exports
        ):
            stack, exported = self.exports[value["Fn::ImportValue"]]
            if isinstance(exported, dict) and "Ref" in exported:
                return {"Ref": f"{stack}:{exported['Ref']}"}
            if isinstance(exported, dict) and "Fn::GetAtt" in exported:
                att = exported["Fn::GetAtt"]
                lid, attr = (att[0], att[1]) if isinstance(att, list) else str(att).split(".", 1)
                return {"Fn::GetAtt": [f"{stack}:{lid}", attr]}
        return {k: self.resolve(v) for k, v in value.items()}

    def text(self, value: Any) -> str:
        return render(self.resolve(value))

    def resource_of(self, stack: str, value: Any) -> tuple[str, str] | None:
        """(stack, logical id) of the resource ``value`` points at, in this stack or through an import."""
        resolved = self.resolve(value)
        lid = target(resolved)
        if not lid:
            return None
        if ":" in lid and lid.split(":", 1)[0] in self.templates:
            other, lid = lid.split(":", 1)
            return other, lid
        return (stack, lid) if lid in self.templates[stack].get("Resources", {}) else None

    def key(self, stack: str, value: Any) -> str:
        """How a KMS key reference reads: ``<Stack>:<KeyId>`` for a customer-managed key of the assembly."""
        if value in (None, ""):
            return ""
        found = self.resource_of(stack, value)
        if found and self.templates[found[0]]["Resources"][found[1]].get("Type") == "AWS::KMS::Key":
            return f"{found[0]}:{found[1]}"
        return self.text(value)

    def is_cmk(self, stack: str, value: Any) -> bool:
        found = self.resource_of(stack, value)
        if found is not None:
            return self.templates[found[0]]["Resources"][found[1]].get("Type") == "AWS::KMS::Key"
        return self._alias_of_own_key(stack, value)

    def _alias_of_own_key(self, stack: str, value: Any) -> bool:
        """A key named by the ARN of its alias (what CDK writes for a bucket whose key another region's stack refers
        to, stacks/delivery_stack.py): an AWS::KMS::Alias of the stack with that name whose target is a key of it."""
        text = self.text(value)
        if ":alias/" not in text:
            return False
        name = "alias/" + text.split(":alias/", 1)[1]
        resources = self.templates.get(stack, {}).get("Resources", {})
        for alias in resources.values():
            p = alias.get("Properties") or {}
            if alias.get("Type") == "AWS::KMS::Alias" and p.get("AliasName") == name:
                target = self.resource_of(stack, p.get("TargetKeyId"))
                return target is not None and resources.get(target[1], {}).get("Type") == "AWS::KMS::Key"
        return False


def conditions(statement: dict, names: Names) -> list[str]:
    out = []
    for operator, block in sorted((statement.get("Condition") or {}).items()):
        if isinstance(block, dict):
            for key, value in sorted(block.items()):
                out.append(f"{operator} {key} = {', '.join(names.text(v) for v in as_list(value))}")
    return out


def statement_view(statement: dict, names: Names) -> dict:
    view = {
        "sid": statement.get("Sid", ""),
        "effect": statement.get("Effect", ""),
        "principals": sorted(names.text(p) if not isinstance(p, str) else p for p in _principal_values(statement)),
        "actions": sorted(str(a) for a in as_list(statement.get("Action"))),
        "not_actions": sorted(str(a) for a in as_list(statement.get("NotAction"))),
        "resources": [names.text(r) for r in as_list(statement.get("Resource"))],
        "not_resources": [names.text(r) for r in as_list(statement.get("NotResource"))],
        "conditions": conditions(statement, names),
    }
    return {k: v for k, v in view.items() if v or k in ("sid", "effect", "actions", "resources", "conditions")}


def _principal_values(statement: dict) -> list:
    principal = statement.get("Principal")
    if principal is None:
        return []
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [p for values in principal.values() for p in as_list(values)]
    return as_list(principal)


def statement_facts(prefix: str, view: dict) -> list[str]:
    """One line per (principal,) action and resource of a statement: what a diff can name exactly."""
    when = f" when {' and '.join(view['conditions'])}" if view.get("conditions") else ""
    who = [f"{p} " for p in view.get("principals", [])] or [""]
    acts = view.get("actions") or [f"NOT {a}" for a in view.get("not_actions", [])]
    res = view.get("resources") or [f"NOT {r}" for r in view.get("not_resources", [])] or ["(no resource)"]
    return [f"{prefix}: {view['effect']} {p}{a} on {r}{when}" for p in who for a in acts for r in res]


def acknowledgements_on(resource: dict) -> dict[str, str]:
    """rule id -> reason, from the resource's ``Metadata.cdk_nag.rules_to_suppress``."""
    meta = resource.get("Metadata") or {}
    return {
        strip_rule(str(e.get("id", ""))): str(e.get("reason", ""))
        for e in (meta.get("cdk_nag") or {}).get("rules_to_suppress") or []
    }


def checkov_skips_on(resource: dict) -> dict[str, str]:
    meta = resource.get("Metadata") or {}
    return {
        str(s.get("id", "")): str(s.get("comment") or "").strip() for s in (meta.get("checkov") or {}).get("skip") or []
    }


STATEMENT_REASONS = "tuneforge_statement_reasons"  # stacks/nag.py acknowledge_statements


def statement_reasons_on(resource: dict) -> dict[str, dict[str, str]]:
    """rule id -> Sid -> that statement's own reason, from ``Metadata.tuneforge_statement_reasons``."""
    meta = (resource.get("Metadata") or {}).get(STATEMENT_REASONS) or {}
    return {
        strip_rule(str(rule)): {str(sid): str(reason) for sid, reason in (by_sid or {}).items()}
        for rule, by_sid in meta.items()
        if isinstance(by_sid, dict)
    }


def wildcard_reason(holder: dict, kind: str, value: str, sid: str = "") -> tuple[str, str] | None:
    """(source, reason) that explains a wildcard ``kind`` ("Action" / "Resource") ``value`` of statement ``sid``
    of a policy held by ``holder``: the nag IAM5 acknowledgement of that exact finding (narrowed to the
    statement's own reason where ``acknowledge_statements`` recorded one), else a bare IAM5 / StarPermissions
    one, else the checkov skips commented on that policy. A per-statement reason counts only under an
    acknowledgement of its finding: it refines one, it does not stand in for one."""
    acks = acknowledgements_on(holder)
    per_statement = statement_reasons_on(holder)
    for rule in (f"AwsSolutions-IAM5[{kind}::{value}]", "AwsSolutions-IAM5", "Serverless-StarPermissions"):
        if acks.get(rule):
            if sid and sid in per_statement.get(rule, {}):
                return f"cdk-nag {rule}, statement {sid}", per_statement[rule][sid]
            return f"cdk-nag {rule}", acks[rule]
    skips = {check: comment for check, comment in checkov_skips_on(holder).items() if comment}
    if skips:
        return "checkov " + ", ".join(sorted(skips)), " / ".join(skips[c] for c in sorted(skips))
    return None


def names_statement(reason: str, sid: str, actions: list[str]) -> set[str]:
    """Which of ``sid`` and ``actions`` the reason names: the Sid as a word, an action in full, or an action
    pattern written in the reason (``ec2:Describe*``) that matches one of the actions."""
    named = {sid} if sid and re.search(rf"\b{re.escape(sid)}\b", reason) else set()
    written = re.findall(r"\b[a-z0-9-]+:[A-Za-z0-9*]+", reason)
    for action in actions:
        if any(
            fnmatch.fnmatchcase(action.lower(), w.lower()) or fnmatch.fnmatchcase(w.lower(), action.lower())
            for w in written
        ):
            named.add(action)
    return named


def unspecific(kind: str, value: str) -> bool:
    """A wildcard that names no resource ("*") or no action: its reason can only be about the statement's
    actions, which differ from statement to statement. A wildcard ARN's reason (why the id cannot be named)
    holds for every statement on that ARN."""
    return kind == "Action" or value == "*"


def reason_fits_statement(view: dict, reason: str, others: list[dict]) -> list[str]:
    """Problems with showing ``reason`` for statement ``view``: it names none of its Sid and actions, or it
    names a Sid or action of another statement of the policy that this one lacks (written for that one)."""
    problems = []
    if not names_statement(reason, view["sid"], view["actions"]):
        problems.append("names neither its Sid nor any of its actions")
    for other in others:
        foreign = names_statement(reason, other["sid"], [a for a in other["actions"] if a not in view["actions"]]) - {
            view["sid"]
        }
        if foreign:
            problems.append(
                f"was written for statement {other['sid'] or '(no Sid)'} too ({', '.join(sorted(foreign))})"
            )
    return problems


def wildcards(view: dict, holder: dict, where: str = "", others: list[dict] | None = None) -> list[dict]:
    """Every wildcard of an Allow statement, each with the reason on record (or a fail flag). ``others`` are
    the policy's other statements, against which a reason for an unspecific wildcard is checked."""
    if view["effect"] != "Allow":
        return []
    found = [("Action", a) for a in view.get("actions", []) + view.get("not_actions", []) if "*" in a]
    found += [("Resource", r) for r in view.get("resources", []) + view.get("not_resources", []) if "*" in r]
    if view.get("not_actions"):
        found.append(("Action", "NotAction " + ",".join(view["not_actions"])))
    out = []
    for kind, value in found:
        reason = wildcard_reason(holder, kind, value, view["sid"])
        if reason is None:
            flags = [
                flag(FAIL, f"{where}: wildcard {kind} {value} with no acknowledgement or checkov comment explaining it")
            ]
        else:
            flags = [flag(REVIEW, f"{where}: wildcard {kind} {value}: {reason[1]}")]
            if unspecific(kind, value):
                flags += [
                    flag(FAIL, f"{where}: the reason shown for wildcard {kind} {value} {p}")
                    for p in reason_fits_statement(view, reason[1], others or [])
                ]
        out.append(
            {
                "kind": kind,
                "value": value,
                "source": reason[0] if reason else "",
                "reason": reason[1] if reason else "",
                "flags": flags,
            }
        )
    return out
