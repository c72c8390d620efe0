"""What a stage costs per month while no run is in flight, computed from the synthesized templates only.

    of_templates(templates)          # pure: stack name -> template dict in, the figures out
    of_cdk_out(cdk_out)              # the same for a cloud assembly, reading the Lambda asset for handler sources

"Standing" means billed by the hour or the month whatever the stage does, or by the activity it keeps up on its
own (the scheduled fallback check and janitor): interface-endpoint network interfaces, KMS keys, alarms,
dashboards, the custom metrics and logs the schedules write, and the schedules' invocations. What runs add
(training, evaluation endpoints, a promoted champion's throughput, data in the buckets and tables) is the run
estimate's business and is listed under "not counted" with the reason.

Every price is in ``PRICES`` with its source and the date it was read; every figure that is not in a template
is in ``ASSUMPTIONS``. The prices are US East (N. Virginia)'s; a stage elsewhere is priced at them and says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

READ_ON = "2026-12-04"
PRICED_REGION = "us-east-1"
# Issue 12's goal for one stage with the same perimeter.
GOAL_USD = 120.0


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    read: str = READ_ON
    note: str = ""


CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
CLOUDWATCH_NOTE = (
    "the page renders its paid-tier rates per Region in script, so its stored text carries only the free tier; the us-east-1 rate was read from "
    "https://cloudburn.io/blog/amazon-cloudwatch-pricing (taken from the AWS page, Feb 2026) and agrees with "
    "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/ (2026-06-13) and https://c3x.dev/blog/cloudwatch-logs-cost-optimization (June 2026)"
)

PRICES: dict[str, Price] = {
    "interface_endpoint_hour": Price(
        0.01,
        "USD per interface endpoint per Availability Zone (one network interface) per hour",
        "https://aws.amazon.com/privatelink/pricing/",
        note="AWS bills 'each hour that your VPC endpoint remains provisioned in each Availability Zone', a partial hour as a full one; the page renders the hourly "
        "rate per Region in script, and $0.01 (us-east-1) was read from https://awsnegotiations.com/privatelink-cost-analysis.html (May 2026) and "
        "https://cloudcostkit.com/calculators/aws-vpc-interface-endpoint-cost-calculator (2026-01-29); data processed ($0.01/GB) is usage, not counted",
    ),
    "gateway_endpoint_month": Price(
        0.0,
        "USD per gateway endpoint per month",
        "https://docs.aws.amazon.com/prescriptive-guidance/latest/aws-startup-security-baseline/wkld-12.html",
        note="'Gateway endpoints ... come at no additional charge'",
    ),
    "kms_key_month": Price(
        1.00,
        "USD per customer managed KMS key per month",
        "https://aws.amazon.com/kms/pricing/",
        note="'Each AWS KMS key that you create in KMS costs $1/month'",
    ),
    "kms_rotation_month": Price(
        1.00,
        "USD per month for each of a key's first two automatic rotations",
        "https://aws.amazon.com/kms/pricing/",
        note="'each newly generated backing key costs an additional $1/month'; a key's price stops growing after its second rotation: "
        "https://aws.amazon.com/blogs/security/the-curious-case-of-faster-aws-kms-symmetric-key-rotation/ ('a new limit on the price of all symmetric keys that have had two or more rotations')",
    ),
    "alarm_metric_month": Price(
        0.10, "USD per standard-resolution alarm metric per month", CLOUDWATCH, note=CLOUDWATCH_NOTE
    ),
    "high_resolution_alarm_metric_month": Price(
        0.30, "USD per high-resolution (period under 60 s) alarm metric per month", CLOUDWATCH, note=CLOUDWATCH_NOTE
    ),
    "dashboard_month": Price(
        3.00,
        "USD per custom dashboard per month",
        CLOUDWATCH,
        note=CLOUDWATCH_NOTE
        + "; the free tier (3 dashboards an account) is not applied: it is per account, not per stage",
    ),
    "custom_metric_month": Price(
        0.30,
        "USD per custom metric per month (first 10,000)",
        CLOUDWATCH,
        note="read from https://signoz.io/guides/cloudwatch-pricing (Feb 2026, '$0.30/month for the first 10,000') and the sources above; "
        + CLOUDWATCH_NOTE.split(";")[0],
    ),
    "logs_ingestion_gb": Price(
        0.50,
        "USD per GB ingested (Standard log class; VPC flow logs are vended logs at the same first-tier rate)",
        CLOUDWATCH,
        note=CLOUDWATCH_NOTE,
    ),
    "logs_storage_gb_month": Price(0.03, "USD per GB stored per month", CLOUDWATCH, note=CLOUDWATCH_NOTE),
    "lambda_request": Price(
        0.0000002,
        "USD per Lambda request",
        "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html",
        note="'$0.20 per 1 million requests'; the free tier is per account and not applied",
    ),
    "lambda_gb_second": Price(
        0.0000166667,
        "USD per Lambda GB-second (x86)",
        "https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html",
        note="the whitepaper rounds it to $0.00001667",
    ),
}


@dataclass(frozen=True)
class Assumption:
    value: float
    unit: str
    why: str


ASSUMPTIONS: dict[str, Assumption] = {
    "hours_per_month": Assumption(730, "hours", "365 days x 24 hours / 12 months"),
    "kms_rotations": Assumption(
        2,
        "rotations priced",
        "the key's steady price, from its second yearly rotation on (the first year costs $2 less)",
    ),
    "idle_invocation_seconds": Assumption(
        1.0,
        "seconds per scheduled invocation",
        "a fallback check or a sweep with nothing to do: a few registry queries",
    ),
    "idle_function_log_bytes": Assumption(
        4096,
        "bytes per scheduled invocation, in its function's log group",
        "START/END/REPORT lines, Powertools' structured lines and one metrics (EMF) blob",
    ),
    "idle_flow_log_bytes": Assumption(
        3072,
        "bytes per scheduled invocation, in the VPC flow log group",
        "about 20 flow records of ~150 bytes for the invocation's connections to the endpoints",
    ),
    "gb": Assumption(
        1e9,
        "bytes per GB",
        "decimal gigabytes; stored logs priced uncompressed (CloudWatch stores them compressed), an upper bound",
    ),
}

HOURS = ASSUMPTIONS["hours_per_month"].value
DAYS = HOURS / 24

# Resource types a stage has that cost nothing while no run is in flight, or only by what runs put in them.
NOT_COUNTED: dict[str, str] = {
    "AWS::S3::Bucket": "storage and requests of what runs and uploads leave (usage)",
    "AWS::DynamoDB::Table": "on-demand: requests, storage and point-in-time recovery of the run registry (usage; a few KB per run)",
    "AWS::SQS::Queue": "requests only (usage)",
    "AWS::SNS::Topic": "requests and deliveries only (usage)",
    "AWS::StepFunctions::StateMachine": "state transitions of runs (usage)",
    "AWS::Events::Rule": "rules for AWS service events and schedules: no charge for the rule; the schedules' invocations are counted",
    "AWS::SSM::Parameter": "standard parameters: no storage charge",
    "AWS::EC2::VPC": "no charge for the VPC, its subnets, route tables, security groups or Lambda's Hyperplane ENIs (https://docs.aws.amazon.com/lambda/latest/dg/foundation-networking.html)",
    "AWS::EC2::FlowLog": "the delivered records are counted with the flow log group's logs",
    "AWS::Lambda::Function": "invocations of runs (usage); the scheduled ones are counted",
}


def _props(resource: dict) -> dict:
    return resource.get("Properties") or {}


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else str(att).split(".")[0]
    return None


def _text(value: Any) -> str:
    """A template string value, with Fn::Join of literals and references (a reference reads as '?')."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(part if isinstance(part, str) else "?" for part in parts)
    return "?"


