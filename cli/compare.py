"""``tuneforge compare RUN_A RUN_B``: two runs side by side — their metrics, which evaluation examples each
won, and what differed in their configuration and their data.

The metrics and data figures are in the run registry; the per-example scores in each run's
``evaluation-examples.jsonl`` report (lambdas/domain/evaluation.py writes it next to evaluation.json); the
configuration in each execution's input (the run's profile as it was when the run started).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.history import get_run, outcome_of
from cli.runs import Stage, _stage, _stage_args
from lambdas.domain.names import REPORTS_PREFIX

EXAMPLES_REPORT = "evaluation-examples.jsonl"
# Two scores closer than this are the same score (the evaluation's own comparison uses the same tolerance).
TIE = 1e-12
DATA_FIELDS = (
    "dataset_uri",
    "dataset_version",
    "snapshot_uri",
    "training_records",
    "training_tokens",
    "evaluation_examples",
)
# What the job started from (base_model_identifier: the base model, or the champion it tuned further) and what the
# candidate was measured against; the profile's settings, hyperparameters included, come from the execution input.
MODEL_FIELDS = ("base_model", "base_model_identifier", "customization_type", "baseline_model")
SHOWN_EXAMPLES = 10  # examples listed by name in the table view; --json has them all


def examples_of(stage: Stage, item: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The run's per-example evaluation results, or None when the run was never evaluated."""
    if not item.get("evaluation_report"):
        return None
    key = f"{REPORTS_PREFIX}{item.get('profile')}/{item['run_id']}/{EXAMPLES_REPORT}"
    s3 = stage.client("s3")
    try:
        body = s3.get_object(Bucket=stage.artifacts_bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def profile_of(stage: Stage, item: dict[str, Any]) -> dict[str, Any]:
    """The run's profile as its execution started with it (the execution input is the run's RunInput)."""
    sfn = stage.client("stepfunctions")
    try:
        execution = sfn.describe_execution(executionArn=stage.execution_arn(str(item["run_id"])))
    except sfn.exceptions.ExecutionDoesNotExist:
        return {}
    profile: dict[str, Any] = json.loads(execution.get("input") or "{}").get("profile") or {}
    return profile


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    flat_a, flat_b = flatten(a), flatten(b)
    return [
        {"setting": name, "a": flat_a.get(name), "b": flat_b.get(name)}
        for name in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(name) != flat_b.get(name)
    ]


def metric_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric of the two candidates (and their baselines), with B minus A."""
    metrics_a, metrics_b = a.get("evaluation_metrics") or {}, b.get("evaluation_metrics") or {}
    candidate_a, candidate_b = metrics_a.get("candidate") or {}, metrics_b.get("candidate") or {}
    rows = []
    for name in sorted(set(candidate_a) | set(candidate_b)):
        value_a, value_b = candidate_a.get(name), candidate_b.get(name)
        rows.append(
            {
                "metric": name,
                "a": value_a,
                "b": value_b,
                "b_minus_a": None if value_a is None or value_b is None else value_b - value_a,
                "baseline_a": (metrics_a.get("baseline") or {}).get(name),
                "baseline_b": (metrics_b.get("baseline") or {}).get(name),
            }
        )
    return rows


def per_example(examples_a: list[dict[str, Any]], examples_b: list[dict[str, Any]]) -> dict[str, Any]:
    """Examples both runs answered (matched by prompt): per metric, where B's candidate scored higher than A's
    (a win for B), the same, or lower (a loss for B)."""
    by_prompt = {example["prompt"]: example for example in examples_a}
    counts: dict[str, dict[str, int]] = {}
    examples: list[dict[str, Any]] = []
    for example_b in examples_b:
        example_a = by_prompt.get(example_b["prompt"])
        if example_a is None:
            continue
        scores_a = (example_a.get("metrics") or {}).get("candidate") or {}
        scores_b = (example_b.get("metrics") or {}).get("candidate") or {}
        verdicts: dict[str, str] = {}
        for name in sorted(set(scores_a) & set(scores_b)):
            value_a, value_b = scores_a[name], scores_b[name]
            if value_a is None or value_b is None:
                continue
            verdict = "win" if value_b > value_a + TIE else "loss" if value_b < value_a - TIE else "tie"
            verdicts[name] = verdict
            tally = counts.setdefault(name, {"win": 0, "tie": 0, "loss": 0})
            tally[verdict] += 1
        examples.append(
            {
                "line_a": example_a.get("line"),
                "line_b": example_b.get("line"),
                "prompt": example_b["prompt"],
                "a": scores_a,
                "b": scores_b,
                "verdict": verdicts,
            }
        )
    return {"matched": len(examples), "counts": counts, "examples": examples}


def _run_header(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": item["run_id"],
        "profile": item.get("profile"),
        "started_at": item.get("started_at"),
        "outcome": outcome_of(item),
        "decision": item.get("decision"),
        "model": item.get("output_model_arn"),
    }


def comparison(stage: Stage, run_a: str, run_b: str) -> dict[str, Any]:
    a, b = get_run(stage, run_a), get_run(stage, run_b)
    examples_a, examples_b = examples_of(stage, a), examples_of(stage, b)
    profile_a, profile_b = profile_of(stage, a), profile_of(stage, b)
    return {
        "a": _run_header(a),
        "b": _run_header(b),
        "metrics": metric_rows(a, b),
        "examples": per_example(examples_a, examples_b) if examples_a is not None and examples_b is not None else None,
        "configuration": differences(
            {"profile": profile_a, **{name: a.get(name) for name in MODEL_FIELDS}},
            {"profile": profile_b, **{name: b.get(name) for name in MODEL_FIELDS}},
        ),
        "data": [
            {"field": name, "a": a.get(name), "b": b.get(name), "same": a.get(name) == b.get(name)}
            for name in DATA_FIELDS
        ],
    }


def _number(value: Any, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def render(result: dict[str, Any], console: Console) -> None:
    a, b = result["a"], result["b"]
    for side, run in (("A", a), ("B", b)):
        console.print(
            f"{side}: {run['run_id']}  {run['profile']}  started {run['started_at']}  {run['outcome']}  model {run['model']}",
            soft_wrap=True,
            highlight=False,
        )
    metrics = Table(title="metrics (candidate models; baselines for reference)", title_justify="left")
    for column in ("metric", "A", "B", "B - A", "baseline A", "baseline B"):
        metrics.add_column(column, justify="left" if column == "metric" else "right")
    for row in result["metrics"]:
        metrics.add_row(
            row["metric"],
            _number(row["a"]),
            _number(row["b"]),
            _number(row["b_minus_a"], signed=True),
            _number(row["baseline_a"]),
            _number(row["baseline_b"]),
        )
    console.print(metrics)
    render_examples(result["examples"], console)
    configuration = Table(
        title="configuration differences (profile settings, hyperparameters, models)", title_justify="left"
    )
    for column in ("setting", "A", "B"):
        configuration.add_column(column, overflow="fold")
    for row in result["configuration"]:
        configuration.add_row(row["setting"], str(row["a"]), str(row["b"]))
    if not result["configuration"]:
        configuration.add_row("(none: the same settings and models)", "", "")
    console.print(configuration)
    data = Table(title="data", title_justify="left")
    for column in ("field", "A", "B", "differs"):
        data.add_column(column, overflow="fold")
    for row in result["data"]:
        data.add_row(row["field"], str(row["a"]), str(row["b"]), "" if row["same"] else "yes")
    console.print(data)


def render_examples(examples: dict[str, Any] | None, console: Console) -> None:
    if examples is None:
        console.print("per-example results: not available (a run was not evaluated)")
        return
    tally = Table(
        title=f"per-example results: B against A on {examples['matched']} shared examples", title_justify="left"
    )
    for column in ("metric", "B wins", "ties", "B losses"):
        tally.add_column(column, justify="left" if column == "metric" else "right")
    for name, counts in sorted(examples["counts"].items()):
        tally.add_row(name, str(counts["win"]), str(counts["tie"]), str(counts["loss"]))
    console.print(tally)
    differing = [e for e in examples["examples"] if any(v != "tie" for v in e["verdict"].values())]
    if differing:
        shown = Table(title=f"examples that differ ({len(differing)}; first {SHOWN_EXAMPLES})", title_justify="left")
        for column in ("line", "prompt", "B against A"):
            shown.add_column(column, overflow="fold")
        for example in differing[:SHOWN_EXAMPLES]:
            verdicts = ", ".join(
                f"{name} {verdict} ({_number(example['a'].get(name))} → {_number(example['b'].get(name))})"
                for name, verdict in example["verdict"].items()
                if verdict != "tie"
            )
            shown.add_row(str(example["line_b"]), example["prompt"][:60], verdicts)
        console.print(shown)


def _compare(args: argparse.Namespace) -> int:
    result = comparison(_stage(args), args.run_a, args.run_b)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return 0
    render(result, Console(width=max(Console().width, 120)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="two runs side by side: metrics, per-example wins and losses, configuration and data differences",
        description="Compare run B with run A: B - A for each metric, B's wins and losses on the evaluation "
        "examples both answered, and what differed in their profile settings, models and datasets.",
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the run to compare against (full run id)")
    parser.add_argument("run_b", metavar="RUN_B", help="the run compared with RUN_A (full run id)")
    parser.add_argument("--json", action="store_true", help="print the whole comparison, every example, as JSON")
    _stage_args(parser)
    parser.set_defaults(handler=_compare)
