"""The audit kit as the wheel ships it: built from this checkout's files, installed into a folder of its own and
run with only that folder importable, so a module the wheel lacks (an import of tests/, a data file left out of
the package data) fails here instead of on a reviewer's machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (
        f"{command[:4]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="module")
def installed_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the built wheel was installed into (no dependencies: those come from this interpreter's venv)."""
    scratch = tmp_path_factory.mktemp("wheel")
    # The files git would package (tracked and new, nothing ignored), copied out: an in-place build writes build/
    # and *.egg-info into the checkout, and build/lib keeps modules an earlier build saw, which would then ship.
    source = scratch / "source"
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheels, target = scratch / "wheels", scratch / "site"
    # --no-build-isolation: the locked setuptools of this venv builds it; --no-index: offline, nothing fetched.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(source)])
    (wheel,) = wheels.glob("tuneforge-*.whl")
    run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)])
    return target


def isolated(target: Path) -> dict[str, str]:
    """This environment with only the installed wheel on PYTHONPATH (the cwd is a scratch folder, too)."""
    return {**os.environ, "PYTHONPATH": str(target), "CHECKOV_BIN": str(ROOT / ".venv-checkov" / "bin" / "checkov")}


def test_the_kit_imports_from_the_wheel_and_tests_are_not_there(installed_kit, tmp_path):
    probe = (
        "import importlib.util, json, tuneforge_audit, tuneforge_audit.gates, tuneforge_audit.acknowledgements as a;"
        "print(json.dumps([tuneforge_audit.__file__, importlib.util.find_spec('tests') is None, str(a.ALLOWLIST),"
        " a.ALLOWLIST.is_file()]))"
    )
    done = run([sys.executable, "-c", probe], cwd=tmp_path, env=isolated(installed_kit))
    kit, no_tests, allowlist, shipped = json.loads(done.stdout)
    assert Path(kit).is_relative_to(installed_kit), kit
    assert no_tests, "tests/ is importable beside the installed wheel"
    assert Path(allowlist).is_relative_to(installed_kit) and shipped, "allowed_suppressions.yaml is not in the wheel"
    gates_help = run(
        [sys.executable, "-m", "tuneforge_audit.gates", "--help"], cwd=tmp_path, env=isolated(installed_kit)
    )
    assert "--cdk-out" in gates_help.stdout


def test_the_installed_kit_writes_the_report_with_the_gates(installed_kit, assembly, tmp_path):
    """report.json and REPORT.md with the scanners, as ``python -m tuneforge_audit`` writes them: the checklist,
    the acknowledgement audit and the gate runner are the modules that used to be imported from tests/. (The
    entry point's next step, the SBOM, reads the checkout's pyproject.toml and requirements.txt, so it is left out.)"""
    out = tmp_path / "audit"
    script = (
        "import sys; from pathlib import Path; from tuneforge_audit import model; from tuneforge_audit.__main__ import"
        " write; write(Path(sys.argv[2]), model.build(Path(sys.argv[1])))"
    )
    run([sys.executable, "-c", script, str(assembly.directory), str(out)], cwd=tmp_path, env=isolated(installed_kit))
    report = json.loads((out / "report.json").read_text())
    assert set(report["stacks"]) == set(assembly.templates)
    assert report["checklist"] and all(row["violations"] == [] for row in report["checklist"])
    assert "error" not in report["figures"], report["figures"].get("error")
    assert report["figures"]["failures"] == []
    assert report["acknowledgements"], "the acknowledgement audit found nothing at its attachment points"
    assert [f for f in report["flags"] if f["level"] == "fail"] == []
    assert (out / "REPORT.md").read_text().startswith("# tuneforge security review report")
