"""The README's "CLI against the emulator" block, pasted as is into a shell: only the port (a free one) and the
cloud assembly (this session's) are substituted. Each line must be able to follow the one before, so the
server has to be listening, and the stage deployed, before the first ``tuneforge`` line runs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .stage import ROOT

pytestmark = pytest.mark.e2e

README_PORT = "5005"


def readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The CLI against the emulator", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README: no bash block under 'The CLI against the emulator'"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_block_waits_for_the_server_and_stops_it():
    block = readme_block()
    lines = [line for line in block.splitlines() if line.strip()]
    assert "curl" not in block and "&" not in lines[0].split("#")[0], "the first line must return once ready"
    assert "--detach" in lines[0] and "--deploy cdk.out" in lines[0] and "--stop" in lines[-1]


def test_the_readme_block_runs_pasted_as_is(tuneforge_cdk_out: Path, tmp_path: Path):
    port = str(_free_port())
    script = readme_block().replace(README_PORT, port).replace("--deploy cdk.out", f"--deploy {tuneforge_cdk_out}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="200", TMPDIR=str(tmp_path))
    try:
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
        )
    finally:  # whatever happened, no server is left behind
        subprocess.run(
            [sys.executable, "-m", "local.server", "--port", port, "--stop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=False,
        )
    print(done.stdout, done.stderr, sep="\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"emulator on http://127.0.0.1:{port}" in done.stdout
    assert "deployed Tuneforge-dev-Foundation, Tuneforge-dev-Pipeline" in done.stdout
    assert "support-qa-vi" in done.stdout  # `runs` lists the submitted run
    assert re.search(r"PROMOTED|SUCCEEDED", done.stdout)
    assert done.stdout.rstrip().endswith(f"emulator on port {port} stopped")
    assert (tmp_path / f"tuneforge-emulator-{port}.log").is_file()


def test_detach_fails_fast_and_stops_the_server_when_the_deploy_fails(tmp_path: Path):
    port = str(_free_port())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    server = [sys.executable, "-m", "local.server", "--port", port]
    done = subprocess.run(
        [*server, "--detach", "--deploy", str(tmp_path / "no-cdk.out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "deploying" in done.stderr and "emulator stopped" in done.stderr
    stopped = subprocess.run([*server, "--stop"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert stopped.returncode == 1 and "no emulator answers" in stopped.stderr


def _folder(root: Path, manifest: str) -> Path:
    from .cli_harness import GOOD_SAMPLE

    folder = root / "support-batch"
    folder.mkdir()
    (folder / "train.jsonl").write_bytes(GOOD_SAMPLE.read_bytes())
    (folder / "manifest.json").write_text(manifest, encoding="utf-8")
    return folder


def test_a_folder_validate_accepts_is_a_folder_the_pipeline_runs(cli_stage, tmp_path: Path):
    from .cli_harness import PROFILE

    folder = _folder(tmp_path, '{"training": "train.jsonl"}')
    checked = cli_stage.run("validate", str(folder), "--model", "amazon.nova-micro-v1:0:128k", stage_options=False)
    assert checked.code == 0 and checked.out.startswith("VALID"), checked.out + checked.err
    assert "train.jsonl" in checked.out
    submitted = cli_stage.run("submit", str(folder), "--profile", PROFILE, "--watch")
    assert submitted.code == 0, submitted.err
    assert re.search(r"PROMOTED|SUCCEEDED", submitted.out)


def test_validate_refuses_a_manifest_the_upload_trigger_would_ignore(cli_stage, tmp_path: Path):
    folder = _folder(tmp_path, '{"training": "../train.jsonl"}')
    checked = cli_stage.run("validate", str(folder), "--model", "amazon.nova-micro-v1:0:128k", stage_options=False)
    assert checked.code == 1 and checked.out.startswith("INVALID") and "escapes its folder" in checked.out
