"""The CLI as a user runs it: ``tuneforge`` in its own process against the emulator's server, with the dev
stage deployed from the real cdk.out. Shared by the CLI's end-to-end tests (tests/e2e/test_cli_*.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .stage import ROOT

STAGE = "dev"
PROFILE = "support-qa-vi"
GOOD_SAMPLE = ROOT / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"
BROKEN_SAMPLE = ROOT / "samples" / "broken" / "nova-micro-broken.jsonl"
EVALUATION_SET = ROOT / "samples" / "evaluation" / f"{PROFILE}.jsonl"


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class CliStage:
    """A deployed stage in a running emulator server; ``run`` is one ``tuneforge`` command against it."""

    url: str
    workdir: Path

    def run(self, *argv: str, stage_options: bool = True, timeout: float = 600.0) -> CliResult:
        """``tuneforge argv...``; with ``stage_options`` the emulator's --endpoint-url is appended."""
        command = [sys.executable, "-m", "cli.main", *argv]
        if stage_options:
            command += ["--endpoint-url", self.url]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "emulated",
            "AWS_SECRET_ACCESS_KEY": "emulated",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "200",
        }
        done = subprocess.run(
            command, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return CliResult(done.returncode, done.stdout, done.stderr)
