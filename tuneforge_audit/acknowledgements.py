"""Audit of every cdk-nag acknowledgement and checkov skip in a cloud assembly (checklist property 25).

Where an acknowledgement was *attached* is not visible in a template: cdk-nag's
``WriteNagSuppressionsToCloudFormationAspect`` copies every acknowledgement of a construct *and of all its
ancestors* into each CfnResource's ``Metadata.cdk_nag.rules_to_suppress``. A stack-wide acknowledgement
therefore looks exactly like a resource one. So the audit traces each template entry back to its
attachment point through the stack's construct metadata (``<Stack>.metadata.json``, or the artifact's
inline ``metadata`` in manifest.json): entries of type ``aws:cdk:acknowledged-rules`` keyed by construct
path. The nearest ancestor of the resource that holds the rule id is where it was attached:

* the stack's root path          -> a stack-level acknowledgement: rejected;
* no ancestor at all             -> it came from the App (App metadata is written to no stack): rejected;
* a grouping construct           -> rejected: the attachment point must be a resource, i.e. a CfnResource
                                    (it has ``aws:cdk:logicalId``) or an L2 whose default child is one
                                    (``<path>/Resource`` has ``aws:cdk:logicalId``).

Reasons are judged mechanically (see ``reason_problems``). aws-cdk-lib itself acknowledges one rule of its
built-in CloudFormation validator on every stack that uses literal availability zones
(``CloudFormation-Validate::W3010``, "Avoid hardcoding availability zones"). It is a lint warning about
portability, not a security finding, and its text is CDK's own; it is listed under ``framework:`` in the
allowlist, is the only acknowledgement tolerated at stack level, is held to CDK's exact reason text (so a
human cannot smuggle anything in under that id), and is not counted as a nag acknowledgement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ALLOWLIST = Path(__file__).with_name("allowed_suppressions.yaml")
ACK_TYPE = "aws:cdk:acknowledged-rules"
NAG_PACK_PREFIXES = {
    "AwsSolutions-": "AwsSolutions",
    "NIST.800.53.R5-": "NIST 800-53 R5",
    "HIPAA.Security-": "HIPAA Security",
    "Serverless-": "Serverless",
}

MIN_REASON = 60
# A reason names the control that compensates: a technical control (encryption, TLS, conditions, tags, prefixes,
# endpoints, retention, alarms, ...) or an explicit least-privilege scope ("only this ...", "this account",
# "nothing else"). One of these terms must appear (case-insensitive).
CONTROL_TERMS = re.compile(
    r"encrypt|\bkms\b|customer-managed key|\btls\b|securetransport|versioning|point-in-time|retention|cloudtrail|"
    r"condition|request tag|\btags?\b|prefix|vpc endpoint|security group|internet route|public access|\bdeny|denies|"
    r"attached only|only to|least privilege|read-only|multi-az|bucket policy|permissions boundary|scoped to|"
    r"limited (?:to|by)|alarm|dead-letter|flow log|resource-level permissions|"
    # ...or an explicit least-privilege scope to this app's own resources
    r"only this|this stage's|this account|nothing else|nowhere else",
    re.I,
)


@dataclass(frozen=True)
class Acknowledgement:
    stack: str
    path: str  # construct path where it was attached, without the leading "/"; "" for the App
    rule: str
    reason: str


@dataclass
class AuditResult:
    acknowledgements: set[Acknowledgement] = field(default_factory=set)
    framework: set[Acknowledgement] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    checkov_skips: list[tuple[str, str, str, str]] = field(default_factory=list)  # stack, logical id, check id, comment


def strip_rule(rule_id: str) -> str:
    """``Annotation::AwsSolutions-S1`` / ``AwsSolutions::AwsSolutions-S1`` -> ``AwsSolutions-S1``."""
    rule_id = re.sub(r"^annotation::", "", rule_id, flags=re.I)
    head, sep, tail = rule_id.partition("::")
    if sep and any(tail.startswith(prefix) for prefix in NAG_PACK_PREFIXES):
        return tail
    return rule_id


def pack_of(rule_id: str) -> str | None:
    return next((pack for prefix, pack in NAG_PACK_PREFIXES.items() if strip_rule(rule_id).startswith(prefix)), None)


def reason_problems(reason: str) -> list[str]:
    """Mechanical bar for a reason: a full sentence (>= 60 characters, capital first, final period) that
    names a control (one of CONTROL_TERMS). Length and the period keep out "n/a" and "needed"; the
    control term makes the writer say what compensates instead of why the rule is inconvenient."""
    problems = []
    text = reason.strip()
    if len(text) < MIN_REASON:
        problems.append(f"shorter than {MIN_REASON} characters")
    if not text.endswith("."):
        problems.append("does not end with a period")
    if not text[:1].isupper():
        problems.append("does not start with a capital letter")
    if not CONTROL_TERMS.search(text):
        problems.append("names no compensating control")
    return problems


# ----------------------------------------------------------------- cloud assembly


def stack_artifacts(cdk_out: Path) -> dict[str, dict]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    return {name: a for name, a in manifest.get("artifacts", {}).items() if a.get("type") == "aws:cloudformation:stack"}


def construct_metadata(cdk_out: Path, artifact: dict) -> dict[str, list[dict]]:
    metadata = dict(artifact.get("metadata") or {})
    extra = artifact.get("additionalMetadataFile")
    if extra and (cdk_out / extra).exists():
        for path, entries in json.loads((cdk_out / extra).read_text()).items():
            metadata.setdefault(path, []).extend(entries)
    return metadata


def load_templates(cdk_out: Path) -> dict[str, dict]:
    return {
        name: json.loads((cdk_out / a["properties"]["templateFile"]).read_text())
        for name, a in stack_artifacts(cdk_out).items()
    }


def _stage_pattern(text: str) -> re.Pattern:
    """Allowlist strings: ``{stage}``, ``{account}``, ``{region}`` placeholders, and ``{hash}`` for the 8-character
    suffix CDK gives a logical id (in a finding that names a resource whose logical id holds the stage's name);
    everything else literal."""
    pieces = re.split(r"(\{stage\}|\{account\}|\{region\}|\{hash\})", text)
    regex = "".join(
        {
            "{stage}": r"[A-Za-z0-9]+",
            "{account}": r"\d{12}",
            "{region}": r"[a-z]{2}(?:-[a-z]+)+-\d",
            "{hash}": r"[0-9A-F]{8}",
        }.get(p, re.escape(p))
        for p in pieces
    )
    return re.compile(rf"^{regex}$")


def load_allowlist(path: Path = ALLOWLIST) -> dict:
    data = yaml.safe_load(path.read_text())
    return {"acknowledgements": data.get("acknowledgements") or [], "framework": data.get("framework") or []}


class _CompiledAllowlist:
    """The allowlist's entries as patterns, and which of them some acknowledgement matched (the rest are stale)."""

    def __init__(self, allowlist: dict):
        self.framework = [(_stage_pattern(e["rule"]), e["reason"]) for e in allowlist["framework"]]
        self.entries = [
            (_stage_pattern(e["path"]), _stage_pattern(e["rule"]), e) for e in allowlist["acknowledgements"]
        ]
        self.used: set[int] = set()

    def is_framework(self, ack: Acknowledgement) -> bool:
        return any(rule.match(ack.rule) and ack.reason == reason for rule, reason in self.framework)

    def admits(self, path: str, rule: str) -> bool:
        matches = [i for i, (p, r, _) in enumerate(self.entries) if p.match(path) and r.match(rule)]
        self.used.update(matches)
        return bool(matches)

    def stale(self, framework_found: set[Acknowledgement]) -> list[str]:
        problems = [
            f"allowed_suppressions.yaml: stale entry {entry['rule']} on {entry['path']} matches no acknowledgement"
            for i, (_, _, entry) in enumerate(self.entries)
            # An entry with `when:` is for a configuration the bundled one does not have (that text says which).
            if i not in self.used and not entry.get("when")
        ]
        problems += [
            f"allowed_suppressions.yaml: stale framework entry {rule_pattern.pattern}"
            for rule_pattern, _ in self.framework
            if not any(rule_pattern.match(a.rule) for a in framework_found)
        ]
        return problems


@dataclass(frozen=True)
class _StackConstructs:
    logical_paths: dict[str, str]  # logical id -> construct path (no leading "/")
    attached: dict[str, dict[str, str]]  # construct path -> {rule: reason} acknowledged there
    resource_paths: frozenset[str]  # construct paths of the stack's CfnResources

    @classmethod
    def of(cls, metadata: dict[str, list[dict]]) -> _StackConstructs:
        logical_paths = {
            e["data"]: path.lstrip("/")
            for path, es in metadata.items()
            for e in es
            if e.get("type") == "aws:cdk:logicalId"
        }
        attached: dict[str, dict[str, str]] = {}
        for path, es in metadata.items():
            for e in es:
                if e.get("type") == ACK_TYPE and isinstance(e.get("data"), dict):
                    for rule, reason in e["data"].items():
                        attached.setdefault(path.lstrip("/"), {})[strip_rule(rule)] = reason
        return cls(logical_paths, attached, frozenset(logical_paths.values()))

    def is_resource(self, path: str) -> bool:
        return path in self.resource_paths or f"{path}/Resource" in self.resource_paths

    def attachment_point(self, logical_id: str, rule: str) -> str | None:
        """The nearest construct above the resource (itself included) where ``rule`` was acknowledged."""
        path = self.logical_paths.get(logical_id, "")
        while path:
            if rule in self.attached.get(path, {}):
                return path
            path = path.rpartition("/")[0]
        return None


def _audit_attachments(
    stack: str, constructs: _StackConstructs, allowlist: _CompiledAllowlist, result: AuditResult
) -> None:
    """Every acknowledgement recorded in construct metadata: where it sits and what it says."""
    for path, rules in constructs.attached.items():
        for rule, reason in rules.items():
            ack = Acknowledgement(stack, path, rule, reason)
            if allowlist.is_framework(ack):
                result.framework.add(ack)
                continue
            result.acknowledgements.add(ack)
            where = f"{stack}: {rule} on {path}"
            if path == stack:
                result.problems.append(
                    f"{where}: acknowledged on the whole stack; attach it to the one resource it is about"
                )
            elif not constructs.is_resource(path):
                result.problems.append(f"{where}: attached to a grouping construct, not to a resource")
            result.problems += [f"{where}: reason {p}: {reason!r}" for p in reason_problems(reason)]
            if not allowlist.admits(path, rule):
                result.problems.append(f"{where}: not in tuneforge_audit/allowed_suppressions.yaml")


def _audit_template_entries(
    stack: str, template: dict, constructs: _StackConstructs, allowlist: _CompiledAllowlist, result: AuditResult
) -> None:
    """Every nag entry a template carries traces back to an attachment point; every checkov skip has a comment."""
    for lid, resource in template.get("Resources", {}).items():
        meta = resource.get("Metadata") or {}
        for entry in (meta.get("cdk_nag") or {}).get("rules_to_suppress") or []:
            rule, reason = strip_rule(str(entry.get("id", ""))), str(entry.get("reason", ""))
            if constructs.attachment_point(lid, rule) is not None:
                continue
            ack = Acknowledgement(stack, "", rule, reason)
            if allowlist.is_framework(ack):
                result.framework.add(ack)
                continue
            result.problems.append(
                f"{stack}: {rule} on {lid} comes from no construct of the stack: an App-level acknowledgement"
            )
            result.problems += [f"{stack}: {rule} (App level): reason {p}: {reason!r}" for p in reason_problems(reason)]
        for skip in (meta.get("checkov") or {}).get("skip") or []:
            comment = str(skip.get("comment") or "").strip()
            result.checkov_skips.append((stack, lid, str(skip.get("id", "")), comment))
            if not comment:
                result.problems.append(f"{stack}: checkov skip {skip.get('id')} on {lid} has no comment")


def audit(cdk_out: Path, allowlist: dict | None = None) -> AuditResult:
    cdk_out = Path(cdk_out)
    compiled = _CompiledAllowlist(allowlist or load_allowlist())
    result = AuditResult()
    for stack, artifact in stack_artifacts(cdk_out).items():
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        constructs = _StackConstructs.of(construct_metadata(cdk_out, artifact))
        _audit_attachments(stack, constructs, compiled, result)
        _audit_template_entries(stack, template, constructs, compiled, result)
    result.problems += compiled.stale(result.framework)
    return result


def acknowledged_per_pack(result: AuditResult) -> dict[str, dict[str, int]]:
    """stack -> pack -> number of acknowledgements (one per attachment point and rule id)."""
    counts: dict[str, dict[str, int]] = {}
    for ack in result.acknowledgements:
        pack = pack_of(ack.rule)
        if pack:
            counts.setdefault(ack.stack, {}).setdefault(pack, 0)
            counts[ack.stack][pack] += 1
    return counts
