"""The standing-cost section and its one-line summary."""

from __future__ import annotations

from tuneforge_audit.markdown.cells import MARK, code, esc, table
from tuneforge_audit.model import REVIEW


def standing_summary(standing: dict) -> str:
    return (
        ", ".join(
            f"{stage} ${s['total_usd']:.2f}{'' if s['within_goal'] else ' (over the goal)'}"
            for stage, s in standing["stages"].items()
        )
        + f" (goal ≤ ${standing['goal_usd']:.0f} a stage)"
    )


def standing(model: dict) -> list[str]:
    figures = model.get("standing_cost") or {}
    lines = ["## Standing cost", ""]
    if not figures.get("stages"):
        return lines + ["Not computed for this report.", ""]
    lines += [
        f"What each stage bills a month with no run in flight, from the templates (`tuneforge_audit/standing_cost.py`), at {figures['priced_region']} prices read on "
        f"{figures['read_on']}. Runs (training, evaluation endpoints, a champion's throughput) and stored data are not included: see each stage's \"not counted\".",
        "",
    ]
    for stage, s in figures["stages"].items():
        lines += [
            f"### {stage}: ${s['total_usd']:.2f} a month {'✅' if s['within_goal'] else MARK[REVIEW] + ' over'} (goal ≤ ${s['goal_usd']:.0f})",
            "",
        ]
        lines += table(
            ["Item", "Quantity", "Unit", "Unit price (USD)", "Monthly (USD)", "Detail"],
            [
                [
                    l["item"],
                    f"{l['quantity']:,.4f}".rstrip("0").rstrip("."),
                    l["unit"],
                    f"{l['unit_usd']:g}",
                    f"{l['monthly_usd']:.2f}",
                    l["detail"] or "–",
                ]
                for l in s["lines"]
            ],
        )
        lines += [f"- {esc(n)}" for n in s["notes"]] + ([""] if s["notes"] else [])
        not_counted = "; ".join(f"{type_.removeprefix('AWS::')} ({why})" for type_, why in s["not_counted"].items())
        lines += [f"Not counted: {esc(not_counted)}.", ""]
    lines += ["### Prices", ""]
    lines += table(
        ["Price", "USD", "Unit", "Source", "Read", "Note"],
        [
            [code(k), f"{p['usd']:g}", p["unit"], p["source"], p["read"], p["note"] or "–"]
            for k, p in figures["prices"].items()
        ],
    )
    lines += ["### Assumptions", ""]
    lines += table(
        ["Assumption", "Value", "Unit", "Why"],
        [[code(k), f"{a['value']:g}", a["unit"], a["why"]] for k, a in figures["assumptions"].items()],
    )
    return lines
