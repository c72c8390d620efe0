"""The "changed since BASE" section names exactly what a change added or removed, and nothing else."""

from __future__ import annotations

import copy

from tuneforge_audit import markdown, model
from tuneforge_audit.checklist.template import props, resources, roles_trusting
from tuneforge_audit.diff import diff_models
from tuneforge_audit.markdown.cells import cell


def bedrock_policy(template: dict) -> dict:
    (role,) = [r for r in roles_trusting(template, "bedrock.amazonaws.com") if r.startswith("BedrockCustomization")]
    return next(
        p for p in resources(template, "AWS::IAM::Policy").values() if {"Ref": role} in props(p).get("Roles", [])
    )


def change(template: dict) -> dict:
    """A new role with one grant, one more statement on the Bedrock role, one new ingress rule."""
    r = template["Resources"]
    r["ReviewerRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        },
    }
    r["ReviewerPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "ReviewerPolicy",
            "Roles": [{"Ref": "ReviewerRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:GetItem",
                        "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/runs",
                    }
                ],
            },
        },
    }
    props(bedrock_policy(template))["PolicyDocument"]["Statement"].append(
        {
            "Sid": "ReadReports",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::reports/summary.json",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    )
    group = next(iter(resources(template, "AWS::EC2::SecurityGroup")))
    r["ReviewerIngress"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": [group, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 8443,
            "ToPort": 8443,
            "CidrIp": "10.0.0.0/8",
        },
    }
    return template


def expected(name: str, template: dict) -> dict:
    (bedrock,) = [r for r in roles_trusting(template, "bedrock.amazonaws.com") if r.startswith("BedrockCustomization")]
    group = next(iter(resources(template, "AWS::EC2::SecurityGroup")))
    return {
        "roles": [f"{name}/ReviewerRole"],
        "trust": [f"{name}/ReviewerRole trust: Allow lambda.amazonaws.com sts:AssumeRole on (no resource)"],
        "permissions": sorted(
            [
                f"{name}/ReviewerRole: Allow dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table/runs",
                f"{name}/{bedrock}: Allow s3:GetObject on arn:aws:s3:::reports/summary.json when Bool aws:SecureTransport = true",
            ]
        ),
        "network": [f"{name}/{group} ingress tcp 8443 from 10.0.0.0/8"],
    }


def test_diff_names_exactly_what_a_change_added(foundation):
    name, template = foundation
    base = model.build_from_templates({name: template})
    head = model.build_from_templates({name: change(template)})
    delta = diff_models(base, head)
    assert {topic: d["added"] for topic, d in delta.items()} == expected(name, template)
    assert all(d["removed"] == [] for d in delta.values())


def test_diff_names_exactly_what_a_change_removed(foundation):
    name, template = foundation
    base = model.build_from_templates({name: change(template)})
    head = model.build_from_templates({name: _without_change(template)})
    delta = diff_models(base, head)
    assert {topic: d["removed"] for topic, d in delta.items()} == expected(name, template)
    assert all(d["added"] == [] for d in delta.values())


def _without_change(changed: dict) -> dict:
    t = copy.deepcopy(changed)
    for lid in ("ReviewerRole", "ReviewerPolicy", "ReviewerIngress"):
        t["Resources"].pop(lid)
    statements = props(bedrock_policy(t))["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "ReadReports"]
    return t


def test_a_changed_key_shows_as_one_removed_and_one_added_encryption_line(foundation):
    name, template = foundation
    base = model.build_from_templates({name: template})
    bucket = next(lid for lid, b in resources(template, "AWS::S3::Bucket").items() if "KMSMasterKeyID" in str(props(b)))
    props(template["Resources"][bucket])["BucketEncryption"] = {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    delta = diff_models(base, model.build_from_templates({name: template}))
    assert set(delta) == {"encryption"}
    (removed,), (added,) = delta["encryption"]["removed"], delta["encryption"]["added"]
    assert (
        removed.startswith(f"{name}/{bucket} (S3::Bucket): SSE-KMS")
        and added == f"{name}/{bucket} (S3::Bucket): SSE-S3 (S3-managed keys)"
    )


def test_no_change_no_diff_and_the_section_says_so(app_model):
    assert diff_models(app_model, app_model) == {}
    report = markdown.render(app_model, app_model, "HEAD")
    section = report.split("## Changed since BASE")[1].split("\n## ")[0]
    assert "No change in roles" in section


def test_diff_section_lists_added_and_removed_lines(foundation):
    name, template = foundation
    base = model.build_from_templates({name: template})
    head = model.build_from_templates({name: change(template)})
    section = markdown.render(head, base, "main").split("## Changed since BASE")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert sorted(lines) == sorted(
        f"- ➕ {cell(fact)}" for facts in expected(name, template).values() for fact in facts
    )
