"""The functions, their interface endpoints and the customization jobs, zone by zone.

Functions run in the stage's function zones (StageConfig.function_zones: two by default) and every interface
endpoint has its network interfaces exactly there; customization jobs keep a subnet in every zone.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from stacks.config import load_stages
from stacks.grader_functions import GRADER_HANDLER, rft_profiles
from stacks.steps import PipelineSteps

STAGES = ("dev", "prod")


def resources(template: dict, type_: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def subnet_ids(foundation: dict, pipeline: dict | None, values: list) -> list[str]:
    """Subnet logical ids of the Foundation stack behind Refs there or Fn::ImportValue in the Pipeline stack."""
    exports = {o["Export"]["Name"]: o["Value"] for o in foundation.get("Outputs", {}).values() if "Export" in o}
    out = []
    for value in values:
        if "Fn::ImportValue" in value:
            value = exports[value["Fn::ImportValue"]]
        out.append(value["Ref"])
    return out


def zones(foundation: dict, lids: list[str]) -> list[str]:
    return sorted(foundation["Resources"][lid]["Properties"]["AvailabilityZone"] for lid in lids)


RFT_PROFILES = len(rft_profiles(load_stages(Path(__file__).resolve().parents[2] / "config" / "tuneforge.yaml")[0]))


def own_functions(pipeline: dict) -> dict[str, dict]:
    return {
        lid: fn for lid, fn in resources(pipeline, "AWS::Lambda::Function").items() if "VpcConfig" in fn["Properties"]
    }


def interface_endpoints(foundation: dict) -> dict[str, dict]:
    return {
        lid: ep
        for lid, ep in resources(foundation, "AWS::EC2::VPCEndpoint").items()
        if ep["Properties"]["VpcEndpointType"] == "Interface"
    }


def check_zones(foundation: dict, pipeline: dict, function_zones: list[str], all_zones: list[str]) -> None:
    assert zones(foundation, list(resources(foundation, "AWS::EC2::Subnet"))) == sorted(all_zones)
    functions = own_functions(pipeline)
    graders = [lid for lid, fn in functions.items() if fn["Properties"]["Handler"] == GRADER_HANDLER]
    assert len(graders) == RFT_PROFILES  # one grader per reinforcement fine-tuning profile, in the VPC too
    assert len(functions) == len(fields(PipelineSteps)) + 1 + len(graders)  # every step's function and the janitor's
    for lid, fn in functions.items():
        assert zones(
            foundation, subnet_ids(foundation, pipeline, fn["Properties"]["VpcConfig"]["SubnetIds"])
        ) == sorted(function_zones), lid
    for lid, ep in interface_endpoints(foundation).items():
        assert zones(foundation, subnet_ids(foundation, None, ep["Properties"]["SubnetIds"])) == sorted(
            function_zones
        ), lid
    # The customization job is given every subnet, and its role may place interfaces in every one of them.
    [start_job] = [
        fn for fn in functions.values() if fn["Properties"]["Handler"] == "lambdas.handlers.start_job.handler"
    ]
    job_subnets = [
        part
        for part in start_job["Properties"]["Environment"]["Variables"]["SUBNET_IDS"]["Fn::Join"][1]
        if isinstance(part, dict)
    ]
    assert zones(foundation, subnet_ids(foundation, pipeline, job_subnets)) == sorted(all_zones)
    policies = json.dumps(resources(foundation, "AWS::IAM::Policy"))
    for subnet in resources(foundation, "AWS::EC2::Subnet"):
        assert f'"Ref": "{subnet}"' in policies, f"the Bedrock role cannot use {subnet}"


@pytest.mark.parametrize("stage", STAGES)
def test_functions_and_interface_endpoints_share_two_zones_and_jobs_keep_all_six(assembly, stage):
    foundation, pipeline = (
        assembly.templates[f"Tuneforge-{stage}-Foundation"],
        assembly.templates[f"Tuneforge-{stage}-Pipeline"],
    )
    check_zones(foundation, pipeline, ["us-east-1a", "us-east-1b"], [f"us-east-1{z}" for z in "abcdef"])


@pytest.fixture(scope="module")
def three_zones(tmp_path_factory):
    """The dev stage with its functions in three zones, synthesized without the nag packs (a knob, not a gate)."""
    from app import ROOT, cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    [dev] = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])
    stage = dev.model_copy(update={"function_availability_zones": ["us-east-1b", "us-east-1c", "us-east-1e"]})
    outdir = tmp_path_factory.mktemp("three-zones")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


def test_the_function_zones_setting_moves_the_functions_and_the_endpoint_interfaces(three_zones, assembly):
    from tuneforge_audit import standing_cost

    templates = standing_cost.templates_of(three_zones)
    foundation, pipeline = templates["Tuneforge-dev-Foundation"], templates["Tuneforge-dev-Pipeline"]
    check_zones(foundation, pipeline, ["us-east-1b", "us-east-1c", "us-east-1e"], [f"us-east-1{z}" for z in "abcdef"])
    wide = standing_cost.of_templates(templates)["stages"]["dev"]
    default = standing_cost.of_templates(assembly.stacks("-Foundation") | assembly.stacks("-Pipeline"))["stages"]["dev"]
    endpoints = len(interface_endpoints(foundation))
    assert wide["network_interfaces"] == 3 * endpoints and default["network_interfaces"] == 2 * endpoints
    per_eni = standing_cost.ASSUMPTIONS["hours_per_month"].value * standing_cost.PRICES["interface_endpoint_hour"].usd
    assert wide["total_usd"] == pytest.approx(default["total_usd"] + endpoints * per_eni, abs=0.01)


# ----------------------------------------------------------------- which services, verified against the code

import ast  # noqa: E402

from stacks import vpc_services  # noqa: E402

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = (
                node.func.id
                if isinstance(node.func, ast.Name)
                else node.func.attr
                if isinstance(node.func, ast.Attribute)
                else ""
            )
            if name in ("client", "resource"):
                yield node, name


def handler_services() -> set[str]:
    """Endpoint prefixes of every AWS client the function code creates (client("…"), boto3.resource("…"))."""
    import botocore.session

    session = botocore.session.get_session()
    names = set()
    for path in LAMBDAS.rglob("*.py"):
        for node, _kind in _calls(ast.parse(path.read_text(), filename=str(path))):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
            else:
                # Only the one wrapper may take its service from a variable; everyone else names it.
                assert path.name == "_aws.py", f"{path}:{node.lineno}: an AWS client whose service is not a literal"
    return {session.get_service_model(name).endpoint_prefix for name in names}


def test_every_client_the_functions_create_has_its_endpoint_and_every_endpoint_a_caller():
    called = handler_services()
    assert called == (set(vpc_services.THROUGH_THE_VPC) | set(vpc_services.GATEWAY)) - {"xray"}, called
    assert not called & set(vpc_services.NOT_THROUGH_THE_VPC)
    # X-Ray is the one endpoint no handler calls: it is kept for the Lambda X-Ray daemon, and says so.
    assert "daemon" in vpc_services.THROUGH_THE_VPC["xray"].why and vpc_services.THROUGH_THE_VPC["xray"].source
    for prefix, service in vpc_services.NOT_THROUGH_THE_VPC.items():
        assert service.why, prefix


def test_no_powertools_utility_that_calls_aws_is_used():
    """Logger, Metrics (EMF on stdout) and Tracer (the daemon) need no endpoint; of the utilities only the
    parser and typing helpers are used, and they call nothing."""
    used = set()
    for path in LAMBDAS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aws_lambda_powertools.utilities"):
                used.add(node.module.split(".")[2])
    assert used <= {"parser", "typing"}, used


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_has_exactly_the_endpoints_stacks_vpc_services_names(assembly, stage):
    foundation = assembly.templates[f"Tuneforge-{stage}-Foundation"]
    services = {}
    for ep in resources(foundation, "AWS::EC2::VPCEndpoint").values():
        name = ep["Properties"]["ServiceName"]
        text = (
            name
            if isinstance(name, str)
            else "".join(p if isinstance(p, str) else "REGION" for p in name["Fn::Join"][1])
        )
        services[text.split(".", 3)[3]] = ep["Properties"]["VpcEndpointType"]
    assert services == {
        **{p: "Interface" for p in vpc_services.THROUGH_THE_VPC},
        **{p: "Gateway" for p in vpc_services.GATEWAY},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_function_may_call_what_has_no_endpoint(assembly, stage):
    """What stacks/vpc_services.py says of kms, monitoring and events holds in the roles: every key permission a
    function has goes through a service (kms:ViaService), and none may publish metrics or put events."""
    pipeline = assembly.templates[f"Tuneforge-{stage}-Pipeline"]
    roles = {lid for lid, fn in own_functions(pipeline).items() for lid in [fn["Properties"]["Role"]["Fn::GetAtt"][0]]}
    checked = 0
    for policy in resources(pipeline, "AWS::IAM::ManagedPolicy").values():
        # (a policy may name a role of the foundation stack, imported: the Bedrock role's grant to invoke graders)
        if not {r.get("Ref") for r in policy["Properties"].get("Roles", [])} & roles:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [
                a for a in actions if a.startswith(("cloudwatch:", "events:", "sts:", "logs:CreateLogGroup"))
            ], statement
            if any(a.startswith("kms:") for a in actions):
                assert "kms:ViaService" in statement.get("Condition", {}).get("StringEquals", {}), statement
                checked += 1
    assert checked >= len(fields(PipelineSteps)) + 1  # at least DecryptEnvironment on every function


# The standing cost of each stage, from its templates, pinned to the cent: an interface endpoint, a zone, a key,
# an alarm or a dashboard more moves it. Change the figure with the reason (and docs/benchmarks.md).
# +0.30, +0.31 in dev after rounding (2026-12-07): support-qa-vi-logs' weekly schedule invokes StartRun, whose RunsStarted metric is then a
# custom metric a schedule publishes (tuneforge_audit/standing_cost.py counts each at 0.30 USD a month).
STANDING_USD = {"dev": 95.55, "prod": 95.55}
NETWORK_INTERFACES = 12  # 6 interface endpoints x 2 function zones


@pytest.mark.parametrize("stage", STAGES)
def test_the_standing_cost_of_a_stage_is_pinned_and_within_the_goal(assembly, stage):
    from tuneforge_audit import standing_cost

    templates = {name: t for name, t in assembly.templates.items() if f"-{stage}-" in name}
    figures = standing_cost.of_templates(templates, sources=standing_cost.asset_sources(assembly.directory))["stages"][
        stage
    ]
    assert figures["network_interfaces"] == NETWORK_INTERFACES
    assert figures["total_usd"] == STANDING_USD[stage], figures["lines"]
    assert figures["within_goal"] and figures["total_usd"] <= standing_cost.GOAL_USD
    assert not figures["notes"], figures["notes"]
