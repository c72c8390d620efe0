"""Evaluation at scale, emulated: wall time, state transitions and Lambda-seconds for 100, 1,000 and 10,000 examples.

    .venv/bin/python bench/evaluation_scale.py [--sizes 100,1000,10000] [--json]

Synthesizes the dev stage with the ``support-qa-vi`` profile allowed 10,000 evaluation examples, deploys it
into the offline emulator (Lambdas in-process), and runs the Vietnamese fine-tuning sample to its decision
once per size, with an evaluation set of that many examples drawn from the training prompts (so the emulated
candidate knows them). Figures for the evaluation part of the run, PrepareEvaluation to the Gate:

* ``wall s``: wall time on this machine, from PrepareEvaluation's start to Evaluate's end. The emulated
  Converse answers at once, so this is the pipeline's own overhead (Step Functions, Lambda, S3, scoring);
  on AWS each batch adds its calls' latency, which the batch sizing budgets (evaluation_batches.py).
* ``transitions``: states entered, in the run's history and in every child execution of the Map.
* ``Lambda s``: the evaluation functions' summed durations; ``largest s``: the longest single invocation.

Goals (issue 16): wall time grows no faster than examples / concurrency; transitions <= 20 + examples /
batch size; the largest single invocation under 5 minutes at 10,000 examples. On demand, not in the suite.
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

node_runtime.ensure()

PROFILE = "support-qa-vi"
SAMPLE = ROOT / "samples" / "fine-tuning" / "nova-micro-vi-qa.jsonl"
EVALUATION_FUNCTIONS = ("PrepareEvaluation", "EvaluateBatch", "EvaluateFunction")
MAX_EXAMPLES = 10_000


def synthesize(outdir: Path) -> Path:
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0]
    profile = stage.profiles[PROFILE]
    profiles = {
        **stage.profiles,
        PROFILE: profile.model_copy(
            update={"evaluation": profile.evaluation.model_copy(update={"max_examples": MAX_EXAMPLES})}
        ),
    }
    build_app(
        [stage.model_copy(update={"profiles": profiles})], context=cdk_context(), outdir=str(outdir), nag=False
    ).synth()
    return outdir


def evaluation_set(size: int) -> bytes:
    """``size`` examples cycling through the training sample's prompt/answer pairs."""
    pairs = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        messages = json.loads(line)["messages"]
        pairs.append((messages[0]["content"][0]["text"], messages[-1]["content"][0]["text"]))
    lines = [
        json.dumps({"prompt": pairs[i % len(pairs)][0], "reference": pairs[i % len(pairs)][1]}, ensure_ascii=False)
        for i in range(size)
    ]
    return ("\n".join(lines) + "\n").encode()


def _entered(history: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def evaluation_transitions(aws, execution: str) -> dict:
    """States entered from PrepareEvaluation to the Gate in the run's own history. moto's interpreter keeps no
    history of the Map's child executions, so :func:`measure` adds one transition per EvaluateBatch invocation:
    each child enters its one state once, and each retry of it counts as another transition, as AWS bills."""
    history = aws.history(execution)
    entered = _entered(history)
    start, gate = entered.index("PrepareEvaluation"), entered.index("Gate")
    types: dict[str, int] = {}
    for event in history:
        types[event["type"]] = types.get(event["type"], 0) + 1
    return {"in_run": gate + 1 - start, "event_types": types}


def measure(cdk_out: Path, size: int) -> dict:
    from local import Emulator, state

    marks: list[tuple[float, dict]] = []
    original_note = state.EmulatorState.note

    def note(self, event, /, **details):  # the journal's entries with this machine's clock beside them
        original_note(self, event, **details)
        marks.append((time.perf_counter(), {"event": event, **details}))

    state.EmulatorState.note = note
    try:
        with Emulator(auto_schedule=True) as aws:
            result = aws.deploy(cdk_out, stacks="Tuneforge-dev-*")
            outputs = {**result.stack("Foundation").outputs, **result.stack("Pipeline").outputs}
            data = outputs["DataBucketName"]
            owner = aws.acting_as(outputs["DataUploaderRoleArn"])  # the bucket refuses anyone else from outside
            owner.upload(data, f"evaluation/{PROFILE}.jsonl", evaluation_set(size))
            owner.upload(data, f"incoming/{PROFILE}/{SAMPLE.name}", SAMPLE.read_bytes())
            execution = aws.wait_for_executions(outputs["StateMachineArn"], count=1, timeout=120)[0]["executionArn"]
            run = aws.wait_for_execution(execution, timeout=7200)
            transitions = evaluation_transitions(aws, execution)
            evaluation = json.loads(run.get("output") or "{}").get("evaluation", {}).get("value", {})
    finally:
        state.EmulatorState.note = original_note
    invocations = [
        (wall, entry)
        for wall, entry in marks
        if entry["event"] == "lambda" and any(name in entry["function"] for name in EVALUATION_FUNCTIONS)
    ]
    durations = [entry["ms"] / 1000 for _, entry in invocations]
    first = next(wall - entry["ms"] / 1000 for wall, entry in invocations if "PrepareEvaluation" in entry["function"])
    last = max(wall for wall, entry in invocations if "EvaluateFunction" in entry["function"])
    batches = sum(1 for _, entry in invocations if "EvaluateBatch" in entry["function"])
    return {
        "examples": size,
        "status": run["status"],
        "evaluated": evaluation.get("examples"),
        "passed": evaluation.get("passed"),
        "batches": batches,
        "wall_seconds": round(last - first, 1),
        "transitions": transitions["in_run"] + batches,
        "transitions_in_run": transitions["in_run"],
        "history_event_types": transitions["event_types"],
        "lambda_seconds": round(sum(durations), 1),
        "largest_invocation_seconds": round(max(durations), 2),
    }


def main() -> int:
    from lambdas.domain.evaluation_batches import examples_per_batch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated evaluation-set sizes")
    parser.add_argument("--cdk-out", type=Path, help="a synthesized cdk.out (default: synthesize it now)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    batch_size = examples_per_batch(False)
    with tempfile.TemporaryDirectory(prefix="evaluation-scale-cdk.out-") as tmp:
        cdk_out = args.cdk_out or synthesize(Path(tmp))
        rows = [measure(cdk_out, size) for size in sizes]
    for row in rows:
        row["transitions_goal"] = 20 + row["examples"] // batch_size
    smallest = rows[0]
    for row in rows:
        row["wall_ratio"] = round(row["wall_seconds"] / smallest["wall_seconds"], 2)
        row["examples_ratio"] = round(row["examples"] / smallest["examples"], 2)
    ok = all(
        r["status"] == "SUCCEEDED"
        and r["evaluated"] == r["examples"]
        and r["transitions"] <= r["transitions_goal"]
        and r["largest_invocation_seconds"] < 300
        and r["wall_ratio"] <= r["examples_ratio"]
        for r in rows
    )
    figures = {"batch_size": batch_size, "rows": rows, "goals_met": ok}
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        header = (
            f"{'examples':>8} {'status':<9} {'batches':>7} {'wall s':>7} {'wall x':>6} {'transitions':>11} "
            f"{'goal':>5} {'Lambda s':>8} {'largest s':>9}"
        )
        print(header)
        for r in rows:
            print(
                f"{r['examples']:>8} {r['status']:<9} {r['batches']:>7} {r['wall_seconds']:>7} {r['wall_ratio']:>6} "
                f"{r['transitions']:>11} {r['transitions_goal']:>5} {r['lambda_seconds']:>8} "
                f"{r['largest_invocation_seconds']:>9}"
            )
        print(f"batch size {batch_size}; goals {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
