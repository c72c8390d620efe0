"""``tuneforge submit / watch``: operate a deployed stage, in AWS or in the offline emulator.

The same code talks to both: boto3 with standard credentials and region, or ``--endpoint-url`` pointing
at the emulator's server. A stage's resources are found through its CloudFormation outputs.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import boto3
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli._common import OUTCOME_EXIT_HELP, UsageError
from cli._outcome import (
    end_of,
    exit_code,
    refuse_unknown_run,
    rejected_details,
    require_deployed_profile,
    run_exists,
    waiting_for,
)
from lambdas.domain.logs_runs import start_run_from_invocation_logs
from lambdas.domain.names import INCOMING_PREFIX, foundation_stack_name, pipeline_stack_name, profile_parameter
from lambdas.domain.outcomes import Outcome, outcome_of_run
from lambdas.domain.registry import RunRegistry
from lambdas.domain.runs import MANIFEST_NAME, S3ObjectRef, run_id_for
from lambdas.domain.trigger import parse_profile_parameter

TERMINAL_EXECUTION = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
console = Console(stderr=True)


@dataclass(frozen=True)
class Stage:
    """A deployed stage's resources, read from its stacks' outputs."""

    name: str
    data_bucket: str
    artifacts_bucket: str
    runs_table: str
    state_machine_arn: str
    session: boto3.session.Session
    endpoint_url: str | None
    _clients: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def discover(
        cls,
        stage: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        session: boto3.session.Session | None = None,
    ) -> "Stage":
        session = session or boto3.session.Session(region_name=region)
        cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
        outputs: dict[str, str] = {}
        for stack in (foundation_stack_name(stage), pipeline_stack_name(stage)):
            try:
                described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
            except cloudformation.exceptions.ClientError as missing:
                raise UsageError(
                    f"stage {stage!r} is not deployed here ({stack}: {missing.response['Error']['Message']})"
                ) from None
            outputs.update({o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])})
        return cls(
            stage,
            outputs["DataBucketName"],
            outputs["ArtifactsBucketName"],
            outputs["RunsTableName"],
            outputs["StateMachineArn"],
            session,
            endpoint_url,
        )

    def client(self, service: str) -> Any:
        # One client per service: building clients is the slow part of polling a run.
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @property
    def registry(self) -> RunRegistry:
        if "registry" not in self._clients:
            self._clients["registry"] = RunRegistry(
                self.session.resource("dynamodb", endpoint_url=self.endpoint_url).Table(self.runs_table)
            )
        return self._clients["registry"]

    def execution_arn(self, run_id: str) -> str:
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"


def submit(stage: Stage, path: Path, profile: str) -> str:
    """Upload a dataset the way a data owner does; return the run id its upload will start.

    A file goes to ``incoming/<profile>/<name>``. A folder is a multi-file dataset: its files go first and
    its ``manifest.json`` last, because the manifest's arrival is what starts the run.
    """
    require_deployed_profile(stage, profile)
    s3 = stage.client("s3")
    if path.is_dir():
        manifest = path / MANIFEST_NAME
        if not manifest.is_file():
            raise UsageError(
                f"{path} is a folder without {MANIFEST_NAME}; see README, 'How an upload becomes exactly one run'"
            )
        prefix = f"{INCOMING_PREFIX}{profile}/{path.name}/"
        for file in sorted(p for p in path.rglob("*") if p.is_file() and p != manifest):
            s3.put_object(
                Bucket=stage.data_bucket, Key=prefix + file.relative_to(path).as_posix(), Body=file.read_bytes()
            )
        key, body = prefix + MANIFEST_NAME, manifest.read_bytes()
    elif path.is_file():
        key, body = f"{INCOMING_PREFIX}{profile}/{path.name}", path.read_bytes()
    else:
        raise UsageError(f"{path}: no such file or folder")
    version = s3.put_object(Bucket=stage.data_bucket, Key=key, Body=body).get("VersionId")
    return run_id_for(profile, S3ObjectRef(bucket=stage.data_bucket, key=key, version_id=version))


def submit_from_invocation_logs(stage: Stage, profile: str, *, now: datetime | None = None) -> str:
    """Start a run of ``profile`` from the account's invocation logs, as its schedule would; return its run id.
    The deployed profile says where the logs are (lambdas/domain/logs_runs.py)."""
    require_deployed_profile(stage, profile)
    value = stage.client("ssm").get_parameter(Name=profile_parameter(stage.name, profile))["Parameter"]["Value"]
    deployed = parse_profile_parameter(value)
    if deployed.invocation_logs is None:
        raise UsageError(
            f"profile {profile!r} sets no invocation_logs, so it learns from uploads only; "
            "see README, 'Distilling from invocation logs'"
        )
    at = now or datetime.now(timezone.utc)
    run_id, _, _ = start_run_from_invocation_logs(
        deployed,
        registry=stage.registry,
        stepfunctions=stage.client("stepfunctions"),
        state_machine_arn=stage.state_machine_arn,
        at=at,
        epoch_seconds=int(at.timestamp()),
    )
    return run_id


def upload_evaluation_set(stage: Stage, path: Path, profile: str) -> str:
    """Put a profile's evaluation set where its deployed profile says (``evaluation.dataset_key``)."""
    ssm = stage.client("ssm")
    try:
        value = ssm.get_parameter(Name=profile_parameter(stage.name, profile))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise UsageError(f"no profile {profile!r} is deployed in stage {stage.name!r}") from None
    key = json.loads(value)["evaluation"]["dataset_key"]
    stage.client("s3").put_object(Bucket=stage.data_bucket, Key=key, Body=path.read_bytes())
    return f"s3://{stage.data_bucket}/{key}"


