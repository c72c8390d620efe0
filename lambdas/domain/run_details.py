"""Everything known about one run, in one typed document: what `tuneforge show` prints and the run page draws.

Built from what the run left: its registry item, its execution (DescribeExecution and the history), its job
(GetModelCustomizationJob), the job's loss curves and its reports. Pure: the caller reads those and passes
them in. The outcome is lambdas.domain.outcomes' answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from lambdas.domain.outcomes import ABNORMAL, Reason, outcome_of_run, reasons_by_line
from lambdas.domain.report import ValidationReport
from lambdas.domain.timeline import TimelineEntry
from lambdas.domain.training_metrics import TrainingCurves


def derive_outcome(execution_status: str | None, item: dict[str, Any] | None) -> str:
    """PROMOTED, NOT_PROMOTED, REJECTED, FAILED, TIMED_OUT or ABORTED (outcomes.outcome_of_run); RUNNING while
    it runs; UNKNOWN when neither the registry nor the execution says."""
    outcome = outcome_of_run(item, execution_status)
    if outcome is not None:
        return outcome.value
    if execution_status == "RUNNING" or (execution_status is None and (item or {}).get("status")):
        return "RUNNING"
    return "UNKNOWN"


def rejection_reasons(validation_report: dict[str, Any] | None) -> list[Reason]:
    """The validation report's errors, by file and line, a reason on every line of a file said once for it
    (lambdas.domain.outcomes.reasons_by_line: the same grouping `watch` prints)."""
    if not validation_report:
        return []
    return reasons_by_line(ValidationReport.from_dict(validation_report), warnings=False)


class CostLine(BaseModel):
    item: str
    estimated_usd: str | None = None
    actual_usd: str | None = None
    basis: str | None = None


class Cost(BaseModel):
    estimated_usd: str | None = None
    estimate_complete: bool | None = None
    actual_usd: str | None = None
    actual_complete: bool | None = None
    budget_cap_usd: str | None = None
    lines: list[CostLine] = []
    monthly_after_promotion_usd: str | None = None


def cost_of(item: dict[str, Any]) -> Cost:
    """The estimate and what the run spent, line by line where the two name the same item."""
    estimate, actual = item.get("estimate") or {}, item.get("actual_cost") or {}
    lines: dict[str, CostLine] = {}
    for line in estimate.get("lines", []):
        lines[line["item"]] = CostLine(item=line["item"], estimated_usd=line.get("amount_usd"), basis=line.get("basis"))
    for line in actual.get("lines", []):
        # The estimate says "evaluation: candidate on demand"; what was spent says "evaluation: candidate".
        key = next((k for k in lines if k.startswith(line["item"])), line["item"])
        entry = lines.setdefault(key, CostLine(item=line["item"]))
        entry.actual_usd, entry.basis = line.get("amount_usd"), line.get("basis") or entry.basis
    return Cost(
        estimated_usd=estimate.get("total_usd"),
        estimate_complete=estimate.get("complete"),
        actual_usd=actual.get("total_usd"),
        actual_complete=actual.get("complete"),
        budget_cap_usd=estimate.get("budget_cap_usd"),
        lines=list(lines.values()),
        monthly_after_promotion_usd=estimate.get("monthly_total_usd"),
    )


class Endpoint(BaseModel):
    name: str | None = None
    kind: str | None = None
    purpose: str | None = None
    arn: str | None = None
    promoted: bool = False
    deleted_at: str | None = None


class RunDetails(BaseModel):
    run_id: str
    profile: str | None = None
    outcome: str
    execution_status: str | None = None
    started_at: datetime | str | None = None
    stopped_at: datetime | str | None = None
    explanation: str | None = None  # one line: why this outcome
    timeline: list[TimelineEntry] = []
    dataset: dict[str, Any] = {}
    hyperparameters: dict[str, str] = {}
    hyperparameters_source: str | None = None
    training: TrainingCurves = TrainingCurves()
    metrics: dict[str, dict[str, float | None]] = {}
    baseline_model: str | None = None
    gate: dict[str, Any] = {}
    decision: str | None = None
    champion: str | None = None
    retired_at: str | None = None  # when a newer champion took this run's place
    cost: Cost = Cost()
    endpoints: list[Endpoint] = []
    rejection: list[Reason] = []
    reports: dict[str, str] = {}
    error: str | None = None
    cause: str | None = None
    notes: list[str] = []


def _explanation(outcome: str, item: dict[str, Any], cause: str | None, rejection: list[Reason]) -> str | None:
    if outcome == "REJECTED":
        if rejection or item.get("validation_errors"):
            return f"the dataset has {item.get('validation_errors') or len(rejection)} error(s); nothing was trained"
        return item.get("estimate_summary") or "refused before training"
    if outcome == "PROMOTED":
        return "the candidate passed the gate and is now the champion"
    if outcome == "NOT_PROMOTED":
        if item.get("decision") == "SUPERSEDED":
            return "the candidate passed the gate, but a newer run was promoted first"
        return "the candidate did not pass the gate; the champion stays"
    if outcome in ABNORMAL:
        return item.get("error_cause") or cause or item.get("error")
    return None


def build_details(
    run_id: str,
    *,
    item: dict[str, Any] | None,
    execution: dict[str, Any] | None,
    timeline: list[TimelineEntry],
    job: dict[str, Any] | None,
    training: TrainingCurves,
    evaluation_report: dict[str, Any] | None,
    validation_report: dict[str, Any] | None,
    notes: list[str],
) -> RunDetails:
    item, execution, job = item or {}, execution or {}, job or {}
    outcome = derive_outcome(execution.get("status"), item)
    rejection = rejection_reasons(validation_report) if outcome == "REJECTED" else []
    hyperparameters, source = {str(k): str(v) for k, v in (job.get("hyperParameters") or {}).items()}, "job"
    if not hyperparameters:  # no job (rejected, or it failed to start): what the run's profile asked for
        try:
            profile = (json.loads(execution.get("input") or "{}").get("profile") or {}).get("hyperparameters") or {}
        except ValueError:
            profile = {}
        hyperparameters, source = {str(k): str(v) for k, v in profile.items()}, "profile"
    decision = (evaluation_report or {}).get("decision") or {}
    return RunDetails(
        run_id=run_id,
        profile=item.get("profile"),
        outcome=outcome,
        execution_status=execution.get("status"),
        started_at=execution.get("startDate") or item.get("started_at"),
        stopped_at=execution.get("stopDate") or item.get("finished_at"),
        explanation=_explanation(outcome, item, execution.get("cause"), rejection),
        timeline=timeline,
        dataset={
            "uri": item.get("dataset_uri"),
            "version": item.get("dataset_version"),
            "training_records": item.get("training_records"),
            "training_tokens": item.get("training_tokens"),
            "evaluation_examples": item.get("evaluation_examples"),
            "validation_errors": item.get("validation_errors"),
            "files": [
                {"split": f.get("split"), "source": f.get("source_uri"), "snapshot": f.get("snapshot_uri")}
                for f in item.get("snapshot_files") or []
            ],
            "base_model": item.get("base_model"),
            "customization_type": item.get("customization_type"),
        },
        hyperparameters=hyperparameters,
        hyperparameters_source=source if hyperparameters else None,
        training=training,
        metrics=item.get("evaluation_metrics") or {},
        baseline_model=item.get("baseline_model"),
        gate={
            "passed": item.get("gate_passed"),
            "summary": item.get("gate_summary"),
            "checks": decision.get("checks", []),
            # metric -> paired bootstrap interval of candidate minus baseline, and what the gate warned
            "intervals": (evaluation_report or {}).get("intervals") or {},
            "warnings": decision.get("warnings") or [],
        },
        decision=item.get("decision"),
        champion=item.get("champion_invocable_arn"),
        retired_at=item.get("retired_at"),
        cost=cost_of(item),
        endpoints=[Endpoint.model_validate(e) for e in item.get("endpoints") or []],
        rejection=rejection,
        reports={
            name: str(item[field])
            for name, field in (
                ("validation", "validation_report"),
                ("evaluation", "evaluation_report"),
                ("evaluation_html", "evaluation_html"),
                ("snapshot", "snapshot_uri"),
            )
            if item.get(field)
        },
        error=item.get("error") or execution.get("error"),
        cause=item.get("error_cause") or execution.get("cause"),
        notes=notes + training.notes,
    )