def _service(value: Any) -> str:
    """The endpoint prefix of a service name: com.amazonaws.<region>.<prefix>."""
    parts = _text(value).split(".", 3)
    return parts[3] if len(parts) == 4 else _text(value)


def _region(value: Any) -> str | None:
    parts = _text(value).split(".", 3)
    return parts[2] if len(parts) == 4 and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", parts[2]) else None


def stage_of(stack: str) -> str:
    parts = stack.split("-")
    return parts[1] if len(parts) >= 3 else stack


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


def invocations_per_day(expression: str) -> float | None:
    match = _RATE.match(expression.strip())
    if not match:
        return None  # cron(): not used by tuneforge; reported as not counted
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return {"minute": 1440, "hour": 24, "day": 1}[unit] / amount


def _line(item: str, quantity: float, unit: str, price: str, detail: str, multiplier: float = 1.0) -> dict:
    usd = quantity * PRICES[price].usd * multiplier
    return {
        "item": item,
        "quantity": quantity,
        "unit": unit,
        "price": price,
        "unit_usd": PRICES[price].usd,
        "monthly_usd": round(usd, 4),
        "detail": detail,
    }


Resources = dict[tuple[str, str], dict]  # (stack, logical id) -> resource, over the stacks of one stage
Rates = dict[tuple[str, str], float]  # (stack, function logical id) -> scheduled invocations a day


