"""Estimate: the run's cost against the profile's budget cap."""

from __future__ import annotations

from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.steps.base import RUN, PipelineStep, StepContext, lambda_task


class EstimateStep(PipelineStep):
    HANDLER = "estimate"
    DESCRIPTION = "Estimates the run's cost and checks it against the profile's budget cap"

    def grant(self, context: StepContext) -> None:
        context.storage.grant_run_registry(self)

    def task(self, scope: Construct) -> tasks.LambdaInvoke:
        return lambda_task(
            scope,
            "Estimate",
            self.function,
            {**RUN, "validation.$": "$.validation.value"},
            result_path="$.estimate",
            selector={
                "within_budget.$": "$.Payload.within_budget",
                "total_usd.$": "$.Payload.total_usd",
                "budget_cap_usd.$": "$.Payload.budget_cap_usd",
                "summary.$": "$.Payload.summary",
            },
        )
