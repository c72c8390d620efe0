"""cfn-lint and checkov take seconds each: run them once per session over the session's cloud assembly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tuneforge_audit.gates import run_cfn_lint, run_checkov


@pytest.fixture(scope="session")
def scanners(assembly):
    with ThreadPoolExecutor(max_workers=2) as pool:
        lint, checkov = pool.submit(run_cfn_lint, assembly.directory), pool.submit(run_checkov, assembly.directory)
        return lint.result(), checkov.result()


@pytest.fixture(scope="session")
def lint(scanners):
    return scanners[0]


@pytest.fixture(scope="session")
def checkov(scanners):
    return scanners[1]
