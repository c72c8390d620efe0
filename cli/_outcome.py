"""What ``submit --watch`` and ``watch`` say about a run: its outcome first, then the details, and the exit code.

The outcome is the domain's (lambdas/domain/outcomes.py), from what the run recorded; a rejection's reasons come
from its validation report in S3, read with the caller's credentials, sorted by file and line.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from cli._common import EXIT_STILL_RUNNING, OUTCOME_EXIT, UsageError
from lambdas.domain.names import profile_parameter, profile_parameter_prefix
from lambdas.domain.outcomes import Outcome, outcome_of_run, rejection_reasons
from lambdas.domain.report import ValidationReport
from lambdas.domain.sources import parse_s3_uri

if TYPE_CHECKING:
    from cli.runs import RunView, Stage

RECENT_RUNS = 5


def exit_code(outcome: Outcome | None) -> int:
    return EXIT_STILL_RUNNING if outcome is None else OUTCOME_EXIT[outcome]


def end_of(view: RunView) -> tuple[Outcome | None, list[str]]:
    """The run's outcome and what a person reads about it, the header line first."""
    item = view.item or {}
    outcome = outcome_of_run(item, view.status)
    profile = item.get("profile") or "?"
    if outcome is None:
        return None, [f"RUNNING: run {view.run_id} ({profile}) had not ended when watching stopped ({view.status})"]
    return outcome, [f"{outcome.value}: run {view.run_id} ({profile})", *_details(outcome, view, item)]


def _details(outcome: Outcome, view: RunView, item: dict[str, Any]) -> list[str]:
    if outcome is Outcome.REJECTED:
        return []  # rejected_details needs the stage to read the report: the caller adds them
    if outcome in (Outcome.PROMOTED, Outcome.NOT_PROMOTED):
        lines = [f"decision: {item.get('decision')}" + _superseded(item)]
        lines += [f"gate: {item['gate_summary']}"] if item.get("gate_summary") else []
        lines += [f"model: {item['output_model_arn']}"] if item.get("output_model_arn") else []
        lines += [f"serving: {item['champion_invocable_arn']}"] if item.get("champion_invocable_arn") else []
        lines += _cost(item)
        lines += [f"evaluation report: {item['evaluation_html']}"] if item.get("evaluation_html") else []
        return lines
    lines = [f"error: {view.error or item.get('error') or outcome.value}"]
    lines += [f"cause: {item.get('error_cause') or view.cause}"] if item.get("error_cause") or view.cause else []
    lines += _cost(item)
    left = [e.get("arn") or e.get("name") for e in item.get("endpoints") or [] if not e.get("deleted_at")]
    lines += [f"endpoints still there: {', '.join(map(str, left))}"] if left else []
    lines += [f"execution: {item['execution_arn']}"] if item.get("execution_arn") else []
    return lines


def _superseded(item: dict[str, Any]) -> str:
    return f" (a newer upload's run {item['superseded_by']} holds the champion)" if item.get("superseded_by") else ""


def _cost(item: dict[str, Any]) -> list[str]:
    spent = (item.get("actual_cost") or {}).get("total_usd")
    estimate = (item.get("estimate") or {}).get("total_usd")
    return [f"cost: {spent} USD spent (estimated {estimate} USD)"] if spent is not None else []


def rejected_details(stage: Stage, item: dict[str, Any]) -> list[str]:
    """Why the dataset was refused, by file and line, and what to do; the report is read from S3."""
    report_uri = item.get("validation_report")
    lines: list[str] = [f"dataset: {item.get('dataset_uri')} (version {item.get('dataset_version')})"]
    reasons = list(item.get("validation_beyond_report") or [])
    report, unread = _read_report(stage, report_uri)
    if report is not None:
        reasons += rejection_reasons(report) if not report.valid else []
    if reasons:
        counted = f"{report.error_count} error(s), {report.warning_count} warning(s)" if report else "problems"
        lines.append(f"{counted}, by file and line:")
        lines += [f"  {reason}" for reason in reasons]
    elif item.get("estimate_summary"):
        lines.append(f"over budget: {item['estimate_summary']}")
    if unread:
        lines.append(f"could not read the validation report: {unread}")
    where = f"the full report is {report_uri}" if report_uri else "no report was written"
    if item.get("estimate_summary") and not reasons:
        lines.append(f"what to do: raise the profile's budget_cap_usd or upload a smaller dataset; {where}")
    else:
        lines.append(f"what to do: fix these lines in your file and upload it again; {where}")
    return lines


