"""cfn-lint, with the awslabs serverless rules: zero errors on every synthesized template (warnings are listed
in the report, not failed; a serverless error that is nag's acknowledged finding carries nag's reason)."""

from __future__ import annotations

import json

from tuneforge_audit.gates import SAME_AS_NAG, run_cfn_lint, serverless_rules_available

# `lint` is a session fixture (tests/security/conftest.py): tuneforge_audit/gates.py:run_cfn_lint over the assembly.


def test_cfn_lint_ran_on_every_template(assembly, lint):
    assert set(lint) == set(assembly.templates)


def test_no_cfn_lint_errors(lint):
    assert {name: r.errors for name, r in lint.items() if r.errors} == {}


def test_every_warning_is_listed_in_the_report_with_file_rule_resource_and_message(assembly, lint):
    from tuneforge_audit import markdown, model
    from tuneforge_audit.markdown.cells import cell

    findings = model.cfn_lint_findings(lint)
    assert len(findings) == sum(len(r.warnings) + len(r.informational) + len(r.acknowledged) for r in lint.values()) > 0
    # W3010: the stages name their availability zones (Bedrock VPC jobs need every zone); one per subnet
    subnets = [f for f in findings if f["rule"] == "W3010"]
    assert subnets and all(
        f["resource"].startswith("NetworkVpcisolatedSubnet") and f["file"].endswith(".template.json") and f["message"]
        for f in subnets
    )
    figures = {
        "packs": [],
        "stacks": {
            name: {
                "resources": 0,
                "nag": {},
                "cfn_lint": {"errors": 0, "warnings": len(r.warnings)},
                "checkov": {"passed": 0, "failed": 0, "skipped": 0},
            }
            for name, r in lint.items()
        },
        "cfn_lint_findings": findings,
    }
    section = "\n".join(markdown.scanners({"figures": figures}))
    first = subnets[0]
    assert (
        f"| {first['file']} | Warning | `W3010` | `{first['resource']}` | {first['line']} | {cell(first['message'])} |"
        in section
    )
    assert f"### cfn-lint warnings and informational findings ({len(findings)})" in section


def test_the_serverless_rules_run(lint):
    # requirements-dev.txt installs cfn-lint-serverless; without it the gate would lint without them, silently
    assert serverless_rules_available()
    rules = {m["rule"] for r in lint.values() for m in r.matches}
    assert {"ES1007", "ES6000"} <= rules and any(rule.startswith("WS") for rule in rules)


def test_serverless_errors_are_nags_acknowledged_findings_with_nags_reason(assembly, lint):
    answered = [(name, m) for name, r in lint.items() for m in r.matches if m["level"] == "Error"]
    assert answered and all(m.get("acknowledged") for _, m in answered), [
        m for _, m in answered if not m.get("acknowledged")
    ]
    for name, m in answered:
        holder = assembly.templates[name]["Resources"][m["acknowledged"]["on"]]
        reasons = {e["id"]: e["reason"] for e in holder["Metadata"]["cdk_nag"]["rules_to_suppress"]}
        assert reasons[SAME_AS_NAG[m["rule"]]] == m["acknowledged"]["reason"]


def test_a_serverless_error_without_nags_acknowledgement_fails(assembly, tmp_path):
    """The insecure twin: the dead-letter queue without its Serverless-SQSRedrivePolicy acknowledgement and a
    function without its Serverless-LambdaAsyncFailureDestination one: cfn-lint's ES6000 and ES1007 are errors again."""
    name = next(n for n in assembly.templates if n.endswith("dev-Pipeline"))
    template = json.loads(json.dumps(assembly.templates[name]))
    resources = template["Resources"]
    queue = next(
        lid for lid in resources if lid.startswith("DeadLetters") and resources[lid]["Type"] == "AWS::SQS::Queue"
    )
    function = next(
        lid
        for lid in resources
        if lid.startswith("StartRunFunction") and resources[lid]["Type"] == "AWS::Lambda::Function"
    )
    for lid, rule in ((queue, "Serverless-SQSRedrivePolicy"), (function, "Serverless-LambdaAsyncFailureDestination")):
        meta = resources[lid]["Metadata"]["cdk_nag"]
        meta["rules_to_suppress"] = [e for e in meta["rules_to_suppress"] if e["id"] != rule]
    (tmp_path / f"{name}.template.json").write_text(json.dumps(template))
    manifest = json.loads((assembly.directory / "manifest.json").read_text())
    manifest["artifacts"] = {name: manifest["artifacts"][name]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    errors = run_cfn_lint(tmp_path)[name].errors
    assert any(e.startswith(f"ES6000 Resources/{queue}:") for e in errors), errors
    assert any(e.startswith("ES1007 Resources/DatasetUploadedAllowEventRule") for e in errors), errors
    # One ES1007 per rule that invokes StartRun: uploads, and support-qa-vi-logs' schedule (invocation logs).
    assert any(e.startswith("ES1007 Resources/LogsRunSchedules") for e in errors), errors
    assert len(errors) == 3  # the other functions' acknowledgements still answer theirs
