"""``make demo``: the synthesized app deployed into an emulated account, one rejected and one full run.

Everything here goes through the same paths as in AWS: the templates in ``cdk.out`` create the
resources, an S3 upload starts the execution, the real handlers run, and the operator CLI's code
(``cli.runs``) follows the run. Nothing needs credentials or a network.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
# The handlers log JSON to stdout as they would in Lambda; the demo sends that to a file and draws on the
# terminal it was started from.
console = Console(file=sys.__stdout__)

# (profile, dataset) of the run the demo shows in full: Vietnamese question answering on Nova Micro.
FULL_RUN = ("support-qa-vi", SAMPLES / "fine-tuning" / "nova-micro-vi-qa.jsonl")
REJECTED_RUN = ("support-qa-vi", SAMPLES / "broken" / "nova-micro-broken.jsonl")


def _stack_table(cdk_out: Path, stage: str) -> Table:
    table = Table(title=f"Synthesized stacks ({cdk_out})", title_justify="left")
    table.add_column("stack")
    table.add_column("resources", justify="right")
    for template in sorted(cdk_out.glob("*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        name = template.name.removesuffix(".template.json")
        table.add_row(name + ("  [dim](deployed below)[/dim]" if f"-{stage}-" in name else ""), str(len(resources)))
    return table


def _metrics_table(metrics: dict | None, baseline_model: str | None) -> Table:
    table = Table(title=f"Evaluation: candidate vs baseline ({baseline_model})", title_justify="left")
    table.add_column("metric")
    table.add_column("candidate", justify="right")
    table.add_column("baseline", justify="right")
    candidate, baseline = (metrics or {}).get("candidate", {}), (metrics or {}).get("baseline", {})
    for name in sorted(set(candidate) | set(baseline)):
        fmt = lambda value: "-" if value is None else f"{value:.3f}"  # noqa: E731
        table.add_row(name, fmt(candidate.get(name)), fmt(baseline.get(name)))
    return table


def _copy_reports(stage, run_id: str, profile: str, out: Path) -> list[Path]:
    s3 = stage.client("s3")
    prefix = f"reports/{profile}/{run_id}/"
    target = out / run_id
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for item in s3.list_objects_v2(Bucket=stage.artifacts_bucket, Prefix=prefix).get("Contents", []):
        name = item["Key"].removeprefix(prefix)
        if "/" in name:  # the evaluation's batch files (batches/): working files, not reports
            continue
        path = target / name
        path.write_bytes(s3.get_object(Bucket=stage.artifacts_bucket, Key=item["Key"])["Body"].read())
        copied.append(path)
    return copied


def run_demo(cdk_out: Path, *, stage_name: str, out: Path, time_scale: float) -> int:
    from cli._outcome import end_of, rejected_details
    from cli.runs import Stage, read_run, submit, summary, watch
    from lambdas.domain.outcomes import Outcome
    from local import authz
    from local.emulator import Emulator

    console.rule("[bold]tuneforge offline demo")
    console.print(_stack_table(cdk_out, stage_name))
    started = time.monotonic()
    # The stage's fallback check runs on its schedule, as in AWS: its heartbeats keep WaitForJob alive.
    with Emulator(time_scale=time_scale, auto_schedule=True) as aws:
        with console.status(f"Deploying the {stage_name} stacks from {cdk_out} into the emulated account..."):
            deployed = aws.deploy(cdk_out, stacks=f"Tuneforge-{stage_name}-*")
        console.print(
            f"[green]Deployed[/green] the {stage_name} stage in {time.monotonic() - started:.1f} s (CloudFormation templates, Lambda assets, state machine, rules)."
        )
        # The demo acts as a data owner: the stage's uploader role, from outside the VPC, as in AWS.
        uploader = deployed.stack("Foundation").outputs["DataUploaderRoleArn"]
        stage = Stage.discover(stage_name, session=aws.session(uploader))
        s3 = stage.client("s3")
        evaluation = SAMPLES / "evaluation"
        for evaluation_file in sorted(path for path in evaluation.rglob("*") if path.is_file()):  # sets and images
            key = f"evaluation/{evaluation_file.relative_to(evaluation).as_posix()}"
            s3.put_object(Bucket=stage.data_bucket, Key=key, Body=evaluation_file.read_bytes())
        console.print(f"Uploaded the evaluation sets (and their images) to s3://{stage.data_bucket}/evaluation/.")

        def advance() -> None:
            aws.tick()

        # 1. A broken dataset: rejected before anything is spent, with line-numbered reasons.
        profile, dataset = REJECTED_RUN
        console.rule(f"1. A broken dataset -> incoming/{profile}/")
        rejected_id = submit(stage, dataset, profile)
        rejected = watch(stage, rejected_id, timeout=120, interval=0.2, on_poll=advance)
        console.print()
        item = rejected.item or read_run(stage, rejected_id).item or {}
        outcome, said = end_of(rejected)
        said += rejected_details(stage, item) if outcome is Outcome.REJECTED else []
        jobs = aws.client("bedrock").list_model_customization_jobs()[
            "modelCustomizationJobSummaries"
        ]  # the operator looks
        # The outcome first, as the CLI says it; the last line says what to fix and where the report is.
        console.print(
            Panel(
                escape("\n".join(said[1:])),  # the reasons end in [kind], which is not markup
                title=escape(said[0]),
                title_align="left",
                subtitle=f"the data owner was notified; jobs started: {len(jobs)}",
                border_style="red",
            )
        )

        # 2. A good dataset: the whole pipeline.
        profile, dataset = FULL_RUN
        console.rule(f"2. Vietnamese question answering -> incoming/{profile}/")
        run_id = submit(stage, dataset, profile)
        view = watch(stage, run_id, timeout=300, interval=0.2, on_poll=advance)
        console.print()
        facts = summary(read_run(stage, run_id))
        console.print(_metrics_table(facts["metrics"], facts["baseline_model"]))
        copied = _copy_reports(stage, run_id, profile, out)
        left = aws.endpoints()
        lines = [
            f"outcome:         {facts['outcome']} (decision: {facts['decision']}; execution {facts['status']})",
            f"gate:            {facts['gate']}",
            f"job:             {facts['job_arn']} ({facts['job_status']})",
            f"custom model:    {facts['output_model_arn']}",
            f"champion:        {facts['champion'] or '-'}",
            f"estimate:        {facts['estimate']}",
            f"spent:           {facts['actual_cost'] or '-'} USD (priced as the estimate; the run's registry item itemizes it)",
            f"endpoints left:  {len(left['provisioned'])} provisioned throughput, {len(left['deployments'])} custom-model deployments "
            f"({', '.join(e.get('provisionedModelName') or e.get('customModelDeploymentName', '?') for e in left['provisioned'] + left['deployments']) or 'none'}; only a promoted champion may remain)",
            f"reports:         {out / run_id}/ ({', '.join(p.name for p in copied)})",
            f"states:          {' > '.join(facts['states'])}",
            f"authorization:   {len(authz.DECISIONS)} permission checks against the deployed policies, {len(authz.DENIALS)} denied",
        ]
        console.print(
            Panel(
                "\n".join(lines), title=f"Run {run_id}", border_style="green" if view.status == "SUCCEEDED" else "red"
            )
        )
    console.print(
        f"Demo finished in {time.monotonic() - started:.1f} s. Open {out / run_id / 'evaluation.html'} for the evaluation report."
    )
    return 0 if view.status == "SUCCEEDED" and rejected.status == "SUCCEEDED" and outcome is Outcome.REJECTED else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=ROOT / "demo-output", help="where the run's reports are copied")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.0005,
        help="kept for old callers and ignored: emulated time is discrete-event time (local/clock.py), an hour of training takes no wall time",
    )
    args = parser.parse_args()
    if not (args.cdk_out / "manifest.json").exists():
        console.print(f"[red]no cloud assembly at {args.cdk_out}; run `make synth` first[/red]")
        sys.exit(2)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    log_path = args.out / "lambda-logs.jsonl"
    # moto warns about every resource type it only records (bucket policies, egress rules); say it once.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with log_path.open("w") as handler_logs, contextlib.redirect_stdout(handler_logs):
        code = run_demo(args.cdk_out, stage_name=args.stage, out=args.out, time_scale=args.time_scale)
    console.print(f"Handler logs (Powertools JSON, as CloudWatch would hold them): {log_path}")
    console.print(
        "[dim]Every call was authorized against the deployed IAM, key, bucket, endpoint and resource policies; what the emulator does not model is in docs/local-emulation.md.[/dim]"
    )
    sys.exit(code)


if __name__ == "__main__":
    main()
