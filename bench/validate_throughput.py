"""Validator throughput against a bare ``json.loads`` loop, and peak memory, on generated files.

    python bench/validate_throughput.py [--sizes-mb 256 1024] [--model amazon.titan-text-express-v1:0:8k]

Generates prompt/completion JSONL files under bench/data/ (gitignored; reused when present), then for
each size runs, each in a fresh process so peak RSS belongs to one measurement:

* baseline: read the file line by line and ``json.loads`` each line, nothing else;
* validator: ``validate_dataset`` on the same file (every check it makes in production).

Prints throughput (MB per CPU second: steadier than wall time on a shared machine), the ratio validator ÷
baseline on CPU and on wall time (goal ≥ 0.5) and peak RSS (goal ≤ 256 MB, flat as the file grows). Runs
are interleaved and the best of ``--repeat`` is kept. On demand, not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
WORDS = (
    "invoice refund shipping account password billing customer order delivery warehouse payment subscription "
    "upgrade cancel address support ticket priority escalate confirm schedule product warranty return policy"
).split()


def generate(path: Path, size_mb: int, seed: int = 7) -> None:
    """Roughly 1 KB prompt/completion records, each unique, until the file reaches ``size_mb``."""
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    tmp = path.with_suffix(".tmp")
    written = 0
    i = 0
    with open(tmp, "wb", buffering=1 << 20) as f:
        while written < target:
            prompt = f"Ticket {i}: " + " ".join(rng.choices(WORDS, k=rng.randint(60, 110)))
            completion = " ".join(rng.choices(WORDS, k=rng.randint(20, 60)))
            line = json.dumps({"prompt": prompt, "completion": completion}).encode() + b"\n"
            f.write(line)
            written += len(line)
            i += 1
    tmp.rename(path)


def _child(mode: str, path: str, model: str) -> None:
    if mode == "validator":
        sys.path.insert(0, str(ROOT))
        from lambdas.domain.validation import validate_dataset  # imported before the clock starts
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    if mode == "baseline":
        loads = json.loads
        records = 0
        with open(path, "rb", buffering=1 << 20) as f:
            for line in f:
                loads(line)
                records += 1
        valid = None
    else:
        report = validate_dataset(path, model, "FINE_TUNING")
        records = report.training.records
        valid = report.valid
    elapsed = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds as well as wall seconds: on a shared machine CPU time is the steadier measure.
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    peak_kb = usage.ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "records": records,
                "peak_rss_mb": peak_kb / 1024,
                "valid": valid,
            }
        )
    )


def measure(mode: str, path: Path, model: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), "--model", model],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--model", default="amazon.titan-text-express-v1:0:8k")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.model)
        return

    DATA.mkdir(parents=True, exist_ok=True)
    print(f"# {date.today().isoformat()} on {_machine()}")
    print(
        "| file | records | json.loads MB/s (CPU) | validator MB/s (CPU) | ratio (CPU) | ratio (wall) | peak RSS json.loads | peak RSS validator |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes_mb:
        path = DATA / f"prompt-completion-{size}mb.jsonl"
        if not path.exists():
            print(f"generating {path} ...", file=sys.stderr)
            generate(path, size)
        mb = path.stat().st_size / (1024 * 1024)
        runs: dict[str, list[dict]] = {"baseline": [], "validator": []}
        for _ in range(args.repeat):  # interleaved, so a burst of load hits both sides alike
            for mode in runs:
                runs[mode].append(measure(mode, path, args.model))
        base = {k: min(r[k] for r in runs["baseline"]) for k in ("seconds", "cpu_seconds", "peak_rss_mb", "records")}
        val = {k: min(r[k] for r in runs["validator"]) for k in ("seconds", "cpu_seconds", "peak_rss_mb", "records")}
        assert base["records"] == val["records"], (base, val)
        print(
            f"| {mb:,.0f} MB | {val['records']:,} | {mb / base['cpu_seconds']:,.1f} | {mb / val['cpu_seconds']:,.1f} | "
            f"{base['cpu_seconds'] / val['cpu_seconds']:.2f} | {base['seconds'] / val['seconds']:.2f} | "
            f"{base['peak_rss_mb']:.0f} MB | {max(r['peak_rss_mb'] for r in runs['validator']):.0f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
