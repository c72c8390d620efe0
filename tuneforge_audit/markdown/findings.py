"""The sections on what was checked: the checklist, acknowledgements and checkov skips, the scanner figures."""

from __future__ import annotations

from tuneforge_audit.markdown.cells import MARK, code, esc, marks, table
from tuneforge_audit.model import FAIL, REVIEW


def checklist(model: dict) -> list[str]:
    lines = [
        "## Checklist",
        "",
    ]
    stacks = list(model["stacks"])
    names = sorted({c["check"] for c in model["checklist"]})
    lines[2:2] = [
        f"The {len(names)} template properties of the security checklist (`tuneforge_audit/checklist/`), per stack.",
        "",
    ]
    result = {(c["stack"], c["check"]): c["violations"] for c in model["checklist"]}
    lines += table(
        ["Property", *stacks],
        [
            [n, *(("✅" if not result.get((s, n)) else f"{MARK[FAIL]} {len(result[(s, n)])}") for s in stacks)]
            for n in names
        ],
    )
    violations = [(c["stack"], c["check"], v) for c in model["checklist"] for v in c["violations"]]
    if violations:
        lines += table(["Stack", "Property", "Violation"], [[s, n, f"{MARK[FAIL]} {v}"] for s, n, v in violations])
    return lines


def suppressions(model: dict) -> list[str]:
    lines = [
        "## Acknowledgements and skips",
        "",
        f"### cdk-nag acknowledgements ({len(model['acknowledgements'])})",
        "",
        "Each at the construct it was attached to (traced through the stack's construct metadata), with its reason.",
        "",
    ]
    lines += table(
        ["Stack", "Attached to", "Rule", "Pack", "Reason"],
        [[a["stack"], code(a["path"]), code(a["rule"]), a["pack"], a["reason"]] for a in model["acknowledgements"]],
    )
    lines += [f"### checkov skips ({len(model['checkov_skips'])})", ""]
    lines += table(
        ["", "Stack", "Resource", "Check", "Comment"],
        [
            [marks(s["flags"]), s["stack"], code(s["id"]), s["check"], s["comment"] or f"{MARK[FAIL]} no comment"]
            for s in model["checkov_skips"]
        ],
    )
    return lines


def scanners(model: dict) -> list[str]:
    figures = model.get("figures") or {}
    lines = ["## Scanner figures", ""]
    if not figures.get("stacks"):
        return (
            lines
            + ["Not run for this report.", ""]
            + [f"- {MARK[f['level']]} {esc(f['message'])}" for f in figures.get("flags", [])]
            + [""]
        )
    packs = figures["packs"]
    lines += [
        "cdk-nag: acknowledged / open findings per pack (open findings stop the synth). cfn-lint: errors / warnings. checkov: passed / failed / skipped.",
        "",
    ]
    lines += table(
        ["Stack", "Resources", *packs, "cfn-lint E / W", "checkov P / F / S"],
        [
            [
                stack,
                f["resources"],
                *(f"{f['nag'][p]['acknowledged']} / {f['nag'][p]['open']}" for p in packs),
                f"{f['cfn_lint']['errors']} / {f['cfn_lint']['warnings']}",
                f"{f['checkov']['passed']} / {f['checkov']['failed']} / {f['checkov']['skipped']}",
            ]
            for stack, f in figures["stacks"].items()
        ],
    )
    lines += [f"- {MARK[FAIL]} {esc(failure)}" for failure in figures.get("failures", [])] + (
        [""] if figures.get("failures") else []
    )
    findings = figures.get("cfn_lint_findings", [])
    lines += [
        f"### cfn-lint warnings and informational findings ({len(findings)})",
        "",
        f"Rules: {esc(figures.get('cfn_lint_rules', 'cfn-lint'))}. Errors fail the gates; these do not, so each is listed. An error of a serverless rule that is "
        "the same check as a cdk-nag Serverless rule acknowledged on that resource is listed with nag's reason (`tuneforge_audit/gates.py` `SAME_AS_NAG`).",
        "",
    ]
    lines += table(
        ["", "File", "Level", "Rule", "Resource", "Line", "Message"],
        [
            [
                MARK[REVIEW] if f.get("acknowledged") else "",
                f["file"],
                f["level"] + (" (acknowledged)" if f.get("acknowledged") else ""),
                code(f["rule"]),
                code(f["resource"]),
                f["line"] or "–",
                f["message"]
                + (
                    f" — acknowledged as cdk-nag {f['acknowledged']['rule']} on {f['acknowledged']['on']}: {f['acknowledged']['reason']}"
                    if f.get("acknowledged")
                    else ""
                ),
            ]
            for f in findings
        ],
    )
    return lines