def _read_report(stage: Stage, uri: str | None) -> tuple[ValidationReport | None, str | None]:
    if not uri:
        return None, None
    try:
        bucket, key = parse_s3_uri(uri)
        body = stage.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return ValidationReport.from_dict(json.loads(body)), None
    except Exception as error:  # any failure to read is reported beside the report's address
        return None, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def run_exists(stage: Stage, run_id: str) -> bool:
    """A registry item or an execution: StartRun has handled the upload's event."""
    if stage.registry.get(run_id) is not None:
        return True
    sfn = stage.client("stepfunctions")
    try:
        sfn.describe_execution(executionArn=stage.execution_arn(run_id))
        return True
    except sfn.exceptions.ExecutionDoesNotExist:
        return False


def refuse_unknown_run(stage: Stage, run_id: str) -> None:
    """``watch`` on an id with neither an execution nor a registry item: say so now, not after the timeout."""
    if run_exists(stage, run_id):
        return
    recent = recent_runs(stage)
    listed = "; recent runs: " + ", ".join(recent) if recent else "; no runs yet"
    raise UsageError(f"no run {run_id!r} in stage {stage.name!r}{listed}")


def recent_runs(stage: Stage, limit: int = RECENT_RUNS) -> list[str]:
    table = stage.session.resource("dynamodb", endpoint_url=stage.endpoint_url).Table(stage.runs_table)
    items = [
        i for i in table.scan(Limit=1000).get("Items", []) if "item_kind" not in i
    ]  # runs only: no upload or folder item
    items.sort(key=lambda i: str(i.get("started_at", "")), reverse=True)
    return [str(i["run_id"]) for i in items[:limit]]


def require_deployed_profile(stage: Stage, profile: str) -> None:
    """Refuse, before anything is uploaded, a profile the stage does not have: its upload would start nothing."""
    ssm = stage.client("ssm")
    try:
        ssm.get_parameter(Name=profile_parameter(stage.name, profile))
        return
    except ssm.exceptions.ParameterNotFound:
        pass
    except ssm.exceptions.ClientError as error:
        # A data owner's role may upload without reading the stage's parameters (the uploader role does not):
        # the upload goes ahead, and a misfiled one is announced on the topic by StartRun.
        if error.response["Error"]["Code"].startswith("AccessDenied"):
            return
        raise
    prefix = profile_parameter_prefix(stage.name) + "/"
    deployed: list[str] = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix.rstrip("/")):
        deployed += [p["Name"].removeprefix(prefix) for p in page.get("Parameters", [])]
    raise UsageError(
        f"no profile {profile!r} is deployed in stage {stage.name!r}; deployed profiles: "
        + (", ".join(sorted(deployed)) or "none")
        + " (nothing was uploaded)"
    )


# What a run waits for in each state it can rest in, for "waiting for …" while nothing changes.
WAITING_FOR = {
    "Validate": "validation of the dataset",
    "Estimate": "the cost estimate",
    "StartCustomization": "Bedrock to accept the customization job",
    "WaitForJob": "the customization job",
    "DeployEndpoint": "the evaluation endpoint to be created",
    "WaitBeforeNextEndpointCheck": "the evaluation endpoint to be ready",
    "CheckEndpoint": "the evaluation endpoint to be ready",
    "PrepareEvaluation": "the evaluation set to be split into batches",
    "EvaluateBatches": "the batches of the evaluation set (candidate and baseline answering)",
    "Evaluate": "the evaluation's metrics and the gate",
    "Promote": "the production throughput to be bought",
    "WaitBeforeNextThroughputCheck": "the production throughput to be ready",
    "CheckThroughput": "the production throughput to be ready",
    "Teardown": "the evaluation endpoints to be deleted",
    "Cleanup": "the cleanup after a failure",
}


def waiting_for(view: RunView, since: float, now: float | None = None) -> str:
    """One line: what the run is waiting for and for how long nothing has changed."""
    minutes = int(((now if now is not None else time.monotonic()) - since) // 60)
    running = [name for name, state, _ in view.states or [] if state == "running"]
    if view.status == "PENDING" and not view.item:
        what = "the upload's event to start the run"
    elif running:
        what = WAITING_FOR.get(running[-1], running[-1])
        job = (view.item or {}).get("job_arn")
        if running[-1] == "WaitForJob" and job:
            what += f" {job.rsplit('/', 1)[-1]} ({(view.item or {}).get('job_status') or 'InProgress'})"
    else:
        what = "the next state"
    return f"waiting for {what} ({minutes} min)"
