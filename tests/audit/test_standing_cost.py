"""The standing cost follows the templates: each billed resource moves the figure by its price, nothing else does.

Small hand-written templates for the arithmetic; the synthesized stage is pinned in tests/infra/test_vpc_services.py.
"""

from __future__ import annotations

import copy

import pytest

from tuneforge_audit import standing_cost
from tuneforge_audit.standing_cost import ASSUMPTIONS, PRICES

HOURS = ASSUMPTIONS["hours_per_month"].value


def endpoint(service: str, subnets: int, type_: str = "Interface") -> dict:
    properties = {
        "ServiceName": f"com.amazonaws.us-east-1.{service}",
        "VpcEndpointType": type_,
        "VpcId": {"Ref": "Vpc"},
    }
    if type_ == "Interface":
        properties["SubnetIds"] = [{"Ref": f"Subnet{i}"} for i in range(subnets)]
    return {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}


def figures(resources: dict, stack: str = "Tuneforge-dev-Foundation", **kwargs) -> dict:
    return standing_cost.of_templates({stack: {"Resources": resources}}, **kwargs)["stages"]["dev"]


def line(stage: dict, item: str) -> dict:
    [found] = [l for l in stage["lines"] if l["item"] == item]
    return found


def test_every_network_interface_of_an_interface_endpoint_bills_every_hour_and_gateways_nothing():
    stage = figures(
        {
            "Bedrock": endpoint("bedrock", 3),
            "Sns": endpoint("sns", 2),
            "S3": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
                    "VpcEndpointType": "Gateway",
                },
            },
        }
    )
    assert stage["network_interfaces"] == 5
    assert line(stage, "Interface endpoint hours")["monthly_usd"] == pytest.approx(
        5 * HOURS * PRICES["interface_endpoint_hour"].usd
    )
    assert line(stage, "Gateway endpoints")["monthly_usd"] == 0 and line(stage, "Gateway endpoints")["detail"] == "s3"
    assert stage["total_usd"] == pytest.approx(36.50)  # 5 x 730 h x $0.01


def test_one_more_endpoint_or_zone_raises_the_figure_by_its_hours():
    resources = {"Bedrock": endpoint("bedrock", 2)}
    base = figures(resources)["total_usd"]
    wider = copy.deepcopy(resources)
    wider["Bedrock"]["Properties"]["SubnetIds"].append({"Ref": "Subnet9"})
    more = {**copy.deepcopy(resources), "Kms": endpoint("kms", 2)}
    per_eni = HOURS * PRICES["interface_endpoint_hour"].usd
    assert figures(wider)["total_usd"] == pytest.approx(base + per_eni)
    assert figures(more)["total_usd"] == pytest.approx(base + 2 * per_eni)


def test_a_rotating_key_is_priced_at_its_limit_and_a_fixed_key_at_one_dollar():
    rotating = figures({"Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}}})
    fixed = figures({"Key": {"Type": "AWS::KMS::Key", "Properties": {}}})
    assert fixed["total_usd"] == pytest.approx(PRICES["kms_key_month"].usd)
    assert rotating["total_usd"] == pytest.approx(
        PRICES["kms_key_month"].usd + ASSUMPTIONS["kms_rotations"].value * PRICES["kms_rotation_month"].usd
    )


def test_alarms_are_priced_per_metric_and_by_resolution_and_dashboards_each():
    stage = figures(
        {
            "Plain": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Period": 300},
            },
            "Fast": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Period": 10},
            },
            "Math": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Metrics": [
                        {"Id": "a", "MetricStat": {"Period": 60}},
                        {"Id": "b", "MetricStat": {"Period": 60}},
                        {"Id": "e", "Expression": "a+b"},
                    ]
                },
            },
            "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        }
    )
    assert line(stage, "Alarms")["quantity"] == 3
    assert line(stage, "High-resolution alarms")["quantity"] == 1
    assert stage["total_usd"] == pytest.approx(3 * 0.10 + 0.30 + 3.00)


