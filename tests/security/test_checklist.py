"""Every checklist property holds on every synthesized template, and each check catches its insecure twin.

The twins deep-copy a real (foundation) template, graft on a compliant slice of pipeline resources
(tests/security/synthetic.py) so that checks about Lambdas, state machines, rules and topics have something to
bite on, then break exactly one property. No extra synth: everything works on the session's templates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from lambdas.domain.names import DELIVERY_STACK_NAME
from tests.security.synthetic import bedrock_role_id, data_bucket_id, key_id, lambda_sg_id, only, with_pipeline
from tuneforge_audit.checklist import CHECKS
from tuneforge_audit.checklist.buckets import access_log_destinations, check_05_bucket_durability
from tuneforge_audit.checklist.template import cdk_provider_lambdas, own_lambdas, resources, statements, target
from tuneforge_audit.checklist.workflow import state_machine_definition


def stage_of(stack_name: str) -> str:
    return stack_name.split("-")[1]  # Tuneforge-<stage>-<Stack>


@pytest.mark.parametrize("check", CHECKS)
def test_every_template_satisfies(assembly, check):
    # The stages' stacks; the delivery pipeline's stack is held to nag, cfn-lint and checkov (tuneforge_audit.model
    # .checklist says why) and its own properties are in tests/infra/test_delivery.py.
    stage_stacks = {name: t for name, t in assembly.templates.items() if not name.startswith(DELIVERY_STACK_NAME)}
    assert len(stage_stacks) == len(assembly.templates) - 1
    violations = {name: CHECKS[check](template, stage_of(name)) for name, template in stage_stacks.items()}
    assert not any(violations.values()), violations


@pytest.mark.parametrize("check", CHECKS)
def test_compliant_pipeline_slice_satisfies(assembly, check):
    """The grafted resources are compliant, so a twin's failure is caused by its one change."""
    for name, template in assembly.stacks("-Foundation").items():
        assert CHECKS[check](with_pipeline(template), stage_of(name)) == []


# ----------------------------------------------------------------- the insecure twins


def res(t: dict, lid: str) -> dict:
    return t["Resources"][lid]


def p(t: dict, lid: str) -> dict:
    return t["Resources"][lid]["Properties"]


def bucket_policy_of(t: dict, bucket: str) -> dict:
    return p(t, only(t, "AWS::S3::BucketPolicy", lambda lid, bp: bp["Properties"]["Bucket"] == {"Ref": bucket}))[
        "PolicyDocument"
    ]


def bedrock_policy(t: dict) -> dict:
    role = bedrock_role_id(t)
    return p(t, only(t, "AWS::IAM::Policy", lambda lid, pol: {"Ref": role} in pol["Properties"].get("Roles", [])))[
        "PolicyDocument"
    ]


def policy_with(t: dict, sid: str) -> dict:
    """The PolicyDocument of the one bucket policy with statement ``sid``."""
    return p(
        t,
        only(
            t,
            "AWS::S3::BucketPolicy",
            lambda lid, bp: any(s.get("Sid") == sid for s in statements(bp["Properties"]["PolicyDocument"])),
        ),
    )["PolicyDocument"]


def statement(document: dict, sid: str) -> dict:
    return next(s for s in statements(document) if s.get("Sid") == sid)


def drop_statement(document: dict, predicate: Callable[[dict], bool]) -> None:
    before = len(document["Statement"])
    document["Statement"] = [s for s in document["Statement"] if not predicate(s)]
    assert len(document["Statement"]) < before, "the twin must remove something"


def sg_with(t: dict, words: str) -> str:
    return only(
        t, "AWS::EC2::SecurityGroup", lambda lid, sg: sg["Properties"]["GroupDescription"].lower().startswith(words)
    )


def interface_endpoint(t: dict, service: str) -> str:
    return only(
        t, "AWS::EC2::VPCEndpoint", lambda lid, ep: str(ep["Properties"]["ServiceName"]).endswith(f".{service}")
    )


def allow_list(t: dict) -> str:
    return only(t, "AWS::Route53Resolver::FirewallDomainList", lambda lid, dl: "*" not in dl["Properties"]["Domains"])


