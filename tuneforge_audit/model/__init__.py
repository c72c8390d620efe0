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

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lambdas.domain.names import DELIVERY_STACK_NAME
from tuneforge_audit import SCHEMA_VERSION, standing_cost
from tuneforge_audit.acknowledgements import audit, load_allowlist, pack_of, stack_artifacts
from tuneforge_audit.checklist import CHECKS
from tuneforge_audit.model.facts import facts
from tuneforge_audit.model.identity import keys, resource_policies, roles
from tuneforge_audit.model.network import network
from tuneforge_audit.model.policies import FAIL, Names, acknowledgements_on, checkov_skips_on, flag
from tuneforge_audit.model.policies import REVIEW as REVIEW  # the flag levels, for the report's writers
from tuneforge_audit.model.storage import data_stores, log_groups

# REPORT.md shows this stage in full and every other as what differs from it: the stages share their code
# (config/tuneforge.yaml: "Stages differ in settings only"), so the rest would repeat it line for line.
FULL_STAGE = "dev"


def stage_of(stack: str) -> str:
    """The stage of a ``Tuneforge-<stage>-<Stack>`` stack; "" for the delivery pipeline's stacks (Tuneforge-Delivery
    and its artifact bucket in another region, Tuneforge-Delivery-<region>), which belong to no stage."""
    if stack == DELIVERY_STACK_NAME or stack.startswith(f"{DELIVERY_STACK_NAME}-"):
        return ""
    parts = stack.split("-")
    return parts[1] if len(parts) >= 3 else ""


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


# ----------------------------------------------------------------- the whole model


def checklist(templates: dict[str, dict]) -> list[dict]:
    """The checklist over the stages' stacks. The delivery pipeline's stack (Tuneforge-Delivery, no stage in its
    name) is held to the nag packs, cfn-lint and checkov instead: properties such as the VPC-endpoint perimeter of
    the stage's buckets or a key that decrypts for the stage only are about a stage's data, and CodePipeline and
    CodeBuild reach the artifact bucket from outside any VPC on behalf of the stage accounts."""
    out = []
    for stack, template in templates.items():
        if not stage_of(stack):
            continue
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