def scheduled(rate: str, *, retention: int | None = 30, memory: int = 1024) -> dict:
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": retention} if retention else {}}
    return {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "MemorySize": memory,
                "Handler": "lambdas.handlers.janitor.handler",
                "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
            },
        },
        "Logs": group,
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": rate,
                "State": "ENABLED",
                "Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}, "Id": "t"}],
            },
        },
    }


def test_schedules_are_counted_from_their_rate_with_their_function_memory():
    stage = figures(scheduled("rate(5 minutes)"))
    invocations = 288 * HOURS / 24
    assert line(stage, "Scheduled invocations: requests")["quantity"] == pytest.approx(invocations)
    assert line(stage, "Scheduled invocations: duration")["quantity"] == pytest.approx(
        invocations * 1.0 * ASSUMPTIONS["idle_invocation_seconds"].value
    )
    hourly = figures(scheduled("rate(1 hour)"))
    assert line(hourly, "Scheduled invocations: requests")["quantity"] == pytest.approx(24 * HOURS / 24)
    assert standing_cost.invocations_per_day("cron(0 12 * * ? *)") is None


def test_a_longer_retention_stores_more_and_a_group_that_never_expires_is_named():
    month = line(figures(scheduled("rate(1 hour)", retention=30)), "Logs the schedules write: storage")["quantity"]
    year = line(figures(scheduled("rate(1 hour)", retention=365)), "Logs the schedules write: storage")["quantity"]
    assert year == pytest.approx(month * 365 / 30)
    forever = figures(scheduled("rate(1 hour)", retention=None))
    assert any("never expire" in note and "Logs" in note for note in forever["notes"])


def test_custom_metrics_are_read_from_the_scheduled_handler_or_said_to_be_unread():
    source = 'metrics.add_metric(name="Swept", unit=MetricUnit.Count, value=1)\nmetrics.add_metric(name="Left", unit=MetricUnit.Count, value=0)\n'
    read = figures(scheduled("rate(1 hour)"), sources=lambda stack, fn: source)
    assert line(read, "Custom metrics the schedules publish")["quantity"] == 2
    unread = figures(scheduled("rate(1 hour)"))
    assert line(unread, "Custom metrics the schedules publish")["quantity"] == 0
    assert any("not counted" in note for note in unread["notes"])


def test_stacks_are_grouped_by_stage_and_a_stage_over_the_goal_says_so():
    endpoints = {f"E{i}": endpoint(f"svc{i}", 6) for i in range(4)}
    result = standing_cost.of_templates(
        {
            "Tuneforge-dev-Foundation": {"Resources": endpoints},
            "Tuneforge-dev-Pipeline": {"Resources": {"Board": {"Type": "AWS::CloudWatch::Dashboard"}}},
            "Tuneforge-prod-Foundation": {"Resources": {}},
        }
    )
    dev, prod = result["stages"]["dev"], result["stages"]["prod"]
    assert dev["stacks"] == ["Tuneforge-dev-Foundation", "Tuneforge-dev-Pipeline"]
    assert dev["total_usd"] == pytest.approx(24 * HOURS * 0.01 + 3.00) and dev["within_goal"] is False
    assert prod["total_usd"] == 0 and prod["within_goal"] is True


def test_every_price_has_a_source_and_a_date():
    for key, price in PRICES.items():
        assert price.source.startswith("https://"), key
        assert price.read == standing_cost.READ_ON and price.unit, key


def test_make_audit_reports_each_stage_with_its_breakdown_prices_and_sources(app_model):
    from tuneforge_audit import markdown

    report = markdown.render(app_model)
    section = report.split("## Standing cost")[1]
    for stage, figures_ in app_model["standing_cost"]["stages"].items():
        assert f"### {stage}: ${figures_['total_usd']:.2f} a month" in section
        assert f"{stage} ${figures_['total_usd']:.2f}" in report.split("## IAM roles")[0], (
            "the summary names every stage's figure"
        )
    for key, price in PRICES.items():
        assert f"`{key}`" in section and price.source in section
