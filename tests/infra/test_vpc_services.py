"""The functions, their interface endpoints and the customization jobs, zone by zone.

Functions run in the stage's function zones (StageConfig.function_zones: two by default) and every interface
endpoint has its network interfaces exactly there; customization jobs keep a subnet in every zone.
"""

from __future__ import annotations

import json

import pytest

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


def own_functions(pipeline: dict) -> dict[str, dict]:
    return {lid: fn for lid, fn in resources(pipeline, "AWS::Lambda::Function").items() if "VpcConfig" in fn["Properties"]}


def interface_endpoints(foundation: dict) -> dict[str, dict]:
    return {lid: ep for lid, ep in resources(foundation, "AWS::EC2::VPCEndpoint").items() if ep["Properties"]["VpcEndpointType"] == "Interface"}


def check_zones(foundation: dict, pipeline: dict, function_zones: list[str], all_zones: list[str]) -> None:
    assert zones(foundation, list(resources(foundation, "AWS::EC2::Subnet"))) == sorted(all_zones)
    functions = own_functions(pipeline)
    assert len(functions) == 13
    for lid, fn in functions.items():
        assert zones(foundation, subnet_ids(foundation, pipeline, fn["Properties"]["VpcConfig"]["SubnetIds"])) == sorted(function_zones), lid
    for lid, ep in interface_endpoints(foundation).items():
        assert zones(foundation, subnet_ids(foundation, None, ep["Properties"]["SubnetIds"])) == sorted(function_zones), lid
    # The customization job is given every subnet, and its role may place interfaces in every one of them.
    [start_job] = [fn for fn in functions.values() if fn["Properties"]["Handler"] == "lambdas.handlers.start_job.handler"]
    job_subnets = [part for part in start_job["Properties"]["Environment"]["Variables"]["SUBNET_IDS"]["Fn::Join"][1] if isinstance(part, dict)]
    assert zones(foundation, subnet_ids(foundation, pipeline, job_subnets)) == sorted(all_zones)
    policies = json.dumps(resources(foundation, "AWS::IAM::Policy"))
    for subnet in resources(foundation, "AWS::EC2::Subnet"):
        assert f'"Ref": "{subnet}"' in policies, f"the Bedrock role cannot use {subnet}"


@pytest.mark.parametrize("stage", STAGES)
def test_functions_and_interface_endpoints_share_two_zones_and_jobs_keep_all_six(assembly, stage):
    foundation, pipeline = assembly.templates[f"Tuneforge-{stage}-Foundation"], assembly.templates[f"Tuneforge-{stage}-Pipeline"]
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