def _of_type(resources: Resources, type_: str) -> Resources:
    return {key: r for key, r in resources.items() if r.get("Type") == type_}


def _interface_endpoints(resources: Resources) -> list[dict]:
    """Interface endpoints: one network interface per subnet, billed per hour each."""
    endpoints = []
    for (stack, lid), ep in sorted(_of_type(resources, "AWS::EC2::VPCEndpoint").items()):
        p = _props(ep)
        if p.get("VpcEndpointType", "Gateway") == "Interface":
            endpoints.append(
                {
                    "stack": stack,
                    "id": lid,
                    "service": _service(p.get("ServiceName")),
                    "enis": len(p.get("SubnetIds") or []),
                    "region": _region(p.get("ServiceName")),
                }
            )
    return endpoints


def _endpoint_lines(resources: Resources, endpoints: list[dict], notes: list[str]) -> list[dict]:
    enis = sum(e["enis"] for e in endpoints)
    by_count: dict[int, list[str]] = {}
    for e in endpoints:
        by_count.setdefault(e["enis"], []).append(e["service"])
    gateways = [
        e
        for e in _of_type(resources, "AWS::EC2::VPCEndpoint").values()
        if _props(e).get("VpcEndpointType", "Gateway") == "Gateway"
    ]
    regions = {e["region"] for e in endpoints if e["region"]}
    if regions - {PRICED_REGION}:
        notes.append(f"priced at {PRICED_REGION}'s rates; this stage's endpoints are in {', '.join(sorted(regions))}")
    return [
        _line(
            "Interface endpoint hours",
            enis * HOURS,
            f"ENI-hours ({len(endpoints)} endpoints, {enis} network interfaces x {HOURS:g} h)",
            "interface_endpoint_hour",
            "; ".join(f"{', '.join(sorted(services))}: {count} each" for count, services in sorted(by_count.items()))
            or "none",
        ),
        _line(
            "Gateway endpoints",
            len(gateways),
            "endpoints",
            "gateway_endpoint_month",
            ", ".join(sorted(_service(_props(g).get("ServiceName")) for g in gateways)) or "none",
        ),
    ]


def _key_lines(resources: Resources) -> list[dict]:
    """KMS keys: the key, and its rotated backing keys up to the price limit."""
    keys = _of_type(resources, "AWS::KMS::Key")
    rotating = sum(1 for k in keys.values() if _props(k).get("EnableKeyRotation") is True)
    rotations = ASSUMPTIONS["kms_rotations"].value
    return [
        _line("KMS keys", len(keys), "keys", "kms_key_month", f"{len(keys)} customer managed"),
        _line(
            "KMS key rotations",
            rotating * rotations,
            "rotated backing keys",
            "kms_rotation_month",
            f"{rotating} key(s) rotating yearly, priced at the {rotations:g}-rotation limit",
        ),
    ]


def _alarm_and_dashboard_lines(resources: Resources) -> list[dict]:
    """Alarms: per metric they evaluate; a period under a minute is high resolution."""
    standard = high = 0
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    for alarm in alarms.values():
        p = _props(alarm)
        metrics = [m for m in p.get("Metrics") or [] if "MetricStat" in m] or (
            [{"MetricStat": {"Period": p.get("Period", 60)}}] if p.get("MetricName") else []
        )
        for metric in metrics:
            if int(metric["MetricStat"].get("Period", 60)) < 60:
                high += 1
            else:
                standard += 1
    lines = [_line("Alarms", standard, "standard alarm metrics", "alarm_metric_month", f"{len(alarms)} alarms")]
    if high:
        lines.append(_line("High-resolution alarms", high, "alarm metrics", "high_resolution_alarm_metric_month", ""))
    dashboards = len(_of_type(resources, "AWS::CloudWatch::Dashboard"))
    lines.append(_line("Dashboards", dashboards, "dashboards", "dashboard_month", ""))
    return lines


