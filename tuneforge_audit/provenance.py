"""What a report was made from: the commit (and whether the work tree had changes) and the tool versions.

A reviewer signs a report for one commit; without these a report cannot be tied to the code or tools it read.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("aws-cdk-lib", "cdk-nag", "cfn-lint", "cfn-lint-serverless", "policy_sentry")


def _run(command: list[str], cwd: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit(repo: Path = ROOT) -> dict:
    """HEAD and whether tracked or untracked files differ from it (``git status --porcelain`` non-empty)."""
    head = _run(["git", "rev-parse", "HEAD"], repo)
    status = _run(["git", "status", "--porcelain"], repo)
    return {"head": head or "unknown", "dirty": None if status is None else bool(status)}


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def tools() -> dict[str, str]:
    from tuneforge_audit.gates import checkov_binary

    out = {name: _package(name) for name in PACKAGES}
    # checkov lives in its own environment (Makefile), so ask its own executable.
    checkov = _run([str(checkov_binary()), "--version"]) if checkov_binary().exists() else None
    out["checkov"] = checkov.splitlines()[-1] if checkov else "not installed"
    out["python"] = platform.python_version()
    node = _run(["node", "--version"])
    out["node"] = node.removeprefix("v") if node else "not installed"
    return out


def of_checkout(repo: Path = ROOT) -> dict:
    return {"commit": commit(repo), "tools": tools()}
