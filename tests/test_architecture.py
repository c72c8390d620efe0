"""The import rules of docs/ARCHITECTURE.md: which layer of product code may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"lambdas", "stacks", "cli", "local", "tuneforge_audit", "tests", "app"}
# Layer -> the layers of ours it may import (besides itself).
ALLOWED = {
    "lambdas.domain": set(),
    "lambdas.handlers": {"lambdas.domain"},
    "stacks": {"lambdas.domain"},
    "cli": {"lambdas.domain"},
    "local": {"lambdas.domain", "cli"},
    "tuneforge_audit": {"lambdas.domain", "stacks"},
    "app": {"stacks"},
}
# What the domain may import from outside the standard library: pure code, with clients passed in (boto3 only for
# the managed-copy settings of the client it is given).
DOMAIN_THIRD_PARTY = {"pydantic", "botocore", "boto3.s3.transfer"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "lambdas" else parts[0]


def _product_files() -> list[tuple[str, Path]]:
    files = [("app", ROOT / "app.py")]
    for layer in ALLOWED:
        if layer != "app":
            files += [(layer, path) for path in (ROOT / layer.replace(".", "/")).rglob("*.py")]
    return files


def _imports(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return modules


@pytest.mark.parametrize("layer, path", _product_files(), ids=lambda value: str(value).removeprefix(f"{ROOT}/"))
def test_product_code_imports_only_what_its_layer_may(layer, path):
    forbidden = [
        module
        for module in _imports(path)
        if module.split(".")[0] in OURS and _layer(module) != layer and _layer(module) not in ALLOWED[layer]
    ]
    assert forbidden == [], f"{path.relative_to(ROOT)} ({layer}) may not import {forbidden}"


def test_the_domain_imports_only_the_standard_library_pydantic_and_botocore_no_clients_of_its_own():
    import sys

    outside = {
        (str(path.relative_to(ROOT)), module)
        for path in (ROOT / "lambdas" / "domain").rglob("*.py")
        for module in _imports(path)
        if (top := module.split(".")[0]) not in sys.stdlib_module_names
        and top not in DOMAIN_THIRD_PARTY
        and module not in DOMAIN_THIRD_PARTY
        and top != "lambdas"
    }
    assert outside == set()