def _scheduled_rates(resources: Resources, notes: list[str]) -> Rates:
    """What the enabled schedules keep invoking, per function."""
    functions = _of_type(resources, "AWS::Lambda::Function")
    per_day: Rates = {}
    for (stack, lid), rule in _of_type(resources, "AWS::Events::Rule").items():
        p = _props(rule)
        if "ScheduleExpression" not in p or p.get("State", "ENABLED") != "ENABLED":
            continue
        rate = invocations_per_day(p["ScheduleExpression"])
        if rate is None:
            notes.append(f"{lid}: schedule {p['ScheduleExpression']!r} not counted")
            continue
        for target in p.get("Targets") or []:
            fn = _ref(target.get("Arn"))
            if fn is not None and (stack, fn) in functions:
                per_day[(stack, fn)] = per_day.get((stack, fn), 0) + rate
    return per_day


def _invocation_lines(functions: Resources, per_day: Rates) -> list[dict]:
    invocations = sum(per_day.values()) * DAYS
    gb_seconds = sum(
        rate
        * DAYS
        * _props(functions[key]).get("MemorySize", 128)
        / 1024
        * ASSUMPTIONS["idle_invocation_seconds"].value
        for key, rate in per_day.items()
    )
    scheduled = ", ".join(f"{lid} {rate:g}/day" for (_, lid), rate in sorted(per_day.items()))
    return [
        _line(
            "Scheduled invocations: requests", invocations, "requests", "lambda_request", scheduled or "no schedules"
        ),
        _line(
            "Scheduled invocations: duration",
            gb_seconds,
            "GB-seconds",
            "lambda_gb_second",
            f"at {ASSUMPTIONS['idle_invocation_seconds'].value:g} s each",
        ),
    ]


def _custom_metric_line(
    functions: Resources, per_day: Rates, sources: Callable[[str, dict], str | None] | None, notes: list[str]
) -> dict:
    metric_names: list[str] = []
    unread = []
    for key in sorted(per_day):
        source = sources(key[0], functions[key]) if sources else None
        if source is None:
            unread.append(key[1])
            continue
        metric_names += [
            f"{key[1]}:{name}" for name in sorted(set(re.findall(r"add_metric\(\s*name=\"([^\"]+)\"", source)))
        ]
    if unread:
        notes.append(f"custom metrics of {', '.join(unread)} not counted: handler source not available")
    return _line(
        "Custom metrics the schedules publish",
        len(metric_names),
        "metrics",
        "custom_metric_month",
        ", ".join(n.split(":")[1] for n in metric_names) or "none",
    )


def _idle_log_bytes_per_day(resources: Resources, functions: Resources, per_day: Rates) -> dict[tuple[str, str], float]:
    """(stack, log group) -> bytes a day the schedules' functions and the flow logs of their traffic write."""
    ingest: dict[tuple[str, str], float] = {}
    for key, rate in per_day.items():
        group = _ref((_props(functions[key]).get("LoggingConfig") or {}).get("LogGroup"))
        if group:
            ingest[(key[0], group)] = (
                ingest.get((key[0], group), 0) + rate * ASSUMPTIONS["idle_function_log_bytes"].value
            )
    all_scheduled = sum(per_day.values())
    for (stack, _lid), flow_log in _of_type(resources, "AWS::EC2::FlowLog").items():
        group = _ref(_props(flow_log).get("LogGroupName"))
        if group:
            ingest[(stack, group)] = (
                ingest.get((stack, group), 0) + all_scheduled * ASSUMPTIONS["idle_flow_log_bytes"].value
            )
    return ingest


