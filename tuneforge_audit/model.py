"""The security model of a cloud assembly: a JSON-able dict built from the templates only.

``build_from_templates(templates)`` is pure (templates in, model out) so tests can feed it a mutated copy of a
real template; ``build(cdk_out)`` adds what only the assembly has: where each nag acknowledgement was attached
(construct metadata) and the scanner figures (nag's validation report, cfn-lint, checkov).

Every item that needs a reviewer's eyes carries ``flags``: ``{"level": "fail" | "review", "message": ...}``.

* ``fail``   -- a checklist property is broken or something is exposed with nothing on record that explains
                it: a wildcard grant with no acknowledgement or checkov comment, a data store or log group
                without a customer-managed key, a log group that never expires, ingress from 0.0.0.0/0, a
                route to the internet, a checklist violation, a failed scanner check;
* ``review`` -- accepted, with the reason on record shown next to it: a wildcard nag acknowledged or checkov
                skipped with a comment, an endpoint policy with ``Action "*"`` scoped by a condition, ...

``facts`` holds one canonical line per security-relevant fact, grouped by topic; ``diff.diff_models`` compares
two models through them.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tuneforge_audit import SCHEMA_VERSION, standing_cost
from tuneforge_audit.acknowledgements import audit, load_allowlist, pack_of, stack_artifacts, strip_rule
from tuneforge_audit.checklist import CHECKS
from tuneforge_audit.checklist.template import (
    as_list,
    props,
    referenced_ids,
    render,
    resources,
    statements,
    target,
)

FAIL, REVIEW = "fail", "review"
# REPORT.md shows this stage in full and every other as what differs from it: the stages share their code
# (config/tuneforge.yaml: "Stages differ in settings only"), so the rest would repeat it line for line.
FULL_STAGE = "dev"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def flag(level: str, message: str) -> dict:
    return {"level": level, "message": message}


def stage_of(stack: str) -> str:
    parts = stack.split("-")
    return parts[1] if len(parts) >= 3 else ""


# ----------------------------------------------------------------- cross-stack references


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
        return bool(found) and self.templates[found[0]]["Resources"][found[1]].get("Type") == "AWS::KMS::Key"


# ----------------------------------------------------------------- policy statements


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


# ----------------------------------------------------------------- reasons on record


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


# ----------------------------------------------------------------- IAM roles


def _role_users(stack: str, template: dict, role: str, names: Names, templates: dict[str, dict]) -> list[str]:
    """Resources (any stack) that name the role outside IAM: the functions, machines, rules, flow logs that use it."""
    users = []
    for other, t in templates.items():
        for lid, res in t.get("Resources", {}).items():
            if res.get("Type", "").startswith("AWS::IAM::"):
                continue
            refs = referenced_ids(names.resolve(props(res)))
            wanted = role if other == stack else f"{stack}:{role}"
            if wanted in refs:
                users.append(f"{res['Type'].removeprefix('AWS::')} {other + ':' if other != stack else ''}{lid}")
    return sorted(users)


def roles(stack: str, template: dict, names: Names, templates: dict[str, dict]) -> list[dict]:
    rs = resources(template, "AWS::IAM::Role")
    managed = resources(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    out = []
    for lid, role in rs.items():
        p = props(role)
        trust = [statement_view(s, names) for s in statements(p.get("AssumeRolePolicyDocument"))]
        trust_flags = []
        for view in trust:
            if view["effect"] == "Allow" and "*" in view.get("principals", []) and not view["conditions"]:
                trust_flags.append(flag(FAIL, f"{lid}: trust policy lets any principal assume the role"))
            external = [
                pr
                for pr in view.get("principals", [])
                if re.search(r"arn:[^:]*:iam::\d{12}:", pr) and not view["conditions"]
            ]
            if external:
                trust_flags.append(flag(REVIEW, f"{lid}: trusts accounts {external} without conditions"))
        policies = []
        for i, inline in enumerate(as_list(p.get("Policies"))):
            policies.append(
                ("inline", inline.get("PolicyName", f"inline {i}"), inline.get("PolicyDocument") or {}, role)
            )
        attached_ids = {target(a) for a in as_list(p.get("ManagedPolicyArns"))}
        for plid, policy in managed.items():
            if lid in {target(r) for r in as_list(props(policy).get("Roles"))} or plid in attached_ids:
                kind = (
                    "customer-managed" if policy["Type"] == "AWS::IAM::ManagedPolicy" else "inline (AWS::IAM::Policy)"
                )
                policies.append((kind, plid, props(policy).get("PolicyDocument") or {}, policy))
        aws_managed = []
        for arn in as_list(p.get("ManagedPolicyArns")):
            if target(arn) in managed:
                continue
            text = names.text(arn)
            aws_managed.append(
                {
                    "arn": text,
                    "flags": [flag(REVIEW, f"{lid}: managed policy {text} (its statements are not in the template)")],
                }
            )
        policy_views = []
        for kind, name, document, holder in policies:
            views = [statement_view(s, names) for s in statements(document)]
            for i, view in enumerate(views):
                view["wildcards"] = wildcards(
                    view,
                    holder,
                    f"{lid} {name}" + (f" {view['sid']}" if view["sid"] else ""),
                    others=views[:i] + views[i + 1 :],
                )
            policy_views.append({"name": name, "kind": kind, "statements": views})
        boundary = p.get("PermissionsBoundary")
        out.append(
            {
                "stack": stack,
                "id": lid,
                "name": names.text(p["RoleName"]) if p.get("RoleName") else "",
                "description": p.get("Description", ""),
                "assumed_by": sorted({pr for v in trust if v["effect"] == "Allow" for pr in v.get("principals", [])}),
                "trust": trust,
                "permissions_boundary": names.text(boundary) if boundary else "",
                "aws_managed_policies": aws_managed,
                "policies": policy_views,
                "used_by": _role_users(stack, template, lid, names, templates),
                "flags": trust_flags,
            }
        )
    return out


# ----------------------------------------------------------------- data stores and log groups


def _days(seconds: Any) -> str:
    try:
        return f"{int(seconds) / 86400:g} days"
    except (TypeError, ValueError):
        return str(seconds)


def _lifecycle(p: dict) -> list[str]:
    out = []
    for rule in as_list((p.get("LifecycleConfiguration") or {}).get("Rules")):
        if rule.get("Status") != "Enabled":
            continue
        where = f" under {rule['Prefix']}" if rule.get("Prefix") else ""
        if rule.get("ExpirationInDays"):
            out.append(f"objects expire after {rule['ExpirationInDays']} days{where}")
        if (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"):
            out.append(
                f"noncurrent versions expire after {rule['NoncurrentVersionExpiration']['NoncurrentDays']} days{where}"
            )
    return out


def _encryption_ack(resource: dict) -> tuple[str, str] | None:
    """A nag acknowledgement or checkov comment on the resource about its encryption."""
    for rule, reason in sorted(acknowledgements_on(resource).items()):
        if re.search(r"encrypt|kms|SSE", rule, re.I) and reason:
            return f"cdk-nag {rule}", reason
    return None


def data_stores(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in template.get("Resources", {}).items():
        t, p = res.get("Type"), props(res)
        key, encryption, retention, notes = "", "", [], []
        if t == "AWS::S3::Bucket":
            rule = (as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")) or [{}])[0]
            default = rule.get("ServerSideEncryptionByDefault") or {}
            algorithm = default.get("SSEAlgorithm")
            key = names.key(stack, default.get("KMSMasterKeyID"))
            if algorithm in ("aws:kms", "aws:kms:dsse"):
                encryption = f"SSE-KMS ({algorithm}){', bucket key' if rule.get('BucketKeyEnabled') else ''}" + (
                    "" if key else ", AWS managed key aws/s3"
                )
            elif algorithm == "AES256":
                encryption = "SSE-S3 (S3-managed keys)"
            else:
                encryption = "none configured"
            retention += _lifecycle(p)
            retention.append(f"versioning {(p.get('VersioningConfiguration') or {}).get('Status', 'off').lower()}")
            if (p.get("LoggingConfiguration") or {}).get("DestinationBucketName"):
                notes.append(f"access logs to {names.text(p['LoggingConfiguration']['DestinationBucketName'])}")
            block = p.get("PublicAccessBlockConfiguration") or {}
            if not all(
                block.get(k) is True
                for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
            ):
                notes.append("public access NOT fully blocked")
        elif t in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            sse = p.get("SSESpecification") or {}
            key = names.key(stack, sse.get("KMSMasterKeyId"))
            if str(sse.get("SSEEnabled")).lower() == "true":
                encryption = "KMS" + ("" if key else ", AWS managed key aws/dynamodb")
            else:
                encryption = "AWS owned key (default)"
            pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
            retention.append("point-in-time recovery on" if pitr else "point-in-time recovery off")
            ttl = p.get("TimeToLiveSpecification") or {}
            if ttl.get("Enabled"):
                retention.append(f"items expire by TTL attribute {ttl.get('AttributeName')}")
        elif t == "AWS::SQS::Queue":
            key = names.key(stack, p.get("KmsMasterKeyId"))
            encryption = (
                "SSE-KMS"
                if key
                else ("SSE-SQS (SQS-managed keys)" if p.get("SqsManagedSseEnabled") else "none configured")
            )
            retention.append(f"messages kept {_days(p.get('MessageRetentionPeriod', 345600))}")
        elif t == "AWS::SNS::Topic":
            key = names.key(stack, p.get("KmsMasterKeyId"))
            encryption = "SSE-KMS" if key else "none"
            retention.append("not stored (delivered to subscribers)")
        elif t == "AWS::StepFunctions::StateMachine":
            enc = p.get("EncryptionConfiguration") or {}
            key = names.key(stack, enc.get("KmsKeyId"))
            encryption = enc.get("Type", "AWS owned key (default)")
            retention.append("execution history kept 90 days by the service")
        elif t == "AWS::SSM::Parameter":
            encryption = "none (String parameter)" if p.get("Type", "String") != "SecureString" else "SecureString"
            notes.append(f"name {names.text(p.get('Name', ''))}")
        else:
            continue
        flags = []
        cmk = bool(key) and names.is_cmk(stack, _raw_key(t, p))
        if t == "AWS::SSM::Parameter":
            flags.append(
                flag(
                    REVIEW,
                    f"{lid}: plain String parameter, not encrypted: it must hold configuration only, never data or secrets",
                )
            )
        elif not cmk:
            explained = _encryption_ack(res)
            if explained:
                flags.append(
                    flag(REVIEW, f"{lid}: {encryption}, not a customer-managed key: {explained[1]} ({explained[0]})")
                )
            else:
                flags.append(
                    flag(
                        FAIL,
                        f"{lid}: {t.removeprefix('AWS::')} is not encrypted with a customer-managed key ({encryption})",
                    )
                )
        if "public access NOT fully blocked" in notes:
            flags.append(flag(FAIL, f"{lid}: public access is not fully blocked"))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": t.removeprefix("AWS::"),
                "name": names.text(
                    p.get("BucketName")
                    or p.get("TableName")
                    or p.get("QueueName")
                    or p.get("TopicName")
                    or p.get("StateMachineName")
                    or p.get("Name")
                    or ""
                ),
                "encryption": encryption,
                "key": key,
                "retention": retention,
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "notes": notes,
                "flags": flags,
            }
        )
    return out


def _raw_key(t: str, p: dict) -> Any:
    if t == "AWS::S3::Bucket":
        rule = (as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")) or [{}])[0]
        return (rule.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
    if t.startswith("AWS::DynamoDB::"):
        return (p.get("SSESpecification") or {}).get("KMSMasterKeyId")
    if t == "AWS::StepFunctions::StateMachine":
        return (p.get("EncryptionConfiguration") or {}).get("KmsKeyId")
    return p.get("KmsMasterKeyId")


def log_groups(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in resources(template, "AWS::Logs::LogGroup").items():
        p = props(res)
        key = names.key(stack, p.get("KmsKeyId"))
        flags = []
        if not names.is_cmk(stack, p.get("KmsKeyId")):
            flags.append(flag(FAIL, f"{lid}: log group is not encrypted with a customer-managed key"))
        if not p.get("RetentionInDays"):
            flags.append(flag(FAIL, f"{lid}: log group never expires (no RetentionInDays)"))
        writers = sorted(
            other
            for other, r in template.get("Resources", {}).items()
            if r.get("Type") in ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine", "AWS::EC2::FlowLog")
            and lid in referenced_ids(props(r))
        )
        out.append(
            {
                "stack": stack,
                "id": lid,
                "name": names.text(p.get("LogGroupName", "")),
                "key": key,
                "retention_days": p.get("RetentionInDays"),
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "written_by": writers,
                "flags": flags,
            }
        )
    return out


# ----------------------------------------------------------------- KMS keys


def keys(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in resources(template, "AWS::KMS::Key").items():
        p = props(res)
        views, flags = [], []
        for s in statements(p.get("KeyPolicy")):
            view = statement_view(s, names)
            view["flags"] = []
            if view["effect"] == "Allow" and "*" in view.get("principals", []):
                view["flags"].append(
                    flag(
                        FAIL if not view["conditions"] else REVIEW,
                        f"{lid}: key policy statement {view['sid']!r} allows Principal '*'"
                        + (f" when {' and '.join(view['conditions'])}" if view["conditions"] else ""),
                    )
                )
            if (
                view["effect"] == "Allow"
                and any(a in ("kms:*", "*") for a in view["actions"])
                and all(re.search(r":root$", pr) for pr in view.get("principals", []))
                and view.get("principals")
            ):
                view["flags"].append(
                    flag(
                        REVIEW,
                        f"{lid}: kms:* for the account root: key use is delegated to this account's IAM policies",
                    )
                )
            views.append(view)
        if p.get("EnableKeyRotation") is not True:
            flags.append(flag(FAIL, f"{lid}: key rotation is off"))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "description": p.get("Description", ""),
                "rotation": p.get("EnableKeyRotation") is True,
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "pending_window_days": p.get("PendingWindowInDays", 30),
                "statements": views,
                "flags": flags,
            }
        )
    return out


# ----------------------------------------------------------------- network


def _ports(rule: dict) -> str:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return "all traffic"
    start, end = rule.get("FromPort"), rule.get("ToPort")
    ports = "" if start is None else (f" {start}" if start == end else f" {start}-{end}")
    return f"{protocol}{ports}"


def _peer(rule: dict, names: Names, kind: str) -> str:
    for key in ("CidrIp", "CidrIpv6"):
        if rule.get(key):
            return str(rule[key])
    for key in ("SourceSecurityGroupId", "DestinationSecurityGroupId", "SourcePrefixListId", "DestinationPrefixListId"):
        if rule.get(key):
            return ("security group " if "SecurityGroup" in key else "prefix list ") + names.text(rule[key])
    return "?"


def network(stack: str, template: dict, names: Names) -> dict:
    vpcs = []
    flow_logged = {target(props(f).get("ResourceId")) for f in resources(template, "AWS::EC2::FlowLog").values()}
    restricted = {
        target(props(c).get("DefaultSecurityGroupId"))
        for c in resources(template, "Custom::VpcRestrictDefaultSG").values()
    }
    for lid, vpc in resources(template, "AWS::EC2::VPC").items():
        flags = []
        if lid not in flow_logged:
            flags.append(flag(FAIL, f"{lid}: no flow log"))
        if lid not in restricted:
            flags.append(flag(FAIL, f"{lid}: default security group not closed"))
        vpcs.append(
            {
                "stack": stack,
                "id": lid,
                "cidr": names.text(props(vpc).get("CidrBlock", "")),
                "flow_logs": lid in flow_logged,
                "default_sg_closed": lid in restricted,
                "flags": flags,
            }
        )

    tables: dict[str, list[str]] = {lid: [] for lid in resources(template, "AWS::EC2::RouteTable")}
    route_flags: dict[str, list[dict]] = {}
    for route in resources(template, "AWS::EC2::Route").values():
        p = props(route)
        destination = (
            p.get("DestinationCidrBlock")
            or p.get("DestinationIpv6CidrBlock")
            or names.text(p.get("DestinationPrefixListId", "?"))
        )
        via_key = next(
            (
                k
                for k in (
                    "GatewayId",
                    "NatGatewayId",
                    "TransitGatewayId",
                    "VpcPeeringConnectionId",
                    "InstanceId",
                    "NetworkInterfaceId",
                    "EgressOnlyInternetGatewayId",
                    "VpcEndpointId",
                    "CarrierGatewayId",
                    "LocalGatewayId",
                )
                if p.get(k)
            ),
            None,
        )
        via = f"{via_key.removesuffix('Id')} {names.text(p[via_key])}" if via_key else "?"
        table = target(p.get("RouteTableId")) or names.text(p.get("RouteTableId"))
        tables.setdefault(table, []).append(f"{destination} -> {via}")
        if destination in OPEN_CIDRS:
            route_flags.setdefault(table, []).append(flag(FAIL, f"{table}: default route {destination} -> {via}"))
    for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items():
        if props(ep).get("VpcEndpointType") == "Gateway":
            for table in as_list(props(ep).get("RouteTableIds")):
                tables.setdefault(target(table) or names.text(table), []).append(
                    f"prefix list of {names.text(props(ep).get('ServiceName'))} -> VPCEndpoint {lid}"
                )
    associations = {
        target(props(a).get("SubnetId")): target(props(a).get("RouteTableId"))
        for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    subnets = []
    for lid, subnet in resources(template, "AWS::EC2::Subnet").items():
        p = props(subnet)
        tags = {t.get("Key"): t.get("Value") for t in as_list(p.get("Tags"))}
        table = associations.get(lid, "")
        flags = list(route_flags.get(table, []))
        if p.get("MapPublicIpOnLaunch") is True:
            flags.append(flag(FAIL, f"{lid}: MapPublicIpOnLaunch is true"))
        subnets.append(
            {
                "stack": stack,
                "id": lid,
                "cidr": names.text(p.get("CidrBlock", "")),
                "az": names.text(p.get("AvailabilityZone", "")),
                "type": tags.get("aws-cdk:subnet-type", ""),
                "public_ip_on_launch": p.get("MapPublicIpOnLaunch") is True,
                "route_table": table,
                "routes": ["local"] + sorted(tables.get(table, [])),
                "flags": flags,
            }
        )
    gateways = [
        {
            "stack": stack,
            "id": lid,
            "type": res["Type"].removeprefix("AWS::EC2::"),
            "flags": [flag(FAIL, f"{lid}: {res['Type']} connects the VPC beyond its endpoints")],
        }
        for lid, res in resources(
            template,
            "AWS::EC2::InternetGateway",
            "AWS::EC2::NatGateway",
            "AWS::EC2::EgressOnlyInternetGateway",
            "AWS::EC2::TransitGatewayAttachment",
            "AWS::EC2::VPCPeeringConnection",
            "AWS::EC2::VPNGateway",
        ).items()
    ]

    endpoints = []
    for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items():
        p = props(ep)
        views, flags = [], []
        document = p.get("PolicyDocument")
        if not document:
            flags.append(flag(FAIL, f"{lid}: no endpoint policy (full access for any principal)"))
        for s in statements(document):
            view = statement_view(s, names)
            if view["effect"] == "Allow" and ("*" in view["actions"] or "*" in view["resources"]):
                if view["conditions"]:
                    flags.append(
                        flag(
                            REVIEW,
                            f"{lid}: endpoint policy allows {','.join(view['actions'])} on {','.join(view['resources'])} when {' and '.join(view['conditions'])}",
                        )
                    )
                elif "*" in view.get("principals", ["*"]):
                    flags.append(flag(FAIL, f"{lid}: endpoint policy allows any principal any action"))
            views.append(view)
        endpoints.append(
            {
                "stack": stack,
                "id": lid,
                "service": names.text(p.get("ServiceName", "")),
                "type": p.get("VpcEndpointType", "Gateway"),
                "private_dns": p.get("PrivateDnsEnabled") is True,
                "security_groups": sorted(names.text(g) for g in as_list(p.get("SecurityGroupIds"))),
                "subnets": len(as_list(p.get("SubnetIds"))),
                "route_tables": len(as_list(p.get("RouteTableIds"))),
                "policy": views,
                "flags": flags,
            }
        )

    groups = []
    for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items():
        groups.append(
            {"stack": stack, "id": lid, "description": props(sg).get("GroupDescription", ""), "rules": [], "flags": []}
        )
    by_id = {g["id"]: g for g in groups}
    for kind in ("Ingress", "Egress"):
        rules: list[tuple[str, str, dict]] = []
        for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items():
            rules += [
                (f"{lid}[{kind.lower()} {i}]", lid, rule)
                for i, rule in enumerate(as_list(props(sg).get(f"SecurityGroup{kind}")))
            ]
        rules += [
            (lid, target(props(rule).get("GroupId")) or names.text(props(rule).get("GroupId")), props(rule))
            for lid, rule in resources(template, f"AWS::EC2::SecurityGroup{kind}").items()
        ]
        for rule_id, owner, rule in rules:
            peer = _peer(rule, names, kind)
            flags = []
            if rule.get("CidrIp") == "255.255.255.255/32" and str(rule.get("IpProtocol")) == "icmp":
                description = f"{rule.get('Description', '')} (CDK's placeholder for no egress)".strip()
            else:
                description = rule.get("Description", "")
                if kind == "Ingress" and peer in OPEN_CIDRS:
                    flags.append(flag(FAIL, f"{rule_id}: ingress {_ports(rule)} from {peer} (anywhere)"))
                elif kind == "Egress" and peer in OPEN_CIDRS:
                    flags.append(flag(REVIEW, f"{rule_id}: egress {_ports(rule)} to {peer} (anywhere the routes lead)"))
            view = {
                "id": rule_id,
                "direction": kind.lower(),
                "protocol_ports": _ports(rule),
                "peer": peer,
                "description": description,
                "flags": flags,
            }
            group = by_id.get(owner)
            if group is None:
                group = {
                    "stack": stack,
                    "id": owner,
                    "description": "(group of another stack)",
                    "rules": [],
                    "flags": [],
                }
                by_id[owner] = group
                groups.append(group)
            group["rules"].append(view)
    for group in groups:
        if not str(group["description"]).strip() or re.fullmatch(r"[\w.:-]+(/[\w.:-]+)+", str(group["description"])):
            group["flags"].append(flag(FAIL, f"{group['id']}: security group has no description of its own"))
    nacls = [
        {
            "stack": stack,
            "id": lid,
            "rule": f"{'egress' if props(e).get('Egress') else 'ingress'} {props(e).get('RuleAction')} {props(e).get('CidrBlock') or props(e).get('Ipv6CidrBlock')} protocol {props(e).get('Protocol')}",
        }
        for lid, e in resources(template, "AWS::EC2::NetworkAclEntry").items()
    ]
    return {
        "vpcs": vpcs,
        "subnets": subnets,
        "gateways": gateways,
        "endpoints": endpoints,
        "security_groups": groups,
        "network_acl_entries": nacls,
    }


# ----------------------------------------------------------------- resource policies (who else may call in)


EXEMPTIONS = "tuneforge_exemptions"  # stacks/data_perimeter.py
EXEMPTING = ("ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike")


def exemptions(document: list[dict], holder: dict, names: Names, lid: str) -> list[dict]:
    """Principals a Deny statement leaves out (``aws:PrincipalArn`` under a negated operator), each with the
    reason written for it in the policy's metadata: a flag to read, or a failure when there is none."""
    written = {
        (str(e.get("sid", "")), names.text(e.get("principal"))): str(e.get("reason") or "").strip()
        for e in ((holder.get("Metadata") or {}).get(EXEMPTIONS) or [])
        if isinstance(e, dict)
    }
    out = []
    for statement in document:
        if statement.get("Effect") != "Deny":
            continue
        sid = statement.get("Sid", "")
        for operator in EXEMPTING:
            for key, value in ((statement.get("Condition") or {}).get(operator) or {}).items():
                if key.lower() != "aws:principalarn":
                    continue
                for principal in as_list(value):
                    who = names.text(principal)
                    reason = written.get((sid, who), "")
                    message = f"{lid} {sid}: {who} is exempt from this deny" + (
                        f": {reason}" if reason else " with no reason on record"
                    )
                    out.append(
                        {
                            "sid": sid,
                            "principal": who,
                            "reason": reason,
                            "flags": [flag(REVIEW if reason else FAIL, message)],
                        }
                    )
    return out


