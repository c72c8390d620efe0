"""The evaluation report as one self-contained HTML page: verdict, chart, gate table, examples.

No scripts, fonts, images or stylesheets from elsewhere: the page opens from an S3 download, an
email attachment or a locked-down browser the same way. The chart is inline SVG; an example's images
are inline ``data:`` thumbnails (small ones, capped in ``lambdas.domain.evaluation_images``) or their S3 URI.
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Mapping

LABELS = {"exact_match": "Exact match", "token_f1": "Token F1", "rouge_l": "ROUGE-L", "judge": "LLM judge"}
ORDER = ("exact_match", "token_f1", "rouge_l", "judge")
CANDIDATE_COLOUR = "#4f46e5"
BASELINE_COLOUR = "#a3a3a3"
PASS_COLOUR = "#15803d"
FAIL_COLOUR = "#b91c1c"
NEEDS_COLOUR = "#d97706"
SAMPLE_SIZE = 12
# The metric that ranks examples for the sample: the most forgiving reference metric.
SAMPLE_METRIC = "token_f1"
TAGS = {
    "win": '<span class="tag win">candidate better</span>',
    "loss": '<span class="tag loss">baseline better</span>',
    "mixed": '<span class="tag">mixed</span>',
    "same": '<span class="tag">same</span>',
}
# Every example sits beside the page, in the run's report folder (reports/<profile>/<run id>/) and in a copy
# `tuneforge show --download` or `--open` makes: a relative link works from S3, a download and a disk.
EXAMPLES_FILE = "evaluation-examples.jsonl"

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2937;background:#f5f5f7}
main{max-width:980px;margin:0 auto;padding:28px 20px 60px}
h1{font-size:22px;margin:0}
h2{font-size:17px;margin:34px 0 12px}
.muted{color:#6b7280}
.small{font-size:13px}
header{display:flex;justify-content:space-between;gap:20px;align-items:flex-start;flex-wrap:wrap}
.verdict{border-radius:12px;padding:14px 18px;color:#fff;min-width:260px;max-width:460px}
.verdict b{display:block;font-size:20px;letter-spacing:.04em}
.pass{background:%(pass)s}.fail{background:%(fail)s}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-top:22px}
.card{background:#fff;border-radius:12px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card .name{font-size:13px;color:#6b7280}
.card .value{font-size:28px;font-weight:650}
.card .delta{font-weight:600}
.up{color:%(pass)s}.down{color:%(fail)s}.flat{color:#6b7280}
.panel{background:#fff;border-radius:12px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.06);overflow-x:auto}
table{border-collapse:collapse;width:100%%;font-size:14px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#374151;background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ok{color:%(pass)s;font-weight:700}.ko{color:%(fail)s;font-weight:700}
.example{background:#fff;border-radius:12px;padding:4px 16px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.example summary{cursor:pointer;padding:10px 0;font-weight:600}
.example summary span{font-weight:400}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:10px;padding-bottom:14px}
.grid .full{grid-column:1/3}
.box{border-radius:8px;padding:8px 10px;background:#f9fafb;white-space:pre-wrap;word-break:break-word;font-size:14px}
.box h4{margin:0 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280}
.cand{border-left:4px solid %(cand)s}.base{border-left:4px solid %(base)s}
.tag{display:inline-block;border-radius:999px;padding:1px 8px;font-size:12px;margin-left:6px;background:#eef2ff;color:#3730a3}
.tag.loss{background:#fef2f2;color:%(fail)s}.tag.win{background:#f0fdf4;color:%(pass)s}
.warn{background:#fffbeb;border:1px solid #fcd34d;border-radius:10px;padding:10px 14px;margin-top:16px}
footer{margin-top:40px;font-size:13px;color:#6b7280}
code{font-size:13px;background:#f3f4f6;border-radius:4px;padding:1px 4px;word-break:break-all}
.thumbs{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:6px}
.thumb{width:128px;height:auto;border-radius:6px;border:1px solid #e5e7eb;image-rendering:pixelated}
@media (max-width:640px){.grid{grid-template-columns:1fr}.grid .full{grid-column:1}}
""" % {"pass": PASS_COLOUR, "fail": FAIL_COLOUR, "cand": CANDIDATE_COLOUR, "base": BASELINE_COLOUR}


