"""The Tuneforge-Delivery stack: the stages in the configured order, the approval with its security review before
prod, the gates in the synth step, a secure pipeline; a stage in another region added by configuration alone.

Each property is a function over the synthesized template, and each has its insecure twin below: a copy of the
template broken in exactly that way, which the same function must refuse.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from lambdas.domain.names import DELIVERY_STACK_NAME
from tuneforge_audit.acknowledgements import audit

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "tuneforge.yaml"
BOOTSTRAP_ROLE = re.compile(r"arn:\$\{AWS::Partition\}:iam::(\d{12}):role/cdk-hnb659fds-[a-z-]+-role-\1-[a-z0-9-]+$")


@pytest.fixture(scope="module")
def delivery(assembly) -> dict:
    return assembly.templates[DELIVERY_STACK_NAME]


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def pipeline_stages(template: dict) -> list[dict]:
    [pipeline] = of_type(template, "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]["Stages"]


def deployed_stages(template: dict) -> list[str]:
    """The pipeline's stages that deploy CloudFormation stacks, in order."""
    return [
        stage["Name"]
        for stage in pipeline_stages(template)
        if any(a["ActionTypeId"]["Provider"] == "CloudFormation" for a in stage["Actions"])
    ]


def build_commands(template: dict, project_ref: dict) -> list[str]:
    project = template["Resources"][project_ref["Ref"]]["Properties"]
    return json.loads(project["Source"]["BuildSpec"])["phases"]["build"]["commands"]


def stage_actions(template: dict, name: str) -> list[dict]:
    return next(stage for stage in pipeline_stages(template) if stage["Name"] == name)["Actions"]


def approval_problems(template: dict, stage: str) -> list[str]:
    """What is missing for a person to approve ``stage`` with the security report in front of them."""
    actions = stage_actions(template, stage)
    deploys = [a["RunOrder"] for a in actions if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    approvals = [a for a in actions if a["ActionTypeId"]["Provider"] == "Manual"]
    if not approvals:
        return [f"{stage}: no manual approval"]
    [approval] = approvals
    problems = []
    if approval["RunOrder"] >= min(deploys):
        problems.append(f"{stage}: the approval does not come before the deployment")
    reviews = [
        a
        for a in actions
        if a["ActionTypeId"]["Provider"] == "CodeBuild"
        and any("make audit" in c for c in build_commands(template, a["Configuration"]["ProjectName"]))
    ]
    if not reviews or reviews[0]["RunOrder"] >= approval["RunOrder"]:
        problems.append(f"{stage}: no `make audit` step before the approval")
    if "REPORT.md" not in approval["Configuration"].get("CustomData", "") or not approval["Configuration"].get(
        "ExternalEntityLink"
    ):
        problems.append(f"{stage}: the approval neither names the report nor links to it")
    return problems


def synth_problems(template: dict) -> list[str]:
    [build] = [stage for stage in pipeline_stages(template) if stage["Name"] == "Build"]
    commands = build_commands(template, build["Actions"][0]["Configuration"]["ProjectName"])
    if "make test" not in commands or "make synth" not in commands:
        return [f"the synth step does not run both make test and make synth: {commands}"]
    if commands.index("make test") > commands.index("make synth"):
        return ["the synth step synthesizes before the gates and the end-to-end suite run"]
    return []


def artifact_store_problems(template: dict) -> list[str]:
    """Every artifact bucket of the pipeline's own region: a rotating customer-managed key, TLS only, no public
    access, server access logs."""
    [pipeline] = of_type(template, "AWS::CodePipeline::Pipeline").values()
    stores = [s["ArtifactStore"] for s in pipeline["Properties"].get("ArtifactStores", [])]
    stores += [pipeline["Properties"]["ArtifactStore"]] if "ArtifactStore" in pipeline["Properties"] else []
    local = [s for s in stores if isinstance(s["Location"], dict)]
    if not local:
        return ["the pipeline has no artifact bucket of its own"]
    problems = []
    for store in local:
        lid = store["Location"]["Ref"]
        bucket = template["Resources"][lid]["Properties"]
        rule = bucket.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
        key_ref = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID", {})
        key = template["Resources"].get((key_ref.get("Fn::GetAtt") or [""])[0], {})
        if key.get("Type") != "AWS::KMS::Key" or not key["Properties"].get("EnableKeyRotation"):
            problems.append(f"{lid}: not encrypted with a rotating customer-managed key")
        if store.get("EncryptionKey", {}).get("Type") != "KMS":
            problems.append(f"{lid}: the pipeline does not encrypt its artifacts with KMS")
        if not bucket.get("LoggingConfiguration"):
            problems.append(f"{lid}: no server access logs")
        if not all(bucket.get("PublicAccessBlockConfiguration", {}).values()):
            problems.append(f"{lid}: public access not blocked")
        policies = [
            p["Properties"]["PolicyDocument"]["Statement"]
            for p in of_type(template, "AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": lid}
        ]
        if not any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for statements in policies
            for s in statements
        ):
            problems.append(f"{lid}: requests without TLS are not denied")
    return problems