def resource_policies(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    holders = {"AWS::S3::BucketPolicy": "Bucket", "AWS::SQS::QueuePolicy": "Queues", "AWS::SNS::TopicPolicy": "Topics"}
    for lid, res in resources(template, *holders).items():
        p = props(res)
        on = ", ".join(names.text(v) for v in as_list(p.get(holders[res["Type"]])))
        views = [statement_view(s, names) for s in statements(p.get("PolicyDocument"))]
        flags = [
            flag(FAIL, f"{lid}: allows Principal '*' {','.join(v['actions'])} with no condition")
            for v in views
            if v["effect"] == "Allow" and "*" in v.get("principals", []) and not v["conditions"]
        ]
        exempt = exemptions(statements(p.get("PolicyDocument")), res, names, lid)
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": res["Type"].removeprefix("AWS::"),
                "on": on,
                "statements": views,
                "exemptions": exempt,
                "flags": flags,
            }
        )
    for lid, res in resources(template, "AWS::Lambda::Permission").items():
        p = props(res)
        view = {
            "sid": "",
            "effect": "Allow",
            "principals": [names.text(p.get("Principal"))],
            "actions": [str(p.get("Action"))],
            "resources": [names.text(p.get("FunctionName"))],
            "conditions": [
                c
                for c in (
                    f"SourceArn = {names.text(p['SourceArn'])}" if p.get("SourceArn") else "",
                    f"SourceAccount = {names.text(p['SourceAccount'])}" if p.get("SourceAccount") else "",
                )
                if c
            ],
        }
        flags = (
            [flag(FAIL, f"{lid}: any principal may invoke {view['resources'][0]}")]
            if view["principals"] == ["*"]
            else []
        )
        if not view["conditions"] and view["principals"] != ["*"] and view["principals"][0].endswith(".amazonaws.com"):
            flags.append(flag(FAIL, f"{lid}: {view['principals'][0]} may invoke {view['resources'][0]} for any source"))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": "Lambda::Permission",
                "on": view["resources"][0],
                "statements": [view],
                "flags": flags,
            }
        )
    for lid, res in resources(template, "AWS::Lambda::Url").items():
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": "Lambda::Url",
                "on": names.text(props(res).get("TargetFunctionArn")),
                "statements": [],
                "flags": [flag(FAIL, f"{lid}: function URL (auth {props(res).get('AuthType')})")],
            }
        )
    return out


