"""Charts drawn with text, for terminals and logs: no colours needed, nothing but characters."""

from __future__ import annotations

from typing import Mapping, Sequence

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], low: float | None = None, high: float | None = None) -> str:
    """One character per value, on the scale ``low``..``high`` (the values' own range by default)."""
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = (high - low) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, max(0, round((v - low) / span * (len(SPARKS) - 1))))] for v in values)


def _resample(points: Sequence[tuple[float, float]], x_low: float, x_high: float, width: int) -> list[float | None]:
    """The mean y of the points falling in each of ``width`` columns over x_low..x_high (None if none)."""
    columns: list[list[float]] = [[] for _ in range(width)]
    span = (x_high - x_low) or 1.0
    for x, y in points:
        columns[min(width - 1, int((x - x_low) / span * (width - 1) + 0.5))].append(y)
    return [sum(c) / len(c) if c else None for c in columns]


def line_plot(
    series: Mapping[str, tuple[str, Sequence[tuple[float, float]]]], *, width: int = 60, height: int = 8
) -> list[str]:
    """A plot of several (x, y) series, each drawn with its own mark: {name: (mark, points)}.

    Rows top to bottom, the y axis labelled at its top and bottom, the x range under it, then a legend.
    """
    every = [p for _, points in series.values() for p in points]
    if not every:
        return []
    x_low, x_high = min(x for x, _ in every), max(x for x, _ in every)
    y_low, y_high = min(y for _, y in every), max(y for _, y in every)
    y_span = (y_high - y_low) or 1.0
    grid = [[" "] * width for _ in range(height)]
    for mark, points in series.values():
        for column, y in enumerate(_resample(points, x_low, x_high, width)):
            if y is not None:
                row = height - 1 - min(height - 1, int((y - y_low) / y_span * (height - 1) + 0.5))
                grid[row][column] = mark
    label_width = max(len(f"{y_high:.3f}"), len(f"{y_low:.3f}"))
    lines = []
    for row, cells in enumerate(grid):
        label = f"{y_high:.3f}" if row == 0 else f"{y_low:.3f}" if row == height - 1 else ""
        lines.append(f"{label:>{label_width}} │{''.join(cells)}")
    lines.append(" " * label_width + " └" + "─" * width)
    left, right = f"step {x_low:g}", f"step {x_high:g}"
    lines.append(" " * (label_width + 2) + left + " " * max(1, width - len(left) - len(right)) + right)
    lines.append(" " * (label_width + 2) + "   ".join(f"{mark} {name}" for name, (mark, _) in series.items()))
    return lines