def privileged_projects(template: dict) -> list[str]:
    return [
        lid
        for lid, project in of_type(template, "AWS::CodeBuild::Project").items()
        if project["Properties"]["Environment"].get("PrivilegedMode")
    ]


def build_log_problems(template: dict) -> list[str]:
    problems = []
    for lid, project in of_type(template, "AWS::CodeBuild::Project").items():
        group_ref = project["Properties"].get("LogsConfig", {}).get("CloudWatchLogs", {}).get("GroupName", {})
        group = template["Resources"].get(group_ref.get("Ref", ""), {}).get("Properties", {})
        if not group.get("KmsKeyId") or not group.get("RetentionInDays"):
            problems.append(f"{lid}: does not log to a KMS-encrypted log group with retention")
        if not project["Properties"].get("EncryptionKey"):
            problems.append(f"{lid}: build artifacts not encrypted with the pipeline's key")
    return problems


def cross_account_problems(template: dict, tooling_account: str) -> list[str]:
    """Other accounts are reached through the CDK bootstrap roles only: no role here trusts another account, and
    every action role of another account is a bootstrap role (`cdk bootstrap --trust`)."""
    problems = []
    for lid, role in of_type(template, "AWS::IAM::Role").items():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            principal = statement.get("Principal", {}).get("AWS")
            for arn in principal if isinstance(principal, list) else [principal] if principal else []:
                own = isinstance(arn, dict) and ({"Ref", "Fn::GetAtt"} & set(arn))  # a role of this template
                if not own and tooling_account not in _arn(arn):
                    problems.append(f"{lid}: trusts {arn}")
    for stage in pipeline_stages(template):
        for action in stage["Actions"]:
            for role_arn in (action.get("RoleArn"), action.get("Configuration", {}).get("RoleArn")):
                if role_arn is None or (isinstance(role_arn, dict) and {"Ref", "Fn::GetAtt"} & set(role_arn)):
                    continue  # none, or a role of this template, in the tooling account
                text = _arn(role_arn)
                if tooling_account not in text and not BOOTSTRAP_ROLE.match(text):
                    problems.append(f"{action['Name']}: acts as {text}, not a CDK bootstrap role")
    return problems


