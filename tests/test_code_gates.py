"""The code gates `make test` runs: ruff's lint and format, mypy, the 600-line rule, reasoned type: ignores.

Configuration is pyproject.toml ([tool.ruff], [tool.mypy]); docs/ARCHITECTURE.md says what each gate holds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PRODUCT = ("app.py", "lambdas", "stacks", "cli", "local", "tuneforge_audit", "bench", "samples", "graders")
MAX_PRODUCT_LINES = 600
# A type: ignore names the error it silences, then says why after a second `#`.
REASONED_IGNORE = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _python_files(*tops: str) -> list[Path]:
    files: list[Path] = []
    for top in tops:
        path = ROOT / top
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "lambda_asset" not in f.parts]


def test_ruff_finds_nothing():
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_formatter_has_nothing_to_change():
    result = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = _run(str(BIN / "mypy"), "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_product_file_is_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files(*PRODUCT)
        if (lines := len(path.read_text().splitlines())) > MAX_PRODUCT_LINES
    }
    assert long == {}


def test_every_type_ignore_names_its_error_and_says_why():
    bare = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files(*PRODUCT, "tests")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "type: ignore" in line and not REASONED_IGNORE.search(line) and path != Path(__file__)
    ]
    assert bare == []
