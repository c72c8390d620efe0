"""checkov on the cloud assembly: zero failed checks, and every skip carries a comment."""

from __future__ import annotations

from tuneforge_audit.acknowledgements import audit

# `checkov` is a session fixture (tests/security/conftest.py): tuneforge_audit/gates.py:run_checkov over the assembly.


def test_checkov_ran_on_every_template(assembly, checkov):
    assert set(checkov) == set(assembly.templates)
    assert all(result.passed > 0 for result in checkov.values())


def test_no_failed_checks(checkov):
    assert {name: r.failed for name, r in checkov.items() if r.failed} == {}


def test_every_skip_is_commented(checkov):
    assert [(name, s) for name, r in checkov.items() for s in r.skipped if not s[2]] == []


def test_no_stale_skips(assembly, checkov):
    """A skip in metadata that checkov never applies (a check it does not run on CloudFormation) is noise."""
    declared = {(stack, lid, check) for stack, lid, check, _ in audit(assembly.directory).checkov_skips}
    applied = {
        (name, resource.split(".", 1)[1], check) for name, r in checkov.items() for check, resource, _ in r.skipped
    }
    assert declared == applied
