"""The security gates over a synthesized cloud assembly, with a one-screen summary.

    python -m tuneforge_audit.gates --cdk-out cdk.out

Runs, per stack template:
* cdk-nag: open findings from ``validation-report.json`` (synth already refuses to finish with any), and
  acknowledged findings per pack, counted from the templates' ``cdk_nag.rules_to_suppress`` metadata traced
  back to where each was attached (one per attachment point and rule id, so an acknowledgement on an L2
  bucket counts once, not once per CfnResource that inherits it; see acknowledgements.py);
* the acknowledgements audit (allowlist, scope, reasons; checklist property 25);
* cfn-lint, with the awslabs serverless rules when ``cfn_lint_serverless`` is importable;
* checkov (``.venv-checkov/bin/checkov``, or $CHECKOV_BIN), offline (``--skip-download``).

Exit status is non-zero on any cfn-lint error, checkov failure, checkov skip without a comment, open nag
finding or acknowledgement-audit problem (``make gates`` and ``make demo`` run it). The report
(``tuneforge_audit.model``) and tests/security/test_*.py import these functions.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tuneforge_audit.acknowledgements import (
    NAG_PACK_PREFIXES,
    acknowledged_per_pack,
    audit,
    stack_artifacts,
    strip_rule,
)

ROOT = Path(__file__).resolve().parents[1]  # the checkout, whose .venv-checkov holds checkov
PACKS = list(NAG_PACK_PREFIXES.values())
Result = TypeVar("Result")


def template_paths(cdk_out: Path) -> dict[str, Path]:
    return {
        name: Path(cdk_out) / a["properties"]["templateFile"]
        for name, a in sorted(stack_artifacts(Path(cdk_out)).items())
    }


# ----------------------------------------------------------------- cfn-lint


@dataclass
class LintResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    informational: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # errors SAME_AS_NAG answers with nag's acknowledgement
    # Every match as cfn-lint reported it (file, level, rule id, resource, path, message), for the report.
    matches: list[dict] = field(default_factory=list)


# The serverless rules that are the same check as a rule of cdk-nag's Serverless pack: awslabs serverless-rules
# documents each rule once with its cfn-lint id ("Lambda Async Failure Destination", cfn-lint ES1007; "SQS Redrive
# Policy", cfn-lint ES6000: https://awslabs.github.io/serverless-rules/rules/lambda/async_failure_destination/ and
# .../rules/sqs/redrive_policy/, read 2026-12-06), and cdk-nag implements them as LambdaAsyncFailureDestination and
# SQSRedrivePolicy. Where nag's rule is acknowledged on the resource (scoped, allowlisted and with a reason naming
# its control: acknowledgements.py), cfn-lint's finding is that same decision: it is listed with nag's reason and
# does not fail. Anywhere else it fails as any cfn-lint error does.
SAME_AS_NAG = {"ES1007": "Serverless-LambdaAsyncFailureDestination", "ES6000": "Serverless-SQSRedrivePolicy"}


def _nag_reason(template: dict, rule: str, logical_id: str) -> tuple[str, str] | None:
    """(resource, reason) of the nag acknowledgement that answers cfn-lint's ``rule`` on ``logical_id``: on the
    resource itself, or for a Lambda permission (ES1007 names the permission) on the function it lets be invoked."""
    resources = template.get("Resources", {})
    resource = resources.get(logical_id) or {}
    holders = [logical_id]
    if resource.get("Type") == "AWS::Lambda::Permission":
        function = (resource.get("Properties") or {}).get("FunctionName")
        ref = function.get("Ref") if isinstance(function, dict) else None
        att = function.get("Fn::GetAtt") if isinstance(function, dict) else None
        holders = [h for h in (ref, att[0] if isinstance(att, list) else None) if h]
    for holder in holders:
        for entry in ((resources.get(holder) or {}).get("Metadata") or {}).get("cdk_nag", {}).get(
            "rules_to_suppress"
        ) or []:
            if strip_rule(str(entry.get("id", ""))) == SAME_AS_NAG[rule] and str(entry.get("reason", "")).strip():
                return holder, str(entry["reason"])
    return None


def serverless_rules_available() -> bool:
    return importlib.util.find_spec("cfn_lint_serverless") is not None


def run_cfn_lint(cdk_out: Path) -> dict[str, LintResult]:
    paths = template_paths(cdk_out)
    # The console script of the running interpreter's environment (cfn-lint has no `python -m` entry point).
    script = Path(sys.executable).parent / "cfn-lint"
    command = [str(script) if script.exists() else (shutil.which("cfn-lint") or "cfn-lint"), "--format", "json"]
    if serverless_rules_available():
        command += ["--append-rules", "cfn_lint_serverless.rules"]
    completed = subprocess.run([*command, "--", *map(str, paths.values())], capture_output=True, text=True)
    # Exit status is a bit mask of the levels found (2 error, 4 warning, 8 informational); anything else,
    # or output that is not the JSON list of matches, means cfn-lint itself failed.
    try:
        matches = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        matches = None
    if completed.returncode & ~0b1110 or not isinstance(matches, list):
        raise RuntimeError(f"cfn-lint did not run (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")
    by_file = {str(path.resolve()): name for name, path in paths.items()}
    templates = {name: json.loads(path.read_text()) for name, path in paths.items()}
    results = {name: LintResult() for name in paths}
    for match in matches:
        name = by_file.get(str(Path(match["Filename"]).resolve()), match["Filename"])
        where = "/".join(str(p) for p in match["Location"].get("Path") or [])
        line = f"{match['Rule']['Id']} {where}: {match['Message']}"
        bucket = {"Error": "errors", "Warning": "warnings"}.get(match["Level"], "informational")
        path = match["Location"].get("Path") or []
        answered = None
        if bucket == "errors" and match["Rule"]["Id"] in SAME_AS_NAG and len(path) > 1 and name in templates:
            answered = _nag_reason(templates[name], match["Rule"]["Id"], str(path[1]))
        if answered:
            bucket, line = (
                "acknowledged",
                f"{line} (acknowledged as cdk-nag {SAME_AS_NAG[match['Rule']['Id']]} on {answered[0]}: {answered[1]})",
            )
        result = results.setdefault(name, LintResult())
        getattr(result, bucket).append(line)
        result.matches.append(
            {
                "file": Path(match["Filename"]).name,
                "level": match["Level"],
                "rule": match["Rule"]["Id"],
                "resource": str(path[1]) if len(path) > 1 and path[0] == "Resources" else "",
                "path": where,
                "line": (match["Location"].get("Start") or {}).get("LineNumber"),
                "message": match["Message"],
                **(
                    {
                        "acknowledged": {
                            "rule": SAME_AS_NAG[match["Rule"]["Id"]],
                            "on": answered[0],
                            "reason": answered[1],
                        }
                    }
                    if answered
                    else {}
                ),
            }
        )
    return results


# ----------------------------------------------------------------- checkov


@dataclass
class CheckovResult:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # check id, resource, comment


def checkov_binary() -> Path:
    return Path(os.environ.get("CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))


def run_checkov(cdk_out: Path) -> dict[str, CheckovResult]:
    binary = checkov_binary()
    if not binary.exists():
        raise RuntimeError(f"checkov is not installed at {binary}; run `make .venv-checkov/.installed`")
    cdk_out = Path(cdk_out).resolve()  # checkov runs inside cdk_out: a relative path would resolve twice
    paths = template_paths(cdk_out)
    command = [str(binary), "--framework", "cloudformation", "--output", "json", "--skip-download", "--compact"]
    for path in paths.values():
        command += ["-f", str(path)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_FORMATTING": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(cdk_out))
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise RuntimeError(f"checkov did not run (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_file = {path.name: name for name, path in paths.items()}
    results = {name: CheckovResult() for name in paths}
    for report in reports:
        if report.get("check_type") not in (None, "cloudformation"):
            continue
        checks = report.get("results") or {}
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in checks.get(kind, []):
                name = by_file.get(Path(check["file_path"]).name, check["file_path"])
                result = results.setdefault(name, CheckovResult())
                if kind == "passed_checks":
                    result.passed += 1
                elif kind == "failed_checks":
                    result.failed.append(f"{check['check_id']} {check['resource']}: {check['check_name']}")
                else:
                    comment = str((check.get("check_result") or {}).get("suppress_comment") or "").strip()
                    result.skipped.append((check["check_id"], check["resource"], comment))
    return results


# ----------------------------------------------------------------- cdk-nag


def open_nag_findings(cdk_out: Path) -> dict[str, dict[str, list[str]]]:
    """stack -> pack -> violations still open in validation-report.json (empty after a successful synth)."""
    report_path = Path(cdk_out) / "validation-report.json"
    out: dict[str, dict[str, list[str]]] = {}
    if not report_path.exists():
        return out
    report = json.loads(report_path.read_text())
    for plugin in report.get("pluginReports", []):
        pack = next(
            (
                p
                for prefix, p in NAG_PACK_PREFIXES.items()
                if plugin.get("pluginName", "").startswith(prefix.rstrip("-"))
            ),
            None,
        )
        if pack is None:
            continue
        for violation in plugin.get("violations", []):
            for resource in violation.get("violatingResources", []) + violation.get("violatingConstructs", []):
                path = resource.get("constructPath") or resource.get("resourceLogicalId", "?")
                out.setdefault(path.split("/")[0], {}).setdefault(pack, []).append(
                    f"{violation.get('ruleName')} {path}"
                )
    return out


# ----------------------------------------------------------------- the gate


@dataclass
class GateReport:
    rows: list[dict]
    failures: list[str]

    def table(self) -> str:
        headers = ["Stack", "Resources", *PACKS, "cfn-lint E/W", "checkov P/F/S"]
        lines = [headers] + [
            [
                r["stack"],
                str(r["resources"]),
                *(f"{r['nag'][p][0]} ack / {r['nag'][p][1]} open" for p in PACKS),
                f"{r['lint'][0]} / {r['lint'][1]}",
                f"{r['checkov'][0]} / {r['checkov'][1]} / {r['checkov'][2]}",
            ]
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
        render = lambda line: "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()  # noqa: E731
        return "\n".join([render(lines[0]), render(["-" * w for w in widths]), *map(render, lines[1:])])


def _given_or_run(
    pool: ThreadPoolExecutor, given: Result | None, run: Callable[[Path], Result], cdk_out: Path
) -> Callable[[], Result]:
    """What waits for ``run(cdk_out)``, started in ``pool`` now, or for nothing when the caller gave the result."""
    if given is not None:
        return lambda: given
    return pool.submit(run, cdk_out).result


def run_gates(
    cdk_out: Path, *, lint: dict[str, LintResult] | None = None, checkov: dict[str, CheckovResult] | None = None
) -> GateReport:
    """All gates over ``cdk_out``; pass ``lint`` / ``checkov`` results already computed to reuse them."""
    cdk_out = Path(cdk_out)
    paths = template_paths(cdk_out)
    with ThreadPoolExecutor(max_workers=2) as pool:  # both tools are subprocesses: run them side by side
        lint_result = _given_or_run(pool, lint, run_cfn_lint, cdk_out)
        checkov_result = _given_or_run(pool, checkov, run_checkov, cdk_out)
        acks = audit(cdk_out)
        acknowledged = acknowledged_per_pack(acks)
        open_findings = open_nag_findings(cdk_out)
        lint, checkov = lint_result(), checkov_result()
    failures = [f"acknowledgements: {p}" for p in acks.problems]
    rows = []
    for name, path in paths.items():
        template = json.loads(path.read_text())
        nag = {
            pack: (acknowledged.get(name, {}).get(pack, 0), len(open_findings.get(name, {}).get(pack, [])))
            for pack in PACKS
        }
        failures += [f"{name}: nag open: {v}" for pack in PACKS for v in open_findings.get(name, {}).get(pack, [])]
        failures += [f"{name}: cfn-lint error: {e}" for e in lint[name].errors]
        failures += [f"{name}: checkov failed: {f}" for f in checkov[name].failed]
        failures += [
            f"{name}: checkov skip without comment: {c} {r}" for c, r, comment in checkov[name].skipped if not comment
        ]
        rows.append(
            {
                "stack": name,
                "resources": len(template.get("Resources", {})),
                "nag": nag,
                "lint": (len(lint[name].errors), len(lint[name].warnings)),
                "checkov": (checkov[name].passed, len(checkov[name].failed), len(checkov[name].skipped)),
            }
        )
    return GateReport(rows, failures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    args = parser.parse_args(argv)
    if not (args.cdk_out / "manifest.json").exists():
        print(f"gates: {args.cdk_out} holds no cloud assembly; run `make synth` first", file=sys.stderr)
        return 2
    report = run_gates(args.cdk_out)
    print(report.table())
    extras = (
        "cfn-lint with serverless rules"
        if serverless_rules_available()
        else "cfn-lint (serverless rules not installed)"
    )
    print(f"\ngates: {len(report.rows)} stacks; {extras}; checkov {checkov_binary()}")
    for failure in report.failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("gates: " + ("FAILED" if report.failures else "passed"), file=sys.stderr if report.failures else sys.stdout)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