def _arn(value) -> str:
    """An ARN as a string: Fn::Sub's template, or Fn::Join's parts with a pseudo parameter as ``${AWS::…}``; a
    reference to a resource of the template stays its JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(
            p if isinstance(p, str) else "${" + p["Ref"] + "}" if isinstance(p, dict) and "Ref" in p else json.dumps(p)
            for p in parts
        )
    return json.dumps(value)


# ----------------------------------------------------------------- the bundled configuration


def test_the_stages_are_deployed_in_the_configured_order(delivery):
    configured = yaml.safe_load(CONFIG.read_text())["delivery"]["stages"]
    assert deployed_stages(delivery) == [entry["stage"] for entry in configured] == ["dev", "prod"]
    # Source, then the gates, then the pipeline updates itself and publishes the assets, then the stages.
    assert [s["Name"] for s in pipeline_stages(delivery)][:4] == ["Source", "Build", "UpdatePipeline", "Assets"]
    for stage, account in (("dev", "123456789012"), ("prod", "210987654321")):
        deploys = [a for a in stage_actions(delivery, stage) if a["ActionTypeId"]["Provider"] == "CloudFormation"]
        assert [a["Configuration"]["StackName"] for a in deploys] == [
            f"Tuneforge-{stage}-Foundation",
            f"Tuneforge-{stage}-Foundation",
            f"Tuneforge-{stage}-Pipeline",
            f"Tuneforge-{stage}-Pipeline",
        ]
        # Each through the stage account's CDK deploy role; the change sets run as its CloudFormation execution role.
        assert all(f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-" in _arn(a["RoleArn"]) for a in deploys)
        prepares = [a for a in deploys if a["Name"].endswith(".Prepare")]
        assert all(
            f":iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-" in _arn(a["Configuration"]["RoleArn"])
            for a in prepares
        )


def test_prod_waits_for_an_approval_with_the_security_report_and_dev_does_not(delivery):
    assert approval_problems(delivery, "prod") == []
    assert approval_problems(delivery, "dev") == ["dev: no manual approval"]
    [review] = [a for a in stage_actions(delivery, "prod") if a["Name"] == "SecurityReview-prod"]
    commands = build_commands(delivery, review["Configuration"]["ProjectName"])
    assert "make audit ${BASE:+BASE=$BASE}" in commands
    assert any("list-pipeline-executions" in c and "Succeeded" in c for c in commands)  # BASE: the deployed commit


def test_an_approval_after_the_deployment_or_without_its_review_is_refused(delivery):
    late = copy.deepcopy(delivery)
    for action in stage_actions(late, "prod"):
        if action["ActionTypeId"]["Provider"] == "Manual":
            action["RunOrder"] = 99
    assert "prod: the approval does not come before the deployment" in approval_problems(late, "prod")
    unreviewed = copy.deepcopy(delivery)
    stage = next(s for s in pipeline_stages(unreviewed) if s["Name"] == "prod")
    stage["Actions"] = [a for a in stage["Actions"] if not a["Name"].startswith("SecurityReview")]
    assert "prod: no `make audit` step before the approval" in approval_problems(unreviewed, "prod")


def test_the_synth_step_runs_the_gates_and_the_end_to_end_suite_before_it_synthesizes(delivery):
    assert synth_problems(delivery) == []
    skipped = copy.deepcopy(delivery)
    [build] = [s for s in pipeline_stages(skipped) if s["Name"] == "Build"]
    project = skipped["Resources"][build["Actions"][0]["Configuration"]["ProjectName"]["Ref"]]["Properties"]
    project["Source"]["BuildSpec"] = project["Source"]["BuildSpec"].replace('"make test",', "")
    assert synth_problems(skipped) != []


def test_the_artifact_bucket_is_encrypted_with_a_rotating_key_tls_only_and_logged(delivery):
    assert artifact_store_problems(delivery) == []
    [bucket] = [
        s["ArtifactStore"]["Location"]["Ref"]
        for s in _stores(delivery)
        if isinstance(s["ArtifactStore"]["Location"], dict)
    ]
    unencrypted = copy.deepcopy(delivery)
    del unencrypted["Resources"][bucket]["Properties"]["BucketEncryption"]
    assert f"{bucket}: not encrypted with a rotating customer-managed key" in artifact_store_problems(unencrypted)
    unrotated = copy.deepcopy(delivery)
    for key in of_type(unrotated, "AWS::KMS::Key").values():
        key["Properties"]["EnableKeyRotation"] = False
    assert f"{bucket}: not encrypted with a rotating customer-managed key" in artifact_store_problems(unrotated)
    plain = copy.deepcopy(delivery)
    for policy in of_type(plain, "AWS::S3::BucketPolicy").values():
        policy["Properties"]["PolicyDocument"]["Statement"] = []
    assert f"{bucket}: requests without TLS are not denied" in artifact_store_problems(plain)


def _stores(template: dict) -> list[dict]:
    [pipeline] = of_type(template, "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]["ArtifactStores"]


def test_no_build_runs_privileged(delivery):
    assert of_type(delivery, "AWS::CodeBuild::Project") and privileged_projects(delivery) == []
    docker = copy.deepcopy(delivery)
    lid = next(iter(of_type(docker, "AWS::CodeBuild::Project")))
    docker["Resources"][lid]["Properties"]["Environment"]["PrivilegedMode"] = True
    assert privileged_projects(docker) == [lid]


def test_builds_log_to_an_encrypted_group_with_retention(delivery):
    assert build_log_problems(delivery) == []
    unencrypted = copy.deepcopy(delivery)
    for group in of_type(unencrypted, "AWS::Logs::LogGroup").values():
        del group["Properties"]["KmsKeyId"]
    assert len(build_log_problems(unencrypted)) == len(of_type(delivery, "AWS::CodeBuild::Project"))


def test_other_accounts_are_reached_through_the_cdk_bootstrap_roles_only(delivery):
    tooling = yaml.safe_load(CONFIG.read_text())["delivery"]["account"]
    assert cross_account_problems(delivery, tooling) == []
    trusting = copy.deepcopy(delivery)
    role = next(iter(of_type(trusting, "AWS::IAM::Role").values()))
    role["Properties"]["AssumeRolePolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    )
    assert any("trusts arn:aws:iam::999999999999:root" in p for p in cross_account_problems(trusting, tooling))
    hand_made = copy.deepcopy(delivery)
    stage_actions(hand_made, "prod")[-1]["RoleArn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::210987654321:role/deployer"
    }
    assert any("not a CDK bootstrap role" in p for p in cross_account_problems(hand_made, tooling))


def test_the_pipeline_deploys_the_stacks_the_gates_checked(assembly):
    """Each Stage's templates are the top-level stacks' templates, but for what CDK derives from the construct path
    (logical ids of rules and permissions, Name tags) and the nag audit trail, which synth writes only at the top."""
    for stage in ("dev", "prod"):
        nested = assembly.directory / f"assembly-{DELIVERY_STACK_NAME}-{stage}"
        for kind in ("Foundation", "Pipeline"):
            [path] = nested.glob(f"*{stage}Tuneforge{stage}{kind}*.template.json")
            top = assembly.templates[f"Tuneforge-{stage}-{kind}"]
            nested_template = json.loads(path.read_text())
            assert _without_path_names(nested_template, stage) == _without_path_names(top, stage)
    # Its twin: a Stage whose copy lost one setting is told apart.
    weakened = json.loads(next(nested.glob("*prodTuneforgeprodFoundation*.template.json")).read_text())
    bucket = next(r for r in weakened["Resources"].values() if r["Type"] == "AWS::S3::Bucket")
    del bucket["Properties"]["VersioningConfiguration"]
    assert _without_path_names(weakened, "prod") != _without_path_names(
        assembly.templates["Tuneforge-prod-Foundation"], "prod"
    )


def _without_path_names(template: dict, stage: str) -> dict:
    """The template with what CDK derives from the construct path taken out: a resource whose logical id holds its
    path is compared by its content only, a path inside a value (a Sid, a Name tag) becomes ``<path>``; no metadata."""
    path = re.compile(rf"(TuneforgeDelivery{stage})?Tuneforge{stage}(Foundation|Pipeline)[A-Za-z0-9]*")

    def text(value: object) -> str:
        return path.sub("<path>", json.dumps(value, sort_keys=True).replace(f"{DELIVERY_STACK_NAME}/{stage}/", ""))

    named, pathed = {}, []
    for lid, resource in template["Resources"].items():
        content = text({k: v for k, v in resource.items() if k != "Metadata"})
        if path.search(lid):
            pathed.append(content)
        else:
            named[lid] = content
    rest = text({k: v for k, v in template.items() if k != "Resources"})
    return {"named": named, "pathed": sorted(pathed), "rest": rest}


# ----------------------------------------------------------------- a stage and a region added by configuration


@pytest.fixture(scope="module")
def with_a_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled configuration plus a stage `qa` in us-west-2, in an account of its own, deployed after an
    approval; synthesized with every nag pack, as `make synth` would."""
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_delivery, load_stages

    data = yaml.safe_load(yaml.safe_dump(yaml.safe_load(CONFIG.read_text())))  # anchors resolved into copies
    qa = {
        **data["stages"]["prod"],
        "account": "444455556666",
        "region": "us-west-2",
        "availability_zones": ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"],
        "s3_prefix_list_id": "pl-68a54001",
        "dynamodb_prefix_list_id": "pl-00a54069",
        "data_uploader_arns": [],
    }
    # Fine-tuning of the bundled Nova models is in us-east-1 only (lambdas/domain/catalogue); Llama 3.1 8B is in us-west-2.
    profile = {
        **data["stages"]["prod"]["profiles"]["support-qa-vi"],
        "base_model": "meta.llama3-1-8b-instruct-v1:0:128k",
    }
    profile.pop("hyperparameters")
    qa["profiles"] = {"support-qa-llama": profile}
    data["stages"]["qa"] = qa
    data["delivery"]["stages"].append({"stage": "qa", "approval": True})
    folder = tmp_path_factory.mktemp("second-region")
    config = folder / "tuneforge.yaml"
    config.write_text(yaml.safe_dump(data))
    stages = load_stages(config)
    build_app(
        stages, context=cdk_context(), outdir=str(folder / "cdk.out"), delivery=load_delivery(config, stages)
    ).synth()
    return folder / "cdk.out"


