"""The audit model of the session's cloud assembly, built once (no scanners: the gates' own tests run them)."""

from __future__ import annotations

import copy

import pytest

from tuneforge_audit import model


@pytest.fixture(scope="session")
def app_model(assembly) -> dict:
    return model.build(assembly.directory, scanners=False)


@pytest.fixture()
def foundation(assembly) -> tuple[str, dict]:
    """(stack name, a deep copy of its template) for one Foundation stack: free to mutate."""
    name, template = sorted(assembly.stacks("-Foundation").items())[0]
    return name, copy.deepcopy(template)