def query_log_group(t: dict) -> str:
    [config] = resources(t, "AWS::Route53Resolver::ResolverQueryLoggingConfig").values()
    return only(
        t, "AWS::Logs::LogGroup", lambda lid, _: {"Ref": lid} in config["Properties"]["DestinationArn"]["Fn::Join"][1]
    )


def s3_gateway(t: dict) -> str:
    return only(
        t,
        "AWS::EC2::VPCEndpoint",
        lambda lid, ep: (
            ep["Properties"]["VpcEndpointType"] == "Gateway" and "s3" in str(ep["Properties"]["ServiceName"])
        ),
    )


def sm_definition_edit(t: dict, edit: Callable[[dict], None]) -> None:
    sm = p(t, "SynthMachine")
    definition = state_machine_definition(t["Resources"]["SynthMachine"])
    edit(definition)
    sm["DefinitionString"] = json.dumps(definition)


def _aes256(t, lid):
    p(t, lid)["BucketEncryption"]["ServerSideEncryptionConfiguration"] = [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]


def _no_log_destination(t):
    for bucket in resources(t, "AWS::S3::Bucket").values():
        bucket["Properties"].pop("LoggingConfiguration", None)


TWINS: list[tuple[str, str, Callable[[dict], None]]] = [
    # S3
    (
        "01 bucket encryption",
        "data bucket without BucketKeyEnabled",
        lambda t: p(t, data_bucket_id(t))["BucketEncryption"]["ServerSideEncryptionConfiguration"][0].pop(
            "BucketKeyEnabled"
        ),
    ),
    ("01 bucket encryption", "data bucket with SSE-S3", lambda t: _aes256(t, data_bucket_id(t))),
    (
        "01 bucket encryption",
        "data bucket under the AWS-managed key",
        lambda t: p(t, data_bucket_id(t))["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ].update(KMSMasterKeyID="alias/aws/s3"),
    ),
    ("01 bucket encryption", "SSE-S3 log bucket that no longer receives access logs", _no_log_destination),
    (
        "02 bucket public access",
        "BlockPublicPolicy off",
        lambda t: p(t, data_bucket_id(t))["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False),
    ),
    (
        "02 bucket public access",
        "ACLs enabled (ObjectWriter)",
        lambda t: p(t, data_bucket_id(t)).update(OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}),
    ),
    (
        "03 bucket TLS only",
        "TLS deny removed",
        lambda t: drop_statement(
            bucket_policy_of(t, data_bucket_id(t)), lambda s: "aws:SecureTransport" in str(s.get("Condition"))
        ),
    ),
    (
        "03 bucket TLS only",
        "TLS deny covers objects only",
        lambda t: next(
            s
            for s in bucket_policy_of(t, data_bucket_id(t))["Statement"]
            if "aws:SecureTransport" in str(s.get("Condition"))
        ).update(Resource=[{"Fn::Join": ["", [{"Fn::GetAtt": [data_bucket_id(t), "Arn"]}, "/*"]]}]),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "perimeter deny removed",
        lambda t: drop_statement(
            bucket_policy_of(t, data_bucket_id(t)), lambda s: s.get("Sid") == "DenyDataAccessOutsideTheVpcEndpoint"
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "perimeter names a literal endpoint",
        lambda t: statement(bucket_policy_of(t, data_bucket_id(t)), "DenyDataAccessOutsideTheVpcEndpoint")["Condition"][
            "StringNotEquals"
        ].update({"aws:sourceVpce": "vpce-0123456789abcdef0"}),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "perimeter exempts a wildcard of principals",
        lambda t: statement(bucket_policy_of(t, data_bucket_id(t)), "DenyDataAccessOutsideTheVpcEndpoint")[
            "Condition"
        ].update(ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::*:role/*"}),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "data owners exempted without their limit",
        lambda t: drop_statement(
            bucket_policy_of(t, data_bucket_id(t)),
            lambda s: s.get("Sid") == "DataOwnersOnlyTheirActionsOutsideTheVpcEndpoint",
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "data owners' limit allows deletes",
        lambda t: statement(
            bucket_policy_of(t, data_bucket_id(t)), "DataOwnersOnlyTheirActionsOutsideTheVpcEndpoint"
        ).update(NotAction=["s3:PutObject", "s3:DeleteObject"]),
    ),
    # The review's finding: the three actions the perimeter used to deny leave version-specific reads open.
    (
        "04 bucket VPC-endpoint perimeter",
        "perimeter denies only Get/Put/List",
        lambda t: statement(bucket_policy_of(t, data_bucket_id(t)), "DenyDataAccessOutsideTheVpcEndpoint").update(
            Action=["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "data owners may upload under any key",
        lambda t: drop_statement(
            bucket_policy_of(t, data_bucket_id(t)),
            lambda s: s.get("Sid") == "DataOwnersOnlyTheirPrefixesOutsideTheVpcEndpoint",
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "data owners may list every key",
        lambda t: drop_statement(
            policy_with(t, "DataOwnersListOnlyTheirPrefixesOutsideTheVpcEndpoint"),
            lambda s: s.get("Sid") == "DataOwnersListOnlyTheirPrefixesOutsideTheVpcEndpoint",
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "anyone may change the bucket policy",
        lambda t: drop_statement(
            bucket_policy_of(t, data_bucket_id(t)), lambda s: s.get("Sid") == "OnlyTheDeploymentChangesTheBucket"
        ),
    ),
    (
        "04 bucket VPC-endpoint perimeter",
        "an administrator may change the bucket",
        lambda t: statement(bucket_policy_of(t, data_bucket_id(t)), "OnlyTheDeploymentChangesTheBucket")[
            "Condition"
        ].update(ArnNotEquals={"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}),
    ),
    (
        "05 bucket durability",
        "versioning suspended",
        lambda t: p(t, data_bucket_id(t)).update(VersioningConfiguration={"Status": "Suspended"}),
    ),
    ("05 bucket durability", "access logging off", lambda t: p(t, data_bucket_id(t)).pop("LoggingConfiguration")),
    (
        "05 bucket durability",
        "auto-delete-objects custom resource",
        lambda t: t["Resources"].update(
            AutoDelete={"Type": "Custom::S3AutoDeleteObjects", "Properties": {"BucketName": {"Ref": data_bucket_id(t)}}}
        ),
    ),
    # KMS
    ("06 KMS keys", "rotation off", lambda t: p(t, key_id(t)).update(EnableKeyRotation=False)),
    (
        "06 KMS keys",
        "key policy open to Principal *",
        lambda t: p(t, key_id(t))["KeyPolicy"]["Statement"].append(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
        ),
    ),
    (
        "07 KMS service conditions",
        "logs statement without encryption context",
        lambda t: statement(p(t, key_id(t))["KeyPolicy"], "CloudWatchLogsForThisAccountsLogGroups").pop("Condition"),
    ),
    (
        "07 KMS service conditions",
        "event delivery on the key for any account",
        lambda t: statement(p(t, only(t, "AWS::KMS::Key"))["KeyPolicy"], "AlarmAndEventDeliveryForThisAccount").pop(
            "Condition"
        ),
    ),
    (
        "07 KMS service conditions",
        "flow-log role trusted by any account's flow logs",
        lambda t: p(
            t,
            only(
                t,
                "AWS::IAM::Role",
                lambda lid, r: "vpc-flow-logs.amazonaws.com" in str(r["Properties"]["AssumeRolePolicyDocument"]),
            ),
        )["AssumeRolePolicyDocument"]["Statement"][0].pop("Condition"),
    ),
    (
        "07 KMS service conditions",
        "Bedrock role's key use without kms:ViaService",
        lambda t: statement(bedrock_policy(t), "UseKeyOnlyThroughBedrock").pop("Condition"),
    ),
    (
        "07 KMS service conditions",
        "kms:ViaService widened to EC2",
        lambda t: statement(bedrock_policy(t), "UseKeyOnlyThroughBedrock")["Condition"]["StringLike"].update(
            {"kms:ViaService": ["bedrock.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"]}
        ),
    ),
    # IAM
    (
        "08 Bedrock role trust",
        "trust without aws:SourceArn",
        lambda t: p(t, bedrock_role_id(t))["AssumeRolePolicyDocument"]["Statement"][0]["Condition"].pop("ArnEquals"),
    ),
    (
        "08 Bedrock role trust",
        "trust without any condition",
        lambda t: p(t, bedrock_role_id(t))["AssumeRolePolicyDocument"]["Statement"][0].pop("Condition"),
    ),
    (
        "08 Bedrock role trust",
        "trust also admits an account",
        lambda t: p(t, bedrock_role_id(t))["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].update(
            AWS="arn:aws:iam::111122223333:root"
        ),
    ),
    (
        "09 iam:PassRole",
        "PassRole on *",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "PassTheBedrockRole").update(Resource="*"),
    ),
    (
        "09 iam:PassRole",
        "PassRole without iam:PassedToService",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "PassTheBedrockRole").pop("Condition"),
    ),
    (
        "09 iam:PassRole",
        "PassRole on the Lambda's own role",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "PassTheBedrockRole").update(
            Resource={"Fn::GetAtt": ["SynthFnRole", "Arn"]}
        ),
    ),
    (
        "10 Bedrock actions",
        "CreateModelCustomizationJob on every foundation model",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "StartJobs")["Resource"].append(
            "arn:aws:bedrock:us-east-1::foundation-model/*"
        ),
    ),
    (
        "10 Bedrock actions",
        "bedrock:*",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "StartJobs")["Action"].append("bedrock:*"),
    ),
    (
        "10 Bedrock actions",
        "iam:*",
        lambda t: bedrock_policy(t)["Statement"].append(
            {"Effect": "Allow", "Action": "iam:*", "Resource": {"Fn::GetAtt": [bedrock_role_id(t), "Arn"]}}
        ),
    ),
    (
        "11 managed policies and Resource *",
        "s3:* on Resource *",
        lambda t: bedrock_policy(t)["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    ),
    (
        "11 managed policies and Resource *",
        "AdministratorAccess attached",
        lambda t: p(t, bedrock_role_id(t)).update(
            ManagedPolicyArns=[
                {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AdministratorAccess"]]}
            ]
        ),
    ),
    (
        "11 managed policies and Resource *",
        "ENI deletion on * without conditions",
        lambda t: statement(bedrock_policy(t), "ManageOnlyBedrockManagedInterfaces").pop("Condition"),
    ),
    (
        "11 managed policies and Resource *",
        "Lambda's VPC ENI actions on a role Lambda does not assume",
        lambda t: bedrock_policy(t)["Statement"].append(
            {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"], "Resource": "*"}
        ),
    ),
    (
        "12 Bedrock role scope",
        "Bedrock writes into the landing bucket",
        lambda t: statement(bedrock_policy(t), "ReadDatasets").update(Action=["s3:GetObject", "s3:PutObject"]),
    ),
    (
        "12 Bedrock role scope",
        "Bedrock writes anywhere in the output bucket",
        lambda t: statement(bedrock_policy(t), "WriteJobOutput").update(
            Resource={
                "Fn::Join": [
                    "",
                    [{"Fn::GetAtt": [only(t, "AWS::S3::Bucket", lambda lid, _: "Artifacts" in lid), "Arn"]}, "/*"],
                ]
            }
        ),
    ),
    (
        "12 Bedrock role scope",
        "ENI creation without the BedrockManaged request tag",
        lambda t: statement(bedrock_policy(t), "CreateJobNetworkInterfaces").pop("Condition"),
    ),
    (
        "12 Bedrock role scope",
        "ENI management without ec2:Subnet",
        lambda t: statement(bedrock_policy(t), "ManageOnlyBedrockManagedInterfaces")["Condition"]["ArnEquals"].pop(
            "ec2:Subnet"
        ),
    ),
    # Lambda
    ("13 Lambda in VPC", "Lambda outside the VPC", lambda t: p(t, "SynthFn").pop("VpcConfig")),
    (
        "13 Lambda in VPC",
        "Lambda in an untraceable subnet",
        lambda t: p(t, "SynthFn")["VpcConfig"].update(SubnetIds=["subnet-0123456789abcdef0"]),
    ),
    (
        "13 Lambda in VPC",
        "provider-like Lambda loses its custom resource (no longer exempt)",
        lambda t: t["Resources"].pop("SynthCustomThing"),
    ),
    (
        "14 Lambda runtime settings",
        "tracing PassThrough",
        lambda t: p(t, "SynthFn").update(TracingConfig={"Mode": "PassThrough"}),
    ),
    ("14 Lambda runtime settings", "old Python", lambda t: p(t, "SynthFn").update(Runtime="python3.9")),
    (
        "14 Lambda runtime settings",
        "no reserved concurrency",
        lambda t: p(t, "SynthFn").pop("ReservedConcurrentExecutions"),
    ),
    ("14 Lambda runtime settings", "default timeout", lambda t: p(t, "SynthFn").pop("Timeout")),
    (
        "15 Lambda environment",
        "password in the environment",
        lambda t: p(t, "SynthFn")["Environment"]["Variables"].update(DB_PASSWORD="hunter2"),
    ),
    # The review's finding: Powertools captured responses (Validate's summary quoted the dataset) into X-Ray.
    (
        "15 Lambda environment",
        "traces capture responses",
        lambda t: p(t, "SynthFn")["Environment"]["Variables"].pop("POWERTOOLS_TRACER_CAPTURE_RESPONSE"),
    ),
    (
        "15 Lambda environment",
        "token value in the environment",
        lambda t: p(t, "SynthFn")["Environment"]["Variables"].update(UPSTREAM="api_key=sk-12345 for the vendor"),
    ),
    ("15 Lambda environment", "environment without KmsKeyArn", lambda t: p(t, "SynthFn").pop("KmsKeyArn")),
    ("16 Lambda log groups", "no LoggingConfig", lambda t: p(t, "SynthFn").pop("LoggingConfig")),
    ("16 Lambda log groups", "log group without a key", lambda t: p(t, "SynthFnLogs").pop("KmsKeyId")),
    ("16 Lambda log groups", "log group kept forever", lambda t: p(t, "SynthFnLogs").pop("RetentionInDays")),
    (
        "17 Lambda exposure",
        "permission for Principal *",
        lambda t: t["Resources"].update(
            OpenInvoke={
                "Type": "AWS::Lambda::Permission",
                "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "SynthFn"}, "Principal": "*"},
            }
        ),
    ),
    (
        "17 Lambda exposure",
        "function URL",
        lambda t: t["Resources"].update(
            FnUrl={
                "Type": "AWS::Lambda::Url",
                "Properties": {"AuthType": "AWS_IAM", "TargetFunctionArn": {"Fn::GetAtt": ["SynthFn", "Arn"]}},
            }
        ),
    ),
    # Step Functions and events
    (
        "18 state machine settings",
        "log level ERROR",
        lambda t: p(t, "SynthMachine")["LoggingConfiguration"].update(Level="ERROR"),
    ),
    (
        "18 state machine settings",
        "execution data in the logs",
        lambda t: p(t, "SynthMachine")["LoggingConfiguration"].update(IncludeExecutionData=True),
    ),
    ("18 state machine settings", "X-Ray off", lambda t: p(t, "SynthMachine").pop("TracingConfiguration")),
    (
        "18 state machine settings",
        "AWS-owned key",
        lambda t: p(t, "SynthMachine").update(EncryptionConfiguration={"Type": "AWS_OWNED_KEY"}),
    ),
    (
        "19 state machine definition",
        "Task without Catch",
        lambda t: sm_definition_edit(t, lambda d: d["States"]["Validate"].pop("Catch")),
    ),
    (
        "19 state machine definition",
        "nested Task without Retry",
        lambda t: sm_definition_edit(
            t, lambda d: d["States"]["Work"]["Branches"][0]["States"]["StartJob"].pop("Retry")
        ),
    ),
    (
        "19 state machine definition",
        "customization Task without ClientRequestToken",
        lambda t: sm_definition_edit(
            t,
            lambda d: d["States"]["Work"]["Branches"][0]["States"]["StartJob"]["Parameters"].pop(
                "ClientRequestToken.$"
            ),
        ),
    ),
    (
        "19 state machine definition",
        "Map without Catch around a Task without Catch",
        lambda t: sm_definition_edit(
            t,
            lambda d: d["States"].update(
                Batches={
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "StartAt": "Batch",
                        "States": {
                            "Batch": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "End": True,
                                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                            }
                        },
                    },
                }
            ),
        ),
    ),
    (
        "19 state machine definition",
        "no TimeoutSeconds",
        lambda t: sm_definition_edit(t, lambda d: d.pop("TimeoutSeconds")),
    ),
    (
        "20 S3 event rules",
        "rule matches every bucket by wildcard",
        lambda t: p(t, "SynthUploadRule")["EventPattern"]["detail"]["bucket"].update(
            name=[{"wildcard": "tuneforge-*"}]
        ),
    ),
    (
        "20 S3 event rules",
        "rule without a key prefix",
        lambda t: p(t, "SynthUploadRule")["EventPattern"]["detail"].pop("object"),
    ),
    (
        "20 S3 event rules",
        "target without a DLQ",
        lambda t: p(t, "SynthUploadRule")["Targets"][0].pop("DeadLetterConfig"),
    ),
    (
        "20 S3 event rules",
        "target without a retry policy",
        lambda t: p(t, "SynthUploadRule")["Targets"][0].pop("RetryPolicy"),
    ),
    # Network
    ("21 VPC baseline", "no flow log", lambda t: t["Resources"].pop(only(t, "AWS::EC2::FlowLog"))),
    (
        "21 VPC baseline",
        "public IPs on launch",
        lambda t: p(t, next(iter(resources(t, "AWS::EC2::Subnet")))).update(MapPublicIpOnLaunch=True),
    ),
    (
        "21 VPC baseline",
        "default security group left open",
        lambda t: t["Resources"].pop(only(t, "Custom::VpcRestrictDefaultSG")),
    ),
    (
        "21 VPC baseline",
        "default-SG provider logs wherever Lambda puts them",
        lambda t: p(
            t, only(t, "AWS::Lambda::Function", lambda lid, _: lid.startswith("CustomVpcRestrictDefaultSG"))
        ).pop("LoggingConfig"),
    ),
    (
        "21 VPC baseline",
        "default-SG provider logs unencrypted",
        lambda t: p(
            t,
            target(
                p(t, only(t, "AWS::Lambda::Function", lambda lid, _: lid.startswith("CustomVpcRestrictDefaultSG")))[
                    "LoggingConfig"
                ]["LogGroup"]
            ),
        ).pop("KmsKeyId"),
    ),
    (
        "21 VPC baseline",
        "internet gateway",
        lambda t: t["Resources"].update(Igw={"Type": "AWS::EC2::InternetGateway", "Properties": {}}),
    ),
    ("22 VPC endpoints", "no bedrock endpoint", lambda t: t["Resources"].pop(interface_endpoint(t, "bedrock"))),
    ("22 VPC endpoints", "no S3 gateway endpoint", lambda t: t["Resources"].pop(s3_gateway(t))),
    (
        "22 VPC endpoints",
        "no ssm endpoint (StartRun reads its profile through it)",
        lambda t: t["Resources"].pop(interface_endpoint(t, "ssm")),
    ),
    # These two twins broke the sts and kms endpoints until 2026-12-04, when those endpoints were removed (no function calls them).
    (
        "22 VPC endpoints",
        "private DNS off",
        lambda t: p(t, interface_endpoint(t, "ssm")).update(PrivateDnsEnabled=False),
    ),
    (
        "22 VPC endpoints",
        "default (full access) endpoint policy",
        lambda t: p(t, interface_endpoint(t, "sns")).update(
            PolicyDocument={"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
        ),
    ),
    ("22 VPC endpoints", "no endpoint policy", lambda t: p(t, interface_endpoint(t, "states")).pop("PolicyDocument")),
    (
        "23 security groups",
        "inline ingress from 0.0.0.0/0",
        lambda t: (
            p(t, sg_with(t, "bedrock customization"))
            .setdefault("SecurityGroupIngress", [])
            .append({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
        ),
    ),
    (
        "23 security groups",
        "standalone ingress from ::/0",
        lambda t: t["Resources"].update(
            OpenV6={
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": [sg_with(t, "interface vpc endpoints"), "GroupId"]},
                    "CidrIpv6": "::/0",
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                },
            }
        ),
    ),
    (
        "23 security groups",
        "undescribed group (CDK default)",
        lambda t: p(t, sg_with(t, "interface vpc endpoints")).update(
            GroupDescription="Tuneforge-dev-Foundation/Network/EndpointSecurityGroup"
        ),
    ),
    (
        "23 security groups",
        "Lambda egress to anywhere",
        lambda t: p(t, lambda_sg_id(t)).update(SecurityGroupEgress=[{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"}]),
    ),
    (
        "23 security groups",
        "Lambda egress to the job group on all ports",
        lambda t: t["Resources"].update(
            Wide={
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": [lambda_sg_id(t), "GroupId"]},
                    "DestinationSecurityGroupId": {"Fn::GetAtt": [sg_with(t, "bedrock customization"), "GroupId"]},
                    "IpProtocol": "-1",
                },
            }
        ),
    ),
    (
        "29 key decrypts data for the stage only",
        "no decrypt deny in the key policy",
        lambda t: drop_statement(
            p(t, key_id(t))["KeyPolicy"], lambda s: s.get("Sid") == "DecryptDataOnlyForThisStagesRolesAndDataOwners"
        ),
    ),
    (
        "29 key decrypts data for the stage only",
        "the deny leaves out every role",
        lambda t: statement(p(t, key_id(t))["KeyPolicy"], "DecryptDataOnlyForThisStagesRolesAndDataOwners")[
            "Condition"
        ]["ArnNotLike"]["aws:PrincipalArn"].append("arn:aws:iam::123456789012:role/*"),
    ),
    (
        "29 key decrypts data for the stage only",
        "the deny exempts decryption through S3",
        lambda t: statement(p(t, key_id(t))["KeyPolicy"], "DecryptDataOnlyForThisStagesRolesAndDataOwners")[
            "Condition"
        ]["StringNotEquals"]["kms:ViaService"].append("s3.us-east-1.amazonaws.com"),
    ),
    (
        "28 Bedrock stops, deletes and invocations by tag",
        "job stops without the tag condition",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "StopTaggedJobs").pop("Condition"),
    ),
    (
        "28 Bedrock stops, deletes and invocations by tag",
        "endpoint invocations without the tag condition",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "InvokeTaggedEndpoints").pop("Condition"),
    ),
    (
        "28 Bedrock stops, deletes and invocations by tag",
        "endpoint deletes granted without a condition",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "StartJobs")["Action"].append(
            "bedrock:DeleteCustomModelDeployment"
        ),
    ),
    (
        "27 DNS egress",
        "no DNS Firewall on the VPC",
        lambda t: t["Resources"].pop(only(t, "AWS::Route53Resolver::FirewallRuleGroupAssociation")),
    ),
    ("27 DNS egress", "allow list answers every name", lambda t: p(t, allow_list(t))["Domains"].append("*")),
    (
        "27 DNS egress",
        "allow list answers a foreign domain",
        lambda t: p(t, allow_list(t))["Domains"].append("exfil.example.net"),
    ),
    (
        "27 DNS egress",
        "allow list answers all of amazonaws.com",
        lambda t: p(t, allow_list(t))["Domains"].append("*.amazonaws.com"),
    ),
    (
        "27 DNS egress",
        "no rule blocks the other names",
        lambda t: p(t, only(t, "AWS::Route53Resolver::FirewallRuleGroup"))["FirewallRules"].pop(),
    ),
    (
        "27 DNS egress",
        "the last rule only alerts",
        lambda t: p(t, only(t, "AWS::Route53Resolver::FirewallRuleGroup"))["FirewallRules"][-1].update(Action="ALERT"),
    ),
    (
        "27 DNS egress",
        "no query logging",
        lambda t: t["Resources"].pop(only(t, "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation")),
    ),
    ("27 DNS egress", "query log group without the CMK", lambda t: p(t, query_log_group(t)).pop("KmsKeyId")),
    ("27 DNS egress", "query log group kept forever", lambda t: p(t, query_log_group(t)).pop("RetentionInDays")),
    # Other
    ("24 topics, queues, tables", "topic without KMS", lambda t: p(t, "SynthTopic").pop("KmsMasterKeyId")),
    ("24 topics, queues, tables", "topic without TLS-only policy", lambda t: t["Resources"].pop("SynthTopicPolicy")),
    (
        "24 topics, queues, tables",
        "queue with SQS-managed SSE",
        lambda t: p(t, "SynthDlq").update(KmsMasterKeyId=None, SqsManagedSseEnabled=True),
    ),
    (
        "24 topics, queues, tables",
        "table without PITR",
        lambda t: p(t, "SynthIdempotencyTable").pop("PointInTimeRecoverySpecification"),
    ),
    (
        "24 topics, queues, tables",
        "table under the AWS-owned key",
        lambda t: p(t, only(t, "AWS::DynamoDB::Table", lambda lid, _: "Runs" in lid)).pop("SSESpecification"),
    ),
    (
        "24 topics, queues, tables",
        "idempotency table without TTL",
        lambda t: p(t, "SynthIdempotencyTable").pop("TimeToLiveSpecification"),
    ),
    (
        "26 custom-model deletes by tag",
        "model deletes without the tag condition",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "DeleteTaggedModels").pop("Condition"),
    ),
    (
        "26 custom-model deletes by tag",
        "tag-conditioned deletes of every account's models",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "DeleteTaggedModels").update(
            Resource="arn:aws:bedrock:us-east-1:*:custom-model/*"
        ),
    ),
    (
        "26 custom-model deletes by tag",
        "bedrock:Delete* granted beside it",
        lambda t: statement(p(t, "SynthFnPolicy")["PolicyDocument"], "StartJobs")["Action"].append("bedrock:Delete*"),
    ),
]

# Twins that only bite where the stage must retain data; dev is allowed `removal_policy: destroy`.
PROD_TWINS: list[tuple[str, str, Callable[[dict], None]]] = [
    (
        "05 bucket durability",
        "data bucket deleted with the stack",
        lambda t: res(t, data_bucket_id(t)).update(DeletionPolicy="Delete"),
    ),
    (
        "06 KMS keys",
        "key scheduled for deletion with the stack",
        lambda t: res(t, key_id(t)).update(DeletionPolicy="Delete"),
    ),
    (
        "24 topics, queues, tables",
        "run table deleted with the stack",
        lambda t: res(t, only(t, "AWS::DynamoDB::Table", lambda lid, _: "Runs" in lid)).update(DeletionPolicy="Delete"),
    ),
]


def _run_twin(assembly, stage: str, check: str, mutate: Callable[[dict], None]) -> None:
    ((name, template),) = ((n, t) for n, t in assembly.stacks("-Foundation").items() if stage_of(n) == stage)
    compliant = with_pipeline(template)
    assert CHECKS[check](compliant, stage) == [], "precondition: the untouched copy is compliant"
    insecure = copy.deepcopy(compliant)
    mutate(insecure)
    assert insecure != compliant, "the twin must change the template"
    assert CHECKS[check](insecure, stage), f"{check} did not notice the insecure variant"


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize(("check", "twin", "mutate"), TWINS, ids=[f"{c[:2]}-{w}" for c, w, _ in TWINS])
def test_negative_twin(assembly, stage, check, twin, mutate):
    _run_twin(assembly, stage, check, mutate)


@pytest.mark.parametrize(("check", "twin", "mutate"), PROD_TWINS, ids=[f"{c[:2]}-{w}" for c, w, _ in PROD_TWINS])
def test_prod_retention_twin(assembly, check, twin, mutate):
    _run_twin(assembly, "prod", check, mutate)


def test_dev_may_destroy(assembly):
    """dev's `removal_policy: destroy` is a decision, not a finding; the same template under 'prod' is one."""
    dev = next(t for n, t in assembly.stacks("-Foundation").items() if stage_of(n) == "dev")
    assert res(dev, data_bucket_id(dev)).get("DeletionPolicy") == "Delete"
    assert check_05_bucket_durability(dev, "dev") == []
    assert check_05_bucket_durability(dev, "prod")


def test_every_check_has_a_twin():
    twinned = {check for check, _, _ in TWINS + PROD_TWINS}
    assert twinned == set(CHECKS), f"checks without a negative twin: {set(CHECKS) - twinned}"


def test_access_log_exemption_is_exactly_the_log_destinations(assembly):
    for template in assembly.stacks("-Foundation").values():
        exempt = access_log_destinations(template)
        sse_s3 = {
            lid
            for lid, b in resources(template, "AWS::S3::Bucket").items()
            if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ]["SSEAlgorithm"]
            == "AES256"
        }
        assert exempt == sse_s3 and len(exempt) == 1


def test_cdk_provider_lambdas_are_recognised_structurally(assembly):
    for template in assembly.stacks("-Foundation").values():
        provider = only(template, "AWS::Lambda::Function")
        assert cdk_provider_lambdas(template) == {provider}
        assert own_lambdas(template) == {}
        grafted = with_pipeline(template)
        assert cdk_provider_lambdas(grafted) == {provider, "SynthProviderHandler"}
        assert set(own_lambdas(grafted)) == {"SynthFn"}
