"""Which AWS APIs a tuneforge function reaches through the isolated VPC, and which it does not.

The one place that decides the stage's VPC endpoints: ``stacks/network.py`` creates an interface endpoint for
every key of ``THROUGH_THE_VPC`` and a gateway endpoint for every key of ``GATEWAY``; every other service a
function's role or runtime touches is in ``NOT_THROUGH_THE_VPC`` with the reason it needs no endpoint.
Keys are endpoint prefixes (``com.amazonaws.<region>.<prefix>``). Pure Python: the security checks, the cost
report and the tests read it without importing CDK.

``tests/infra/test_vpc_services.py`` holds this against the code: the AWS clients the handlers create
(``client("…")`` in ``lambdas/``) must be exactly the services below that say "called by", and the synthesized
stage must have exactly these endpoints. Everything here was read on 2026-12-04.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_ON = "2026-12-04"

LAMBDA_NETWORKING = "https://docs.aws.amazon.com/lambda/latest/dg/foundation-networking.html"
LAMBDA_XRAY = "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html"
LAMBDA_ENVIRONMENT = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html"
# The sentence quoted below is on the 2.22.0 page; the latest API page shows Metrics' default provider is
# AmazonCloudWatchEMFProvider (https://docs.aws.amazon.com/powertools/python/latest/api/metrics/metrics.html).
POWERTOOLS_METRICS = "https://docs.aws.amazon.com/powertools/python/2.22.0/core/metrics"
BEDROCK_JOB_VPC = "https://docs.aws.amazon.com/bedrock/latest/userguide/vpc-model-customization.html"


@dataclass(frozen=True)
class Service:
    why: str
    source: str = ""


# An interface endpoint for each: a function calls the service's API from inside the VPC, with boto3.
THROUGH_THE_VPC: dict[str, Service] = {
    "bedrock": Service(
        "called by StartJob, WaitForJob, JobEvents, DeployEndpoint, CheckEndpoint, Promote, FinalizePromotion, Cleanup, Janitor, StartJudgeEvaluation and CheckJudgeEvaluation (client('bedrock'))"
    ),
    "bedrock-runtime": Service(
        "called by Evaluate: InvokeModel on the candidate, its baseline and the judge (client('bedrock-runtime'))"
    ),
    "states": Service(
        "called by StartRun (StartExecution), WaitForJob and JobEvents (SendTaskSuccess/Failure/Heartbeat) and Cleanup (DescribeExecution: is a status-change event's execution really over) (client('stepfunctions'))"
    ),
    "sns": Service("called by Cleanup and Janitor: Publish to the stage topic (client('sns'))"),
    "ssm": Service(
        "called by StartRun (GetParameter: the profile) and FinalizePromotion (PutParameter: the champion) (client('ssm'))"
    ),
    # No handler calls X-Ray. The X-Ray daemon "runs in the Lambda environment" and writes the function's
    # segments to X-Ray (LAMBDA_XRAY); AWS's Lambda networking page says log messages do not use the VPC routes
    # (LAMBDA_NETWORKING) but says nothing of the daemon's uploads, and no AWS page read on READ_ON does. Kept,
    # so active tracing (security check 14) keeps its traces, at one endpoint's hours per function zone.
    "xray": Service(
        "kept for the Lambda X-Ray daemon's uploads of active-tracing segments: not documented as bypassing the VPC",
        LAMBDA_XRAY,
    ),
}

# A gateway endpoint for each (no hourly charge, no network interface): data access.
GATEWAY: dict[str, Service] = {
    "s3": Service(
        "called by StartRun, Validate and Evaluate (client('s3')); the only endpoint a customization job needs in a VPC without internet access",
        BEDROCK_JOB_VPC,
    ),
    "dynamodb": Service("the run and champion registries, from every function (boto3.resource('dynamodb'))"),
}

# No endpoint: nothing in the VPC calls these APIs.
NOT_THROUGH_THE_VPC: dict[str, Service] = {
    "logs": Service(
        "the Lambda service delivers the functions' logs: 'when you attach a function to a VPC, the CloudWatch log messages do not use the VPC routes. "
        "Lambda sends them using the regular routing for logs'; flow logs and the state machine's logs are delivered by AWS services",
        LAMBDA_NETWORKING,
    ),
    "monitoring": Service(
        "Powertools Metrics 'creates custom metrics asynchronously by logging metrics to standard output following Amazon CloudWatch Embedded Metric Format (EMF)', "
        "which reach CloudWatch with the logs; no role may call cloudwatch:PutMetricData",
        POWERTOOLS_METRICS,
    ),
    "kms": Service(
        "no function calls KMS: every key permission a function holds carries kms:ViaService (Lambda decrypts the environment, S3, DynamoDB, SNS, SQS, "
        "Step Functions and Bedrock use the key server-side), so a direct call would be refused anyway; Lambda uses a grant on the key for the environment",
        LAMBDA_ENVIRONMENT,
    ),
    "sts": Service(
        "no function calls STS: Lambda hands the runtime the execution role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
        LAMBDA_ENVIRONMENT,
    ),
    "events": Service(
        "no function calls EventBridge: rules invoke the functions from outside the VPC and no role may call events:PutEvents"
    ),
}


def interface_prefixes() -> tuple[str, ...]:
    return tuple(THROUGH_THE_VPC)


def gateway_prefixes() -> tuple[str, ...]:
    return tuple(GATEWAY)


# The host names an SDK in the VPC resolves for each endpoint prefix above, as botocore 1.44's endpoint rule sets
# build them (botocore/data/<service>/*/endpoint-rule-set-1.json, read 2026-12-06): "<prefix>.<region>.amazonaws.com"
# for every interface service; S3 virtual-hosted "<bucket>.s3.<region>.amazonaws.com", and in us-east-1 the legacy
# global "<bucket>.s3.amazonaws.com" boto3 still uses there, plus the path-style name for the rest (a customization
# job's S3 client is not ours to see); DynamoDB's regional name and its account-based "<account>.ddb.<region>.amazonaws.com",
# which the rule set picks whenever the credentials carry an account id. The DNS firewall (stacks/dns_firewall.py)
# answers these and nothing else; the emulator resolves every call's host name with botocore and refuses the others.
def resolved_names(region: str, *, account: str, buckets: list[str]) -> list[str]:
    names = [f"{prefix}.{region}.amazonaws.com" for prefix in interface_prefixes()]
    s3_domains = [f"s3.{region}.amazonaws.com"] + (["s3.amazonaws.com"] if region == "us-east-1" else [])
    names += s3_domains + [f"{bucket}.{domain}" for bucket in buckets for domain in s3_domains]
    names += [f"dynamodb.{region}.amazonaws.com", f"{account}.ddb.{region}.amazonaws.com"]
    return names
