"""``tuneforge runs`` and ``tuneforge champions``: what happened to past runs, newest first, and how each
profile's champion descends from the one before it.

Both read the run registry (DynamoDB): ``runs`` through its listing indexes (every run by start time, or
one profile's), so the newest runs are the first page however many there are; ``champions`` from the
champions table and, run by run, each champion's ``previous_champion``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from cli._common import UsageError
from cli.runs import Stage, _stage, _stage_args
from lambdas.domain.names import foundation_stack_name, profile_parameter
from lambdas.domain.outcomes import outcome_of_run

IN_PROGRESS = "RUNNING"
LINEAGE_LIMIT = 50  # champions followed back before the chain is cut (a loop would be a registry bug)


def outcome_of(item: dict[str, Any]) -> str:
    """The run's outcome (lambdas.domain.outcomes: the recorded one, else derived from status and decision);
    RUNNING until it has one. The listing makes no Step Functions call, so an execution that timed out or was
    aborted before Cleanup recorded it still reads as running."""
    outcome = outcome_of_run(item, None)
    return outcome.value if outcome else IN_PROGRESS


def get_run(stage: Stage, run_id: str) -> dict[str, Any]:
    """The run's registry item; an unknown id is a usage error (exit 2), said at once."""
    item = stage.registry.get(run_id)
    if item is None:
        raise UsageError(f"no run {run_id!r} in stage {stage.name!r}; `tuneforge runs` lists the runs")
    return item


