"""What each step of the retraining state machine takes and returns, and the execution state that carries them.

A handler parses its step's input model and returns its output model's dump. The state machine
(``stacks/state_machine.py`` and the tasks in ``stacks/steps/``) refers to both only by JSONPath: each task's
payload names the input model's fields, and its result lands in the execution state under the field of
``ExecutionState`` the task's ResultPath names. ``tests/infra/test_contracts.py`` reads the synthesized
definition and holds every path to a field here, so a renamed field fails a test instead of a run.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from lambdas.domain.cleanup import CleanupResult
from lambdas.domain.customization import StartedJob
from lambdas.domain.dataset_check import EstimateOutcome, ValidationOutcome
from lambdas.domain.endpoints import (
    MIN_CHECK_INTERVAL_SECONDS,
    READY_WITHIN_SECONDS,
    Endpoint,
    PromotionResult,
)
from lambdas.domain.evaluation import EvaluationSummary
from lambdas.domain.evaluation_batches import BatchJob, BatchOutcome, BatchPlan
from lambdas.domain.job_wait import JobOutcome
from lambdas.domain.managed_judge import JudgeEvaluationCheck, JudgeEvaluationStarted
from lambdas.domain.outcomes import Decision
from lambdas.domain.runs import RunInput, RunStatus

# -- inputs: what the state machine sends each step ----------------------------------------------------------


class ValidateInput(BaseModel):
    run: RunInput
    execution_arn: str | None = None


class EstimateInput(BaseModel):
    run: RunInput
    validation: ValidationOutcome
    execution_arn: str | None = None


class StartJobInput(BaseModel):
    run: RunInput
    execution_arn: str | None = None
    training_uri: str
    validation_uri: str | None = None


class WaitForJobInput(BaseModel):
    run_id: str
    job_arn: str
    task_token: str


class DeployEndpointInput(BaseModel):
    run: RunInput
    training: JobOutcome


class CheckEndpointInput(BaseModel):
    run: RunInput
    endpoint: Endpoint
    max_wait_seconds: int = Field(default=READY_WITHIN_SECONDS, ge=60)
    previous_interval: int = Field(default=MIN_CHECK_INTERVAL_SECONDS, ge=1)


class PrepareEvaluationInput(BaseModel):
    run: RunInput
    endpoint: Endpoint
    training: JobOutcome | None = None


class BatchItem(BaseModel):
    """The input (``$``) of each iteration of the evaluation's Map state, as its ItemSelector builds it."""

    job: BatchJob
    batch: int = Field(ge=0)  # the Map's item ($$.Map.Item.Value): the batch's number


class EvaluateBatchInput(BatchItem):
    """What the iteration's task sends: the item and which attempt this is."""

    attempt: int = Field(default=0, ge=0)  # the task's $$.State.RetryCount


class EvaluateInput(BaseModel):
    run: RunInput
    evaluation_plan: BatchPlan
    training: JobOutcome | None = None
    judge_scores_uri: str | None = None  # the managed judge's per-example scores, for a profile that has one


class StartJudgeEvaluationInput(BaseModel):
    """After every batch has written its per-example results; only for a profile with evaluation.managed_judge."""

    run: RunInput
    evaluation_plan: BatchPlan  # where the batches' results are
    execution_arn: str | None = None


class CheckJudgeEvaluationInput(BaseModel):
    run: RunInput
    judge: JudgeEvaluationStarted  # what StartJudgeEvaluation returned


class PromoteInput(BaseModel):
    run: RunInput
    training: JobOutcome
    endpoint: Endpoint | None = None  # the evaluation endpoint
    evaluation: EvaluationSummary


class FinalizePromotionInput(BaseModel):
    run: RunInput
    training: JobOutcome
    endpoint: Endpoint | None = None  # the evaluation endpoint
    promoted: Endpoint


class CleanupInput(BaseModel):
    """From the state machine (after a Catch, or the teardown of a decided run), or built by the handler from an
    execution's status-change event."""

    run_id: str
    error: dict[str, Any] | None = None  # Step Functions' {"Error", "Cause"}, passed along as it came
    final_status: RunStatus = RunStatus.FAILED
    ended: str | None = None  # the execution's status when a status-change event invoked cleanup
    profile: str | None = None
    execution_arn: str | None = None
    decision: Decision | None = None  # the teardown of a decided run: its outcome follows from it


