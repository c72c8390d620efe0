"""The offline AWS account: ``Emulator`` (in-process, for tests) and the driver API it shares with
``RemoteEmulator`` (server mode, ``local.remote``).

    with Emulator() as aws:                                   # emulated time moves on its own
        result = aws.deploy("cdk.out")                       # stacks, outputs, resources
        bucket = result.resources("AWS::S3::Bucket")[0]["physical_id"]
        aws.upload(bucket, "incoming/demo/data.jsonl", b"...")  # S3 event -> EventBridge -> targets
        arn = aws.wait_for_executions(count=1)[0]["executionArn"]
        run = aws.wait_for_execution(arn)                      # describe_execution, once finished
        aws.faults.throttle("CreateModelCustomizationJob", times=2)
        aws.pause()                                            # now time moves only with advance()
        aws.advance(3600)                                      # what is due within the hour happens
        aws.settle()                                           # ... and whatever that set off
        aws.fire_scheduled_rules()                             # the fallback poller's schedule
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, cast

from . import converse_ext, lambda_runtime, patches, state
from .backends import moto_backend
from .clock import Clock
from .deploy import DeployResult
from .deploy import deploy as _deploy
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

    def client(self, service: str, principal: str | None = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------------
    def upload(self, bucket: str, key: str, body: bytes | str | os.PathLike) -> dict:
        """PutObject, as a data owner would: S3 -> EventBridge notifications fire."""
        if isinstance(body, os.PathLike) or (isinstance(body, str) and os.path.exists(body) and "\n" not in body):
            body = Path(body).read_bytes()
        elif isinstance(body, str):
            body = body.encode()
        return self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    def allow_eventbridge(self, target_arn: str) -> None:
        """Let EventBridge rules of this account deliver to a Lambda function or an SQS queue, as the
        resource-based policy AWS requires (the function's permission, the queue's policy)."""
        service, name = target_arn.split(":")[2], target_arn.split(":")[-1]
        if service == "lambda":
            self.client("lambda").add_permission(
                FunctionName=target_arn,
                StatementId="eventbridge",
                Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com",
                SourceAccount=self.account,
            )
        elif service == "sqs":
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": target_arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": self.account}},
                    }
                ],
            }
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        else:
            raise ValueError(f"allow_eventbridge: {target_arn} is neither a Lambda function nor an SQS queue")

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

    def wait_for_executions(
        self, state_machine_arn: str | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[dict]:
        """Wait until at least ``count`` executions exist (e.g. started by an upload's event)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.executions(state_machine_arn)
            except AttributeError:
                # moto 5.2.5 lists an execution that another thread is still creating, whose status is not set
                # yet (parser/backend/execution.py: exec_status None); a moment later it has one.
                found = []
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

    def settle(self, timeout: float = 60.0) -> float:  # pragma: no cover - abstract
        """Wait until the emulator is idle and nothing is due that time would move to on its own
        (paused: nothing due now); returns the emulated time."""
        raise NotImplementedError

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
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

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

    Emulated time is discrete-event time (``local.clock``): it stands still while anything works and
    jumps to the next due wait or lifecycle change when nothing does, so outcomes do not depend on
    the machine's speed. ``auto_advance`` (default True): time moves on its own; False: only
    :meth:`advance` moves it (:meth:`pause` / :meth:`resume` switch later). ``time_scale`` is kept
    for old callers: ``0`` means ``auto_advance=False``, any other value is ignored, as is
    ``timeout_scale`` (timeouts are emulated durations like every other wait). Other keyword
    arguments set ``local.state.Settings`` (``job_duration``, ``provisioned_duration``,
    ``lambda_mode``, ``auto_schedule`` ...).
    """

    def __init__(
        self,
        *,
        time_scale: float = 0.001,
        timeout_scale: float | None = None,
        auto_advance: bool | None = None,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        principal: str | None = None,
        **settings: Any,
    ):
        from . import authz

        self.account = account
        self.region = region
        self.principal = principal or authz.OPERATOR.format(account=account)
        self.state = state.EmulatorState(clock=Clock(time_scale, timeout_scale, auto=auto_advance), faults=Faults())
        self.state.settings.account = account
        for key, value in settings.items():
            if not hasattr(self.state.settings, key):
                raise TypeError(f"unknown setting {key!r}")
            setattr(self.state.settings, key, value)
        if self.state.settings.lambda_mode != "inprocess":
            raise ValueError("the in-process Emulator runs Lambda in-process; use local.server for subprocess mode")
        self._mock: Any = None  # moto's MockAWS while started
        self._ticker = patches.Ticker()
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        from moto import mock_aws

        patches.apply()
        for key, value in {
            **_FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": None,
            "MOTO_ACCOUNT_ID": None,
        }.items():
            self._saved_env[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        state.install(self.state)
        lambda_runtime.reset()
        from . import authz

        authz.reset()
        converse_ext.clear_cache()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": True}})
        self._mock.start()
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop()
        self.state.closing = True
        stop_running_executions()
        self.state.clock.close()  # every wait on the clock returns now: what still runs winds down
        self.state.wait_idle(timeout=5)
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

    def client(self, service: str, principal: str | None = None):
        """A boto3 client that calls as ``principal`` (default: the driver's principal, see
        :meth:`acting_as`); ``local.authz.EMULATOR`` calls unchecked, as the emulator itself."""
        import boto3

        return boto3.client(service, region_name=self.region, **self._credentials(principal))

    def session(self, principal: str | None = None):
        """A boto3 session whose clients call as ``principal`` (for code that takes a session, like the CLI)."""
        import boto3

        return boto3.session.Session(region_name=self.region, **self._credentials(principal))

    def _credentials(self, principal: str | None) -> dict[str, str]:
        from . import authz

        return authz.register_principal(principal or self.principal, session="driver")

    def acting_as(self, principal: str) -> "PrincipalView":
        """The same account, with every driver call made as ``principal`` (a role ARN: a stage's
        uploader, someone else in the account ...)."""
        return PrincipalView(self, principal)

    def backend(self, service: str, region: str | None = None):
        """The moto backend object for a service (``"stepfunctions"`` is the executing one)."""
        return moto_backend(service, self.account, region or self.region)

    # -- control ------------------------------------------------------------------------------
    def deploy(self, cdk_out: str | os.PathLike, stacks: str | list[str] | None = None) -> DeployResult:
        """Deploy ``cdk_out``: every stack, or only those whose name matches the glob(s) ``stacks``
        (e.g. ``"Tuneforge-dev-*"`` for one stage of a multi-stage assembly)."""
        from . import authz

        with authz.unchecked():  # CloudFormation deploys with the deployer's own (admin) role
            return _deploy(cdk_out, stacks=stacks)

    def tick(self) -> None:
        """Apply lifecycles at the current emulated time now (the clock does it when they are due)."""
        self._ticker.tick()

    def advance(self, seconds: float) -> float:
        """Let ``seconds`` of emulated time pass: what is due on the way (Waits ending, timeouts, jobs
        finishing, endpoints ready, scheduled rules with ``auto_schedule``) happens in order, each
        once the emulator is idle again. Returns the new emulated time."""
        now = self.clock.advance(seconds)
        self.tick()
        return now

    def settle(self, timeout: float = 60.0) -> float:
        """Wait until the emulator is idle and nothing is due that time would move to on its own
        (paused: nothing due now); returns the emulated time. Raises ``local.clock.EmulatorBusy``
        when it keeps working for ``timeout`` wall seconds."""
        return self.clock.settle(timeout)

    def pause(self) -> None:
        """From now on emulated time moves only with :meth:`advance`."""
        self.clock.set_auto(False)

    def resume(self) -> None:
        """Emulated time moves on its own again (to the next due thing whenever the emulator is idle)."""
        self.clock.set_auto(True)

    def fire_scheduled_rules(self, name_contains: str | None = None) -> list[str]:
        from .events_ext import fire_scheduled_rules

        return fire_scheduled_rules(name_contains, self.account)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no EventBridge delivery is in flight."""
        return self.state.wait_idle(timeout)

    def complete_job(self, job: str, status: str = "Completed", message: str | None = None) -> None:
        """Finish a customization job now (by name or ARN), with the given terminal status."""
        from . import bedrock

        backend = self.backend("bedrock")
        with bedrock.LOCK:
            target = bedrock.find_job(backend, job)
            meta = bedrock.ext(backend).jobs[target.job_name]
            meta.outcome = None if status == "Completed" else {"status": status, "message": message}
            meta.due = self.clock.now()
        self.tick()

    def invocations(self) -> list[dict]:
        return list(lambda_runtime.INVOCATIONS)

    def traces(self, function: str | None = None) -> list[dict]:
        """X-Ray documents traced functions sent (to the stand-in daemon): segments and subsegments."""
        return [t["document"] for t in list(lambda_runtime.TRACES) if function is None or t["function"] == function]


class PrincipalView(Driver):
    """An emulator seen by another principal: the same account, clients signed as that principal."""

    def __init__(self, emulator: Driver, principal: str) -> None:
        self._emulator = emulator
        self.principal = principal
        self.account = emulator.account
        self.region = emulator.region

    def client(self, service: str, principal: str | None = None):
        return self._emulator.client(service, principal or self.principal)

    def __getattr__(self, name: str):
        return getattr(self._emulator, name)


def stop_running_executions() -> int:
    """Abort every RUNNING execution (their threads would otherwise outlive the emulated account)."""
    from datetime import datetime, timezone

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    stopped = 0
    for _account, _region, backend in list(stepfunctions_parser_backends.iter_backends()):
        for execution in cast(Any, backend)._get_executions(
            "RUNNING"
        ):  # moto types the dict's values as its base class
            try:
                execution.stop(
                    stop_date=datetime.now(tz=timezone.utc), error="Emulator.Stopped", cause="the emulator was stopped"
                )
                stopped += 1
            except Exception:
                pass
    return stopped


def dump_journal(journal: list[dict]) -> str:
    return "\n".join(json.dumps(entry, default=str) for entry in journal)


def current_account() -> str:
    """The emulated account of the installed emulator state (in-process or server)."""
    return state.current().settings.account
