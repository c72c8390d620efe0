"""The vulnerability audit writes a report only when something was audited, and says so in one line otherwise."""

from __future__ import annotations

import json

from tuneforge_audit import vulnerabilities

SKIPPED = {
    "dependencies": [
        {"name": "pip", "skip_reason": "Dependency not found on PyPI and could not be audited: pip (26.3)"}
    ],
    "fixes": [],
}
AUDITED = {
    "dependencies": [
        {"name": "pip", "version": "26.3", "vulns": []},
        {"name": "old", "version": "1.0", "vulns": [{"id": "PYSEC-0"}]},
    ],
    "fixes": [],
}


def test_nothing_audited_writes_nothing_and_removes_an_old_report(tmp_path):
    out = tmp_path / "vulnerabilities.json"
    out.write_text("{}")
    line = vulnerabilities.write(out, auditor=lambda lock: SKIPPED)
    assert not out.exists()
    assert (
        line.startswith("vulnerability audit not run") and "none of the 2 locked packages" in line and "\n" not in line
    )


def test_an_audit_writes_both_locks_and_counts_what_it_found(tmp_path):
    out = tmp_path / "vulnerabilities.json"
    line = vulnerabilities.write(out, auditor=lambda lock: AUDITED)
    report = json.loads(out.read_text())
    assert set(report["locks"]) == set(vulnerabilities.LOCKS)
    assert "4 of 4 locked packages audited, 2 known vulnerabilities" in line


def test_a_failed_pip_audit_is_a_reason_not_a_crash(tmp_path):
    line = vulnerabilities.write(
        tmp_path / "v.json", auditor=lambda lock: {"error": "pip-audit exit 1: ConnectionError", "dependencies": []}
    )
    assert "ConnectionError" in line
