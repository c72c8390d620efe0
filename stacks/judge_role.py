"""The role Bedrock assumes to run this stage's managed-judge evaluation jobs, and nothing else.

What it may do is what lambdas.domain.catalogue.evaluation_jobs records of the judge's service role
(https://docs.aws.amazon.com/bedrock/latest/userguide/judge-service-roles.html, S3 actions from
https://docs.aws.amazon.com/bedrock/latest/userguide/automatic-service-roles.html, read 2026-12-07): read the
datasets StartJudgeEvaluation writes, write the jobs' results, use the stage key for both through S3, and invoke
the evaluator models the stage's profiles name. Trust is bound to this account's evaluation jobs (confused deputy).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lambdas.domain.names import JUDGE_DATASETS_PREFIX, JUDGE_OUTPUT_PREFIX
from stacks.nag import acknowledge, logical_id

# What the evaluation jobs do with the artifacts bucket from outside the stage's VPC (CreateEvaluationJob takes no
# vpcConfig): the bucket policy lets this role do this and nothing else there (stacks/data_perimeter.py).
# (The user guide's output statement also lists s3:AbortMultipartUpload; the perimeter lets an exempted principal do
# only GetObject, PutObject and ListBucket outside the endpoint, checklist property 04, and results of at most 1,000
# prompts per job are written in one part.)
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
PREFIXES = (JUDGE_DATASETS_PREFIX, JUDGE_OUTPUT_PREFIX)


class ManagedJudgeRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        evaluator_resources: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.job_arns = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:evaluation-job/*"
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by Amazon Bedrock to run tuneforge's managed-judge evaluation jobs of this account",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": self.job_arns},
                }
            ),
        )
        datasets = artifacts_bucket.arn_for_objects(f"{JUDGE_DATASETS_PREFIX}*")
        output = artifacts_bucket.arn_for_objects(f"{JUDGE_OUTPUT_PREFIX}*")
        statements = [
            iam.PolicyStatement(sid="ReadJudgeDatasets", actions=["s3:GetObject"], resources=[datasets]),
            iam.PolicyStatement(
                sid="WriteJudgeResults",
                actions=list(OBJECT_ACTIONS),
                resources=[output],
            ),
            iam.PolicyStatement(
                sid="ListJudgeFolders",
                actions=["s3:ListBucket"],
                resources=[artifacts_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in PREFIXES]}},
            ),
            iam.PolicyStatement(
                sid="LocateArtifactsBucket", actions=["s3:GetBucketLocation"], resources=[artifacts_bucket.bucket_arn]
            ),
            iam.PolicyStatement(
                sid="UseKeyOnlyThroughBedrockAndS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={
                    "StringLike": {
                        "kms:ViaService": [f"bedrock.{stack.region}.amazonaws.com", f"s3.{stack.region}.amazonaws.com"]
                    }
                },
            ),
        ]
        invocation_jobs = f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:model-invocation-job/*"
        if evaluator_resources:
            # The user guide's judge role policy grants the evaluator bedrock:InvokeModel, CreateModelInvocationJob and
            # StopModelInvocationJob (statement BedrockModelInvoke of judge-service-roles.html, read 2026-12-07):
            # Bedrock may score a dataset through a batch inference job of the evaluator.
            statements += [
                iam.PolicyStatement(
                    sid="InvokeEvaluatorModels",
                    actions=["bedrock:InvokeModel", "bedrock:CreateModelInvocationJob"],
                    resources=sorted(evaluator_resources),
                ),
                iam.PolicyStatement(
                    sid="RunEvaluatorBatches",
                    actions=["bedrock:CreateModelInvocationJob", "bedrock:StopModelInvocationJob"],
                    resources=[invocation_jobs],
                ),
            ]
        self.policy = iam.Policy(self, "Policy", statements=statements)
        self.policy.attach_to_role(self.role)

        bucket = logical_id(artifacts_bucket)
        acknowledge(
            self.policy,
            "Bedrock reads only the datasets StartJudgeEvaluation writes under the judge-datasets/ prefix of the artifacts bucket, one folder per run named by its id, known only at run time.",
            f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/judge-datasets/*]",
        )
        acknowledge(
            self.policy,
            "Bedrock writes each evaluation job's results under judge-output/ of the artifacts bucket, in folders named by the job and by ids Bedrock generates (model-evaluation-report-s3.html); nothing else there.",
            f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/judge-output/*]",
        )
        if evaluator_resources:
            acknowledge(
                self.policy,
                "Batch inference jobs Bedrock starts for the evaluator get ids it generates; the statement is limited to this account's and Region's model-invocation jobs and to creating and stopping them.",
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:{stack.region}:{stack.account}:model-invocation-job/*]",
            )
        if any("*" in resource for resource in evaluator_resources):
            acknowledge(
                self.policy,
                "An evaluator reached through a geographic inference profile may be served by its foundation model in any Region of the profile's area, which AWS lets depend on the calling Region; the ARNs name that one model only.",
                *(
                    f"AwsSolutions-IAM5[Resource::{resource.replace(f'arn:{stack.partition}:', 'arn:<AWS::Partition>:')}]"
                    for resource in sorted(evaluator_resources)
                    if "*" in resource
                ),
            )
        acknowledge(
            self.policy,
            "The policy is attached only to the managed-judge role and written from the user guide's judge service-role policy; an inline, per-role policy keeps it reviewable in one place.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
        )
