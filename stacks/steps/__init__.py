"""The pipeline's steps, listed once: each is one construct (function, grants, state-machine task) in a module
named as its handler in lambdas/handlers/. docs/ARCHITECTURE.md says how to add one."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import get_type_hints

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.steps.base import PipelineStep, StepContext
from stacks.steps.check_endpoint import CheckEndpointStep
from stacks.steps.check_judge_evaluation import CheckJudgeEvaluationStep
from stacks.steps.cleanup import CleanupStep
from stacks.steps.deploy_endpoint import DeployEndpointStep
from stacks.steps.estimate import EstimateStep
from stacks.steps.evaluate import EvaluateStep
from stacks.steps.evaluate_batch import EvaluateBatchStep
from stacks.steps.finalize_promotion import FinalizePromotionStep
from stacks.steps.job_events import JobEventsStep
from stacks.steps.prepare_evaluation import PrepareEvaluationStep
from stacks.steps.promote import PromoteStep
from stacks.steps.start_job import StartJobStep
from stacks.steps.start_judge_evaluation import StartJudgeEvaluationStep
from stacks.steps.start_run import StartRunStep
from stacks.steps.validate import ValidateStep
from stacks.steps.wait_for_job import WaitForJobStep

__all__ = ["PipelineSteps", "StepContext"]


@dataclass(frozen=True)
class PipelineSteps:
    start_run: StartRunStep
    validate: ValidateStep
    estimate: EstimateStep
    start_job: StartJobStep
    wait_for_job: WaitForJobStep
    job_events: JobEventsStep
    deploy_endpoint: DeployEndpointStep
    check_endpoint: CheckEndpointStep
    prepare_evaluation: PrepareEvaluationStep
    evaluate_batch: EvaluateBatchStep
    evaluate: EvaluateStep
    promote: PromoteStep
    finalize_promotion: FinalizePromotionStep
    cleanup: CleanupStep
    # Bedrock's managed judge: built for every stage, wired into the flow (stacks/state_machine.py) for profiles
    # with evaluation.managed_judge.
    start_judge_evaluation: StartJudgeEvaluationStep
    check_judge_evaluation: CheckJudgeEvaluationStep

    @classmethod
    def build(cls, scope: Construct, context: StepContext) -> PipelineSteps:
        """Each step's construct id is its class name without "Step" (StartRun, Validate, …), as before steps
        were constructs of their own, so the functions keep their logical ids."""
        step_types = get_type_hints(cls)
        return cls(
            **{
                field.name: step_types[field.name](
                    scope, step_types[field.name].__name__.removesuffix("Step"), context=context
                )
                for field in fields(cls)
            }
        )

    def all(self) -> list[PipelineStep]:
        return [getattr(self, field.name) for field in fields(self)]

    def functions(self) -> list[lambda_.IFunction]:
        return [step.function for step in self.all()]
