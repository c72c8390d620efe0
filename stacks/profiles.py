"""A stage's tuning profiles as SSM parameters: data the trigger reads at run time, one parameter each, so
adding a profile is a config change and a deploy, never a code change."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm

from lambdas.domain.names import profile_parameter, profile_parameter_prefix
from stacks.config import StageConfig
from stacks.functions import PipelineFunction


class ProfileParameters:
    """Creates one parameter per profile directly in ``stack`` (their construct ids predate this class)."""

    def __init__(self, stack: Stack, stage: StageConfig) -> None:
        self.prefix = profile_parameter_prefix(stage.name)
        self.parameters_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=f"{self.prefix[1:]}/*"
        )
        for profile in stage.profiles.values():
            ssm.StringParameter(
                stack,
                f"Profile-{profile.name}",
                parameter_name=profile_parameter(stage.name, profile.name),
                string_value=profile.model_dump_json(),
                description=f"tuneforge tuning profile {profile.name}",
            )

    def grant_read(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid="ReadProfiles", actions=["ssm:GetParameter"], resources=[self.parameters_arn]),
            wildcards={
                self.parameters_arn: "The trigger reads, with read-only GetParameter, the one profile the upload path names at run time; the prefix holds only this stage's profiles and nothing else."
            },
        )