def _label(metric: str) -> str:
    return LABELS.get(metric, metric)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _delta(value: float | None, baseline: float | None) -> tuple[str, str]:
    if value is None or baseline is None:
        return "—", "flat"
    delta = value - baseline
    if abs(delta) < 0.0005:
        return "±0.000", "flat"
    return (f"+{delta:.3f}", "up") if delta > 0 else (f"−{abs(delta):.3f}", "down")


def _metrics_in(report: dict[str, Any]) -> list[str]:
    present = set(report["metrics"]["candidate"]) | set(report["metrics"]["baseline"])
    present |= {check["metric"] for check in report["decision"]["checks"]}
    return [metric for metric in ORDER if metric in present] + sorted(present - set(ORDER))


def bar_chart(
    metrics: list[str], candidate: dict[str, float], baseline: dict[str, float], checks: dict[str, dict[str, Any]]
) -> str:
    """Grouped bars on a 0-1 scale; dashed lines mark what the gate asks of the candidate."""
    width, height = 760, 320
    left, right, top, bottom = 48, 16, 40, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    group_w = plot_w / max(len(metrics), 1)
    bar_w = min(64.0, group_w * 0.3)

    def y(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, value)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Candidate versus baseline per metric">',
        "<style>text{font:12px system-ui,sans-serif;fill:#374151}.v{font-weight:600}.axis{fill:#6b7280}</style>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text class="axis" x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    for index, metric in enumerate(metrics):
        centre = left + group_w * (index + 0.5)
        bars = (
            (centre - bar_w - 3, candidate.get(metric), CANDIDATE_COLOUR, "candidate"),
            (centre + 3, baseline.get(metric), BASELINE_COLOUR, "baseline"),
        )
        labels = []
        for x, value, colour, who in bars:
            if value is None:
                labels.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y(0) - 6:.1f}" text-anchor="middle" class="axis">n/a</text>'
                )
                continue
            parts.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" height="{max(y(0) - y(value), 0.5):.1f}" rx="3" fill="{colour}"><title>{escape(_label(metric))}, {who}: {value:.4f}</title></rect>'
            )
            labels.append(
                f'<text class="v" x="{x + bar_w / 2:.1f}" y="{y(value) - 6:.1f}" text-anchor="middle">{value:.2f}</text>'
            )
        # Thresholds apply to the candidate, so they span its bar only (and never hide the baseline's label).
        check = checks.get(metric) or {}
        span = (centre - bar_w - 9, centre + 1)
        if check.get("minimum") is not None:
            level = y(check["minimum"])
            parts.append(
                f'<line x1="{span[0]:.1f}" x2="{span[1]:.1f}" y1="{level:.1f}" y2="{level:.1f}" stroke="{FAIL_COLOUR}" stroke-width="2.5" stroke-dasharray="6 4"><title>minimum {check["minimum"]:.3f}</title></line>'
            )
        if check.get("required_margin") is not None and check.get("baseline") is not None:
            level = y(check["baseline"] + check["required_margin"])
            parts.append(
                f'<line x1="{span[0]:.1f}" x2="{span[1]:.1f}" y1="{level:.1f}" y2="{level:.1f}" stroke="{NEEDS_COLOUR}" stroke-width="2.5" stroke-dasharray="2 3"><title>baseline + margin {check["baseline"] + check["required_margin"]:.3f}</title></line>'
            )
        parts.extend(labels)
        mark = (" ✓" if check.get("passed") else " ✗") if check else ""
        colour = PASS_COLOUR if check.get("passed") else FAIL_COLOUR if check else "#374151"
        parts.append(
            f'<text x="{centre:.1f}" y="{height - bottom + 22}" text-anchor="middle" style="font-weight:600;fill:{colour}">{escape(_label(metric))}{mark}</text>'
        )
    legend_y = 16
    legend = (
        (CANDIDATE_COLOUR, "candidate", "rect"),
        (BASELINE_COLOUR, "baseline", "rect"),
        (FAIL_COLOUR, "gate minimum", "dash"),
        (NEEDS_COLOUR, "baseline + required margin", "dot"),
    )
    x = left
    for colour, text, shape in legend:
        if shape == "rect":
            parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" rx="2" fill="{colour}"/>')
        else:
            dash = "6 4" if shape == "dash" else "2 3"
            parts.append(
                f'<line x1="{x}" x2="{x + 16}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            )
        parts.append(f'<text x="{x + 20}" y="{legend_y}">{escape(text)}</text>')
        x += 34 + 7 * len(text)
    parts.append(
        f'<text class="axis" x="{width - right}" y="{height - 8}" text-anchor="end">higher is better · 0 to 1</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def sample_examples(examples: list[dict[str, Any]], size: int = SAMPLE_SIZE) -> list[dict[str, Any]]:
    """The examples that explain the verdict: where the candidate gained most, then lost most, then others."""

    def delta(example: dict[str, Any]) -> float:
        scores = example.get("metrics", {})
        return (scores.get("candidate", {}).get(SAMPLE_METRIC) or 0.0) - (
            scores.get("baseline", {}).get(SAMPLE_METRIC) or 0.0
        )

    ranked = sorted(examples, key=delta, reverse=True)
    wins = [e for e in ranked if delta(e) > 0][: size // 2]
    losses = [e for e in reversed(ranked) if delta(e) < 0][: size // 4 or 1]
    chosen = {id(e) for e in wins + losses}
    rest = [e for e in examples if id(e) not in chosen][: max(0, size - len(wins) - len(losses))]
    return wins + losses + rest


def example_verdict(scores: dict[str, Any], metrics: Iterable[str]) -> str:
    """ "win", "loss", "same" or "mixed" by the metrics shown on the example, each compared on its own.

    An example's tag is what its scores say, not where the sample took it from: the sample fills up with
    "others" after the largest gains, and those may be gains too (1.000 vs 0.000 was tagged "same").
    """
    candidate, baseline = scores.get("candidate", {}), scores.get("baseline", {})
    better = worse = False
    for metric in metrics:
        mine, theirs = candidate.get(metric), baseline.get(metric)
        if mine is None or theirs is None:
            continue
        better |= mine > theirs + 1e-12
        worse |= mine < theirs - 1e-12
    return "mixed" if better and worse else "win" if better else "loss" if worse else "same"


def _images(example: dict[str, Any], thumbnails: Mapping[str, str]) -> str:
    """The example's images: an inline thumbnail where the report has one, else the image's S3 URI."""
    shown = []
    for uri in example.get("images") or []:
        if uri in thumbnails:
            shown.append(
                f'<img class="thumb" src="{escape(thumbnails[uri])}" alt="{escape(uri)}" title="{escape(uri)}">'
            )
        else:
            shown.append(f'<code class="small">{escape(uri)}</code>')
    return f'<div class="thumbs">{"".join(shown)}</div>' if shown else ""


def _scores_line(scores: dict[str, Any], metrics: Iterable[str]) -> str:
    return " · ".join(f"{escape(_label(m))} {_fmt(scores.get(m))}" for m in metrics if m in scores)


def _signed(value: float) -> str:
    return f"+{value:.3f}" if value >= 0 else f"−{abs(value):.3f}"


def _confidence(report: dict[str, Any], metrics: list[str]) -> str:
    """Per metric, how sure the difference is: the paired bootstrap interval of candidate minus baseline."""
    intervals = report.get("intervals") or {}
    rows = [intervals[metric] for metric in metrics if metric in intervals]
    if not rows:
        return ""
    level = f"{rows[0]['confidence'] * 100:.4g}%"
    required = (report.get("gate") or {}).get("confidence")
    out = [
        f'<h2>How sure <span class="muted small">(candidate − baseline, {level} paired bootstrap interval, {rows[0]["resamples"]:,} resamples'
        + (
            f"; the gate requires its lower bound above the margin at {level}"
            if required
            else "; not required by the gate"
        )
        + ")</span></h2>",
        '<div class="panel"><table><thead><tr><th>Metric</th><th>Difference</th><th>Interval</th><th>Examples</th></tr></thead><tbody>',
    ]
    for interval in rows:
        out.append(
            f"<tr><td>{escape(_label(interval['metric']))}</td><td class=num>{_signed(interval['mean_difference'])}</td>"
            f"<td class=num>[{_signed(interval['low'])}, {_signed(interval['high'])}]</td><td class=num>{interval['examples']}</td></tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(
    report: dict[str, Any], examples: list[dict[str, Any]], *, thumbnails: Mapping[str, str] | None = None
) -> str:
    """The evaluation report as a page of its own (evaluation.html, beside the examples file); ``thumbnails``
    maps an example image's S3 URI to the inline ``data:`` URI shown for it (the others show their URI)."""
    title = f"{report['profile']} · evaluation of run {report['run_id']}"
    return (
        "<!DOCTYPE html>"
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        + _header(report)
        + evaluation_body(report, examples, thumbnails=thumbnails)
        + "</main></body></html>"
    )


def _header(report: dict[str, Any]) -> str:
    decision = report["decision"]
    passed = decision["passed"]
    out = [
        "<header><div>",
        f"<h1>{escape(report['profile'])}: candidate vs baseline</h1>",
        f'<div class="muted small">run <code>{escape(report["run_id"])}</code> · {escape(str(report.get("evaluated_at", "")))} · {report["examples"]} examples from <code>{escape(str(report.get("evaluation_set", "")))}</code></div>',
        f'<div class="muted small">candidate <code>{escape(report["candidate_model"])}</code><br>baseline <code>{escape(report["baseline_model"])}</code>'
        + (f"<br>judge <code>{escape(report['judge_model'])}</code>" if report.get("judge_model") else "")
        + "</div>",
        "</div>",
        f'<div class="verdict {"pass" if passed else "fail"}"><b>{"PASSED · PROMOTE" if passed else "FAILED · REJECT"}</b>'
        f"{escape('The candidate meets every threshold of the gate.' if passed else str(len([c for c in decision['checks'] if not c['passed']])) + ' of ' + str(len(decision['checks'])) + ' gate checks failed; the champion stays.')}</div>",
        "</header>",
    ]
    return "".join(out)


def evaluation_body(
    report: dict[str, Any],
    examples: list[dict[str, Any]],
    *,
    examples_href: str = EXAMPLES_FILE,
    thumbnails: Mapping[str, str] | None = None,
) -> str:
    """Cards, chart, gate, example-by-example counts, a sample of examples and a link to all of them
    (``examples_href``, relative to where the page is opened)."""
    candidate, baseline = report["metrics"]["candidate"], report["metrics"]["baseline"]
    decision = report["decision"]
    checks = {check["metric"]: check for check in decision["checks"]}
    metrics = _metrics_in(report)
    out: list[str] = []
    failed_calls = report.get("failed_calls") or {}
    if any(failed_calls.values()):
        out.append(
            f'<div class="warn">Some model calls failed after retries and were scored as empty answers: candidate {failed_calls.get("candidate", 0)}, baseline {failed_calls.get("baseline", 0)}.</div>'
        )

    out += [f'<div class="warn">{escape(warning)}</div>' for warning in report.get("warnings") or []]

    out.append('<div class="cards">')
    for metric in metrics:
        value, base = candidate.get(metric), baseline.get(metric)
        text, direction = _delta(value, base)
        gate = ""
        if metric in checks:
            gate = f' · gate <span class="{"ok" if checks[metric]["passed"] else "ko"}">{"passed" if checks[metric]["passed"] else "failed"}</span>'
        out.append(
            f'<div class="card"><div class="name">{escape(_label(metric))}</div><div class="value">{_fmt(value)}</div>'
            f'<div class="small"><span class="delta {direction}">{text}</span> <span class="muted">vs baseline {_fmt(base)}</span>{gate}</div></div>'
        )
    out.append("</div>")

    out.append("<h2>Candidate vs baseline</h2>")
    out.append(f'<div class="panel">{bar_chart(metrics, candidate, baseline, checks)}</div>')

    out.append("<h2>Gate</h2>")
    out.append(
        '<div class="panel"><table><thead><tr><th>Metric</th><th>Candidate</th><th>Baseline</th><th>Minimum</th><th>Required margin</th><th>Result</th><th>Why</th></tr></thead><tbody>'
    )
    for check in decision["checks"]:
        out.append(
            f"<tr><td>{escape(_label(check['metric']))}</td><td class=num>{_fmt(check.get('value'))}</td><td class=num>{_fmt(check.get('baseline'))}</td>"
            f"<td class=num>{_fmt(check.get('minimum'))}</td><td class=num>{_fmt(check.get('required_margin'))}</td>"
            f'<td class="{"ok" if check["passed"] else "ko"}">{"✓ pass" if check["passed"] else "✗ fail"}</td><td class="small">{escape(check["reason"])}</td></tr>'
        )
    out.append("</tbody></table></div>")
    out.append(_confidence(report, metrics))

    comparison = report.get("comparison") or {}
    if comparison:
        out.append("<h2>Example by example</h2>")
        out.append(
            '<div class="panel"><table><thead><tr><th>Metric</th><th>Candidate better</th><th>Same</th><th>Baseline better</th><th></th></tr></thead><tbody>'
        )
        for metric in metrics:
            counts = comparison.get(metric)
            if not counts:
                continue
            total = max(sum(counts.values()), 1)
            bar = (
                '<svg width="180" height="12" viewBox="0 0 180 12" aria-hidden="true">'
                f'<rect width="{180 * counts["wins"] / total:.1f}" height="12" fill="{CANDIDATE_COLOUR}"/>'
                f'<rect x="{180 * counts["wins"] / total:.1f}" width="{180 * counts["ties"] / total:.1f}" height="12" fill="#e5e7eb"/>'
                f'<rect x="{180 * (counts["wins"] + counts["ties"]) / total:.1f}" width="{180 * counts["losses"] / total:.1f}" height="12" fill="{BASELINE_COLOUR}"/></svg>'
            )
            out.append(
                f"<tr><td>{escape(_label(metric))}</td><td class=num>{counts['wins']}</td><td class=num>{counts['ties']}</td><td class=num>{counts['losses']}</td><td>{bar}</td></tr>"
            )
        out.append("</tbody></table></div>")

    sample = sample_examples(examples)
    if sample:
        out.append(
            f'<h2>Examples <span class="muted small">({len(sample)} of {len(examples)}: largest gains, largest losses by {escape(_label(SAMPLE_METRIC))}, then others)</span></h2>'
        )
        for position, example in enumerate(sample):
            scores = example.get("metrics", {})
            tag = TAGS[example_verdict(scores, metrics)]
            prompt_preview = example["prompt"] if len(example["prompt"]) <= 110 else example["prompt"][:107] + "…"
            out.append(
                f'<details class="example"{" open" if position < 2 else ""}><summary>Line {example.get("line", "?")}{tag} <span class="muted">{escape(prompt_preview)}</span></summary><div class="grid">'
                f'<div class="box full"><h4>Prompt</h4>{_images(example, thumbnails or {})}{escape(example["prompt"])}</div>'
                f'<div class="box full"><h4>Reference</h4>{escape(example["reference"])}</div>'
                f'<div class="box cand"><h4>Candidate · {_scores_line(scores.get("candidate", {}), metrics)}</h4>{escape(example.get("candidate", ""))}</div>'
                f'<div class="box base"><h4>Baseline · {_scores_line(scores.get("baseline", {}), metrics)}</h4>{escape(example.get("baseline", ""))}</div>'
                "</div></details>"
            )

    reports = report.get("reports") or {}
    out.append(
        "<footer>Metrics: text is NFC-normalized, case-folded, punctuation split off; exact match, SQuAD-style token F1 and ROUGE-L (LCS F-measure) over tokens."
        + (
            f'<br>Every example: <a href="{escape(examples_href)}">{escape(examples_href.rsplit("/", 1)[-1])}</a>'
            f" (beside this page; in S3 at <code>{escape(reports['examples'])}</code>)"
            if reports.get("examples")
            else ""
        )
        + "</footer>"
    )
    return "".join(out)
