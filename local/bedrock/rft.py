"""Reinforcement fine-tuning jobs: Bedrock's checks of ``customizationConfig.rftConfig`` up front, and the
training loop the emulated job runs against the deployed grader.

What the loop is (and is not): each step takes a few of the training prompts, "samples"
``trainingSamplePerPrompt`` responses to each, sends them to the grader function in one invocation as AWS's
contract says (``lambdas.domain.grader_contract``: a list of samples, each the record's fields with the response
appended as the last, assistant turn, and an ``id``), and records the step's rewards. No model is sampled: a share
of each step's responses, growing with the step, is right (chosen by a deterministic draw), so a sound grader's
reward rises over the job as a learning model's would. The invocation goes through the emulator's Lambda invoke
path as the job's service role, authorized like any caller (``local.authz.services.bedrock_may_invoke_grader``); a
refusal, a grader error or an answer that does not fit the contract fails the job with the reason, as Bedrock fails
it.

Work is capped (``MAX_STEPS`` steps of at most ``PROMPTS_PER_STEP`` prompts) so a 20,000-prompt file stays fast.
Grading runs on a thread of its own (``start``), outside the Bedrock lock: a handler that polls the job while the
grader runs would otherwise wait on the lock while the grader waits for its turn to run.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from lambdas.domain import catalogue
from lambdas.domain.grader_contract import GraderRequest, GraderResponse
from lambdas.domain.training_metrics import RewardPoint

from .. import state
from .store import LOCK, validation

RFT = catalogue.CustomizationType.REINFORCEMENT_FINE_TUNING
MAX_STEPS = 8
PROMPTS_PER_STEP = 4
# The chance a sampled response is right at the first and at the last step.
FIRST_ODDS, LAST_ODDS = 0.25, 0.9


@dataclass
class Training:
    """What the grading thread leaves for the job's completion."""

    rewards: list[RewardPoint] = field(default_factory=list)
    invocations: int = 0
    failure: str | None = None
    done: bool = False


def rft_config(params: dict[str, Any]) -> dict[str, Any] | None:
    return (params.get("customizationConfig") or {}).get("rftConfig")


def validate(backend: Any, params: dict[str, Any], spec: Any) -> None:
    """Checks Bedrock makes on an RFT request beyond the service model's shapes."""
    config = rft_config(params)
    if not config:
        raise validation("customizationConfig.rftConfig is required for REINFORCEMENT_FINE_TUNING jobs.")
    if params.get("hyperParameters"):
        raise validation(
            "hyperParameters is not supported for REINFORCEMENT_FINE_TUNING jobs; "
            "set customizationConfig.rftConfig.hyperParameters instead."
        )
    problems = spec.hyperparameter_problems(config.get("hyperParameters") or {}, RFT)
    if problems:
        raise validation("; ".join(f"Hyperparameter {name} {reason}" for name, reason in problems))
    arn = grader_arn(config)
    if _function(backend, arn) is None:
        raise validation(f"The Lambda function {arn} provided as the grader does not exist or is not accessible.")


def grader_arn(config: dict[str, Any]) -> str:
    return str(((config.get("graderConfig") or {}).get("lambdaGrader") or {}).get("lambdaArn") or "")


def _function(backend: Any, arn: str) -> Any:
    from moto.awslambda.utils import get_backend

    parts = arn.split(":")
    if len(parts) < 7:
        return None
    try:
        return get_backend(parts[4] or backend.account_id, parts[3] or backend.region_name).get_function(arn)
    except Exception:
        return None


def start(backend: Any, job: Any, meta: Any, lines: list[str]) -> None:
    """Run the job's grading on a thread that counts as work for the clock (caller holds LOCK)."""
    from ..clock import BusyThread

    meta.rft = Training()
    st = state.current()
    st.begin()

    def run() -> None:
        try:
            result = train(backend, job, meta.customization_config or {}, lines)
        except Exception as exc:  # the emulator's own fault: fail the job visibly rather than hang it
            result = Training(failure=f"Internal error while grading: {type(exc).__name__}: {exc}")
        finally:
            st.end()
        with LOCK:
            result.done = True
            meta.rft = result

    BusyThread(target=run, daemon=True, name="rft-grading").start()


