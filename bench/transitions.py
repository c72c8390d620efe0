"""State transitions of one tuneforge run for an emulated 1-hour job and an emulated 14-day job.

Standard workflows bill per state transition, and a history that grows with the job's length would
mean the state machine polls. The run waits for its job with a task token (completed by the job's
event or the scheduled fallback check), so the count should not depend on the job's duration.

    .venv/bin/python bench/transitions.py [--cdk-out DIR] [--json]

Synthesizes the dev stage with a 15-day execution timeout (or deploys ``--cdk-out``, filtered to
``Tuneforge-dev-*``; its timeout must exceed 14 days) into the offline emulator, uploads the Vietnamese
fine-tuning sample and runs it to the end, once per job duration. ``FallbackJobCheck`` fires on its
own ``rate(15 minutes)`` schedule as emulated time passes (``auto_schedule``: 1,344 checks in 14 days;
each sends WaitForJob a heartbeat); emulated time is discrete-event time (local/clock.py), so both
runs see the same emulated durations everywhere else. Counts, from the execution history:
``*StateEntered`` events (state transitions) and all events. Goal: <= 60 transitions each, and the
14-day run <= 1.5 x the 1-hour run. On demand, not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from stacks import node_runtime  # noqa: E402

node_runtime.ensure()  # jsii runs on the pinned Node (make node), or this stops here naming the fix

PROFILE = "support-qa-vi"
SAMPLE = ROOT / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"
GOAL_MAX, GOAL_RATIO = 60, 1.5
CASES = [("1 hour", 3600), ("14 days", 14 * 86400)]
TIMEOUT_HOURS = 15 * 24  # the 14-day job must fit in the execution timeout, an emulated duration


def synthesize(outdir: Path) -> Path:
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].model_copy(
        update={"execution_timeout_hours": TIMEOUT_HOURS}
    )
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


def count(history: list[dict]) -> dict:
    return {
        "transitions": sum(1 for e in history if e["type"].endswith("StateEntered")),
        "events": len(history),
        "lambda_tasks": sum(
            1 for e in history if e["type"] == "TaskScheduled" or e["type"] == "LambdaFunctionScheduled"
        ),
    }


def measure(cdk_out: Path, label: str, job_seconds: float) -> dict:
    from local import Emulator

    with Emulator(job_duration=job_seconds, auto_schedule=True) as aws:
        result = aws.deploy(cdk_out, stacks="Tuneforge-dev-*")
        outputs = {**result.stack("Foundation").outputs, **result.stack("Pipeline").outputs}
        data = outputs["DataBucketName"]
        aws.upload(
            data, f"evaluation/{PROFILE}.jsonl", (ROOT / "samples" / "evaluation" / f"{PROFILE}.jsonl").read_bytes()
        )
        started = time.perf_counter()
        emulated_start = aws.clock.now()
        aws.upload(data, f"incoming/{PROFILE}/{SAMPLE.name}", SAMPLE.read_bytes())
        execution = aws.wait_for_executions(outputs["StateMachineArn"], count=1, timeout=60)[0]["executionArn"]
        run = aws.wait_for_execution(execution, timeout=600)
        fallback_checks = sum(
            1 for e in aws.journal if e["event"] == "events.scheduled" and "FallbackJobCheck" in e["rule"]
        )
        history = aws.history(execution)
        return {
            "job": label,
            "job_seconds": job_seconds,
            "status": run["status"],
            **count(history),
            "fallback_checks": fallback_checks,
            "emulated_hours": round((aws.clock.now() - emulated_start) / 3600, 1),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "states": aws.states_entered(execution),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cdk-out", type=Path, help="a synthesized cdk.out holding the dev stage (default: synthesize it now)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="transitions-cdk.out-") as tmp:
        cdk_out = args.cdk_out or synthesize(Path(tmp))
        rows = [measure(cdk_out, *case) for case in CASES]
    short, long = rows
    ratio = long["transitions"] / short["transitions"]
    ok = all(r["status"] == "SUCCEEDED" and r["transitions"] <= GOAL_MAX for r in rows) and ratio <= GOAL_RATIO
    if args.json:
        print(json.dumps({"rows": rows, "ratio": ratio, "goal_met": ok}, indent=2))
    else:
        print(
            f"{'job':<8} {'status':<10} {'transitions':>11} {'events':>7} {'fallback checks':>15} {'emulated h':>10} {'wall s':>7}"
        )
        for r in rows:
            print(
                f"{r['job']:<8} {r['status']:<10} {r['transitions']:>11} {r['events']:>7} {r['fallback_checks']:>15} {r['emulated_hours']:>10} {r['wall_seconds']:>7}"
            )
        print(
            f"transitions, 14 days / 1 hour: {ratio:.2f} (goal <= {GOAL_RATIO}); <= {GOAL_MAX} transitions each: {'met' if ok else 'NOT met'}"
        )
        if short["states"] != long["states"]:
            print(
                "paths differ:\n  1 hour:  "
                + " > ".join(short["states"])
                + "\n  14 days: "
                + " > ".join(long["states"])
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
