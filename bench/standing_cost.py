"""Standing cost of each stage a month, before and after: a base git ref against the working tree.

Both sides are synthesized from scratch (the base in a temporary git worktree, as ``make audit BASE=`` does) and
priced by the same code, ``tuneforge_audit/standing_cost.py``: interface-endpoint network interfaces, KMS keys,
alarms, dashboards, and what the schedules keep writing and invoking. The figures go into docs/benchmarks.md
(the row in the table and the "Standing cost" section) with the date and the machine, unless --no-write.

    .venv/bin/python bench/standing_cost.py [--base REF] [--no-write]

Default base: a9d4115, the commit issue 12 measured ("11 endpoints x 6 AZs = 66 ENIs"). Goal: <= $120 a stage.
Exit status 1 when a stage of the working tree is over the goal.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from stacks import node_runtime  # noqa: E402

node_runtime.ensure()  # jsii runs on the pinned Node (make node), or this stops here naming the fix

from tuneforge_audit import standing_cost  # noqa: E402
from tuneforge_audit.__main__ import synthesized  # noqa: E402

BASELINE_REF = "a9d4115"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- standing-cost:begin -->", "<!-- standing-cost:end -->"
ROW = re.compile(r"^\| standing cost of a stage a month.*$", re.M)


def synthesize_working_tree(out: Path) -> Path:
    env = {**os.environ, "CDK_OUTDIR": str(out)}
    env.pop("TUNEFORGE_CONFIG", None)
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"synth of the working tree failed: {done.stderr.strip()[-2000:]}")
    return out


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "?"
    memory = "?"
    try:
        kib = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} vCPUs ({cpu}), {memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def breakdown(before: dict, after: dict) -> list[str]:
    """Markdown: per stage, each line item before and after."""
    lines = []
    for stage in sorted(set(before["stages"]) | set(after["stages"])):
        b, a = before["stages"].get(stage), after["stages"].get(stage)
        lines += [
            f"**{stage}**: ${b['total_usd']:.2f} → **${a['total_usd']:.2f}** a month ({b['network_interfaces']} → {a['network_interfaces']} endpoint network interfaces)",
            "",
        ]
        lines += ["| item | before | after | after: what |", "|---|---|---|---|"]
        items = {line["item"]: line for line in b["lines"]}
        for line in a["lines"]:
            was = items.pop(line["item"], None)
            was_usd = f"${was['monthly_usd']:.2f}" if was else "–"
            lines.append(
                f"| {line['item']} | {was_usd} | ${line['monthly_usd']:.2f} | {line['unit']}: {line['detail'] or '–'} |"
            )
        lines += [f"| {item} | ${line['monthly_usd']:.2f} | – | – |" for item, line in items.items()]
        lines.append("")
    return lines


def render(before: dict, after: dict, base: str, when: str, where: str) -> str:
    prices = after["prices"]
    lines = [
        BEGIN,
        "## Standing cost",
        "",
        f"Measured on {when} on {where}, with `bench/standing_cost.py` (base `{base}` against the working tree), from the synthesized templates "
        f"priced by `tuneforge_audit/standing_cost.py` at {after['priced_region']} prices read on {after['read_on']} (the same figures `make audit` shows "
        "in its report's \"Standing cost\" section). Not counted: what runs add (training, evaluation endpoints, a champion's throughput) and stored data. "
        "Which services have an interface endpoint, and why the others need none, is `stacks/vpc_services.py`; the zones are `function_availability_zones`.",
        "",
        *breakdown(before, after),
        "Prices (sources and notes in `tuneforge_audit/standing_cost.py` and the audit report):",
        "",
        "| price | USD | unit | source |",
        "|---|---|---|---|",
        *(f"| `{key}` | {p['usd']:g} | {p['unit']} | {p['source']} |" for key, p in prices.items()),
        "",
        "Assumptions: "
        + "; ".join(f"{key} = {a['value']:g} {a['unit']} ({a['why']})" for key, a in after["assumptions"].items())
        + ".",
        END,
    ]
    return "\n".join(lines)


def write_doc(before: dict, after: dict, base: str, when: str, where: str) -> None:
    text = DOC.read_text()
    figures = ", ".join(
        f"{stage} ${before['stages'][stage]['total_usd']:.2f} → **${s['total_usd']:.2f}**"
        for stage, s in after["stages"].items()
        if stage in before["stages"]
    )
    met = all(s["within_goal"] for s in after["stages"].values())
    row = f"| standing cost of a stage a month, from the templates ({when}) | `.venv/bin/python bench/standing_cost.py` | {figures} | ≤ ${after['goal_usd']:.0f} a stage ({'met' if met else 'not met'}) | [below](#standing-cost) |"
    if ROW.search(text):
        text = ROW.sub(lambda _: row, text)
    else:
        header_end = text.index("|---|---|---|---|---|") + len("|---|---|---|---|---|")
        table_end = text.index("\n\n", header_end)
        text = text[:table_end] + "\n" + row + text[table_end:]
    section = render(before, after, base, when, where)
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASELINE_REF, help=f"git ref to compare with (default {BASELINE_REF})")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with synthesized(args.base, repo=ROOT) as base_out:
        before = standing_cost.of_cdk_out(base_out)
    with tempfile.TemporaryDirectory(prefix="standing-cost-") as scratch:
        after = standing_cost.of_cdk_out(synthesize_working_tree(Path(scratch) / "cdk.out"))
    print(f"{'stage':<6} {'before':>10} {'after':>10}   endpoint ENIs   goal <= ${after['goal_usd']:.0f}")
    for stage, s in after["stages"].items():
        b = before["stages"].get(stage)
        was = f"${b['total_usd']:.2f}" if b else "-"
        now = f"${s['total_usd']:.2f}"
        enis = b["network_interfaces"] if b else "-"
        print(
            f"{stage:<6} {was:>10} {now:>10}   {enis:>4} -> {s['network_interfaces']:<4}    {'met' if s['within_goal'] else 'NOT met'}"
        )
    print("\n".join(breakdown(before, after)))
    if not args.no_write:
        when, where = datetime.date.today().isoformat(), machine()
        write_doc(before, after, args.base, when, where)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0 if all(s["within_goal"] for s in after["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
