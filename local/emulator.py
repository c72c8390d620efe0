"""The offline AWS account: ``Emulator`` (in-process, for tests) and the driver API it shares with
``RemoteEmulator`` (server mode, ``local.remote``).

    with Emulator(time_scale=0.0001) as aws:
        result = aws.deploy("cdk.out")                       # stacks, outputs, resources
        bucket = result.resources("AWS::S3::Bucket")[0]["physical_id"]
        aws.upload(bucket, "incoming/demo/data.jsonl", b"...")  # S3 event -> EventBridge -> targets
        arn = aws.wait_for_executions(count=1)[0]["executionArn"]
        run = aws.wait_for_execution(arn)                      # describe_execution, once finished
        aws.faults.throttle("CreateModelCustomizationJob", times=2)
        aws.advance(3600)                                      # emulated clock
        aws.fire_scheduled_rules()                             # the fallback poller's schedule
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from . import converse_ext, lambda_runtime, patches, state
from .clock import Clock
from .deploy import DeployResult, deploy as _deploy
from .faults import Faults

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class Driver:
    """What a test or the demo does with an emulated account, through boto3 clients only, so it is
    the same in-process and against a server. Subclasses provide ``client`` and the control calls."""

    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION

    def client(self, service: str):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------------
    def upload(self, bucket: str, key: str, body: bytes | str | os.PathLike) -> dict:
        """PutObject, as a data owner would: S3 -> EventBridge notifications fire."""
        if isinstance(body, os.PathLike) or (isinstance(body, str) and os.path.exists(body) and "\n" not in body):
            body = Path(body).read_bytes()
        elif isinstance(body, str):
            body = body.encode()
        return self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    # -- Step Functions ---------------------------------------------------------------------
    def state_machines(self) -> list[dict]:
        return self.client("stepfunctions").list_state_machines()["stateMachines"]

    def executions(self, state_machine_arn: str | None = None) -> list[dict]:
        sfn = self.client("stepfunctions")
        arns = [state_machine_arn] if state_machine_arn else [sm["stateMachineArn"] for sm in self.state_machines()]
        out: list[dict] = []
        for arn in arns:
            out.extend(sfn.list_executions(stateMachineArn=arn)["executions"])
        return sorted(out, key=lambda e: e["startDate"])

    def wait_for_executions(self, state_machine_arn: str | None = None, count: int = 1, timeout: float = 30.0) -> list[dict]:
        """Wait until at least ``count`` executions exist (e.g. started by an upload's event)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.executions(state_machine_arn)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} executions after {timeout}s, wanted {count}")
            time.sleep(0.02)

    def wait_for_execution(self, execution_arn: str, timeout: float = 60.0) -> dict:
        """describe_execution once the execution is no longer RUNNING."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            desc = sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] in TERMINAL:
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still {desc['status']} after {timeout}s")
            time.sleep(0.02)

    def history(self, execution_arn: str) -> list[dict]:
        sfn = self.client("stepfunctions")
        events, token = [], None
        while True:
            page = sfn.get_execution_history(executionArn=execution_arn, **({"nextToken": token} if token else {}))
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def states_entered(self, execution_arn: str) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history(execution_arn) if "stateEnteredEventDetails" in e]

    # -- Bedrock ------------------------------------------------------------------------------
    def endpoints(self) -> dict[str, list[dict]]:
        """Provisioned throughputs and custom-model deployments that exist now."""
        bedrock = self.client("bedrock")
        return {
            "provisioned": bedrock.list_provisioned_model_throughputs().get("provisionedModelSummaries", []),
            "deployments": bedrock.list_custom_model_deployments().get("modelDeploymentSummaries", []),
        }


class Emulator(Driver):
    """In-process emulated AWS account (moto ``mock_aws`` plus the project's extensions).

    ``time_scale``: wall seconds per emulated second (0.001: an emulated hour takes 3.6 s; 0: frozen,
    only :meth:`advance` and Wait states move time). ``timeout_scale``: the same for TimeoutSeconds /
    HeartbeatSeconds (default: not scaled). Other keyword arguments set ``local.state.Settings``
    (``job_duration``, ``provisioned_duration``, ``lambda_mode``, ``auto_schedule`` ...).
    """

    def __init__(self, *, time_scale: float = 0.001, timeout_scale: float | None = None, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, **settings: Any):
        self.account = account
        self.region = region
        self.state = state.EmulatorState(clock=Clock(time_scale, timeout_scale), faults=Faults())
        for key, value in settings.items():
            if not hasattr(self.state.settings, key):
                raise TypeError(f"unknown setting {key!r}")
            setattr(self.state.settings, key, value)
        if self.state.settings.lambda_mode != "inprocess":
            raise ValueError("the in-process Emulator runs Lambda in-process; use local.server for subprocess mode")
        self._mock = None
        self._ticker = patches.Ticker()
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        from moto import mock_aws

        patches.apply()
        for key, value in {**_FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, "AWS_ENDPOINT_URL": None, "MOTO_ACCOUNT_ID": None}.items():
            self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        state.install(self.state)
        lambda_runtime.reset()
        converse_ext.clear_cache()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": True}})
        self._mock.start()
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop()
        self.state.wait_idle(timeout=5)
        self.state.closing = True
        stop_running_executions()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        state.install(state.EmulatorState())

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- access -------------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def settings(self):
        return self.state.settings

    @property
    def journal(self) -> list[dict]:
        return self.state.journal

    def client(self, service: str):
        import boto3

        return boto3.client(service, region_name=self.region)

    def backend(self, service: str, region: str | None = None):
        """The moto backend object for a service (``"stepfunctions"`` is the executing one)."""
        from moto.backends import get_backend

        if service == "stepfunctions":
            from moto.stepfunctions.parser.models import stepfunctions_parser_backends

            return stepfunctions_parser_backends[self.account][region or self.region]
        region_key = "aws" if service in ("s3", "iam") else (region or self.region)
        return get_backend(service)[self.account][region_key]

    # -- control ------------------------------------------------------------------------------
    def deploy(self, cdk_out: str | os.PathLike, stacks: str | list[str] | None = None) -> DeployResult:
        """Deploy ``cdk_out``: every stack, or only those whose name matches the glob(s) ``stacks``
        (e.g. ``"Tuneforge-dev-*"`` for one stage of a multi-stage assembly)."""
        return _deploy(cdk_out, stacks=stacks)

    def tick(self) -> None:
        """Move lifecycles to the current emulated time now (the ticker does it every few ms)."""
        self._ticker.tick()

    def advance(self, seconds: float) -> float:
        """Jump the emulated clock forward and apply what became due (jobs finish, endpoints ready)."""
        now = self.clock.advance(seconds)
        self.tick()
        return now

    def fire_scheduled_rules(self, name_contains: str | None = None) -> list[str]:
        from .events_ext import fire_scheduled_rules

        return fire_scheduled_rules(name_contains, self.account)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no EventBridge delivery is in flight."""
        return self.state.wait_idle(timeout)

    def complete_job(self, job: str, status: str = "Completed", message: str | None = None) -> None:
        """Finish a customization job now (by name or ARN), with the given terminal status."""
        from . import bedrock_ext

        backend = self.backend("bedrock")
        with bedrock_ext.LOCK:
            target = bedrock_ext.find_job(backend, job)
            meta = bedrock_ext.ext(backend).jobs[target.job_name]
            meta.outcome = None if status == "Completed" else {"status": status, "message": message}
            meta.due = self.clock.now()
        self.tick()

    def invocations(self) -> list[dict]:
        return list(lambda_runtime.INVOCATIONS)

    def traces(self, function: str | None = None) -> list[dict]:
        """X-Ray documents traced functions sent (to the stand-in daemon): segments and subsegments."""
        return [t["document"] for t in list(lambda_runtime.TRACES) if function is None or t["function"] == function]


def stop_running_executions() -> int:
    """Abort every RUNNING execution (their threads would otherwise outlive the emulated account)."""
    from datetime import datetime, timezone

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    stopped = 0
    for _account, _region, backend in list(stepfunctions_parser_backends.iter_backends()):
        for execution in backend._get_executions("RUNNING"):
            try:
                execution.stop(stop_date=datetime.now(tz=timezone.utc), error="Emulator.Stopped", cause="the emulator was stopped")
                stopped += 1
            except Exception:
                pass
    return stopped


def dump_journal(journal: list[dict]) -> str:
    return "\n".join(json.dumps(entry, default=str) for entry in journal)
