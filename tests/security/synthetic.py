"""A compliant slice of pipeline resources grafted onto a real foundation template.

The checklist has properties about Lambdas, state machines, rules, topics, queues and PassRole statements
that a template may not contain yet. To prove those checks both accept a compliant resource and reject the
insecure variant (without another synth), the tests add these hand-written, compliant resources to a
deep copy of a synthesized template and then break them one property at a time.
"""

from __future__ import annotations

import copy
import json

from tuneforge_audit.checklist.buckets import access_log_destinations
from tuneforge_audit.checklist.lambdas import latest_python_runtime
from tuneforge_audit.checklist.template import resources, roles_trusting


def only(template: dict, type_: str, where=lambda lid, res: True) -> str:
    """The logical id of the single resource of ``type_`` that satisfies ``where``."""
    found = [lid for lid, res in resources(template, type_).items() if where(lid, res)]
    assert len(found) == 1, f"expected one {type_}, found {found}"
    return found[0]


def key_id(t: dict) -> str:
    return only(t, "AWS::KMS::Key")


def data_bucket_id(t: dict) -> str:
    return only(
        t,
        "AWS::S3::Bucket",
        lambda lid, b: (
            (b["Properties"].get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") is not None
        ),
    )


def bedrock_role_id(t: dict) -> str:
    """The customization jobs' role (the managed judge's evaluation-job role trusts Bedrock too)."""
    (role,) = [lid for lid in roles_trusting(t, "bedrock.amazonaws.com") if lid.startswith("BedrockCustomization")]
    return role


def lambda_sg_id(t: dict) -> str:
    return only(
        t,
        "AWS::EC2::SecurityGroup",
        lambda lid, sg: sg["Properties"]["GroupDescription"].lower().startswith("tuneforge lambdas"),
    )


def with_pipeline(template: dict) -> dict:
    t = copy.deepcopy(template)
    r = t["Resources"]
    key = {"Fn::GetAtt": [key_id(t), "Arn"]}
    subnets = [{"Ref": lid} for lid in resources(t, "AWS::EC2::Subnet")]
    r["SynthFnLogs"] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"RetentionInDays": 30, "KmsKeyId": key},
        "DeletionPolicy": "Retain",
    }
    r["SynthFnRole"] = {
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
    r["SynthFnPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "SynthFnPolicy",
            "Roles": [{"Ref": "SynthFnRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PassTheBedrockRole",
                        "Effect": "Allow",
                        "Action": "iam:PassRole",
                        "Resource": {"Fn::GetAtt": [bedrock_role_id(t), "Arn"]},
                        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                    },
                    {
                        "Sid": "StartJobs",
                        "Effect": "Allow",
                        "Action": ["bedrock:CreateModelCustomizationJob", "bedrock:TagResource"],
                        "Resource": [
                            {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
                                    ],
                                ]
                            },
                            {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":bedrock:us-east-1:123456789012:custom-model/*",
                                    ],
                                ]
                            },
                            {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":bedrock:us-east-1:123456789012:model-customization-job/*",
                                    ],
                                ]
                            },
                        ],
                    },
                    {
                        "Sid": "DeleteTaggedModels",
                        "Effect": "Allow",
                        "Action": "bedrock:DeleteCustomModel",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:us-east-1:123456789012:custom-model/*"],
                            ]
                        },
                        "Condition": {"StringEquals": {"aws:ResourceTag/tuneforge:profile": ["support-qa-vi"]}},
                    },
                    {
                        "Sid": "StopTaggedJobs",
                        "Effect": "Allow",
                        "Action": "bedrock:StopModelCustomizationJob",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":bedrock:us-east-1:123456789012:model-customization-job/*",
                                ],
                            ]
                        },
                        "Condition": {"StringEquals": {"aws:ResourceTag/tuneforge:profile": ["support-qa-vi"]}},
                    },
                    {
                        "Sid": "InvokeTaggedEndpoints",
                        "Effect": "Allow",
                        "Action": "bedrock:InvokeModel",
                        "Resource": [
                            {
                                "Fn::Join": [
                                    "",
                                    ["arn:", {"Ref": "AWS::Partition"}, f":bedrock:us-east-1:123456789012:{kind}/*"],
                                ]
                            }
                            for kind in ("provisioned-model", "custom-model-deployment")
                        ],
                        "Condition": {"StringEquals": {"aws:ResourceTag/tuneforge:profile": ["support-qa-vi"]}},
                    },
                    {
                        "Sid": "Traces",
                        "Effect": "Allow",
                        "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                        "Resource": "*",
                    },
                ],
            },
        },
    }
    r["SynthFn"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": "cdk-assets", "S3Key": "lambdas.zip"},
            "Handler": "lambdas.handlers.validate.handler",
            "Role": {"Fn::GetAtt": ["SynthFnRole", "Arn"]},
            "Runtime": latest_python_runtime(),
            "Timeout": 60,
            "MemorySize": 512,
            "ReservedConcurrentExecutions": 5,
            "TracingConfig": {"Mode": "Active"},
            "VpcConfig": {"SubnetIds": subnets, "SecurityGroupIds": [{"Fn::GetAtt": [lambda_sg_id(t), "GroupId"]}]},
            "Environment": {
                "Variables": {
                    "RUNS_TABLE": {"Ref": only(t, "AWS::DynamoDB::Table", lambda lid, _: "Runs" in lid)},
                    "BEDROCK_ROLE_ARN": {"Fn::GetAtt": [bedrock_role_id(t), "Arn"]},
                    "POWERTOOLS_SERVICE_NAME": "tuneforge",
                    "LOG_LEVEL": "INFO",
                    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
                }
            },
            "KmsKeyArn": key,
            "LoggingConfig": {"LogGroup": {"Ref": "SynthFnLogs"}},
        },
    }
    # A CDK-style provider Lambda: Node.js, no VPC, only ever invoked by CloudFormation through its custom resource.
    r["SynthProviderHandler"] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": "cdk-assets", "S3Key": "provider.zip"},
            "Handler": "__entrypoint__.handler",
            "Runtime": "nodejs22.x",
            "Role": {"Fn::GetAtt": ["SynthFnRole", "Arn"]},
        },
    }
    r["SynthCustomThing"] = {
        "Type": "Custom::SynthThing",
        "Properties": {"ServiceToken": {"Fn::GetAtt": ["SynthProviderHandler", "Arn"]}},
    }
    r["SynthDlq"] = {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": key}}
    definition = {
        "StartAt": "Validate",
        "TimeoutSeconds": 604800,
        "States": {
            "Validate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "__FN__"},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Next": "Work",
            },
            "Work": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "StartJob",
                        "States": {
                            "StartJob": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::bedrock:createModelCustomizationJob",
                                "Parameters": {
                                    "VpcConfig": {},
                                    "CustomModelKmsKeyId": "k",
                                    "ClientRequestToken.$": "$.token",
                                },
                                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "BranchFailed"}],
                                "End": True,
                            },
                            "BranchFailed": {"Type": "Fail"},
                        },
                    }
                ],
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Fail"},
        },
    }
    head, tail = json.dumps(definition).split("__FN__")
    r["SynthMachine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionString": {"Fn::Join": ["", [head, {"Fn::GetAtt": ["SynthFn", "Arn"]}, tail]]},
            "RoleArn": {"Fn::GetAtt": ["SynthFnRole", "Arn"]},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": False,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["SynthFnLogs", "Arn"]}}}],
            },
            "TracingConfiguration": {"Enabled": True},
            "EncryptionConfiguration": {
                "Type": "CUSTOMER_MANAGED_KMS_KEY",
                "KmsKeyId": key,
                "KmsDataKeyReusePeriodSeconds": 300,
            },
        },
    }
    r["SynthUploadRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [{"Ref": data_bucket_id(t)}]},
                    "object": {"key": [{"prefix": "incoming/"}]},
                },
            },
            "Targets": [
                {
                    "Id": "Target0",
                    "Arn": {"Ref": "SynthMachine"},
                    "RoleArn": {"Fn::GetAtt": ["SynthFnRole", "Arn"]},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["SynthDlq", "Arn"]}},
                    "RetryPolicy": {"MaximumRetryAttempts": 3},
                }
            ],
        },
    }
    r["SynthTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": key}}
    r["SynthTopicPolicy"] = {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [{"Ref": "SynthTopic"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": {"Ref": "SynthTopic"},
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    r["SynthIdempotencyTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
        "DeletionPolicy": "Retain",
    }
    return t


def non_log_bucket(t: dict) -> str:
    logs = access_log_destinations(t)
    return (
        data_bucket_id(t)
        if data_bucket_id(t) not in logs
        else next(b for b in resources(t, "AWS::S3::Bucket") if b not in logs)
    )
