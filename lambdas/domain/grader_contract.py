"""What a reinforcement fine-tuning job sends its Lambda grader, and what the grader must answer.

AWS documents the contract (read 2026-12-07):
https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-implementing-reward-functions.html and
https://docs.aws.amazon.com/bedrock/latest/userguide/reward-functions-open-weight.html

- The event is a JSON **list** of samples. Each sample is one sampled response to one training prompt:
  ``id`` (added by the job, to match the answer to the sample), ``messages`` (the record's turns with the
  model's response appended as the last, ``assistant`` turn) and the record's other fields.
- The pages disagree on where those other fields go: the Nova RFT page passes them, ``reference_answer``
  included, "in the ``metadata`` field"; the reward-function pages show ``reference_answer`` at the top level
  of the sample. A grader here reads both (``GraderSample.reference_answer`` and ``.fields``), so it works
  whichever way the service sends them.
- The answer is a JSON list with one object per sample: ``id``, ``aggregate_reward_score`` (the reward the
  job learns from; a number) and optionally ``metrics_list``: ``{"name", "value", "type"}`` with type
  ``Reward`` or ``Metric``, which the job logs beside its training metrics.
- The grader must finish within Lambda's 15 minutes; AWS asks for seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

CONTRACT_SOURCE = (
    "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-implementing-reward-functions.html (read 2026-12-07)"
)
# Lambda's own ceiling, which AWS names as the grader's limit (same pages).
GRADER_TIMEOUT_CEILING_SECONDS = 900


class GraderMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: Any = None  # a string, or OpenAI's list of {"type": "text", "text": ...} parts

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(
                str(part.get("text", "")) for part in self.content if isinstance(part, dict) and "text" in part
            )
        return "" if self.content is None else str(self.content)


class GraderSample(BaseModel):
    """One sampled response to grade: the prompt's turns, the response as the last turn, the record's fields."""

    model_config = ConfigDict(extra="allow")

    id: str
    messages: list[GraderMessage] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def response(self) -> str:
        """The model's sampled response: the last turn when it is the assistant's, else empty."""
        if self.messages and self.messages[-1].role == "assistant":
            return self.messages[-1].text
        return ""

    @property
    def fields(self) -> dict[str, Any]:
        """The training record's own fields beyond ``messages`` (``reference_answer``, ``task_id``…), from
        ``metadata`` or the top level, ``metadata`` winning where both hold one."""
        top = {k: v for k, v in (self.model_extra or {}).items()}
        return {**top, **(self.metadata or {})}

    @property
    def reference_answer(self) -> Any:
        return self.fields.get("reference_answer")


class GraderMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    value: float
    type: Literal["Reward", "Metric"] = "Metric"

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a metric's value must be a finite number")
        return value


class GraderScore(BaseModel):
    """The grader's answer for one sample."""

    model_config = ConfigDict(extra="forbid")

    id: str
    aggregate_reward_score: float
    metrics_list: list[GraderMetric] = Field(default_factory=list)

    @field_validator("aggregate_reward_score")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("aggregate_reward_score must be a finite number")
        return value


class GraderRequest(RootModel[list[GraderSample]]):
    """The event: a list of samples."""


class GraderResponse(RootModel[list[GraderScore]]):
    """The answer: one score per sample, in any order, matched by id."""

    def problems_against(self, request: GraderRequest) -> list[str]:
        """Why the job could not use this answer: a sample without a score, a score for no sample, twice."""
        asked = [sample.id for sample in request.root]
        answered = [score.id for score in self.root]
        problems = []
        missing = sorted(set(asked) - set(answered))
        if missing:
            problems.append(f"{len(missing)} sample(s) got no score: {', '.join(missing[:5])}")
        unknown = sorted(set(answered) - set(asked))
        if unknown:
            problems.append(f"{len(unknown)} score(s) name no sample: {', '.join(unknown[:5])}")
        repeated = sorted(i for i, times in Counter(answered).items() if times > 1)
        if repeated:
            problems.append(f"scored more than once: {', '.join(repeated[:5])}")
        return problems
