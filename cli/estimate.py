"""``tuneforge estimate [PATH | --tokens N] --model MODEL_ID [--hp epochCount=N] [--model-units N]
[--commitment none|OneMonth|SixMonths] [--budget USD] [--monthly-cap USD] [--prices FILE] [--json]``

Prints what a run would cost, each number beside how it was computed: what the run spends (training, a
month of storage) and, with ``--model-units``, what promoting the model keeps running each month.
Evaluation is not included here (the pipeline's estimate adds it from the profile's evaluation set).
Exit 0 when the estimate is fully priced and within ``--budget`` and ``--monthly-cap`` (or none is
given); 1 when it exceeds either; 3 when a line has no price (the total is a lower bound: supply
``--prices FILE``, or pass ``--accept-unpriced``); 2 for a usage error, including a dataset that cannot be
read (never counted as zero tokens).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli._common import (
    EXIT_NO,
    EXIT_OK,
    EXIT_UNPRICED,
    UsageError,
    add_model_arguments,
    dataset_source,
    parse_hyperparameters,
    resolve_model,
    resolve_type,
)
from lambdas.domain.catalogue import COMMITMENTS, CatalogueError
from lambdas.domain.cost import CostEstimate, CostLine, all_priced, estimate_cost
from lambdas.domain.validation import validate_dataset


@dataclass(frozen=True)
class _Throughput:
    model_units: int
    commitment: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "estimate",
        help="estimate what a customization run will cost",
        description="Estimate training, storage and provisioned-throughput cost from a dataset (or a token count).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", metavar="PATH", help="training JSONL (local or s3://) to count tokens from")
    source.add_argument(
        "--tokens", type=int, metavar="N", help="training tokens in the dataset (one epoch), instead of a dataset"
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--model-units",
        type=int,
        metavar="N",
        help="provisioned throughput to price for a promotion, in model units (omit for none)",
    )
    parser.add_argument(
        "--commitment",
        choices=COMMITMENTS,
        default="none",
        help="provisioned throughput commitment term: none (hourly), OneMonth or SixMonths (default none)",
    )
    parser.add_argument("--budget", type=float, metavar="USD", help="budget cap in USD to compare the run's total with")
    parser.add_argument(
        "--monthly-cap",
        type=float,
        metavar="USD",
        help="cap in USD per month to compare what a promotion keeps running with",
    )
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help="JSON price overrides in USD: training_per_1k_tokens, storage_per_month (per month), throughput_per_unit_hour{commitment: USD per model unit and hour}, as_of, source",
    )
    parser.add_argument(
        "--accept-unpriced",
        action="store_true",
        help="exit 0 even when a line has no price (the total is then a lower bound)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON estimate on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    model = resolve_model(args.model)
    ctype = resolve_type(model, args.customization_type)
    hyperparameters = parse_hyperparameters(model, args.hp, ctype)
    if args.tokens is not None and args.tokens < 0:
        raise UsageError("--tokens must be 0 or more")
    if args.model_units is not None and args.model_units < 1:
        raise UsageError("--model-units must be 1 or more")
    prices = _prices(args.prices) if args.prices else None
    err = Console(stderr=True)
    if args.tokens is not None:
        stats: Any = args.tokens
    else:
        report = validate_dataset(
            dataset_source(args.path), model, ctype, hyperparameters=hyperparameters, max_examples_per_kind=1
        )
        unreadable = [group for group in report.errors if group.kind == "source-unreadable"]
        if unreadable:
            raise UsageError(
                unreadable[0].examples[0].message
                if unreadable[0].examples
                else f"{args.path}: the dataset could not be read"
            )
        if not report.valid:
            err.print(
                f"[yellow]warning:[/] the dataset has {report.error_count:,} error(s); run `tuneforge validate` to see them"
            )
        stats = report
    throughput = _Throughput(args.model_units, args.commitment) if args.model_units else None
    try:
        estimate = estimate_cost(
            stats,
            model,
            hyperparameters,
            throughput,
            args.budget,
            customization_type=ctype,
            prices=prices,
            monthly_cap=args.monthly_cap,
        )
    except CatalogueError as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps(estimate.to_dict(), indent=2))
    else:
        render(estimate, Console())
    if estimate.within_budget is False or estimate.within_monthly_cap is False:
        return EXIT_NO
    if not estimate.complete and not args.accept_unpriced:
        err.print(
            f"[red]not fully priced:[/] {', '.join(line.item for line in estimate.unpriced)} (supply --prices FILE, or --accept-unpriced)"
        )
        return EXIT_UNPRICED
    return EXIT_OK


def _prices(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read price file {path}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"price file {path} must hold a JSON object")
    return data


_VERDICT = {True: "[green]within[/]", False: "[red]OVER[/]", None: "[yellow]cannot tell (unknown prices)[/] against"}


def _table(lines: list[CostLine], total: Any, label: str) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("item")
    table.add_column("USD", justify="right")
    table.add_column("how")
    for line in lines:
        table.add_row(line.item, "unknown" if line.amount is None else f"{line.amount:,.2f}", escape(line.basis))
    shown = f"{total:,.2f}" + ("" if all_priced(lines) else " + unknown")
    table.add_row(f"[bold]{label}[/]", f"[bold]{shown}[/]", "")
    return table


def render(estimate: CostEstimate, out: Console) -> None:
    out.print(f"[bold]Cost estimate[/]  {estimate.model_id}, {estimate.customization_type}")
    out.print(_table(estimate.lines, estimate.total, "the run"))
    if estimate.budget_cap is not None:
        out.print(f"{_VERDICT[estimate.within_budget]} the budget cap of ${estimate.budget_cap:,.2f}")
    if estimate.monthly_lines:
        out.print("[bold]What a promotion keeps running[/]")
        out.print(_table(estimate.monthly_lines, estimate.monthly_total, "a month"))
        if estimate.throughput_per_hour is not None:
            out.print(f"provisioned throughput while it runs: ${estimate.throughput_per_hour:,.2f} per hour")
        if estimate.monthly_cap is not None:
            out.print(f"{_VERDICT[estimate.within_monthly_cap]} the monthly cap of ${estimate.monthly_cap:,.2f}")
    out.print("[dim]assumptions:[/]")
    for assumption in estimate.assumptions:
        out.print(f"  [dim]- {escape(assumption)}[/]", soft_wrap=True)
