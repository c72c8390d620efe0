"""Render a demo-like run's page in headless Chromium: no console errors, the charts drawn, a screenshot.

    .venv/bin/python bench/run_page.py [--cdk-out DIR] [--screenshot docs/run-page.png] [--chromium chromium]

The run is real: the dev stage deployed in the emulator's server, a Vietnamese Q&A dataset with a validation
split submitted through ``tuneforge submit``, followed to its end, and its page written by
``tuneforge show RUN --open``. Chromium (Debian's ``chromium`` package) then loads the page from disk twice:
once for the screenshot with its console logged to stderr (any "CONSOLE" or "Uncaught" line fails the
bench), once with ``--dump-dom`` to check the DOM the browser built holds both charts with their data.
Not part of ``make test``: CI needs no browser. Prints one line per figure; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"
EVALUATION_SET = ROOT / "samples" / "evaluation" / "support-qa-vi.jsonl"
PROFILE = "support-qa-vi"
ENDED = ("PROMOTED", "NOT_PROMOTED", "REJECTED", "FAILED", "TIMED_OUT", "ABORTED")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def tuneforge(url: str, workdir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *argv, "--endpoint-url", url],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def demo_dataset(folder: Path) -> Path:
    """The demo's dataset with its last 4 records as a validation split, so both loss curves exist."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_text("\n".join(lines[:-4]) + "\n", encoding="utf-8")
    (folder / "validation.jsonl").write_text("\n".join(lines[-4:]) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"training": "train.jsonl", "validation": "validation.jsonl"}))
    return folder


def run_to_its_page(cdk_out: Path, workdir: Path) -> tuple[str, Path, float]:
    """(run id, page path, seconds the run took) of one demo-like run in a fresh emulator server."""
    from local.remote import RemoteEmulator

    with RemoteEmulator.launch(time_scale=0.0001, auto_schedule=True, log=workdir / "server.log") as aws:
        aws.deploy(cdk_out, stacks="Tuneforge-dev-*")
        for step in (("evaluation-set", str(EVALUATION_SET), "--profile", PROFILE),):
            done = tuneforge(aws.endpoint_url, workdir, *step)
            assert done.returncode == 0, done.stderr
        started = time.monotonic()
        submitted = tuneforge(
            aws.endpoint_url, workdir, "submit", str(demo_dataset(workdir / "vi-qa")), "--profile", PROFILE
        )
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.strip().splitlines()[-1]
        while True:
            shown = tuneforge(aws.endpoint_url, workdir, "show", run_id, "--json")
            if shown.returncode == 0 and json.loads(shown.stdout)["outcome"] in ENDED:
                break
            if time.monotonic() - started > 600:
                raise SystemExit(f"run {run_id} did not end in 10 minutes")
            time.sleep(1)
        took = time.monotonic() - started
        opened = tuneforge(aws.endpoint_url, workdir, "show", run_id, "--open")
        assert opened.returncode == 0, opened.stderr
        page = re.search(r"run page: (\S+)", opened.stderr)
        assert page, opened.stderr
        return run_id, Path(page.group(1)), took


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class PageCheck:
    screenshot_bytes: int
    console_errors: list[str]
    svg_elements: int
    loss_series: dict[str, int]  # series name -> points drawn
    timeline_bars: int
    outcome_shown: bool

    @property
    def passed(self) -> bool:
        return (
            not self.console_errors
            and self.loss_series.keys() >= {"training loss", "validation loss"}
            and self.timeline_bars > 0
            and self.outcome_shown
            and self.screenshot_bytes > 0
        )


def check_page(binary: str, page: Path, screenshot: Path, workdir: Path) -> PageCheck:
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = chromium(
        binary,
        workdir / "chromium-shot",
        f"--screenshot={screenshot}",
        "--window-size=1280,2400",
        "--enable-logging=stderr",
        "--v=0",
        page.as_uri(),
    )
    console = [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    dom = chromium(binary, workdir / "chromium-dom", "--dump-dom", page.as_uri()).stdout
    series = re.findall(r'<polyline class="series" data-series="([^"]+)" data-points="(\d+)" points="([^"]+)"', dom)
    timeline_bars = re.findall(r'<rect [^>]*data-seconds="\d+"', dom)
    return PageCheck(
        screenshot_bytes=screenshot.stat().st_size if screenshot.exists() else 0,
        console_errors=console,
        svg_elements=dom.count("<svg"),
        loss_series={name: int(points) for name, points, coordinates in series if coordinates.strip()},
        timeline_bars=len(timeline_bars),
        outcome_shown=bool(re.search(r'id="outcome"[^>]*><b>PROMOTED', dom)),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cdk-out", help="a synthesized cdk.out (default: synthesize the app into a temp folder)")
    parser.add_argument("--screenshot", default=str(ROOT / "docs" / "run-page.png"))
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    binary = shutil.which(args.chromium)
    if binary is None:
        print(f"{args.chromium} not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="run-page-") as temp:
        workdir = Path(temp)
        cdk_out = Path(args.cdk_out) if args.cdk_out else workdir / "cdk.out"
        if not args.cdk_out:
            subprocess.run(
                [sys.executable, "app.py"],
                cwd=ROOT,
                env={**os.environ, "CDK_OUTDIR": str(cdk_out)},
                check=True,
                capture_output=True,
            )
        run_id, page, took = run_to_its_page(cdk_out, workdir)
        started = time.monotonic()
        result = check_page(binary, page, Path(args.screenshot), workdir)
        rendered = time.monotonic() - started
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"run {run_id}: ended in {took:.1f} s; page {page.name}")
    print(f"browser: {version}; two headless loads in {rendered:.1f} s")
    for name, value in vars(result).items():
        print(f"{name}: {value}")
    print("PASS" if result.passed else "FAIL")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
