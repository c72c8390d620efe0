"""The graders of a stage's reinforcement fine-tuning profiles: one Lambda function each, which only Bedrock's
customization jobs of this account may invoke.

What Bedrock needs (https://docs.aws.amazon.com/bedrock/latest/userguide/rft-access-security.html, read 2026-12-07):
the model customization service role must be allowed ``lambda:InvokeFunction`` on the reward function; Bedrock
invokes it as that role. Two grants follow from that, each covering a different caller:

- the identity grant on the Bedrock service role (``BedrockCustomizationRole.grant_invoke``), scoped to these
  functions' ARNs: what AWS documents, and what lets the jobs invoke the graders;
- a resource-based policy on each function naming only ``bedrock.amazonaws.com`` with ``aws:SourceAccount`` = this
  account and ``aws:SourceArn`` = this account's model-customization jobs in this Region: should Bedrock call as
  the service principal, only this account's jobs get through (the confused-deputy conditions AWS recommends for
  service principals), and no other principal or account is named, so a caller from another account is refused
  (cross-account calls need the resource policy to allow them). Lambda's resource policies hold only Allow
  statements, so within the account the identity policies decide for everyone else, and no other role here is
  granted lambda:InvokeFunction on a grader.

A grader runs in the isolated subnets like every function, with no permission beyond its own logs, tracing and
network interfaces: it reads what the job sends and returns scores (no S3, no Bedrock).
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.customization import grader_arns_variable
from lambdas.domain.names import Env
from lambdas.domain.profiles import TuningProfile
from stacks.bedrock_role import BedrockCustomizationRole
from stacks.config import StageConfig
from stacks.functions import FunctionPlacement, PipelineFunction

# The functions' asset (stacks/lambda_asset) ships the repository's graders/ folder beside the lambdas package,
# where lambdas/handlers/grader.py finds a profile's own grader module.
GRADER_HANDLER = "lambdas.handlers.grader.handler"
# A job grades batches of sampled responses at once; too low a ceiling would throttle (and fail) the job.
GRADER_CONCURRENCY = 20


def rft_profiles(stage: StageConfig) -> list[TuningProfile]:
    return sorted(
        (p for p in stage.profiles.values() if p.customization_type is CustomizationType.REINFORCEMENT_FINE_TUNING),
        key=lambda p: p.name,
    )


class GraderFunctions(Construct):
    """Nothing at all for a stage without a reinforcement fine-tuning profile."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        placement: FunctionPlacement,
        bedrock_role: BedrockCustomizationRole,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        job_arns = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")
        self.functions: dict[str, PipelineFunction] = {}
        for profile in rft_profiles(stage):
            if profile.grader is None:  # the profile model requires one for RFT; kept for the type checker
                raise ValueError(f"profile {profile.name}: REINFORCEMENT_FINE_TUNING needs a grader")
            grader = PipelineFunction(
                self,
                profile.name,
                placement=placement,
                handler=GRADER_HANDLER,
                description=f"Scores profile {profile.name}'s sampled responses for its reinforcement fine-tuning jobs",
                environment={Env.GRADER: profile.grader.model_dump_json(exclude_none=True)},
                timeout=Duration.seconds(profile.grader.timeout_seconds),
                reserved_concurrency=GRADER_CONCURRENCY,
                synchronous_caller="Amazon Bedrock invokes the grader synchronously during a reinforcement fine-tuning job and fails the job on an error, so an asynchronous dead-letter queue would never receive anything.",
            )
            grader.function.add_permission(
                "InvokedByThisAccountsJobs",
                principal=iam.ServicePrincipal("bedrock.amazonaws.com"),
                action="lambda:InvokeFunction",
                source_account=stack.account,
                source_arn=job_arns,  # Lambda matches aws:SourceArn with ArnLike: the wildcard is the job id
            )
            self.functions[profile.name] = grader
        if self.functions:
            bedrock_role.grant_invoke(self, [fn.function.function_arn for fn in self.functions.values()])

    @property
    def environment(self) -> dict[str, str]:
        """What StartJob and Validate read to name each profile's grader in the job request."""
        return {
            Env.GRADER_ARNS: grader_arns_variable(
                (name, grader.function.function_arn) for name, grader in self.functions.items()
            )
        }
