"""Step Functions: run executions with moto's ASL interpreter (the "parser" backend), everywhere.

Patches (each checked by tests/e2e/test_emulator_smoke.py):

1. ``moto.stepfunctions.models.stepfunctions_backends`` -> ``stepfunctions_parser_backends`` so state
   machines created by CloudFormation land in the executing backend.
2. ``StepFunctionsParserBackend.start_execution`` without ``name`` used the ARN ``...:None`` (the second
   unnamed run failed with ExecutionAlreadyExists): a uuid is used, as AWS does.
3. Wait states and Retry backoffs sleep on the emulated clock (``local.clock.Clock``), so delays are
   scaled without changing the definition. Timeouts and heartbeats are scaled by ``timeout_scale``.
4. Every execution status change (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) is put on the default
   bus as ``Step Functions Execution Status Change`` from ``aws.states``, with the detail Step Functions
   sends, so rules such as "clean up after a timed-out execution" run. Not while the emulator shuts
   down (it aborts what still runs).
"""

from __future__ import annotations

import datetime
import functools
import json
import sys
import uuid

from . import state

_APPLIED = False


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    import moto.stepfunctions.models as sfn_models
    import moto.stepfunctions.responses as sfn_responses
    from moto.stepfunctions.parser import models as parser_models
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts import heartbeat as hb_mod
    from moto.stepfunctions.parser.asl.component.common.timeouts import timeout as to_mod
    from moto.stepfunctions.parser.asl.component.program import program as program_mod
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp as ts_mod
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function as wf_mod

    # moto's SendTaskFailure response drops ``cause``; AWS hands it to the Catch as $.Cause.
    def send_task_failure(self):
        from moto.core.responses import EmptyResult

        self.stepfunction_backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"))
        return EmptyResult()

    sfn_responses.StepFunctionResponse.send_task_failure = send_task_failure

    # 1. one backend for API calls and CloudFormation alike
    sfn_models.stepfunctions_backends = parser_models.stepfunctions_parser_backends
    sfn_responses.stepfunctions_backends = parser_models.stepfunctions_parser_backends

    # 2. unnamed executions get a uuid name
    original_start = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if not name:
            name = str(uuid.uuid4())
        return original_start(self, state_machine_arn, name=name, execution_input=execution_input, trace_header=trace_header)

    parser_models.StepFunctionsParserBackend.start_execution = start_execution

    # 3a. Wait: sleep on the emulated clock
    def _wait_interval(self, env, wait_seconds):
        state.current().clock.sleep(wait_seconds, interrupt=env.program_state_event, stopped=lambda: not env.is_running())

    wf_mod.WaitFunction._wait_interval = _wait_interval

    def _timestamp_wait_seconds(self, env):
        self.string.eval(env=env)
        timestamp = self._from_timestamp_string(timestamp=env.stack.pop())
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
        return int((timestamp - state.current().clock.now_dt()).total_seconds())

    ts_mod.Timestamp._get_wait_seconds = _timestamp_wait_seconds

    # 3b. Retry backoff: the module's ``time.sleep`` is the only sleep in retrier_decl
    class _ClockTime:
        def __getattr__(self, name):
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            state.current().clock.sleep(seconds)

    retrier_decl.time = _ClockTime()

    # 3c. Timeouts and heartbeats
    original_timeout_body = to_mod.Timeout._eval_body

    def timeout_eval_body(self, env):
        original_timeout_body(self, env)
        seconds = env.stack.pop()
        if not self.is_default_value():
            seconds = state.current().clock.scale_timeout(seconds)
        env.stack.append(seconds)

    to_mod.Timeout._eval_body = timeout_eval_body

    original_heartbeat_body = hb_mod.Heartbeat._eval_body

    def heartbeat_eval_body(self, env):
        original_heartbeat_body(self, env)
        env.stack.append(state.current().clock.scale_timeout(env.stack.pop()))

    hb_mod.Heartbeat._eval_body = heartbeat_eval_body

    original_program_eval = program_mod.Program.eval

    def program_eval(self, env):
        ts = self.timeout_seconds
        if ts is None or ts.is_default_value() or state.current().clock.timeout_scale is None:
            return original_program_eval(self, env)
        scaled = to_mod.TimeoutSeconds(1, is_default=False)
        object.__setattr__(scaled, "timeout_seconds", state.current().clock.scale_timeout(ts.timeout_seconds))
        self.timeout_seconds = scaled
        try:
            return original_program_eval(self, env)
        finally:
            self.timeout_seconds = ts

    program_mod.Program.eval = program_eval

    # 4. building the executor's boto3 client for each task takes no emulated time either
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_mod

    original_client_for = boto_client_mod.boto_client_for

    @functools.wraps(original_client_for)
    def boto_client_for(region, service, state_credentials=None):
        with state.current().clock.hold():
            client = original_client_for(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None)
        if role_arn:
            # Service integrations run as the state machine's role (or the task's Credentials role),
            # which is who local.authz must check: sign with that role's emulated credentials.
            from botocore.credentials import Credentials

            from . import authz

            creds = authz.register_principal(role_arn, session="states")
            client._request_signer._credentials = Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"], creds["aws_session_token"])
        return client

    boto_client_mod.boto_client_for = boto_client_for
    # 5. execution status changes -> EventBridge
    from moto.stepfunctions.parser.backend import execution as execution_mod

    original_start_exec = execution_mod.Execution.start

    def execution_start(self):
        original_start_exec(self)
        emit_status_change(self, "RUNNING")

    execution_mod.Execution.start = execution_start
    original_terminated = execution_mod.BaseExecutionWorkerCommunication.terminated

    def terminated(self):
        original_terminated(self)
        if not isinstance(self, execution_mod.SyncExecutionWorkerCommunication):
            emit_status_change(self.execution)

    execution_mod.BaseExecutionWorkerCommunication.terminated = terminated

    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every state component)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401

    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original_client_for:
            module.boto_client_for = boto_client_for
    _APPLIED = True


def _millis(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return int(float(value) * 1000)


def emit_status_change(execution, status: str | None = None) -> None:
    """``Step Functions Execution Status Change`` on the default bus, shaped as Step Functions sends it."""
    st = state.current()
    if st.closing or type(execution).__name__ == "SyncExecution":
        return
    from . import events_ext

    status = status or (execution.exec_status.value if execution.exec_status is not None else "RUNNING")
    output = None
    if status == "SUCCEEDED" and execution.output is not None:
        output = json.dumps(execution.output, separators=(",", ":"))
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": None if status == "RUNNING" else _millis(execution.stop_date),
        "input": json.dumps(execution.input_data, separators=(",", ":")),
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": None if status == "RUNNING" else execution.error,
        "cause": None if status == "RUNNING" else execution.cause,
    }
    try:
        events_ext.put_event(execution.account_id, execution.region_name, "aws.states", "Step Functions Execution Status Change", detail, [execution.exec_arn])
        st.note("sfn.status_event", execution=execution.exec_arn, status=status)
    except Exception as exc:  # best effort, as in AWS
        st.note("sfn.status_event_failed", execution=execution.exec_arn, error=f"{type(exc).__name__}: {exc}")


def backend(account_id: str, region: str):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[account_id][region]