@dataclass
class RunView:
    """What a person wants to see of a run: the states it went through and what it produced."""

    run_id: str
    status: str = "PENDING"
    states: list[tuple[str, str, float]] | None = None  # (state, "done" | "running", seconds)
    item: dict | None = None
    error: str | None = None
    cause: str | None = None


def read_run(stage: Stage, run_id: str) -> RunView:
    view = RunView(run_id, states=[])
    view.item = stage.registry.get(run_id)
    sfn = stage.client("stepfunctions")
    try:
        execution = sfn.describe_execution(executionArn=stage.execution_arn(run_id))
    except sfn.exceptions.ExecutionDoesNotExist:
        return view
    view.status, view.error, view.cause = execution["status"], execution.get("error"), execution.get("cause")
    view.states = _states(sfn, execution["executionArn"])
    return view


def execution_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, all pages of GetExecutionHistory."""
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def _states(sfn: Any, execution_arn: str) -> list[tuple[str, str, float]]:
    """(state, "done" | "running", seconds) in the order the execution entered them."""
    events = execution_history(sfn, execution_arn)
    states: list[tuple[str, str, float]] = []
    entered_at: list[Any] = []
    for event in events:
        if "stateEnteredEventDetails" in event:
            states.append((event["stateEnteredEventDetails"]["name"], "running", 0.0))
            entered_at.append(event["timestamp"])
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            index = max(i for i, (state, outcome, _) in enumerate(states) if state == name and outcome == "running")
            states[index] = (name, "done", (event["timestamp"] - entered_at[index]).total_seconds())
    return states


def render(view: RunView, waiting: str | None = None) -> Table:
    ended = outcome_of_run(view.item, view.status)
    shown = ended.value if ended else view.status  # a rejected run's execution SUCCEEDED: say REJECTED
    title = f"run {view.run_id}: {shown}"
    table = Table(
        title=title,
        title_justify="left",
        min_width=len(title),  # one line: the outcome beside the run, not wrapped under it
        caption=None if view.status in TERMINAL_EXECUTION else waiting,
        caption_justify="left",
    )
    table.add_column("state")
    table.add_column("outcome")
    table.add_column("seconds", justify="right")
    for name, outcome, seconds in view.states or []:
        colour = "green" if outcome == "done" else "yellow"
        table.add_row(name, f"[{colour}]{outcome}[/{colour}]", f"{seconds:.1f}")
    return table


def watch(
    stage: Stage,
    run_id: str,
    *,
    timeout: float = 3600,
    interval: float = 1.0,
    on_poll: Callable[[], None] | None = None,
    remind_every: float = 60.0,
) -> RunView:
    """Follow a run state by state until it ends; ``on_poll`` lets the emulator move its clock. While nothing
    changes, say what the run waits for every ``remind_every`` seconds (a log or CI shows no live table)."""
    deadline = time.monotonic() + timeout
    view = read_run(stage, run_id)
    changed_at = reminded_at = time.monotonic()
    with Live(render(view), console=console, refresh_per_second=8, transient=False) as live:
        while view.status not in TERMINAL_EXECUTION and time.monotonic() < deadline:
            if on_poll:
                on_poll()
            time.sleep(interval)
            before, view = _progress(view), read_run(stage, run_id)
            now = time.monotonic()
            if _progress(view) != before:
                changed_at = reminded_at = now
            elif now - reminded_at >= remind_every:
                reminded_at = now
                live.console.print(waiting_for(view, changed_at, now))
            live.update(render(view, waiting_for(view, changed_at, now)))
    return view


def _progress(view: RunView) -> tuple[Any, ...]:
    return (view.status, tuple((name, state) for name, state, _ in view.states or []), (view.item or {}).get("status"))


def summary(view: RunView) -> dict[str, Any]:
    """The facts of a finished run, as the registry and the execution recorded them."""
    item = view.item or {}
    endpoints = item.get("endpoints", [])
    outcome = outcome_of_run(item, view.status)
    return {
        "outcome": outcome.value if outcome else None,
        "run_id": view.run_id,
        "status": view.status,
        "run_status": item.get("status"),
        "states": [name for name, _, _ in view.states or []],
        "dataset": f"{item.get('dataset_uri')} (version {item.get('dataset_version')})",
        "validation_report": item.get("validation_report"),
        "estimate": item.get("estimate_summary"),
        "actual_cost": (item.get("actual_cost") or {}).get("total_usd"),
        "job_arn": item.get("job_arn"),
        "job_status": item.get("job_status"),
        "output_model_arn": item.get("output_model_arn"),
        "metrics": item.get("evaluation_metrics"),
        "baseline_model": item.get("baseline_model"),
        "gate": item.get("gate_summary"),
        "decision": item.get("decision"),
        "evaluation_report": item.get("evaluation_html"),
        "champion": item.get("champion_invocable_arn"),
        "endpoints_left": [e.get("arn") or e.get("name") for e in endpoints if not e.get("deleted_at")],
        "error": view.error,
        "cause": view.cause,
    }


def _stage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", default="dev", help="stage name from config/tuneforge.yaml (default: dev)")
    parser.add_argument("--endpoint-url", help="talk to the offline emulator at this URL instead of AWS")
    parser.add_argument("--region", help="AWS region (default: the standard AWS configuration)")


def _stage(args: argparse.Namespace) -> Stage:
    return Stage.discover(args.stage, endpoint_url=args.endpoint_url, region=args.region)


def _finish(stage: Stage, view: RunView, *, as_json: bool) -> int:
    """The outcome first, then its details (or the facts as JSON); the exit code is the outcome's."""
    outcome, lines = end_of(view)
    if as_json:
        print(json.dumps(summary(view), indent=2, default=str))
    else:
        if outcome is Outcome.REJECTED:
            lines += rejected_details(stage, view.item or {})
        print("\n".join(lines))
    return exit_code(outcome)


