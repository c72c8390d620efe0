"""The run page: one self-contained HTML file per run, outcome first.

Outcome, timeline, dataset, hyperparameters, training curves, the evaluation (evaluation_report's sections),
cost, decision and endpoints. Inline CSS and SVG only: no scripts, fonts or addresses elsewhere, so it opens
the same from a download, an attachment or a browser with no network. Links are relative to the page: the
evaluation examples sit beside it.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from lambdas.domain.evaluation_report import (
    BASELINE_COLOUR,
    CANDIDATE_COLOUR,
    CSS,
    FAIL_COLOUR,
    NEEDS_COLOUR,
    PASS_COLOUR,
    evaluation_body,
)
from lambdas.domain.run_details import RunDetails
from lambdas.domain.timeline import format_duration, visible
from lambdas.domain.training_metrics import LossPoint, TrainingCurves

OUTCOME_COLOURS = {"PROMOTED": PASS_COLOUR, "NOT_PROMOTED": NEEDS_COLOUR, "RUNNING": CANDIDATE_COLOUR}
PAGE_CSS = (
    CSS
    + """
.outcome{border-radius:12px;padding:14px 18px;color:#fff;min-width:260px;max-width:520px}
.outcome b{display:block;font-size:22px;letter-spacing:.05em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.facts dt{color:#6b7280}dl.facts dd{margin:0;word-break:break-all}
a{color:#3730a3}
"""
)


def _when(value: datetime | str | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds") if isinstance(value, datetime) else value


def timeline_chart(details: RunDetails) -> str:
    """Horizontal bars: when each state (or polling loop) ran, on the execution's own clock."""
    entries = [e for e in visible(details.timeline) if e.started_at is not None]
    if not entries:
        return '<p class="muted">No execution history.</p>'
    start = min(e.started_at for e in entries)
    end = max((e.ended_at or e.started_at) for e in entries)
    total = max((end - start).total_seconds(), 1.0)
    width, label_w, row_h, top = 760, 210, 24, 8
    plot_w = width - label_w - 90
    height = top + row_h * len(entries) + 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Timeline of the run">',
        "<style>text{font:12px system-ui,sans-serif;fill:#374151}.axis{fill:#6b7280}</style>",
    ]
    for index, entry in enumerate(entries):
        y = top + index * row_h
        x = label_w + plot_w * (entry.started_at - start).total_seconds() / total
        w = max(plot_w * (entry.seconds or 0) / total, 2.0)
        colour = (
            FAIL_COLOUR if entry.status == "failed" else CANDIDATE_COLOUR if entry.status == "done" else NEEDS_COLOUR
        )
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(entry.label)}</text>')
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{colour}" data-seconds="{entry.seconds or 0:.0f}">'
            f"<title>{escape(entry.label)}: {format_duration(entry.seconds)}</title></rect>"
        )
        parts.append(f'<text class="axis" x="{x + w + 6:.1f}" y="{y + 15}">{format_duration(entry.seconds)}</text>')
    parts.append(
        f'<text class="axis" x="{label_w}" y="{height - 6}">{escape(_when(start))}</text>'
        f'<text class="axis" x="{label_w + plot_w}" y="{height - 6}" text-anchor="end">+{format_duration(total)}</text></svg>'
    )
    return "".join(parts)


def loss_chart(curves: TrainingCurves) -> str:
    """Training loss per step as a line, validation loss as dots joined by a dashed line; 0 at the bottom."""
    series: list[tuple[str, list[LossPoint], str, str]] = [
        ("training loss", curves.training, CANDIDATE_COLOUR, ""),
        ("validation loss", curves.validation, BASELINE_COLOUR, ' stroke-dasharray="5 4"'),
    ]
    points = curves.training + curves.validation
    if not points:
        return (
            '<p class="muted">No loss curves: ' + escape("; ".join(curves.notes) or "the run trained nothing") + "</p>"
        )
    width, height, left, right, top, bottom = 760, 300, 56, 16, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    steps = [p.step for p in points]
    x_low, x_high = min(steps), max(max(steps), min(steps) + 1)
    y_high = max(p.loss for p in points) * 1.1 or 1.0

    def xy(point: LossPoint) -> tuple[float, float]:
        return (
            left + plot_w * (point.step - x_low) / (x_high - x_low),
            top + plot_h * (1 - point.loss / y_high),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart loss" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Training and validation loss per step">',
        "<style>text{font:12px system-ui,sans-serif;fill:#374151}.axis{fill:#6b7280}</style>",
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(
            f'<text class="axis" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{y_high * fraction:.2f}</text>'
        )
    parts.append(f'<text class="axis" x="{left}" y="{height - 12}">step {x_low}</text>')
    parts.append(f'<text class="axis" x="{width - right}" y="{height - 12}" text-anchor="end">step {x_high}</text>')
    legend_x = left
    for name, line, colour, dash in series:
        if not line:
            continue
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, line))
        parts.append(
            f'<polyline class="series" data-series="{escape(name)}" data-points="{len(line)}" points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        if len(line) <= 40:
            for point in line:
                x, y = xy(point)
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)} step {point.step} (epoch {point.epoch}): {point.loss:.4f}</title></circle>'
                )
        parts.append(f'<rect x="{legend_x}" y="8" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 18}" y="18">{escape(name)} (final {line[-1].loss:.4f})</text>')
        legend_x += 200
    parts.append("</svg>")
    return "".join(parts)


