"""The report follows the templates: everything in them appears, and what is insecure appears flagged.

The injected cases mutate a deep copy of a real Foundation template (no extra synth) and model it with the
same pure function ``make audit`` uses.
"""

from __future__ import annotations

import json
import re

from tuneforge_audit import markdown, model
from tuneforge_audit.__main__ import main
from tuneforge_audit.checklist.template import as_list, props, resources, roles_trusting
from tuneforge_audit.markdown.overview import SECTIONS
from tuneforge_audit.model import policies

FAIL, REVIEW = model.FAIL, model.REVIEW


def fails(m: dict) -> list[str]:
    return [f["message"] for f in m["flags"] if f["level"] == FAIL]


def row_of(report: str, *needles: str) -> str:
    """The one Markdown table row that contains every needle."""
    rows = [line for line in report.splitlines() if line.startswith("|") and all(n in line for n in needles)]
    assert len(rows) == 1, (needles, rows)
    return rows[0]


def inject(template: dict) -> dict:
    """A wildcard grant on a new role, an unencrypted bucket and SSH ingress from anywhere."""
    r = template["Resources"]
    r["InjectedRole"] = {
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
    r["InjectedPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "InjectedPolicy",
            "Roles": [{"Ref": "InjectedRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Sid": "ReadEverything", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            },
        },
    }
    r["InjectedBucket"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    group = next(lid for lid in resources(template, "AWS::EC2::SecurityGroup"))
    r["InjectedSshFromAnywhere"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": [group, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "CidrIp": "0.0.0.0/0",
            "Description": "injected",
        },
    }
    return template


# ----------------------------------------------------------------- the real app


def test_every_role_store_log_group_key_and_rule_of_the_app_is_in_the_model(assembly, app_model):
    for stack, template in assembly.templates.items():
        assert {r["id"] for r in app_model["roles"] if r["stack"] == stack} == set(
            resources(template, "AWS::IAM::Role")
        )
        stores = {d["id"] for d in app_model["data_stores"] if d["stack"] == stack}
        assert (
            set(
                resources(
                    template,
                    "AWS::S3::Bucket",
                    "AWS::DynamoDB::Table",
                    "AWS::SQS::Queue",
                    "AWS::SNS::Topic",
                    "AWS::StepFunctions::StateMachine",
                )
            )
            <= stores
        )
        assert {g["id"] for g in app_model["log_groups"] if g["stack"] == stack} == set(
            resources(template, "AWS::Logs::LogGroup")
        )
        assert {k["id"] for k in app_model["keys"] if k["stack"] == stack} == set(resources(template, "AWS::KMS::Key"))
        rules = sum(
            len(as_list(props(sg).get(f"SecurityGroup{kind}")))
            for sg in resources(template, "AWS::EC2::SecurityGroup").values()
            for kind in ("Ingress", "Egress")
        )
        rules += len(resources(template, "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"))
        assert sum(len(g["rules"]) for g in app_model["network"]["security_groups"] if g["stack"] == stack) == rules
        assert {e["id"] for e in app_model["network"]["endpoints"] if e["stack"] == stack} == set(
            resources(template, "AWS::EC2::VPCEndpoint")
        )
        assert {s["id"] for s in app_model["network"]["subnets"] if s["stack"] == stack} == set(
            resources(template, "AWS::EC2::Subnet")
        )


def test_the_app_has_nothing_flagged_and_every_wildcard_has_its_reason(app_model):
    assert fails(app_model) == []
    found = [w for r in app_model["roles"] for p in r["policies"] for s in p["statements"] for w in s["wildcards"]]
    assert found, "the app's roles have wildcards (log streams, job ARNs); the report must show them"
    assert all(w["reason"] and w["source"] and w["flags"][0]["level"] == REVIEW for w in found)


def test_trust_conditions_and_statements_are_reported_as_in_the_template(assembly, app_model):
    for stack, template in assembly.stacks("-Foundation").items():
        (bedrock,) = [
            r for r in roles_trusting(template, "bedrock.amazonaws.com") if r.startswith("BedrockCustomization")
        ]
        role = next(r for r in app_model["roles"] if r["stack"] == stack and r["id"] == bedrock)
        assert role["assumed_by"] == ["bedrock.amazonaws.com"]
        (trust,) = role["trust"]
        assert any(c.startswith("StringEquals aws:SourceAccount = ") for c in trust["conditions"])
        assert any(
            c.startswith("ArnEquals aws:SourceArn = ") and c.endswith(":model-customization-job/*")
            for c in trust["conditions"]
        )
        (policy,) = role["policies"]
        document = props(template["Resources"][policy["name"]])["PolicyDocument"]
        assert [s["sid"] for s in policy["statements"]] == [s.get("Sid", "") for s in document["Statement"]]
        assert sum(len(s["actions"]) * len(s["resources"]) for s in policy["statements"]) == sum(
            len(as_list(s["Action"])) * len(as_list(s["Resource"])) for s in document["Statement"]
        )
        assert any(u.endswith("StartJobFunction4670363F") or "StartJob" in u for u in role["used_by"])


def _bedrock(template: dict) -> tuple[str, str]:
    (bedrock,) = [r for r in roles_trusting(template, "bedrock.amazonaws.com") if r.startswith("BedrockCustomization")]
    policy_id = next(
        lid
        for lid, p in resources(template, "AWS::IAM::Policy").items()
        if {"Ref": bedrock} in props(p).get("Roles", [])
    )
    return bedrock, policy_id


def _star_reasons(m: dict, role_id: str) -> dict[str, dict]:
    """Sid -> the wildcard ``Resource *`` of that statement of ``role_id``."""
    return {
        s["sid"]: w
        for r in m["roles"]
        if r["id"] == role_id
        for p in r["policies"]
        for s in p["statements"]
        for w in s["wildcards"]
        if w["value"] == "*"
    }


def test_wildcard_reason_is_the_acknowledgement_of_that_finding_for_that_statement(assembly, app_model):
    for stack, template in assembly.stacks("-Foundation").items():
        bedrock, policy_id = _bedrock(template)
        meta = template["Resources"][policy_id]["Metadata"]
        acks = {e["id"]: e["reason"] for e in meta["cdk_nag"]["rules_to_suppress"]}
        stars = _star_reasons({"roles": [r for r in app_model["roles"] if r["stack"] == stack]}, bedrock)
        assert set(stars) == {"DescribeNetwork", "ManageOnlyBedrockManagedInterfaces"}
        for sid, star in stars.items():
            assert star["source"] == f"cdk-nag AwsSolutions-IAM5[Resource::*], statement {sid}"
            assert star["reason"] == meta["tuneforge_statement_reasons"]["AwsSolutions-IAM5[Resource::*]"][sid]
            # nag's own reason on the policy names every statement it covers, each with the reason shown for it
            assert f"Statement {sid}: {star['reason']}" in acks["AwsSolutions-IAM5[Resource::*]"]
        assert (
            "read-only" in stars["DescribeNetwork"]["reason"]
            and "read-only" not in stars["ManageOnlyBedrockManagedInterfaces"]["reason"]
        )


def test_every_unspecific_wildcard_shows_a_reason_written_for_its_own_statement(app_model):
    checked = 0
    for r in app_model["roles"]:
        for p in r["policies"]:
            for s in p["statements"]:
                others = [o for o in p["statements"] if o is not s]
                for w in s["wildcards"]:
                    if policies.unspecific(w["kind"], w["value"]):
                        checked += 1
                        assert policies.names_statement(w["reason"], s["sid"], s["actions"]), (
                            r["id"],
                            s["sid"],
                            w["reason"],
                        )
                        assert policies.reason_fits_statement(s, w["reason"], others) == [], (
                            r["id"],
                            s["sid"],
                            w["reason"],
                        )
    assert checked >= 20  # every function's interface and tracing statements, Bedrock's two, the state machine's


def test_one_reason_for_two_statements_on_star_is_flagged(foundation):
    """The insecure twin: the per-statement reasons removed, nag's one reason (about ec2:Describe*) is shown
    for the interface-deleting statement too; and reasons swapped between the statements are caught."""
    name, template = foundation
    bedrock, policy_id = _bedrock(template)
    meta = template["Resources"][policy_id]["Metadata"]
    per_statement = meta.pop("tuneforge_statement_reasons")
    shared = "The ec2:Describe* actions Bedrock needs to place its network interfaces support no resource-level permissions; they are read-only."
    for entry in meta["cdk_nag"]["rules_to_suppress"]:
        if entry["id"] == "AwsSolutions-IAM5[Resource::*]":
            entry["reason"] = shared
    m = model.build_from_templates({name: template})
    stars = _star_reasons(m, bedrock)
    assert stars["ManageOnlyBedrockManagedInterfaces"]["reason"] == shared
    assert any(
        f.startswith(
            f"{bedrock} {policy_id} ManageOnlyBedrockManagedInterfaces: the reason shown for wildcard Resource * names neither its Sid nor any of its actions"
        )
        for f in fails(m)
    ), fails(m)
    assert not any(f.startswith(f"{bedrock} {policy_id} DescribeNetwork:") for f in fails(m))

    swapped = dict(
        zip(
            per_statement["AwsSolutions-IAM5[Resource::*]"],
            reversed(list(per_statement["AwsSolutions-IAM5[Resource::*]"].values())),
            strict=True,
        )
    )
    meta["tuneforge_statement_reasons"] = {**per_statement, "AwsSolutions-IAM5[Resource::*]": swapped}
    flagged = fails(model.build_from_templates({name: template}))
    assert any(
        f.startswith(
            f"{bedrock} {policy_id} DescribeNetwork: the reason shown for wildcard Resource * was written for statement ManageOnlyBedrockManagedInterfaces"
        )
        for f in flagged
    ), flagged
    assert any(
        f.startswith(
            f"{bedrock} {policy_id} ManageOnlyBedrockManagedInterfaces: the reason shown for wildcard Resource * was written for statement DescribeNetwork"
        )
        for f in flagged
    ), flagged


def test_a_per_statement_reason_without_its_acknowledgement_explains_nothing(foundation):
    name, template = foundation
    bedrock, policy_id = _bedrock(template)
    template["Resources"][policy_id]["Metadata"].pop("cdk_nag")
    star = _star_reasons(model.build_from_templates({name: template}), bedrock)["DescribeNetwork"]
    assert star["reason"] == "" and star["flags"][0]["level"] == FAIL


def test_wildcard_reason_falls_back_to_the_checkov_comment_and_is_flagged_without_one(foundation):
    name, template = foundation
    (bedrock,) = [r for r in roles_trusting(template, "bedrock.amazonaws.com") if r.startswith("BedrockCustomization")]
    policy_id = next(
        lid
        for lid, p in resources(template, "AWS::IAM::Policy").items()
        if {"Ref": bedrock} in props(p).get("Roles", [])
    )
    meta = template["Resources"][policy_id]["Metadata"]
    meta.pop("cdk_nag")
    meta["checkov"] = {
        "skip": [{"id": "CKV_AWS_111", "comment": "Describe calls only; no resource-level permissions exist."}]
    }
    star = lambda m: next(
        w
        for r in m["roles"]
        if r["id"] == bedrock
        for p in r["policies"]
        for s in p["statements"]
        for w in s["wildcards"]
        if w["value"] == "*"
    )  # noqa: E731
    explained = star(model.build_from_templates({name: template}))
    assert (explained["source"], explained["reason"]) == (
        "checkov CKV_AWS_111",
        "Describe calls only; no resource-level permissions exist.",
    )
    meta.pop("checkov")
    unexplained = star(model.build_from_templates({name: template}))
    assert unexplained["reason"] == "" and unexplained["flags"][0]["level"] == FAIL


# ----------------------------------------------------------------- injected insecure resources


def test_injected_wildcard_unencrypted_bucket_and_open_ingress_are_flagged(foundation):
    name, template = foundation
    m = model.build_from_templates({name: inject(template)})
    report = markdown.render(m)

    (wildcard,) = [
        w
        for r in m["roles"]
        if r["id"] == "InjectedRole"
        for p in r["policies"]
        for s in p["statements"]
        for w in s["wildcards"]
    ]
    assert (wildcard["kind"], wildcard["value"], wildcard["reason"]) == ("Resource", "*", "")
    assert wildcard["flags"][0]["level"] == FAIL
    (bucket,) = [d for d in m["data_stores"] if d["id"] == "InjectedBucket"]
    assert bucket["encryption"] == "none configured" and bucket["flags"][0]["level"] == FAIL
    (rule,) = [r for g in m["network"]["security_groups"] for r in g["rules"] if r["id"] == "InjectedSshFromAnywhere"]
    assert (rule["direction"], rule["protocol_ports"], rule["peer"]) == ("ingress", "tcp 22", "0.0.0.0/0") and rule[
        "flags"
    ][0]["level"] == FAIL

    flagged = fails(m)
    assert any(f.startswith("InjectedRole InjectedPolicy ReadEverything: wildcard Resource *") for f in flagged), (
        flagged
    )
    assert any(f.startswith("InjectedBucket: S3::Bucket is not encrypted") for f in flagged), flagged
    assert any(f.startswith("InjectedSshFromAnywhere: ingress tcp 22 from 0.0.0.0/0") for f in flagged), flagged
    # the checklist agrees, and says so in the report too
    assert any("checklist 01 bucket encryption: InjectedBucket" in f for f in flagged)
    assert any("checklist 23 security groups: InjectedSshFromAnywhere" in f for f in flagged)
    assert any("checklist 11 managed policies and Resource *: InjectedPolicy: s3:GetObject" in f for f in flagged)

    # in REPORT.md: the summary lists them and each row is marked
    summary = report.split("## IAM roles")[0]
    for needle in (
        "InjectedRole InjectedPolicy ReadEverything: wildcard Resource *",
        "InjectedBucket: S3::Bucket is not encrypted",
        "InjectedSshFromAnywhere: ingress tcp 22 from 0.0.0.0/0",
    ):
        assert f"❌ {needle}" in summary
    assert row_of(report, "| ReadEverything |", "s3:GetObject").count("❌ *") == 1
    assert "**no reason on record**" in row_of(report, "ReadEverything", "Resource *", "no reason")
    assert row_of(report, "`InjectedBucket`", "S3::Bucket").startswith("| ❌ |")
    assert row_of(report, "`InjectedSshFromAnywhere`").startswith("| ❌ |")
    assert row_of(report, "| ❌ `InjectedRole` |", "lambda.amazonaws.com")


def test_untouched_copy_has_no_flags(foundation):
    name, template = foundation
    assert fails(model.build_from_templates({name: template})) == []


# ----------------------------------------------------------------- REPORT.md and the command


def test_report_has_one_section_per_topic_in_order(app_model):
    report = markdown.render(app_model)
    headings = re.findall(r"^## (.+)$", report, re.M)
    assert headings == [s for s in SECTIONS if s != "Changed since BASE"]
    assert "<Storage" not in report.replace("<br>", "")  # template values are escaped, not swallowed as HTML
    assert "&lt;StorageData" in report


def test_command_writes_both_files_and_a_diff_against_a_previous_report(assembly, foundation, tmp_path):
    name, template = foundation
    base = model.build_from_templates({**assembly.templates, name: inject(template)}, source="an older report")
    (tmp_path / "base.json").write_text(json.dumps(base))
    out = tmp_path / "audit"

    assert (
        main(
            [
                "--cdk-out",
                str(assembly.directory),
                "--out",
                str(out),
                "--no-scanners",
                "--base-report",
                str(tmp_path / "base.json"),
            ]
        )
        == 0
    )
    written = json.loads((out / "report.json").read_text())
    assert set(written["stacks"]) == set(assembly.templates)
    changes = written["changed_since_base"]["changes"]
    assert f"{name}/InjectedRole" in changes["roles"]["removed"] and not changes["roles"]["added"]
    group = props(template["Resources"]["InjectedSshFromAnywhere"])["GroupId"]["Fn::GetAtt"][0]
    assert changes["network"] == {"added": [], "removed": [f"{name}/{group} ingress tcp 22 from 0.0.0.0/0"]}
    assert set(changes) == {"roles", "trust", "permissions", "encryption", "retention", "network"}
    report = (out / "REPORT.md").read_text()
    assert "## Changed since BASE" in report and f"- ➖ {name}/InjectedRole" in report

    assert main(["--cdk-out", str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_report_names_its_commit_and_tool_versions(app_model):
    import subprocess

    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    prov = app_model["provenance"]
    assert prov["commit"]["head"] == head and isinstance(prov["commit"]["dirty"], bool)
    assert set(prov["tools"]) >= {"aws-cdk-lib", "cdk-nag", "cfn-lint", "checkov", "policy_sentry", "python", "node"}
    assert prov["tools"]["cfn-lint"] == "1.58.0"  # requirements-dev.txt's pin, read from the installed package
    top = markdown.render(app_model).splitlines()[2]
    assert top.startswith(f"Commit `{head}`") and "cdk-nag `" in top and "node `" in top
    dirty = markdown.render(
        {**app_model, "provenance": {**prov, "commit": {"head": head, "dirty": True}}}
    ).splitlines()[2]
    assert "uncommitted changes" in dirty and "uncommitted changes" not in markdown.render(
        {**app_model, "provenance": {**prov, "commit": {"head": head, "dirty": False}}}
    )


def test_every_perimeter_exemption_is_flagged_with_its_written_reason(app_model):
    exempt = {
        (p["stack"], p["id"], e["sid"], e["principal"]): e
        for p in app_model["resource_policies"]
        for e in p.get("exemptions", [])
    }
    assert exempt and all(
        e["reason"] and e["flags"][0]["level"] == REVIEW and e["reason"] in e["flags"][0]["message"]
        for e in exempt.values()
    )
    owners = {
        (stack.split("-")[1], principal)
        for stack, _, sid, principal in exempt
        if sid == "DenyDataAccessOutsideTheVpcEndpoint"
    }
    # prod names one data owner of its own (config/tuneforge.yaml data_uploader_arns); dev has only its uploader role
    # and, on the artifacts bucket, the managed judge's evaluation-job role (its jobs run outside any VPC)
    assert ("prod", "arn:aws:iam::210987654321:role/tuneforge-data-owners") in owners
    assert {p for stage, p in owners if stage == "dev"} == {
        "arn:<AWS::Partition>:iam::123456789012:role/tuneforge-dev-data-uploader",
        "<BedrockManagedJudgeRole5D1AD729.Arn>",
    }
    flagged = [f["message"] for f in app_model["flags"] if f["level"] == REVIEW]
    assert any(
        "DenyDataAccessOutsideTheVpcEndpoint: arn:aws:iam::210987654321:role/tuneforge-data-owners is exempt from this deny: The platform team names"
        in f
        for f in flagged
    )


def test_an_exemption_without_a_written_reason_fails(foundation):
    name, template = foundation
    policy_id, policy = next(
        (lid, r)
        for lid, r in resources(template, "AWS::S3::BucketPolicy").items()
        if "tuneforge_exemptions" in (r.get("Metadata") or {})
    )
    deny = next(
        s for s in props(policy)["PolicyDocument"]["Statement"] if s.get("Sid") == "DenyDataAccessOutsideTheVpcEndpoint"
    )
    deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = [
        *as_list(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]),
        "arn:aws:iam::999999999999:role/smuggled",
    ]
    flagged = fails(model.build_from_templates({name: template}))
    assert (
        f"{policy_id} DenyDataAccessOutsideTheVpcEndpoint: arn:aws:iam::999999999999:role/smuggled is exempt from this deny with no reason on record"
        in flagged
    )
    assert not any(
        "is exempt from this deny with no reason" in f and "smuggled" not in f for f in flagged
    )  # the written ones still hold
    policy["Metadata"].pop("tuneforge_exemptions")
    m = model.build_from_templates({name: template})
    unexplained = [f for f in fails(m) if "is exempt from this deny with no reason on record" in f]
    assert len(unexplained) == sum(len(p["exemptions"]) for p in m["resource_policies"] if p["id"] == policy_id) >= 3
    report = markdown.render(m)
    assert row_of(report, f"`{policy_id}`", "smuggled", "**no reason on record**").startswith("| ❌ |")
    assert row_of(report, f"`{policy_id}`", "| Deny |", "DenyDataAccessOutsideTheVpcEndpoint", "smuggled").startswith(
        "| ❌ |"
    )