# ----------------------------------------------------------------- acknowledgements and skips


def acknowledgements_from_templates(
    templates: dict[str, dict], logical_paths: dict[str, dict[str, str]] | None = None
) -> list[dict]:
    """Acknowledgements as the templates carry them (every resource inheriting one lists it), grouped by
    stack, rule and reason. ``build`` replaces them by the audited attachment points when it has cdk.out."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for stack, template in templates.items():
        for lid, res in template.get("Resources", {}).items():
            for rule, reason in acknowledgements_on(res).items():
                grouped.setdefault((stack, rule, reason), []).append(lid)
    return [
        {"stack": s, "path": ", ".join(sorted(lids)), "rule": rule, "pack": pack_of(rule) or "other", "reason": reason}
        for (s, rule, reason), lids in sorted(grouped.items())
    ]


def checkov_skips(templates: dict[str, dict]) -> list[dict]:
    return [
        {
            "stack": stack,
            "id": lid,
            "check": check,
            "comment": comment,
            "flags": [] if comment else [flag(FAIL, f"{lid}: checkov skip {check} without a comment")],
        }
        for stack, template in templates.items()
        for lid, res in template.get("Resources", {}).items()
        for check, comment in checkov_skips_on(res).items()
    ]


# ----------------------------------------------------------------- facts (what a diff compares)


def facts(model: dict) -> dict[str, list[str]]:
    f: dict[str, set[str]] = {
        k: set()
        for k in (
            "roles",
            "trust",
            "permissions",
            "encryption",
            "retention",
            "keys",
            "network",
            "resource policies",
            "suppressions",
        )
    }
    for role in model["roles"]:
        where = f"{role['stack']}/{role['id']}"
        f["roles"].add(where)
        for view in role["trust"]:
            f["trust"].update(statement_facts(f"{where} trust", view))
        if role["permissions_boundary"]:
            f["permissions"].add(f"{where}: permissions boundary {role['permissions_boundary']}")
        for managed in role["aws_managed_policies"]:
            f["permissions"].add(f"{where}: managed policy {managed['arn']}")
        for policy in role["policies"]:
            for view in policy["statements"]:
                f["permissions"].update(statement_facts(where, view))
    for store in model["data_stores"]:
        f["encryption"].add(
            f"{store['stack']}/{store['id']} ({store['type']}): {store['encryption']}{' with ' + store['key'] if store['key'] else ''}"
        )
        f["retention"].add(
            f"{store['stack']}/{store['id']} ({store['type']}): {'; '.join(store['retention']) or '-'}; DeletionPolicy {store['deletion_policy']}"
        )
    for group in model["log_groups"]:
        f["encryption"].add(
            f"{group['stack']}/{group['id']} (Logs::LogGroup): {'KMS with ' + group['key'] if group['key'] else 'CloudWatch Logs service key'}"
        )
        f["retention"].add(
            f"{group['stack']}/{group['id']} (Logs::LogGroup): {group['retention_days'] or 'never expires'} days; DeletionPolicy {group['deletion_policy']}"
        )
    for key in model["keys"]:
        where = f"{key['stack']}/{key['id']}"
        f["keys"].add(f"{where}: rotation {'on' if key['rotation'] else 'off'}")
        for view in key["statements"]:
            f["keys"].update(statement_facts(f"{where} key policy", view))
    net = model["network"]
    for subnet in net["subnets"]:
        f["network"].add(
            f"{subnet['stack']} subnet {subnet['id']} {subnet['cidr']} {subnet['type']}{' public IPs' if subnet['public_ip_on_launch'] else ''}"
        )
        f["network"].update(f"{subnet['stack']} subnet {subnet['id']} route {route}" for route in subnet["routes"])
    for gateway in net["gateways"]:
        f["network"].add(f"{gateway['stack']} {gateway['type']} {gateway['id']}")
    for ep in net["endpoints"]:
        where = f"{ep['stack']} endpoint {ep['service']} ({ep['type']}{', private DNS' if ep['private_dns'] else ''})"
        f["network"].add(where)
        for view in ep["policy"]:
            f["network"].update(statement_facts(f"{where} policy", view))
    for group in net["security_groups"]:
        for rule in group["rules"]:
            preposition = "from" if rule["direction"] == "ingress" else "to"
            f["network"].add(
                f"{group['stack']}/{group['id']} {rule['direction']} {rule['protocol_ports']} {preposition} {rule['peer']}"
            )
    for policy in model["resource_policies"]:
        for view in policy["statements"]:
            f["resource policies"].update(
                statement_facts(f"{policy['stack']}/{policy['id']} ({policy['type']} on {policy['on']})", view)
            )
    for stack, lid, rule in model["acknowledged_resources"]:
        f["suppressions"].add(f"{stack}/{lid} nag {rule}")
    for skip in model["checkov_skips"]:
        f["suppressions"].add(f"{skip['stack']} checkov {skip['check']} on {skip['id']}")
    return {k: sorted(v) for k, v in f.items()}


# ----------------------------------------------------------------- the whole model


def checklist(templates: dict[str, dict]) -> list[dict]:
    out = []
    for stack, template in templates.items():
        for name, violations in sorted(((n, CHECKS[n](template, stage_of(stack))) for n in CHECKS)):
            out.append(
                {
                    "stack": stack,
                    "check": name,
                    "violations": violations,
                    "flags": [flag(FAIL, f"checklist {name}: {v}") for v in violations],
                }
            )
    return out


def build_from_templates(
    templates: dict[str, dict],
    *,
    acknowledgements: list[dict] | None = None,
    figures: dict | None = None,
    source: str = "",
    standing: dict | None = None,
    provenance: dict | None = None,
) -> dict:
    """The model of ``templates`` (stack name -> template dict). Pure: no file, no subprocess. ``standing`` is the
    stages' standing cost (``standing_cost``), computed from the templates alone when not given."""
    templates = dict(sorted(templates.items()))
    names = Names(templates)
    model: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "source": source,
        "provenance": provenance or {},
        "stacks": {
            stack: {"stage": stage_of(stack), "resources": len(t.get("Resources", {}))}
            for stack, t in templates.items()
        },
        "roles": [],
        "data_stores": [],
        "log_groups": [],
        "keys": [],
        "network": {
            "vpcs": [],
            "subnets": [],
            "gateways": [],
            "endpoints": [],
            "security_groups": [],
            "network_acl_entries": [],
        },
        "resource_policies": [],
    }
    for stack, template in templates.items():
        model["roles"] += roles(stack, template, names, templates)
        model["data_stores"] += data_stores(stack, template, names)
        model["log_groups"] += log_groups(stack, template, names)
        model["keys"] += keys(stack, template, names)
        for part, items in network(stack, template, names).items():
            model["network"][part] += items
        model["resource_policies"] += resource_policies(stack, template, names)
    model["acknowledgements"] = (
        acknowledgements if acknowledgements is not None else acknowledgements_from_templates(templates)
    )
    # Per resource as the templates carry them, so both sides of a diff state them the same way whether or not
    # the attachment points were traced. CDK's own CloudFormation-Validate lint acknowledgements (on every
    # resource of a stack with literal AZs) are not security decisions and would drown the diff.
    model["acknowledged_resources"] = sorted(
        [stack, lid, rule]
        for stack, template in templates.items()
        for lid, res in template.get("Resources", {}).items()
        for rule in acknowledgements_on(res)
        if not rule.startswith("CloudFormation-Validate::")
    )
    model["checkov_skips"] = checkov_skips(templates)
    model["checklist"] = checklist(templates)
    model["figures"] = figures or {}
    model["standing_cost"] = standing if standing is not None else standing_cost.of_templates(templates)
    model["facts"] = facts(model)
    model["flags"] = collect_flags(model)
    stages = sorted({info["stage"] for info in model["stacks"].values() if info["stage"]})
    model["full_stage"] = FULL_STAGE if FULL_STAGE in stages else (stages[0] if stages else "")
    from tuneforge_audit.diff import diff_stages

    model["stage_differences"] = [
        diff_stages(model, model["full_stage"], stage) for stage in stages if stage != model["full_stage"]
    ]
    return model