def _facts(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(str(value))}</dd>" for name, value in pairs if value not in (None, "")
    )
    return f'<dl class="facts">{rows}</dl>'


def _table(head: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f"<td{' class=num' if i in numeric else ''}>{escape('-' if v is None else str(v))}</td>"
                for i, v in enumerate(row)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _header(details: RunDetails) -> str:
    colour = OUTCOME_COLOURS.get(details.outcome, FAIL_COLOUR)
    return (
        "<header><div>"
        f"<h1>{escape(details.profile or '')}: run {escape(details.run_id)}</h1>"
        f'<div class="muted small">started {escape(_when(details.started_at))} · ended {escape(_when(details.stopped_at)) or "—"}'
        f" · execution {escape(details.execution_status or 'not started')}</div></div>"
        f'<div class="outcome" id="outcome" style="background:{colour}"><b>{escape(details.outcome.replace("_", " "))}</b>'
        f"{escape(details.explanation or '')}</div></header>"
    )


def _rejection(details: RunDetails) -> str:
    if not details.rejection:
        return ""
    rows = [
        [r.file, r.scope or r.line, r.field, r.message + (f" (and {r.more} more)" if r.more else ""), r.kind]
        for r in details.rejection
    ]
    return (
        "<h2>Why it was rejected</h2>"
        + f'<div class="panel">{_table(["File", "Line", "Field", "Reason", "Kind"], rows)}</div>'
    )


def _cost(details: RunDetails) -> str:
    cost = details.cost
    rows = [[line.item, line.estimated_usd, line.actual_usd, line.basis] for line in cost.lines]
    rows.append(["total", cost.estimated_usd, cost.actual_usd, "a total marked +? in the CLI has unpriced lines"])
    cap = f" · budget cap {cost.budget_cap_usd} USD" if cost.budget_cap_usd else ""
    return (
        f'<h2>Cost <span class="muted small">(USD; estimate vs actual{escape(cap)})</span></h2>'
        f'<div class="panel">{_table(["Item", "Estimated", "Actual", "Basis"], rows, {1, 2})}</div>'
    )


def _decision(details: RunDetails) -> str:
    endpoints = [
        [
            e.purpose,
            e.kind,
            e.arn or e.name,
            "deleted " + e.deleted_at if e.deleted_at else "promoted" if e.promoted else "up",
        ]
        for e in details.endpoints
    ]
    return (
        "<h2>Decision</h2>"
        + '<div class="panel">'
        + _facts(
            [
                ("decision", details.decision),
                ("gate", details.gate.get("summary")),
                ("champion", details.champion),
                ("retired", details.retired_at),
                ("error", f"{details.error}: {details.cause}" if details.error else None),
            ]
        )
        + (_table(["Purpose", "Kind", "Endpoint", "State"], endpoints) if endpoints else "")
        + "</div>"
    )


def render_run_page(
    details: RunDetails, evaluation: dict[str, Any] | None, examples: list[dict[str, Any]], *, generated_at: str = ""
) -> str:
    dataset = details.dataset
    hyper = sorted(details.hyperparameters.items())
    training = details.training
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(details.outcome)} · {escape(details.run_id)}</title><style>{PAGE_CSS}</style></head><body><main>",
        _header(details),
        _rejection(details),
        "<h2>Timeline</h2>",
        f'<div class="panel">{timeline_chart(details)}</div>',
        "<h2>Dataset</h2>",
        '<div class="panel">'
        + _facts(
            [
                ("dataset", dataset.get("uri")),
                ("version", dataset.get("version")),
                ("base model", dataset.get("base_model")),
                ("customization", dataset.get("customization_type")),
                ("training records", dataset.get("training_records")),
                ("training tokens (estimated)", dataset.get("training_tokens")),
                ("evaluation examples", dataset.get("evaluation_examples")),
                ("validation errors", dataset.get("validation_errors")),
            ]
            + [(f"{f['split']} snapshot", f.get("snapshot")) for f in dataset.get("files", [])]
        )
        + "</div>",
        f'<h2>Hyperparameters <span class="muted small">({escape(details.hyperparameters_source or "none recorded")})</span></h2>',
        f'<div class="panel">{_table(["Name", "Value"], [list(p) for p in hyper]) if hyper else "<p class=muted>None: no job ran.</p>"}</div>',
        "<h2>Training curves</h2>",
        f'<div class="panel">{loss_chart(training)}'
        + "".join(f'<p class="muted small">{escape(note)}</p>' for note in training.notes)
        + "</div>",
    ]
    if evaluation:
        out.append("<h2>Evaluation</h2>" + evaluation_body(evaluation, examples))
    out += [_cost(details), _decision(details)]
    out.append(
        "<footer>Generated by <code>tuneforge show --open</code>"
        + (f" at {escape(generated_at)}" if generated_at else "")
        + ". Reports of this run: "
        + ", ".join(f"<code>{escape(uri)}</code>" for uri in details.reports.values())
        + "</footer></main></body></html>"
    )
    return "".join(out)
