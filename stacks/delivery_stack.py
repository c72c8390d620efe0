"""Tuneforge-Delivery: the CDK Pipelines pipeline that takes a commit through the gates to every configured stage.

Source (a connection to a Git host, a CodeCommit repository or a zip in S3) -> Synth (`make test`, the gates and
the offline end-to-end suite, then `make synth`) -> the pipeline updates itself -> the assets are published ->
each stage of `delivery.stages` in order; before a stage with `approval: true`, a security review step runs
`make audit BASE=<commit of the last successful execution>` and publishes audit/REPORT.md, then a person approves.

The pipeline deploys through the CDK bootstrap roles of each stage's account, which trust the tooling account
(`cdk bootstrap --trust`, docs/delivery.md); nothing here creates a cross-account role.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lambdas.domain.names import DELIVERY_AUDIT_PREFIX, DELIVERY_PIPELINE_NAME, DELIVERY_STACK_NAME
from stacks.config import CodeCommitSource, ConnectionSource, DeliveryConfig, S3Source, StageConfig
from stacks.delivery_security import (
    ARTIFACT_KEY_ALIAS,
    acknowledge_pipeline_findings,
    artifact_buckets,
    artifact_storage,
    tighten_generated_resources,
)
from stacks.stage import TuneforgeStage

# The gates and the offline end-to-end suite (`make test`), then the cloud assembly the pipeline deploys
# (`make synth`): the same targets a developer runs, each installing from the hash-locked files.
SYNTH_COMMANDS = ["make test", "make synth"]
# The Makefile's locks are for CPython 3.11 (LOCK_PYTHON), asked of the image as a buildspec runtime. Which image offers
# which runtime: https://docs.aws.amazon.com/codebuild/latest/userguide/available-runtimes.html (read 2026-12-07; the
# copy this project could read did not show the python rows, so confirm standard:7.0 still lists 3.11: a runtime the
# image lacks fails the build's install phase, and the Makefile refuses any other Python, so nothing passes silently).
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.11"}
# The self-mutation step installs this CDK CLI (the one package.json pins for `make deploy`; a unit test holds the
# two equal) instead of CDK Pipelines' default, the newest 2.x on npm at that moment.
CDK_CLI_VERSION = "2.1148.1"
# One action name whatever the source: the construct paths (and so the allowlisted acknowledgements) stay the same.
SOURCE_ACTION = "Source"


class DeliveryRegionStack(Stack):
    """The artifact bucket CodePipeline needs in each other region a stage deploys to, in the tooling account.

    Given to the pipeline instead of the support stack CodePipeline would generate, so it is built like the main
    artifact bucket (its own rotating key, TLS only, versioned, access-logged) and passes the same gates. Named,
    because the pipeline in another region refers to it by name and by its key's alias.
    """

    def __init__(self, scope: Construct, *, delivery: DeliveryConfig, region: str) -> None:
        super().__init__(
            scope,
            f"{DELIVERY_STACK_NAME}-{region}",
            env={"account": delivery.account, "region": region},
            description=f"tuneforge delivery: the pipeline's artifact bucket in {region}",
        )
        key = kms.Key(
            self, "ArtifactKey", description="tuneforge delivery: pipeline artifacts", enable_key_rotation=True
        )
        alias = kms.Alias(self, "ArtifactKeyAlias", alias_name=ARTIFACT_KEY_ALIAS, target_key=key)
        self.artifact_bucket, _ = artifact_buckets(
            self, delivery, alias, bucket_name=f"tuneforge-delivery-artifacts-{delivery.account}-{region}"
        )


class DeliveryStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        delivery: DeliveryConfig,
        stages: dict[str, StageConfig],
        construct_id: str = DELIVERY_STACK_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env={"account": delivery.account, "region": delivery.region},
            description="tuneforge delivery: the pipeline that tests, synthesizes and deploys every configured stage",
            **kwargs,
        )
        other_regions = sorted({stages[entry.stage].region for entry in delivery.stages} - {delivery.region})
        region_stacks = [DeliveryRegionStack(scope, delivery=delivery, region=region) for region in other_regions]
        for region_stack in region_stacks:
            self.add_stack_dependency(region_stack)
        storage = artifact_storage(self, delivery)
        self.artifact_bucket, self.log_group = storage.artifact_bucket, storage.log_group
        self.source = self._source(delivery)
        # What names the change under review: a commit for the Git sources, the object version for a zip in S3.
        self.revision_variable = "VersionId" if isinstance(delivery.source, S3Source) else "CommitId"
        build_environment = codebuild.BuildEnvironment(build_image=BUILD_IMAGE, privileged=False)
        build_spec = codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}})
        logging = codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group))
        self.synth = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            commands=SYNTH_COMMANDS,
            primary_output_directory="cdk.out",
            partial_build_spec=build_spec,
            # The whole suite runs here; more cores make pytest-xdist's workers finish sooner.
            build_environment=codebuild.BuildEnvironment(compute_type=codebuild.ComputeType.LARGE),
            timeout=Duration.minutes(90),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=DELIVERY_PIPELINE_NAME,
            cli_version=CDK_CLI_VERSION,
            synth=self.synth,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=build_environment, logging=logging, timeout=Duration.minutes(30)
            ),
            # One asset-publishing project for all assets instead of one per asset: fewer roles to review.
            publish_assets_in_parallel=False,
            # The artifact bucket of each region, the pipeline's own first (CDK Pipelines takes it as the artifact
            # bucket); no support stack is generated.
            cross_region_replication_buckets={
                self.region: self.artifact_bucket,
                **{stack.region: stack.artifact_bucket for stack in region_stacks},
            },
        )
        self.stage_names: list[str] = []
        for entry in delivery.stages:
            stage = stages[entry.stage]
            pre: list[pipelines.Step] = []
            if entry.approval:
                review = self._security_review(stage, build_spec)
                approval = pipelines.ManualApprovalStep(
                    f"Approve-{stage.name}",
                    comment=(
                        f"Deploys tuneforge {stage.name} to account {stage.account} in {stage.region}. Read the security "
                        f"report first: {DELIVERY_AUDIT_PREFIX}{stage.name}/<commit>/REPORT.md in the artifact bucket "
                        "(the link), the `make audit` diff of this commit against the one the last successful execution "
                        "deployed; the commit is this execution's source revision."
                    ),
                    review_url=self._report_console_url(stage),
                )
                approval.add_step_dependency(review)
                pre += [review, approval]
            self.pipeline.add_stage(TuneforgeStage(self, stage.name, stage=stage), pre=pre)
            self.stage_names.append(stage.name)
        # The CodePipeline and its CodeBuild projects exist only once the pipeline is built.
        self.pipeline.build_pipeline()
        tighten_generated_resources(self, other_regions=other_regions)
        acknowledge_pipeline_findings(self)

    def _source(self, delivery: DeliveryConfig) -> pipelines.CodePipelineSource:
        source = delivery.source
        if isinstance(source, ConnectionSource):
            # A full clone (not a zip of the tree) keeps the Git history `make audit BASE=<commit>` checks out.
            return pipelines.CodePipelineSource.connection(
                source.repository,
                source.branch,
                connection_arn=source.connection_arn,
                code_build_clone_output=True,
                action_name=SOURCE_ACTION,
            )
        if isinstance(source, CodeCommitSource):
            repository = codecommit.Repository.from_repository_name(self, "SourceRepository", source.repository)
            return pipelines.CodePipelineSource.code_commit(
                repository, source.branch, code_build_clone_output=True, action_name=SOURCE_ACTION
            )
        bucket = s3.Bucket.from_bucket_name(self, "SourceBucket", source.bucket)
        return pipelines.CodePipelineSource.s3(bucket, source.key, action_name=SOURCE_ACTION)

    def _report_console_url(self, stage: StageConfig) -> str:
        return (
            f"https://console.aws.amazon.com/s3/buckets/{self.artifact_bucket.bucket_name}"
            f"?region={self.region}&prefix={DELIVERY_AUDIT_PREFIX}{stage.name}/"
        )

    def _security_review(self, stage: StageConfig, build_spec: codebuild.BuildSpec) -> pipelines.CodeBuildStep:
        """`make audit` against the commit every stage last received, published where the approval links to."""
        prefix = f"{DELIVERY_AUDIT_PREFIX}{stage.name}/"
        return pipelines.CodeBuildStep(
            f"SecurityReview-{stage.name}",
            input=self.source,
            partial_build_spec=build_spec,
            env={
                "PIPELINE_NAME": DELIVERY_PIPELINE_NAME,
                "REPORT_BUCKET": self.artifact_bucket.bucket_name,
                "REPORT_PREFIX": prefix,
                "REVISION": self.source.source_attribute(self.revision_variable),
            },
            commands=[
                # Executions are listed newest first; the last one that succeeded deployed every stage.
                'BASE=$(aws codepipeline list-pipeline-executions --pipeline-name "$PIPELINE_NAME" '
                "--query \"pipelineExecutionSummaries[?status=='Succeeded'] | [0].sourceRevisions[0].revisionId\" "
                "--output text)",
                'if [ "$BASE" = "None" ] || ! git cat-file -e "$BASE^{commit}" 2>/dev/null; then '
                'echo "no deployed commit in this checkout: the report covers the whole app"; BASE=""; fi',
                "make audit ${BASE:+BASE=$BASE}",
                'aws s3 cp audit/REPORT.md "s3://$REPORT_BUCKET/$REPORT_PREFIX$REVISION/REPORT.md"',
                'aws s3 cp audit/report.json "s3://$REPORT_BUCKET/$REPORT_PREFIX$REVISION/report.json"',
            ],
            primary_output_directory="audit",
            role_policy_statements=[
                iam.PolicyStatement(
                    sid="FindTheDeployedCommit",
                    actions=["codepipeline:ListPipelineExecutions"],
                    resources=[
                        self.format_arn(service="codepipeline", resource=DELIVERY_PIPELINE_NAME),
                    ],
                ),
                iam.PolicyStatement(
                    sid="PublishTheReport",
                    actions=["s3:PutObject"],
                    resources=[self.artifact_bucket.arn_for_objects(f"{prefix}*")],
                ),
            ],
            timeout=Duration.minutes(60),
        )