# How long `submit` waits for the run its upload starts. The upload's event reaches StartRun through S3's event
# notifications: "Typically, event notifications are delivered in seconds but can sometimes take a minute or
# longer" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html, read 2026-12-07).
STARTED_WITHIN_SECONDS = 120.0


def wait_until_started(stage: Stage, run_id: str, *, timeout: float = STARTED_WITHIN_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while not run_exists(stage, run_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(1.0)
    return True


def _submit(args: argparse.Namespace) -> int:
    if args.from_invocation_logs == bool(args.path):
        raise UsageError("give a dataset PATH to upload, or --from-invocation-logs (not both)")
    stage = _stage(args)
    if args.from_invocation_logs:
        # The execution exists once this returns (no upload event to wait for).
        run_id = submit_from_invocation_logs(stage, args.profile)
        console.print(f"started run [bold]{run_id}[/bold] from the invocation logs of {args.profile}")
        if not args.watch:
            print(run_id)
            return 0
        return _finish(stage, watch(stage, run_id, timeout=args.timeout), as_json=args.json)
    run_id = submit(stage, Path(args.path), args.profile)
    if not args.watch:
        # Returned only once the run exists, so `tuneforge watch RUN` or `show RUN` right after finds it.
        if wait_until_started(stage, run_id):
            console.print(f"uploaded; run [bold]{run_id}[/bold] has started")
        else:
            console.print(
                f"uploaded; run [bold]{run_id}[/bold] has not started within {STARTED_WITHIN_SECONDS:.0f} s: the "
                f"upload's event may be late, or the upload starts no run (see `tuneforge runs --profile {args.profile}`); "
                f"`tuneforge watch {run_id}` once it has"
            )
        print(run_id)
        return 0
    console.print(f"uploaded; run [bold]{run_id}[/bold] starts from the upload event")
    return _finish(stage, watch(stage, run_id, timeout=args.timeout), as_json=args.json)


def _evaluation_set(args: argparse.Namespace) -> int:
    print(upload_evaluation_set(_stage(args), Path(args.path), args.profile))
    return 0


def _watch(args: argparse.Namespace) -> int:
    stage = _stage(args)
    refuse_unknown_run(stage, args.run_id)
    return _finish(stage, watch(stage, args.run_id, timeout=args.timeout), as_json=args.json)


def _outcome_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=24 * 3600, help="stop watching after this many seconds (default 86400)"
    )
    parser.add_argument("--json", action="store_true", help="print the run's facts as JSON instead of the outcome text")


def register(subparsers: argparse._SubParsersAction) -> None:
    submit_parser = subparsers.add_parser(
        "submit",
        help="upload a dataset to a profile (its upload starts a run), or start a run from invocation logs",
        epilog=f"With --watch, {OUTCOME_EXIT_HELP}.",
    )
    submit_parser.add_argument("path", nargs="?", help="a .jsonl file, or a folder with manifest.json (uploaded last)")
    submit_parser.add_argument(
        "--from-invocation-logs",
        action="store_true",
        help="start a run from the account's invocation logs the profile names (no upload)",
    )
    submit_parser.add_argument(
        "--profile", required=True, help="a profile deployed in the stage (refused before uploading otherwise)"
    )
    submit_parser.add_argument(
        "--watch", action="store_true", help="follow the run until it ends; the exit code is its outcome's"
    )
    _outcome_args(submit_parser)
    _stage_args(submit_parser)
    submit_parser.set_defaults(handler=_submit)

    evaluation_parser = subparsers.add_parser(
        "evaluation-set",
        help="upload a profile's evaluation set (JSONL of prompt + reference) where the profile expects it",
    )
    evaluation_parser.add_argument("path", help="the evaluation set: a JSONL file of prompts and reference answers")
    evaluation_parser.add_argument(
        "--profile", required=True, help="the deployed profile whose evaluation set this becomes"
    )
    _stage_args(evaluation_parser)
    evaluation_parser.set_defaults(handler=_evaluation_set)

    watch_parser = subparsers.add_parser(
        "watch", help="follow one run state by state; the exit code is its outcome's", epilog=f"{OUTCOME_EXIT_HELP}."
    )
    watch_parser.add_argument("run_id", help="the run id that `submit` printed")
    _outcome_args(watch_parser)
    _stage_args(watch_parser)
    watch_parser.set_defaults(handler=_watch)
