"""Acknowledgements audit (checklist 25): scoped to one resource, allowlisted, with a reason that names a control."""

from __future__ import annotations

import pytest

from tuneforge_audit.acknowledgements import ALLOWLIST, audit, load_allowlist, reason_problems, strip_rule


@pytest.fixture(scope="module")
def result(assembly):
    return audit(assembly.directory)


def test_every_acknowledgement_is_allowlisted_scoped_and_explained(result):
    assert result.problems == []


def test_the_audit_saw_the_acknowledgements(result):
    # Guards the test above against passing because it found nothing to audit.
    assert {a.rule for a in result.acknowledgements} >= {"AwsSolutions-S1", "NIST.800.53.R5-S3BucketReplicationEnabled"}
    assert all(a.path and a.path != a.stack for a in result.acknowledgements)
    assert {a.rule for a in result.framework} == {
        "CloudFormation-Validate::W3010",
        "CloudFormation-Validate::F3002",
        "CloudFormation-Validate::F3003",
    }


def test_every_checkov_skip_is_commented(result):
    assert result.checkov_skips, "expected the access-log bucket's CKV_AWS_18 skip"
    assert [s for s in result.checkov_skips if not s[3]] == []


def test_a_finding_shared_by_statements_names_each_with_its_own_reason(assembly):
    """stacks/nag.py acknowledge_statements: every statement reason meets the reason bar, is its own (no two
    statements share one), its Sid is a statement of the policy, and nag's reason names it with that reason."""
    seen = 0
    for template in assembly.templates.values():
        for lid, resource in template["Resources"].items():
            by_rule = (resource.get("Metadata") or {}).get("tuneforge_statement_reasons") or {}
            sids = {
                s.get("Sid") for s in (resource.get("Properties") or {}).get("PolicyDocument", {}).get("Statement", [])
            }
            nag = (
                {e["id"]: e["reason"] for e in resource["Metadata"]["cdk_nag"]["rules_to_suppress"]} if by_rule else {}
            )
            for rule, reasons in by_rule.items():
                seen += 1
                assert len(reasons) >= 2 and len(set(reasons.values())) == len(reasons), (lid, rule)
                assert set(reasons) <= sids, (lid, rule, set(reasons) - sids)
                for sid, reason in reasons.items():
                    assert reason_problems(reason) == [], (lid, sid, reason)
                    assert f"Statement {sid}: {reason}" in nag[rule], (lid, rule, sid)
    assert seen >= 3  # the functions' and Bedrock's "*", Bedrock's network-interface ARN


def test_allowlist_entries_carry_a_why():
    entries = load_allowlist()["acknowledgements"]
    assert entries and all(
        set(e) - {"when"} == {"path", "rule", "why"} and e["why"].strip() and e.get("when", "x").strip()
        for e in entries
    ), ALLOWLIST


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("Needed.", "shorter than"),
        ("The flow-log group is encrypted with the customer-managed key and kept for the retention period", "period"),
        ("this bucket is private and encrypted with the key, which is the control that compensates here.", "capital"),
        (
            "This is a reasonable exception that the team discussed at length and agreed to accept for now.",
            "no compensating control",
        ),
    ],
)
def test_reason_rules(reason, problem):
    assert any(problem in p for p in reason_problems(reason))


def test_good_reason_passes():
    assert (
        reason_problems(
            "Bedrock writes only under the jobs/ prefix, and the bucket policy denies access outside the VPC endpoint."
        )
        == []
    )


def test_rule_ids_are_normalised():
    assert strip_rule("Annotation::AwsSolutions-S1") == "AwsSolutions-S1"
    assert strip_rule("Serverless::Serverless-SQSRedrivePolicy") == "Serverless-SQSRedrivePolicy"
    assert strip_rule("CloudFormation-Validate::W3010") == "CloudFormation-Validate::W3010"


# ----------------------------------------------------------------- negative: a tiny app with bad acknowledgements

GOOD = "This handle holds no data and is reachable by no principal, so the bucket policy control does not apply here."


@pytest.fixture(scope="module")
def bad_assembly(tmp_path_factory):
    """One stack, synthesized with the real gates, whose acknowledgements break every audit rule."""
    from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
    from constructs import Construct

    from stacks.nag import acknowledge, add_security_gates, checkov_skip

    outdir = tmp_path_factory.mktemp("bad-acks")
    app = App(outdir=str(outdir))
    stack = Stack(app, "Tuneforge-test-Bad")
    group = Construct(stack, "Group")
    handle = CfnResource(group, "Handle", type="AWS::CloudFormation::WaitConditionHandle")
    other = CfnResource(stack, "Other", type="AWS::CloudFormation::WaitConditionHandle")
    Validations.of(stack).acknowledge(Acknowledgment(id="AwsSolutions-IAM5", reason=GOOD))  # stack-wide
    Validations.of(app).acknowledge(Acknowledgment(id="AwsSolutions-IAM4", reason=GOOD))  # app-wide
    acknowledge(group, GOOD, "AwsSolutions-L1")  # on a grouping construct
    acknowledge(handle, "Fine.", "AwsSolutions-S1")  # short reason
    acknowledge(other, GOOD, "AwsSolutions-SQS3")  # well scoped and explained, but not allowlisted
    checkov_skip(other, "CKV_AWS_18", "")
    add_security_gates(app)
    app.synth()
    return outdir


def _allowlist_with(path: str, rule: str) -> dict:
    allowlist = load_allowlist()
    return {
        **allowlist,
        "acknowledgements": [*allowlist["acknowledgements"], {"path": path, "rule": rule, "why": "test"}],
    }


@pytest.mark.parametrize(
    ("needle"),
    [
        "AwsSolutions-IAM5 on Tuneforge-test-Bad: acknowledged on the whole stack",
        "AwsSolutions-IAM4 on Other comes from no construct of the stack",  # App-level, found where inherited
        "AwsSolutions-L1 on Tuneforge-test-Bad/Group: attached to a grouping construct",
        "AwsSolutions-S1 on Tuneforge-test-Bad/Group/Handle: reason shorter than",
        "AwsSolutions-SQS3 on Tuneforge-test-Bad/Other: not in tuneforge_audit/allowed_suppressions.yaml",
        "checkov skip CKV_AWS_18 on Other has no comment",
    ],
)
def test_bad_acknowledgements_are_caught(bad_assembly, needle):
    problems = audit(bad_assembly).problems
    assert any(needle in p for p in problems), problems


def test_allowlist_entries_go_stale(bad_assembly):
    problems = audit(bad_assembly, _allowlist_with("Tuneforge-{stage}-Bad/Gone", "AwsSolutions-S10")).problems
    assert any("stale entry AwsSolutions-S10 on Tuneforge-{stage}-Bad/Gone" in p for p in problems)


def test_allowlisting_does_not_excuse_scope_or_reason(bad_assembly):
    problems = audit(bad_assembly, _allowlist_with("Tuneforge-{stage}-Bad", "AwsSolutions-IAM5")).problems
    assert any("acknowledged on the whole stack" in p for p in problems)