def train(backend: Any, job: Any, customization_config: dict[str, Any], lines: list[str]) -> Training:
    from ..authz import services
    from ..authz.world import World

    config = customization_config.get("rftConfig") or {}
    arn = grader_arn(config)
    refused = services.bedrock_may_invoke_grader(
        job.role_arn, arn, job.job_arn, World(backend.account_id, backend.region_name)
    )
    if refused:
        return Training(failure=refused)
    function = _function(backend, arn)
    if function is None:
        return Training(failure=f"The grader Lambda function {arn} no longer exists.")
    records = [record for record in (_record(line) for line in lines) if record is not None]
    if not records:
        return Training(failure="The training data holds no prompts.")
    hyper = config.get("hyperParameters") or {}
    per_prompt = int(hyper.get("trainingSamplePerPrompt", 4))
    epochs = max(1, int(hyper.get("epochCount", 1)))
    steps = max(2, min(MAX_STEPS, epochs * math.ceil(len(records) / PROMPTS_PER_STEP)))
    result = Training()
    for step in range(steps):
        chosen = [(step * PROMPTS_PER_STEP + i) % len(records) for i in range(PROMPTS_PER_STEP)]
        drawn = [(index, k) for index in chosen for k in range(per_prompt)]
        right = _right_answers(records, drawn, step, steps)
        samples = [
            _sample(records[index], f"{step}-{index}-{k}", _response(records[index], step, k, (index, k) in right))
            for index, k in drawn
        ]
        scores, failure = _grade(function, arn, samples)
        result.invocations += 1
        if failure:
            return Training(invocations=result.invocations, failure=failure)
        result.rewards.append(
            RewardPoint(
                step=step,
                epoch=step * epochs // steps,
                mean=round(sum(scores) / len(scores), 4),
                min=round(min(scores), 4),
                max=round(max(scores), 4),
            )
        )
    return result


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("messages"), list) else None


def _sample(record: dict[str, Any], sample_id: str, response: str) -> dict[str, Any]:
    fields = {k: v for k, v in record.items() if k != "messages"}
    return {"id": sample_id, "messages": [*record["messages"], {"role": "assistant", "content": response}], **fields}


def _draw(*parts: object) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def _reference(record: dict[str, Any]) -> str:
    reference = record.get("reference_answer", (record.get("metadata") or {}).get("reference_answer"))
    return reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False)


def _right_answers(
    records: list[dict[str, Any]], drawn: list[tuple[int, int]], step: int, steps: int
) -> set[tuple[int, int]]:
    """Which of a step's samples answer right: a share rising from FIRST_ODDS to LAST_ODDS over the steps, as a
    learning model's would, the samples chosen by a draw on the record, the step and the sample only (the same data
    gives the same rewards in every run)."""
    odds = FIRST_ODDS + (LAST_ODDS - FIRST_ODDS) * step / max(steps - 1, 1)
    ranked = sorted(drawn, key=lambda sample: _draw(step, sample[1], _reference(records[sample[0]])))
    return set(ranked[: round(odds * len(drawn))])


def _response(record: dict[str, Any], step: int, k: int, right: bool) -> str:
    """A plausible answer: the reference when ``right``, else a near miss (a number off by a little, or, for a
    non-numeric reference, a hedge)."""
    text = _reference(record)
    if right:
        return f"Đáp số: {text}"
    numbers = _NUMBER.findall(text or "")
    if numbers:
        wrong = float(numbers[-1].replace(",", ".")) + 1 + int(_draw(step, k, text, "off") * 9)
        return f"Đáp số: {wrong:g}"
    return "Tôi không chắc chắn về câu trả lời."


def _grade(function: Any, arn: str, samples: list[dict[str, Any]]) -> tuple[list[float], str | None]:
    """The scores, in the samples' order, or why the job fails (message as Bedrock's failureMessage would say)."""
    headers: dict[str, str] = {}
    body = function.invoke(
        json.dumps(samples, ensure_ascii=False), {"x-amz-invocation-type": "RequestResponse"}, headers
    )
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    if "x-amz-function-error" in headers:
        try:
            error = json.loads(text)
            detail = f"{error.get('errorType')}: {error.get('errorMessage')}"
        except ValueError:
            detail = text[:300]
        return [], f"The reward function {arn} returned an error: {detail}"
    try:
        answer = GraderResponse.model_validate_json(text)
    except ValueError as exc:
        first = str(exc).splitlines()[:3]
        return [], f"The reward function {arn} returned a response that is not a list of scores: {' '.join(first)}"
    problems = answer.problems_against(GraderRequest.model_validate(samples))
    if problems:
        return [], f"The reward function {arn} returned unusable scores: {'; '.join(problems)}"
    by_id = {score.id: score.aggregate_reward_score for score in answer.root}
    return [by_id[sample["id"]] for sample in samples], None