# -- outputs the domain does not already name ----------------------------------------------------------------


class WaitStarted(BaseModel):
    """WaitForJob's own return (the state machine waits for the task token; JobEvents sends the JobOutcome)."""

    status: str  # the job's status when its token was stored


class EndpointCheck(BaseModel):
    status: str
    ready: bool
    failed: bool
    waited_seconds: int
    failure_message: str | None
    next_check_seconds: int  # the state machine's Wait before the next check


class PromoteOutcome(BaseModel):
    endpoint: Endpoint | None = None  # the throughput bought for the candidate
    superseded_by: str | None = None  # the newer upload's run that holds the champion: nothing bought


# -- the execution state ------------------------------------------------------------------------------------

T = TypeVar("T")


class StepResult(BaseModel, Generic[T]):
    """A task's result as its default ResultSelector keeps it: the Lambda payload under ``value``."""

    value: T


class EstimateSelection(BaseModel):
    """What Estimate's ResultSelector keeps of its EstimateOutcome (the rejection notice quotes all of it)."""

    within_budget: bool
    total_usd: str
    budget_cap_usd: str
    summary: str


class EstimateSkipped(BaseModel):
    """In place of an estimate when the dataset is invalid, so the rejection notice has one shape."""

    skipped: str


class TaskError(BaseModel):
    """What a Catch puts under its ResultPath."""

    Error: str
    Cause: str


class ExecutionState(BaseModel):
    """The state document (``$``) the retraining state machine builds, one ResultPath per field."""

    validation: StepResult[ValidationOutcome]
    estimate: EstimateSelection | EstimateSkipped
    job: StepResult[StartedJob]
    training: JobOutcome
    endpoint: StepResult[Endpoint]
    endpoint_check: StepResult[EndpointCheck]
    evaluation_plan: StepResult[BatchPlan]
    judge: StepResult[JudgeEvaluationStarted]
    judge_check: StepResult[JudgeEvaluationCheck]
    evaluation: StepResult[EvaluationSummary]
    promoted: StepResult[PromoteOutcome]
    promoted_check: StepResult[EndpointCheck]
    champion: StepResult[PromotionResult]
    teardown: StepResult[CleanupResult]
    cleanup: StepResult[CleanupResult]
    decision: Decision
    error: TaskError


class StepContract(BaseModel):
    input: type[BaseModel]
    output: type[BaseModel]


# The managed judge's steps, not yet in the state machine: their entries join CONTRACTS when they are wired
# (tests/infra/test_contracts.py holds CONTRACTS to the tasks the definition has).
# Keyed by handler module (lambdas/handlers/<step>.py), as the steps are in stacks/steps/.
CONTRACTS: dict[str, StepContract] = {
    "validate": StepContract(input=ValidateInput, output=ValidationOutcome),
    "estimate": StepContract(input=EstimateInput, output=EstimateOutcome),
    "start_job": StepContract(input=StartJobInput, output=StartedJob),
    "wait_for_job": StepContract(input=WaitForJobInput, output=WaitStarted),
    "deploy_endpoint": StepContract(input=DeployEndpointInput, output=Endpoint),
    "check_endpoint": StepContract(input=CheckEndpointInput, output=EndpointCheck),
    "prepare_evaluation": StepContract(input=PrepareEvaluationInput, output=BatchPlan),
    "evaluate_batch": StepContract(input=EvaluateBatchInput, output=BatchOutcome),
    "start_judge_evaluation": StepContract(input=StartJudgeEvaluationInput, output=JudgeEvaluationStarted),
    "check_judge_evaluation": StepContract(input=CheckJudgeEvaluationInput, output=JudgeEvaluationCheck),
    "evaluate": StepContract(input=EvaluateInput, output=EvaluationSummary),
    "promote": StepContract(input=PromoteInput, output=PromoteOutcome),
    "finalize_promotion": StepContract(input=FinalizePromotionInput, output=PromotionResult),
    "cleanup": StepContract(input=CleanupInput, output=CleanupResult),
}