def _walk_flags(value: Any, topic: str, stack: str = "") -> Iterable[dict]:
    if isinstance(value, dict):
        stack = value.get("stack", stack)
        for f in value.get("flags", []) if isinstance(value.get("flags"), list) else []:
            yield {"topic": topic, "stack": stack, **f}
        for k, v in value.items():
            if k != "flags":
                yield from _walk_flags(v, topic, stack)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_flags(v, topic, stack)


TOPICS = {
    "roles": "IAM roles",
    "data_stores": "Data stores",
    "log_groups": "Log groups",
    "keys": "KMS keys",
    "network": "Network",
    "resource_policies": "Resource policies",
    "checkov_skips": "Suppressions",
    "checklist": "Checklist",
    "figures": "Scanners",
}


def collect_flags(model: dict) -> list[dict]:
    seen, out = set(), []
    for part, topic in TOPICS.items():
        for f in _walk_flags(model.get(part), topic):
            key = (f["topic"], f["stack"], f["level"], f["message"])
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def assembly_acknowledgements(cdk_out: Path) -> tuple[list[dict], list[str]]:
    """Every nag acknowledgement at the construct it was attached to, with its reason, and the audit's problems."""
    allowlist = load_allowlist()
    # The allowlist's own well-formedness is the gates' business (they fail on it); the report only needs to
    # recognise CDK's framework acknowledgements, so entries it cannot read are left out here.
    allowlist["framework"] = [
        e for e in allowlist["framework"] if isinstance(e, dict) and "rule" in e and "reason" in e
    ]
    allowlist["acknowledgements"] = [
        e for e in allowlist["acknowledgements"] if isinstance(e, dict) and "rule" in e and "path" in e
    ]
    result = audit(Path(cdk_out), allowlist)
    acks = [
        {"stack": a.stack, "path": a.path, "rule": a.rule, "pack": pack_of(a.rule) or "other", "reason": a.reason}
        for a in result.acknowledgements
    ]
    return sorted(acks, key=lambda a: (a["stack"], a["path"], a["rule"])), result.problems