class GateMetrics:
    """Each profile's key metric: the first metric its deployed gate compares with the baseline (else the
    first it holds to a minimum), read once per profile from the profile's parameter."""

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._known: dict[str, str | None] = {}

    def of(self, profile: str) -> str | None:
        if profile not in self._known:
            self.deployed(profile)
        return self._known[profile]

    def deployed(self, profile: str) -> bool:
        ssm = self._stage.client("ssm")
        try:
            value = ssm.get_parameter(Name=profile_parameter(self._stage.name, profile))["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            self._known[profile] = None  # no longer deployed: the run's own metrics say which came first
            return False
        gate = json.loads(value).get("gate") or {}
        names = [*(gate.get("margin_over_baseline") or {}), *(gate.get("minimums") or {})]
        self._known[profile] = names[0] if names else None
        return True


def key_metric(item: dict[str, Any], metric: str | None) -> dict[str, Any] | None:
    """The gate's metric for the candidate and the baseline, as the evaluation recorded them."""
    metrics = item.get("evaluation_metrics") or {}
    candidate, baseline = metrics.get("candidate") or {}, metrics.get("baseline") or {}
    name = metric if metric in candidate else next(iter(sorted(candidate)), None)
    if name is None:
        return None
    return {"metric": name, "candidate": candidate.get(name), "baseline": baseline.get(name)}


def shown_metric(metric: dict[str, Any] | None) -> str:
    if not metric:
        return "-"

    def number(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    return f"{metric['metric']} {number(metric['candidate'])} vs {number(metric['baseline'])}"


def cost_columns(item: dict[str, Any]) -> tuple[str, str]:
    """The run's estimate and what it spent in USD, each marked "+?" when a line had no price."""

    def shown(figures: dict[str, Any] | None, complete: bool | None) -> str:
        if not figures or figures.get("total_usd") is None:
            return "-"
        return f"{figures['total_usd']}{'' if complete else ' +?'}"

    estimate, spent = item.get("estimate") or {}, item.get("actual_cost") or {}
    run_lines_priced = all(line.get("amount_usd") is not None for line in estimate.get("lines", []))
    return shown(estimate, run_lines_priced), shown(spent, spent.get("complete"))


def listing_row(item: dict[str, Any], metric: str | None) -> dict[str, Any]:
    estimated, spent = cost_columns(item)
    return {
        "run_id": item["run_id"],
        "profile": item.get("profile"),
        "started_at": item.get("started_at"),
        "outcome": outcome_of(item),
        "decision": item.get("decision"),
        "key_metric": key_metric(item, metric),
        "estimated_usd": estimated,
        "spent_usd": spent,
        "status": item.get("status"),
    }


def print_wide(table: Table, widest: Iterable[str]) -> None:
    """Print a table on stdout no narrower than its longest id needs: ids are never cut or folded."""
    console = Console()
    needed = max((len(text) for text in widest), default=0) + 100
    (Console(width=needed) if console.width < needed else console).print(table)


def _runs(args: argparse.Namespace) -> int:
    stage = _stage(args)
    items = stage.registry.recent_runs(limit=args.limit, profile=args.profile)
    metrics = GateMetrics(stage)
    rows = [listing_row(item, metrics.of(str(item.get("profile")))) for item in items]
    if args.json:
        print(
            json.dumps(
                [
                    {**item, "outcome": row["outcome"], "key_metric": row["key_metric"]}
                    for item, row in zip(items, rows, strict=True)
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    table = Table(title=f"tuneforge runs ({stage.name}), newest first", title_justify="left")
    table.add_column("run", no_wrap=True)
    # Narrow terminals fold cells onto more lines; nothing is cut with an ellipsis.
    for column in ("profile", "started", "outcome", "decision", "key metric (candidate vs baseline)"):
        table.add_column(column, overflow="fold")
    table.add_column("estimated USD", justify="right", overflow="fold")
    table.add_column("spent USD", justify="right", overflow="fold")
    table.add_column("status", overflow="fold")
    for row in rows:
        table.add_row(
            row["run_id"],
            str(row["profile"]),
            str(row["started_at"]),
            row["outcome"],
            str(row["decision"] or "-"),
            shown_metric(row["key_metric"]),
            row["estimated_usd"],
            row["spent_usd"],
            str(row["status"]),
        )
    print_wide(table, (row["run_id"] for row in rows))
    return 0


def champions_table(stage: Stage) -> str:
    """The champions table's name, an output of the stage's foundation stack (the stage view omits it)."""
    described = stage.client("cloudformation").describe_stacks(StackName=foundation_stack_name(stage.name))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    return outputs["ChampionsTableName"]


def lineage(stage: Stage, profile: str) -> list[dict[str, Any]]:
    """The profile's champions, oldest first: the current one (champions table), then each one's
    ``previous_champion`` as its run recorded it when it replaced it."""
    champions = stage.session.resource("dynamodb", endpoint_url=stage.endpoint_url).Table(champions_table(stage))
    current = champions.get_item(Key={"profile": profile}, ConsistentRead=True).get("Item")
    chain: list[dict[str, Any]] = []
    run_id = current.get("run_id") if current else None
    while run_id and len(chain) < LINEAGE_LIMIT and run_id not in {c["run_id"] for c in chain}:
        item = stage.registry.get(str(run_id)) or {"run_id": run_id}
        chain.append(champion_entry(item, current=not chain))
        run_id = (item.get("previous_champion") or {}).get("run_id")
    return list(reversed(chain))


def champion_entry(item: dict[str, Any], *, current: bool) -> dict[str, Any]:
    endpoint_arn = item.get("champion_invocable_arn")
    endpoint: dict[str, Any] = next(
        (e for e in item.get("endpoints") or [] if endpoint_arn and e.get("arn") == endpoint_arn), {}
    )
    return {
        "run_id": item["run_id"],
        "current": current,
        "promoted_at": item.get("promoted_at"),
        "dataset": {"uri": item.get("dataset_uri"), "version": item.get("dataset_version")},
        "training_records": item.get("training_records"),
        "job": {"arn": item.get("job_arn"), "name": item.get("job_name"), "status": item.get("job_status")},
        # What the job started from: the base model, or for incremental tuning the previous champion's model.
        "started_from": item.get("base_model_identifier") or item.get("base_model"),
        "model": item.get("output_model_arn"),
        "metrics": item.get("evaluation_metrics"),
        "endpoint": {"arn": endpoint_arn, "retired_at": endpoint.get("deleted_at")},
    }


def _champions(args: argparse.Namespace) -> int:
    stage = _stage(args)
    chain = lineage(stage, args.profile)
    if args.json:
        print(json.dumps(chain, indent=2, default=str))
        return 0
    console = Console(width=max(Console().width, 160))
    if not chain:
        if GateMetrics(stage).deployed(args.profile) is False:
            raise UsageError(f"no profile {args.profile!r} is deployed in stage {stage.name!r}")
        console.print(f"profile {args.profile!r} has no champion in stage {stage.name!r} yet")
        return 0
    console.print(f"[bold]champions of {args.profile}[/bold] ({stage.name}), oldest first")
    for number, entry in enumerate(chain, 1):
        metrics = entry["metrics"] or {}
        candidate = metrics.get("candidate") or {}
        endpoint = entry["endpoint"]
        state = "current champion" if entry["current"] else f"retired {endpoint['retired_at'] or ''}".strip()
        console.print(f"\n{number}. run {entry['run_id']}  promoted {entry['promoted_at']}  ({state})", soft_wrap=True)
        lines = [
            f"dataset   {entry['dataset']['uri']} (version {entry['dataset']['version']}, {entry['training_records']} records)",
            f"  → job   {entry['job']['name']} ({entry['job']['status']}) from {entry['started_from']}",
            f"  → model {entry['model']}",
            "  → metrics " + ", ".join(f"{name} {value:.3f}" for name, value in sorted(candidate.items())),
            f"  → endpoint {endpoint['arn']}",
        ]
        for line in lines:
            console.print(f"   {line}", soft_wrap=True, highlight=False)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    runs_parser = subparsers.add_parser(
        "runs",
        help="list runs newest first: outcome, decision, key metric, cost (full run ids)",
        description="List runs from the run registry, newest start first, through its start-time index.",
    )
    runs_parser.add_argument("--profile", help="only this profile's runs (default: every profile)")
    runs_parser.add_argument("--limit", type=int, default=20, help="at most this many runs, newest first (default 20)")
    runs_parser.add_argument("--json", action="store_true", help="print the runs' registry items as JSON")
    _stage_args(runs_parser)
    runs_parser.set_defaults(handler=_runs)

    champions_parser = subparsers.add_parser(
        "champions",
        help="a profile's champions, oldest first: dataset version → job → model → metrics → endpoint",
        description="Follow a profile's champion back through the champions it replaced (incremental tuning "
        "starts each job from the previous champion's model).",
    )
    champions_parser.add_argument("profile", help="the tuning profile, as named in config/tuneforge.yaml")
    champions_parser.add_argument("--json", action="store_true", help="print the lineage as JSON")
    _stage_args(champions_parser)
    champions_parser.set_defaults(handler=_champions)