def test_a_stage_in_another_region_is_a_configuration_change_only(with_a_region):
    template = json.loads((with_a_region / f"{DELIVERY_STACK_NAME}.template.json").read_text())
    assert deployed_stages(template) == ["dev", "prod", "qa"]
    assert approval_problems(template, "qa") == []
    assert [a["Region"] for a in _stores(template)] == ["us-east-1", "us-west-2"]
    assert (with_a_region / f"{DELIVERY_STACK_NAME}-us-west-2.template.json").exists()
    region = json.loads((with_a_region / f"{DELIVERY_STACK_NAME}-us-west-2.template.json").read_text())
    [bucket] = [b for b in of_type(region, "AWS::S3::Bucket").values() if b["Properties"].get("LoggingConfiguration")]
    assert bucket["Properties"]["BucketName"] == "tuneforge-delivery-artifacts-333333333333-us-west-2"
    assert cross_account_problems(template, "333333333333") == []
    # The pipeline's KMS grant for that region's key is held to the key that carries the artifact alias.
    assert '"kms:ResourceAliases": "alias/tuneforge-delivery-artifacts"' in json.dumps(template)
    kms_on_everything = [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "*" in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        and any(str(action).startswith("kms:") for action in statement["Action"])
    ]
    assert kms_on_everything == []
    # Synth passed every nag pack; the acknowledgements are allowlisted, scoped and explained.
    assert audit(with_a_region).problems == []


def test_the_pipeline_updates_itself_with_the_cdk_cli_package_json_pins(delivery):
    from stacks.delivery_stack import CDK_CLI_VERSION

    package = json.loads((ROOT / "package.json").read_text())
    assert CDK_CLI_VERSION == package["devDependencies"]["aws-cdk"]
    [mutate] = [s for s in pipeline_stages(delivery) if s["Name"] == "UpdatePipeline"]
    project = delivery["Resources"][mutate["Actions"][0]["Configuration"]["ProjectName"]["Ref"]]["Properties"]
    assert f"npm install -g aws-cdk@{CDK_CLI_VERSION}" in project["Source"]["BuildSpec"]
