"""cfn-lint: zero errors on every synthesized template (warnings are reported by the gate, not failed)."""

from __future__ import annotations

# `lint` is a session fixture (tests/security/conftest.py): tests/security/gates.py:run_cfn_lint over the assembly.


def test_cfn_lint_ran_on_every_template(assembly, lint):
    assert set(lint) == set(assembly.templates)


def test_no_cfn_lint_errors(lint):
    assert {name: r.errors for name, r in lint.items() if r.errors} == {}
