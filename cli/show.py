"""``tuneforge show RUN``: one run, outcome first: timeline, hyperparameters, loss, metrics, gate, cost, endpoints.

Reads what the run left, with the caller's credentials: its registry item, its Step Functions execution and
history, its Bedrock job (GetModelCustomizationJob), the job's loss curves and the reports under
``reports/<profile>/<run id>/`` of the artifacts bucket. A part it may not read is a note, not a failure.
``--json`` prints the same as one document; ``--download DIR`` copies the reports; ``--open`` writes the
run page (lambdas/domain/run_page.py) to disk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import webbrowser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli._charts import line_plot
from cli._common import UsageError
from cli.runs import Stage, _stage, _stage_args, execution_history
from lambdas.domain.names import REPORTS_PREFIX
from lambdas.domain.run_details import RunDetails, build_details
from lambdas.domain.run_page import render_run_page
from lambdas.domain.timeline import collapse_loops, format_duration, spans_from_history, visible
from lambdas.domain.training_metrics import TrainingCurves, read_training_curves

EXAMPLES_FILE = "evaluation-examples.jsonl"
PAGE_FILE = "run.html"
# Where --open writes a run's page when --download names no folder: beside where the command runs.
PAGES_DIR = "tuneforge-runs"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _read_json(stage: Stage, uri: str | None, notes: list[str]) -> dict[str, Any] | None:
    if not uri:
        return None
    try:
        bucket, key = _split(uri)
        return dict(json.loads(stage.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))
    except Exception as error:  # access denied, gone: show the rest
        notes.append(f"could not read {uri}: {error}")
        return None


class Gathered:
    """What the run left, read once: the details and what only the page needs (the report and examples)."""

    def __init__(self, details: RunDetails, evaluation: dict[str, Any] | None) -> None:
        self.details = details
        self.evaluation = evaluation


def gather(stage: Stage, run_id: str) -> Gathered:
    """Everything about ``run_id``; UsageError at once when the stage knows no such run."""
    notes: list[str] = []
    item = stage.registry.get(run_id)
    sfn = stage.client("stepfunctions")
    try:
        execution = sfn.describe_execution(executionArn=stage.execution_arn(run_id))
    except sfn.exceptions.ExecutionDoesNotExist:
        execution = None
    if item is None and execution is None:
        raise UsageError(f"no run {run_id!r} in stage {stage.name!r}; `tuneforge runs` lists the runs")
    timeline = []
    if execution is not None:
        spans = spans_from_history(
            execution_history(sfn, execution["executionArn"]),
            execution_status=execution["status"],
            stopped_at=execution.get("stopDate"),
        )
        timeline = collapse_loops(spans)
    job, training = None, TrainingCurves()
    if item and item.get("job_arn"):
        try:
            job = stage.client("bedrock").get_model_customization_job(jobIdentifier=item["job_arn"])
            output = (job.get("outputDataConfig") or {}).get("s3Uri", "")
            if job.get("status") == "Completed":
                training = read_training_curves(stage.client("s3"), output, item["job_arn"])
            else:
                training = TrainingCurves(notes=[f"the job is {job.get('status')}: no loss curves"])
        except Exception as error:
            notes.append(f"could not read the job {item['job_arn']}: {error}")
    evaluation = _read_json(stage, (item or {}).get("evaluation_report"), notes)
    validation = _read_json(stage, (item or {}).get("validation_report"), notes) if item else None
    details = build_details(
        run_id,
        item=item,
        execution=execution,
        timeline=timeline,
        job=job,
        training=training,
        evaluation_report=evaluation,
        validation_report=validation,
        notes=notes,
    )
    return Gathered(details, evaluation)


def _examples(stage: Stage, evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    uri = ((evaluation or {}).get("reports") or {}).get("examples")
    if not uri:
        return []
    try:
        bucket, key = _split(uri)
        body = stage.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except Exception:
        return []
    return [json.loads(line) for line in body.splitlines() if line.strip()]


# --- the terminal ---------------------------------------------------------------------------------
OUTCOME_STYLE = {"PROMOTED": "bold green", "NOT_PROMOTED": "bold yellow", "RUNNING": "bold blue"}


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float | int) else str(value)


def _print_timeline(console: Console, details: RunDetails) -> None:
    table = Table(title="Timeline", title_justify="left", box=None, pad_edge=False)
    table.add_column("state")
    table.add_column("took", justify="right")
    table.add_column("")
    for entry in visible(details.timeline):
        status = "" if entry.status == "done" else entry.status + (f": {entry.error}" if entry.error else "")
        table.add_row(entry.label, format_duration(entry.seconds), status)
    console.print(table)


def _print_training(console: Console, training: TrainingCurves) -> None:
    console.print("[bold]Training[/bold]")
    series: dict[str, tuple[str, list[tuple[float, float]]]] = {}
    if training.training:
        series["training loss"] = ("•", [(float(p.step), p.loss) for p in training.training])
    if training.validation:
        series["validation loss"] = ("×", [(float(p.step), p.loss) for p in training.validation])
    for line in line_plot(series):
        console.print(line, highlight=False)
    if training.training:
        first, last = training.training[0], training.training[-1]
        console.print(
            f"training loss {first.loss:.4f} → {last.loss:.4f} over {len(training.training)} steps, "
            f"{last.epoch + 1} epoch(s)"
            + (f"; validation loss {training.validation[-1].loss:.4f}" if training.validation else ""),
            highlight=False,
        )
    for note in training.notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)


def _print_metrics(console: Console, details: RunDetails) -> None:
    candidate, baseline = details.metrics.get("candidate", {}), details.metrics.get("baseline", {})
    if not candidate and not baseline:
        return
    gate = details.gate
    intervals = gate.get("intervals") or {}
    table = Table(title=f"Metrics vs baseline ({details.baseline_model})", title_justify="left")
    columns = ["metric", "candidate", "baseline", "delta"] + (["interval (n)"] if intervals else [])
    for column in columns:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name in sorted(set(candidate) | set(baseline)):
        mine, theirs = candidate.get(name), baseline.get(name)
        delta = f"{mine - theirs:+.3f}" if mine is not None and theirs is not None else "-"
        table.add_row(name, _fmt(mine), _fmt(theirs), delta, *([_interval(intervals.get(name))] if intervals else []))
    console.print(table)
    if gate.get("summary"):
        console.print(f"Gate: {gate['summary']}", highlight=False)


def _interval(interval: dict[str, Any] | None) -> str:
    """``95% [+0.012, +0.080] (48)``: the paired bootstrap interval of the delta, on how many examples."""
    if not interval:
        return "-"
    return f"{interval['confidence'] * 100:.4g}% [{interval['low']:+.3f}, {interval['high']:+.3f}] ({interval['examples']})"


def _print_cost(console: Console, details: RunDetails) -> None:
    cost = details.cost
    if not cost.lines and cost.estimated_usd is None:
        return
    table = Table(title="Cost (USD): estimate vs actual", title_justify="left")
    for column in ("item", "estimated", "actual"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for line in cost.lines:
        table.add_row(line.item, line.estimated_usd or "-", line.actual_usd or "-")
    table.add_row(
        "total",
        f"{cost.estimated_usd or '-'}{'' if cost.estimate_complete is not False else ' +?'}",
        f"{cost.actual_usd or '-'}{'' if cost.actual_complete is not False else ' +?'}",
    )
    console.print(table)
    console.print("[dim]+? = a line had no recorded price, so the total is a lower bound[/dim]")


def _print_endpoints(console: Console, details: RunDetails) -> None:
    # Lines, not a table: an ARN is the part worth copying and must not be cut at the terminal's width.
    if details.endpoints:
        console.print("[bold]Endpoints[/bold]")
    for endpoint in details.endpoints:
        state = f"deleted {endpoint.deleted_at}" if endpoint.deleted_at else "promoted" if endpoint.promoted else "up"
        console.print(
            f"  {endpoint.purpose or '-'}: {endpoint.kind or '-'} {endpoint.arn or endpoint.name or '-'} ({state})",
            highlight=False,
        )


def print_details(details: RunDetails, console: Console) -> None:
    style = OUTCOME_STYLE.get(details.outcome, "bold red")
    console.print(f"[{style}]{details.outcome}[/{style}]  run {details.run_id} ({details.profile})", highlight=False)
    if details.explanation:
        console.print(details.explanation, highlight=False)
    if details.rejection:
        console.print("[bold]Why it was rejected[/bold] (by file and line)")
        file = None
        for reason in details.rejection:
            if reason.file != file:
                file = reason.file
                console.print(f"  {file}", highlight=False, markup=False)
            where = reason.scope or f"line {reason.line}" + (f", {reason.field}" if reason.field else "")
            more = f" (and {reason.more} more line(s) like it)" if reason.more else ""
            console.print(f"    {where}: {reason.message} [{reason.kind}]{more}", highlight=False, markup=False)
    _print_timeline(console, details)
    dataset = details.dataset
    console.print(
        f"Dataset: {dataset.get('uri')} (version {dataset.get('version')}): "
        f"{dataset.get('training_records')} training records, {dataset.get('training_tokens')} tokens",
        highlight=False,
    )
    if details.hyperparameters:
        console.print(
            f"Hyperparameters ({details.hyperparameters_source}): "
            + ", ".join(f"{k}={v}" for k, v in sorted(details.hyperparameters.items())),
            highlight=False,
        )
    if details.training.training or details.training.notes:
        _print_training(console, details.training)
    _print_metrics(console, details)
    _print_cost(console, details)
    _print_endpoints(console, details)
    if details.decision:
        champion = f"; champion {details.champion}" if details.champion else ""
        retired = f" (retired {details.retired_at}: a newer champion took its place)" if details.retired_at else ""
        console.print(f"Decision: {details.decision}{champion}{retired}", highlight=False)
    if details.error:
        console.print(f"Error: {details.error}: {details.cause}", highlight=False, markup=False)
    for name, uri in details.reports.items():
        console.print(f"report {name}: {uri}", highlight=False)
    for note in details.notes:
        if note not in details.training.notes:
            console.print(f"[dim]note: {note}[/dim]", highlight=False)


# --- files ----------------------------------------------------------------------------------------
def download_reports(stage: Stage, details: RunDetails, target: Path) -> list[Path]:
    """Copy every report of the run (reports/<profile>/<run id>/) into ``target``."""
    s3 = stage.client("s3")
    prefix = f"{REPORTS_PREFIX}{details.profile}/{details.run_id}/"
    try:
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stage.artifacts_bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]
    except Exception:  # a reader who may not list: the reports the run recorded
        keys = [_split(uri)[1] for uri in details.reports.values()]
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for key in keys:
        path = target / key.removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=stage.artifacts_bucket, Key=key)["Body"].read())
        copied.append(path)
    return copied


def write_page(stage: Stage, gathered: Gathered, target: Path) -> Path:
    """The run page in ``target``, with every evaluation example beside it (the page links to them)."""
    target.mkdir(parents=True, exist_ok=True)
    examples = _examples(stage, gathered.evaluation)
    if examples:
        (target / EXAMPLES_FILE).write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8"
        )
    page = target / PAGE_FILE
    page.write_text(render_run_page(gathered.details, gathered.evaluation, examples), encoding="utf-8")
    return page


def _may_open_a_browser() -> bool:
    # Without a display, webbrowser may start a text browser in this terminal, or wait on one that fails.
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _show(args: argparse.Namespace) -> int:
    stage = _stage(args)
    gathered = gather(stage, args.run_id)
    details = gathered.details
    if args.json:
        print(details.model_dump_json(indent=2))
    else:
        print_details(details, Console(highlight=False, soft_wrap=True))
    # Plain prints: a path must never be wrapped at the terminal's width.
    if args.download:
        copied = download_reports(stage, details, Path(args.download))
        print(f"copied {len(copied)} report file(s) to {args.download}", file=sys.stderr)
    if args.open:
        page = write_page(stage, gathered, Path(args.download or Path(PAGES_DIR) / details.run_id))
        print(f"run page: {page.resolve()}", file=sys.stderr)
        if _may_open_a_browser():
            try:
                webbrowser.open(page.resolve().as_uri())
            except Exception as error:  # no browser: the path above is the answer
                print(f"could not open a browser ({error}); open the file above", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="one run, outcome first: timeline, hyperparameters, loss, metrics vs baseline, gate, cost, endpoints",
    )
    parser.add_argument(
        "run_id", metavar="RUN", help="the run id (e.g. support-qa-vi-42f2d7de...; see `tuneforge runs`)"
    )
    parser.add_argument("--json", action="store_true", help="print everything as one JSON document (loss per step)")
    parser.add_argument(
        "--download", metavar="DIR", help="copy the run's reports (reports/<profile>/<run id>/) into DIR"
    )
    parser.add_argument(
        "--open",
        action="store_true",
        help=f"write the run page (one self-contained HTML file) to DIR of --download, else {PAGES_DIR}/<run id>/, "
        "print its path and open it in a browser when there is a display",
    )
    _stage_args(parser)
    parser.set_defaults(handler=_show)
