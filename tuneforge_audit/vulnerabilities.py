"""audit/vulnerabilities.json: pip-audit over the hash-locked Python environments, when the index answers.

pip-audit's ``pypi`` service asks PyPI's per-release JSON API (``/pypi/<name>/<version>/json``) for each
locked release. Measured from this project's machines on 2026-12-06: that endpoint answers 404 for every
release (``/pypi/<name>/json``, which covers only the latest release, answers), so pip-audit skips every
package ("Dependency not found on PyPI") and still prints "No known vulnerabilities found"; its ``osv``
service's host (api.osv.dev) does not resolve. So a report in which nothing was audited is not written: the
audit says so in one line instead of claiming a clean result, and does not fail (the gates fail builds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements-dev.lock", "requirements-checkov.lock")


def audit_lock(lock: Path) -> dict:
    """pip-audit's JSON report of one lock file (hash-checked, no resolution: --disable-pip over exact pins)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(lock),
            "--vulnerability-service",
            "pypi",
            "--disable-pip",
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"pip-audit exit {done.returncode}: {last}", "dependencies": []}


def summarize(reports: dict[str, dict]) -> tuple[int, int, int, str]:
    """(packages, audited, known vulnerabilities, first skip or error reason)."""
    packages = audited = found = 0
    reason = ""
    for report in reports.values():
        reason = reason or report.get("error", "")
        for dependency in report.get("dependencies", []):
            packages += 1
            if "skip_reason" in dependency:
                reason = reason or dependency["skip_reason"]
            else:
                audited += 1
                found += len(dependency.get("vulns", []))
    return packages, audited, found, reason


def write(out: Path, *, root: Path = ROOT, auditor=audit_lock) -> str:
    """Audit every lock; write ``out`` when anything could be audited. Returns the one line to print."""
    reports = {name: auditor(root / name) for name in LOCKS}
    packages, audited, found, reason = summarize(reports)
    if audited == 0:
        out.unlink(missing_ok=True)  # an old report would read as current
        return f"vulnerability audit not run: the index audited none of the {packages} locked packages ({reason or 'no answer'}); see tuneforge_audit/vulnerabilities.py"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"service": "pypi", "locks": reports}, indent=1) + "\n")
    return f"wrote {out}: {audited} of {packages} locked packages audited, {found} known vulnerabilities" + (
        f" ({packages - audited} skipped: {reason})" if audited < packages else ""
    )
