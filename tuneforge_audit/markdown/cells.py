"""Markdown building blocks: escaped cells, tables, flag marks, anchors."""

from __future__ import annotations

from collections.abc import Iterable

from tuneforge_audit.model import FAIL, REVIEW

MARK = {FAIL: "❌", REVIEW: "⚠️"}


def esc(text) -> str:
    """Template values are full of ``<LogicalId.Arn>``: HTML to a Markdown renderer, which would hide them."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return "<br>".join(cell(v) for v in value) or "–"
    text = "" if value is None else esc(value)
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def code(value: str) -> str:
    return f"`{value}`" if value else "–"


def table(headers: list[str], rows: Iterable[list]) -> list[str]:
    rows = list(rows)
    if not rows:
        return ["_none_", ""]
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
        "",
    ]


def marks(flags: list[dict]) -> str:
    levels = {f["level"] for f in flags}
    return MARK[FAIL] if FAIL in levels else MARK[REVIEW] if REVIEW in levels else ""


def by_stack(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        out.setdefault(item["stack"], []).append(item)
    return out


def anchor(title: str) -> str:
    return "#" + "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-")
