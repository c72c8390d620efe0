"""cfn-lint: zero errors on every synthesized template (warnings are reported by the gate, not failed)."""

from __future__ import annotations

# `lint` is a session fixture (tests/security/conftest.py): tests/security/gates.py:run_cfn_lint over the assembly.


def test_cfn_lint_ran_on_every_template(assembly, lint):
    assert set(lint) == set(assembly.templates)


def test_no_cfn_lint_errors(lint):
    assert {name: r.errors for name, r in lint.items() if r.errors} == {}


def test_every_warning_is_listed_in_the_report_with_file_rule_resource_and_message(assembly, lint):
    from tuneforge_audit import markdown, model

    findings = model.cfn_lint_findings(lint)
    assert len(findings) == sum(len(r.warnings) + len(r.informational) for r in lint.values()) > 0
    # W3010: the stages name their availability zones (Bedrock VPC jobs need every zone); one per subnet
    subnets = [f for f in findings if f["rule"] == "W3010"]
    assert subnets and all(f["resource"].startswith("NetworkVpcisolatedSubnet") and f["file"].endswith(".template.json") and f["message"] for f in subnets)
    figures = {"packs": [], "stacks": {name: {"resources": 0, "nag": {}, "cfn_lint": {"errors": 0, "warnings": len(r.warnings)}, "checkov": {"passed": 0, "failed": 0, "skipped": 0}} for name, r in lint.items()}, "cfn_lint_findings": findings}
    section = "\n".join(markdown.scanners({"figures": figures}))
    first = subnets[0]
    assert f"| {first['file']} | Warning | `W3010` | `{first['resource']}` | {first['line']} | {markdown.cell(first['message'])} |" in section
    assert f"### cfn-lint warnings and informational findings ({len(findings)})" in section