def _log_lines(resources: Resources, functions: Resources, per_day: Rates, notes: list[str]) -> list[dict]:
    gb = ASSUMPTIONS["gb"].value
    ingest_bytes_per_day = _idle_log_bytes_per_day(resources, functions, per_day)
    groups = _of_type(resources, "AWS::Logs::LogGroup")
    stored_gb = ingested_gb = 0.0
    unbounded = []
    for key, daily in ingest_bytes_per_day.items():
        retention = _props(groups.get(key, {})).get("RetentionInDays")
        if retention is None:
            unbounded.append(key[1])
            retention = 3653  # never expires: priced as ten years' worth
        stored_gb += daily * int(retention) / gb
        ingested_gb += daily * DAYS / gb
    retentions = sorted({days for g in groups.values() if (days := _props(g).get("RetentionInDays"))})
    if unbounded:
        notes.append(f"log groups that never expire, priced at ten years of storage: {', '.join(unbounded)}")
    return [
        _line(
            "Logs the schedules write: ingestion",
            ingested_gb,
            "GB per month",
            "logs_ingestion_gb",
            f"{len(ingest_bytes_per_day)} of {len(groups)} log groups written while idle",
        ),
        _line(
            "Logs the schedules write: storage",
            stored_gb,
            "GB stored at steady state",
            "logs_storage_gb_month",
            f"retention {', '.join(f'{r} days' for r in retentions) or 'none'}",
        ),
    ]


def _stage_figures(stage: str, stacks: dict[str, dict], sources: Callable[[str, dict], str | None] | None) -> dict:
    resources = {(stack, lid): r for stack, t in stacks.items() for lid, r in (t.get("Resources") or {}).items()}
    functions = _of_type(resources, "AWS::Lambda::Function")
    notes: list[str] = []
    endpoints = _interface_endpoints(resources)
    lines = _endpoint_lines(resources, endpoints, notes) + _key_lines(resources) + _alarm_and_dashboard_lines(resources)
    per_day = _scheduled_rates(resources, notes)
    lines += _invocation_lines(functions, per_day)
    lines.append(_custom_metric_line(functions, per_day, sources, notes))
    lines += _log_lines(resources, functions, per_day, notes)

    present = sorted({r.get("Type") for r in resources.values()} & set(NOT_COUNTED))
    total = round(sum(line["monthly_usd"] for line in lines), 2)
    return {
        "stacks": sorted(stacks),
        "total_usd": total,
        "goal_usd": GOAL_USD,
        "within_goal": total <= GOAL_USD,
        "interface_endpoints": endpoints,
        "network_interfaces": sum(e["enis"] for e in endpoints),
        "lines": lines,
        "not_counted": {t: NOT_COUNTED[t] for t in present},
        "notes": notes,
    }


def of_templates(templates: dict[str, dict], *, sources: Callable[[str, dict], str | None] | None = None) -> dict:
    """The standing cost of every stage in ``templates`` (stack name -> template). ``sources(stack, function)``
    returns a function's handler module source, if known, to count the custom metrics its schedule publishes."""
    stages: dict[str, dict[str, dict]] = {}
    for stack, template in sorted(templates.items()):
        stages.setdefault(stage_of(stack), {})[stack] = template
    return {
        "read_on": READ_ON,
        "priced_region": PRICED_REGION,
        "goal_usd": GOAL_USD,
        "prices": {k: asdict(v) for k, v in PRICES.items()},
        "assumptions": {k: asdict(v) for k, v in ASSUMPTIONS.items()},
        "stages": {stage: _stage_figures(stage, stacks, sources) for stage, stacks in stages.items()},
    }


def asset_sources(cdk_out: Path) -> Callable[[str, dict], str | None]:
    """Handler sources from the assembly's own Lambda asset (``asset.<hash>/`` for ``Code.S3Key <hash>.zip``)."""

    def source(stack: str, function: dict) -> str | None:
        p = _props(function)
        key, handler = (p.get("Code") or {}).get("S3Key"), p.get("Handler")
        if not isinstance(key, str) or not isinstance(handler, str) or "." not in handler:
            return None
        module = (
            Path(cdk_out) / f"asset.{key.removesuffix('.zip')}" / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
        )
        return module.read_text(encoding="utf-8") if module.is_file() else None

    return source


def templates_of(cdk_out: Path) -> dict[str, dict]:
    manifest = json.loads((Path(cdk_out) / "manifest.json").read_text())
    return {
        name: json.loads((Path(cdk_out) / artifact["properties"]["templateFile"]).read_text())
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }


def of_cdk_out(cdk_out: Path) -> dict:
    return of_templates(templates_of(cdk_out), sources=asset_sources(cdk_out))


def summary(figures: dict) -> str:
    return (
        ", ".join(f"{stage} ${s['total_usd']:.2f}" for stage, s in figures["stages"].items())
        + f" a month (goal <= ${figures['goal_usd']:.0f} a stage)"
    )