def cfn_lint_findings(lint: dict) -> list[dict]:
    """Every cfn-lint match below error level, and every error answered by a nag acknowledgement (gates.SAME_AS_NAG),
    per stack (``lint``: gates.run_cfn_lint's result)."""
    return [
        {"stack": stack, **m}
        for stack, result in sorted(lint.items())
        for m in result.matches
        if m["level"] != "Error" or m.get("acknowledged")
    ]


def scanner_figures(cdk_out: Path) -> dict:
    """nag (per pack), cfn-lint and checkov per stack, exactly as the security gates compute them, and every
    cfn-lint warning and informational match itself (the gates fail on errors only, so these are the ones a
    reviewer has to read)."""
    from tuneforge_audit.gates import PACKS, run_cfn_lint, run_gates, serverless_rules_available

    try:
        lint = run_cfn_lint(cdk_out)
        report = run_gates(cdk_out, lint=lint)
    except Exception as problem:  # a broken scanner or allowlist must not hide the rest of the report
        return {
            "error": f"{type(problem).__name__}: {problem}",
            "flags": [flag(FAIL, f"gates could not run: {type(problem).__name__}: {problem}")],
        }
    return {
        "packs": PACKS,
        "stacks": {
            row["stack"]: {
                "resources": row["resources"],
                "nag": {pack: {"acknowledged": a, "open": o} for pack, (a, o) in row["nag"].items()},
                "cfn_lint": {"errors": row["lint"][0], "warnings": row["lint"][1]},
                "checkov": {"passed": row["checkov"][0], "failed": row["checkov"][1], "skipped": row["checkov"][2]},
            }
            for row in report.rows
        },
        "cfn_lint_rules": "cfn-lint with the serverless rules (cfn_lint_serverless)"
        if serverless_rules_available()
        else "cfn-lint's own rules (cfn_lint_serverless not installed)",
        "cfn_lint_findings": cfn_lint_findings(lint),
        "failures": report.failures,
        "flags": [flag(FAIL, f"gate: {failure}") for failure in report.failures],
    }


def build(cdk_out: Path, *, scanners: bool = True) -> dict:
    """The model of a cloud assembly directory; ``scanners=False`` skips cfn-lint/checkov (figures left empty)."""
    cdk_out = Path(cdk_out).resolve()
    templates = {
        name: json.loads((cdk_out / a["properties"]["templateFile"]).read_text())
        for name, a in stack_artifacts(cdk_out).items()
    }
    acks, problems = assembly_acknowledgements(cdk_out)
    figures = scanner_figures(cdk_out) if scanners else {}
    if problems and not scanners:  # with scanners, run_gates already reports them as gate failures
        figures.setdefault("flags", []).extend(flag(FAIL, f"acknowledgement audit: {p}") for p in problems)
    standing = standing_cost.of_templates(templates, sources=standing_cost.asset_sources(cdk_out))
    from tuneforge_audit.provenance import of_checkout

    return build_from_templates(
        templates,
        acknowledgements=acks,
        figures=figures,
        source=str(cdk_out),
        standing=standing,
        provenance=of_checkout(),
    )
