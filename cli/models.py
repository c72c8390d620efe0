"""``tuneforge models [--type TYPE] [--region REGION] [--json]``: the models Bedrock can customize.

Every column comes from the catalogue (lambdas/domain/catalogue/), where each fact keeps the page it was
read on and the day; ``--json`` adds those sources. Exit 0, or 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli._common import EXIT_OK, UsageError
from lambdas.domain.catalogue import MODELS, CatalogueError, CustomizationType, ModelSpec, parse_customization_type


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the models Bedrock can customize: types, Regions, lifecycle, on-demand use, price date",
        description="List the customizable base models in tuneforge's catalogue, with the facts each row rests on.",
    )
    parser.add_argument(
        "--type",
        dest="customization_type",
        metavar="TYPE",
        help=f"only models supporting this customization type: {' | '.join(t.value for t in CustomizationType)}",
    )
    parser.add_argument(
        "--region", metavar="REGION", help="only models customizable in this AWS Region (e.g. us-east-1)"
    )
    parser.add_argument("--json", action="store_true", help="print the facts as JSON, with their sources")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    ctype = _type(args.customization_type)
    today = date.today()
    rows = [model_facts(spec, today) for spec in sorted(MODELS.values(), key=lambda s: s.model_id)]
    rows = [row for row in rows if _matches(row, ctype, args.region)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _render(rows, Console(), ctype, args.region)
    return EXIT_OK


def _type(value: str | None) -> CustomizationType | None:
    if value is None:
        return None
    try:
        return parse_customization_type(value.upper().replace("-", "_"))
    except CatalogueError as error:
        raise UsageError(str(error)) from None


def _matches(row: dict[str, Any], ctype: CustomizationType | None, region: str | None) -> bool:
    types = [ctype.value] if ctype else list(row["customization_types"])
    if ctype is not None and ctype.value not in row["customization_types"]:
        return False
    return region is None or any(region in row["customization_types"][t]["regions"] for t in types)


def model_facts(spec: ModelSpec, today: date) -> dict[str, Any]:
    """One model's row: what ``tuneforge models --json`` prints for it."""
    lifecycle = spec.lifecycle
    on_demand = spec.on_demand
    return {
        "model_id": spec.model_id,
        "name": spec.name,
        "provider": spec.provider,
        "customization_types": {
            ctype.value: {
                "dataset_format": spec.dataset_format(ctype).value,
                "regions": sorted(regions.regions) if (regions := spec.customization_regions.get(ctype)) else [],
                "regions_source": str(regions.source) if regions else None,
                "regions_note": regions.note if regions else "",
            }
            for ctype in sorted(spec.customization_types, key=lambda t: t.value)
        },
        "lifecycle": {
            "status": lifecycle.status_on(today).value,
            "end_of_life": lifecycle.end_of_life.isoformat() if lifecycle.end_of_life else None,
            "source": str(lifecycle.source),
            "note": lifecycle.note,
        },
        "on_demand_id": spec.invocation.on_demand_id,
        "on_demand_deployment": None
        if on_demand is None
        else {
            "regions": sorted(on_demand.regions),
            "customized_on_or_after": on_demand.customized_on_or_after.isoformat(),
            "source": str(on_demand.source),
        },
        "prices_as_of": spec.prices.as_of,
        "prices_source": spec.prices.source or None,
    }


def _on_demand_cell(row: dict[str, Any]) -> str:
    rule = row["on_demand_deployment"]
    if rule is None:
        return "no (provisioned throughput)"
    return f"yes: {', '.join(rule['regions'])}, customized on/after {rule['customized_on_or_after']}"


def _lifecycle_cell(row: dict[str, Any]) -> str:
    lifecycle = row["lifecycle"]
    eol = lifecycle["end_of_life"]
    return lifecycle["status"] + (f", EOL {eol}" if eol else "")


def _render(rows: list[dict[str, Any]], out: Console, ctype: CustomizationType | None, region: str | None) -> None:
    wanted = " ".join(f for f in (ctype.value if ctype else "", f"in {region}" if region else "") if f)
    if not rows:
        out.print(f"no model in the catalogue is customizable {wanted}".rstrip())
        return
    table = Table(box=None, pad_edge=False, show_lines=False)
    for column in ("model id", "name", "customization: Regions", "lifecycle", "on-demand deployment", "prices as of"):
        table.add_column(column, overflow="fold")
    for row in rows:
        types = "\n".join(
            f"{name}: {', '.join(facts['regions']) or 'none listed'}"
            for name, facts in row["customization_types"].items()
        )
        table.add_row(
            row["model_id"],
            escape(row["name"]),
            types,
            _lifecycle_cell(row),
            _on_demand_cell(row),
            row["prices_as_of"] or "no figures",
        )
    out.print(table)
    out.print(
        "[dim]Regions: AWS's customization tables; 'none listed' means Bedrock no longer customizes it there. "
        "Sources and dates: --json. Ids take their context suffix (e.g. :128k); "
        "the on-demand id without it is what Converse invokes.[/]",
        soft_wrap=True,
    )
