"""The gate itself: it fails on a cfn-lint error, a checkov failure or an uncommented skip, and on an open
nag finding (synth refuses to finish with one)."""

from __future__ import annotations

import json
import shutil

import pytest

from tuneforge_audit.gates import main, run_gates


@pytest.fixture(scope="module")
def gate(assembly, lint, checkov):
    return run_gates(assembly.directory, lint=lint, checkov=checkov)


def test_gate_passes_on_the_app(assembly, gate):
    assert gate.failures == []
    assert {row["stack"] for row in gate.rows} == set(assembly.templates)
    for row in gate.rows:
        assert row["resources"] == len(assembly.templates[row["stack"]]["Resources"])
        assert all(open_ == 0 for _, open_ in row["nag"].values())
    assert "Stack" in gate.table() and "checkov P/F/S" in gate.table()


def test_gate_fails_on_broken_templates(assembly, tmp_path):
    broken = tmp_path / "cdk.out"
    shutil.copytree(assembly.directory, broken)
    name = next(iter(assembly.stacks("-Foundation")))
    manifest = json.loads((broken / "manifest.json").read_text())  # scan one stack only: it is enough, and faster
    manifest["artifacts"] = {
        k: a for k, a in manifest["artifacts"].items() if a.get("type") != "aws:cloudformation:stack" or k == name
    }
    (broken / "manifest.json").write_text(json.dumps(manifest))
    path = broken / f"{name}.template.json"
    template = json.loads(path.read_text())
    resources = template["Resources"]
    bucket = next(lid for lid, r in resources.items() if r["Type"] == "AWS::S3::Bucket")
    resources[bucket]["Properties"].pop("PublicAccessBlockConfiguration")  # checkov CKV_AWS_53..56
    resources[bucket]["Metadata"].setdefault("checkov", {}).setdefault("skip", []).append(
        {"id": "CKV_AWS_21", "comment": ""}
    )
    resources["NotAProperty"] = {"Type": "AWS::SQS::Queue", "Properties": {"NoSuchProperty": 1}}  # cfn-lint E3002
    path.write_text(json.dumps(template))

    failures = run_gates(broken).failures
    assert any("checkov failed: CKV_AWS_53" in f for f in failures), failures
    assert any("checkov skip without comment: CKV_AWS_21" in f for f in failures), failures
    assert any("cfn-lint error" in f and "NotAProperty" in f for f in failures), failures
    assert main(["--cdk-out", str(broken)]) == 1


def test_gate_refuses_an_empty_directory(tmp_path):
    assert main(["--cdk-out", str(tmp_path)]) == 2
