"""Step Functions: run executions with moto's ASL interpreter (the "parser" backend), everywhere.

Patches (each checked by tests/e2e/test_emulator_smoke.py):

1. ``moto.stepfunctions.models.stepfunctions_backends`` -> ``stepfunctions_parser_backends`` so state
   machines created by CloudFormation land in the executing backend.
2. ``StepFunctionsParserBackend.start_execution`` without ``name`` used the ARN ``...:None`` (the second
   unnamed run failed with ExecutionAlreadyExists): a uuid is used, as AWS does.
3. The interpreter runs on the emulated clock (``local.clock``): its threads count as work, and Wait
   states, Retry backoffs, TimeoutSeconds, HeartbeatSeconds and the execution's timeout wait in
   emulated time, which jumps to the next of them once nothing is working; history timestamps and
   ``$$`` times are emulated. StopExecution ends a task that waits for a task token (the execution
   ends ABORTED, as in AWS; moto left the task waiting and then reported its timeout instead).
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
import threading
import uuid
from typing import Any

from . import clock as clock_mod
from . import state
from .monkey import replace

_APPLIED = False


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    _send_task_failure_with_cause()
    _one_backend()
    _unnamed_executions_get_a_uuid()
    _interpreter_on_the_emulated_clock()
    _retry_backoff_on_the_emulated_clock()
    _stop_ends_waiting_tasks()
    _task_clients_take_no_emulated_time()
    _status_changes_to_eventbridge()
    _integer_failure_percentages()
    _APPLIED = True


def _integer_failure_percentages() -> None:
    """6. ``ToleratedFailurePercentage`` may be any number from 0 to 100, an integer too ("A number between 0 and
    100", https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html, read 2026-12-07), but
    moto's ASL grammar takes only a decimal there: the definition reaches the parser with it written as one."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original = AmazonStateLanguageParser.parse

    def as_decimal(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: float(value) if key == "ToleratedFailurePercentage" and type(value) is int else as_decimal(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [as_decimal(item) for item in node]
        return node

    def parse(definition: str) -> Any:
        try:
            rewritten = json.dumps(as_decimal(json.loads(definition)))
        except ValueError:
            rewritten = definition  # not JSON: the parser says why, as it would have
        return original(rewritten)

    replace(AmazonStateLanguageParser, "parse", staticmethod(parse))


def _send_task_failure_with_cause() -> None:
    """moto's SendTaskFailure response drops ``cause``; AWS hands it to the Catch as $.Cause."""
    import moto.stepfunctions.responses as sfn_responses
    from moto.core.responses import EmptyResult

    def send_task_failure(self: Any) -> EmptyResult:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    replace(sfn_responses.StepFunctionResponse, "send_task_failure", send_task_failure)


def _one_backend() -> None:
    """1. one backend for API calls and CloudFormation alike."""
    import moto.stepfunctions.models as sfn_models
    import moto.stepfunctions.responses as sfn_responses
    from moto.stepfunctions.parser import models as parser_models

    replace(sfn_models, "stepfunctions_backends", parser_models.stepfunctions_parser_backends)
    replace(sfn_responses, "stepfunctions_backends", parser_models.stepfunctions_parser_backends)


def _unnamed_executions_get_a_uuid() -> None:
    """2. unnamed executions get a uuid name."""
    from moto.stepfunctions.parser import models as parser_models

    original_start = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original_start(
            self,
            state_machine_arn,
            name=name or str(uuid.uuid4()),
            execution_input=execution_input,
            trace_header=trace_header,
        )

    replace(parser_models.StepFunctionsParserBackend, "start_execution", start_execution)


def _interpreter_on_the_emulated_clock() -> None:
    """3. Threads and events on the emulated clock (local.clock): every thread the interpreter starts is
    work until it ends or waits; Event.wait(timeout) and Thread.join(timeout) (state TimeoutSeconds,
    HeartbeatSeconds, the execution's TimeoutSeconds, task-token waits) wait in emulated time.
    Timestamps (history, $$.State.EnteredTime, start/stop dates) are emulated time too."""
    # Every module whose threads and clock are replaced must be imported before the loop below.
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every state component)
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: F401
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state  # noqa: F401
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp as ts_mod
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function as wf_mod
    from moto.stepfunctions.parser.asl.eval import environment, program_state  # noqa: F401
    from moto.stepfunctions.parser.backend import (
        execution,  # noqa: F401
        execution_worker,  # noqa: F401
    )

    shim = clock_mod.threading_module()
    emulated_now = clock_mod.emulated_time_modules(lambda: clock_mod.current().now())
    for name, module in list(sys.modules.items()):
        if (
            module is None
            or not name.startswith("moto.stepfunctions.parser")
            or name.endswith(".api")
            or ".antlr" in name
        ):
            continue
        clock_mod.use_emulated_threads(module, shim)
        if name.endswith("retrier_decl"):
            continue  # its ``time`` is replaced by _retry_backoff_on_the_emulated_clock
        clock_mod.use_emulated_time(module, emulated_now)

    # 3a. Wait: sleep on the emulated clock until the end, or until the execution stops
    def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        clock_mod.current().sleep(
            wait_seconds, interrupt=env.program_state_event, stopped=lambda: not env.is_running(), label="Wait"
        )

    replace(wf_mod.WaitFunction, "_wait_interval", _wait_interval)

    def _timestamp_wait_seconds(self: Any, env: Any) -> int:
        self.string.eval(env=env)
        timestamp = self._from_timestamp_string(timestamp=env.stack.pop())
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
        return int((timestamp - clock_mod.current().now_dt()).total_seconds())

    replace(ts_mod.Timestamp, "_get_wait_seconds", _timestamp_wait_seconds)


def _retry_backoff_on_the_emulated_clock() -> None:
    """3b. Retry backoff: the module's ``time.sleep`` is the only sleep in retrier_decl; it ends early
    when the execution stops (the retrier's env is kept per thread for that)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrying = threading.local()

    class _ClockTime:
        def __getattr__(self, name: str) -> Any:
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            env = getattr(retrying, "env", None)
            if env is None:
                clock_mod.current().sleep(seconds, label="Retry")
            else:
                clock_mod.current().sleep(
                    seconds, interrupt=env.program_state_event, stopped=lambda: not env.is_running(), label="Retry"
                )

    replace(retrier_decl, "time", _ClockTime())
    original_retrier_body = retrier_decl.RetrierDecl._eval_body

    def retrier_eval_body(self: Any, env: Any) -> Any:
        previous, retrying.env = getattr(retrying, "env", None), env
        try:
            return original_retrier_body(self, env)
        finally:
            retrying.env = previous

    replace(retrier_decl.RetrierDecl, "_eval_body", retrier_eval_body)


def _interrupt_callbacks(env: Any) -> None:
    pool = getattr(env.callback_pool_manager, "_pool", {})
    for endpoint in list(pool.values()):
        try:
            endpoint.interrupt_all()
        except Exception:
            pass


def _stop_ends_waiting_tasks() -> None:
    """3c. StopExecution ends a task waiting for a task token (moto left it waiting until its heartbeat
    or timeout, then the timeout error overwrote the stop and the execution ended FAILED with
    States.Timeout). A stopped or timed-out execution keeps that ending: errors that surface
    afterwards in its abandoned state are not its outcome."""
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state as execute_state_mod
    from moto.stepfunctions.parser.asl.eval import environment as environment_mod
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning, ProgramStopped, ProgramTimedOut

    environment = environment_mod.Environment
    original_set_stop = environment.set_stop
    original_set_timed_out = environment.set_timed_out
    original_set_error = environment.set_error

    def set_stop(self: Any, stop_date: Any, cause: Any, error: Any) -> None:
        original_set_stop(self, stop_date, cause, error)
        _interrupt_callbacks(self)

    def set_timed_out(self: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_timed_out(self)
        _interrupt_callbacks(self)

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self._program_state, (ProgramStopped, ProgramTimedOut)):
            return
        original_set_error(self, error)

    replace(environment, "set_stop", set_stop)
    replace(environment, "set_timed_out", set_timed_out)
    replace(environment, "set_error", set_error)

    execution_state = execute_state_mod.ExecutionState
    original_evaluate_with_timeout = execution_state._evaluate_with_timeout

    def evaluate_with_timeout(self: Any, env: Any) -> Any:
        try:
            return original_evaluate_with_timeout(self, env)
        except Exception:
            if isinstance(env._program_state, ProgramRunning):
                raise
            return None  # stopped or timed out meanwhile: no TaskFailed/Retry/Catch for the abandoned task

    replace(execution_state, "_evaluate_with_timeout", evaluate_with_timeout)


def _task_clients_take_no_emulated_time() -> None:
    """4. building the executor's boto3 client for each task takes no emulated time either; it signs as
    the state machine's role (or the task's Credentials role), which is who local.authz must check."""
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_mod

    original_client_for = boto_client_mod.boto_client_for

    @functools.wraps(original_client_for)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        with clock_mod.current().busy():
            client = original_client_for(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None)
        if role_arn:
            from botocore.credentials import Credentials

            from . import authz

            creds = authz.register_principal(role_arn, session="states")
            client._request_signer._credentials = Credentials(
                creds["aws_access_key_id"], creds["aws_secret_access_key"], creds["aws_session_token"]
            )
        return client

    # every module that imported the function by name gets the replacement too
    for module in [boto_client_mod, *list(sys.modules.values())]:
        if getattr(module, "boto_client_for", None) is original_client_for:
            replace(module, "boto_client_for", boto_client_for)


def _status_changes_to_eventbridge() -> None:
    """5. execution status changes -> EventBridge."""
    from moto.stepfunctions.parser.backend import execution as execution_mod

    original_start_exec = execution_mod.Execution.start
    original_terminated = execution_mod.BaseExecutionWorkerCommunication.terminated

    def execution_start(self: Any) -> None:
        if self.exec_worker:  # moto refuses a second start: no second RUNNING event either
            original_start_exec(self)
            return
        # Announced before the worker thread starts: an execution that fails at once (a Fail state first) would
        # otherwise put FAILED on the bus before RUNNING, which Step Functions never does.
        emit_status_change(self, "RUNNING")
        original_start_exec(self)

    def terminated(self: Any) -> None:
        original_terminated(self)
        if not isinstance(self, execution_mod.SyncExecutionWorkerCommunication):
            emit_status_change(self.execution)

    replace(execution_mod.Execution, "start", execution_start)
    replace(execution_mod.BaseExecutionWorkerCommunication, "terminated", terminated)


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
        events_ext.put_event(
            execution.account_id,
            execution.region_name,
            "aws.states",
            "Step Functions Execution Status Change",
            detail,
            [execution.exec_arn],
        )
        st.note("sfn.status_event", execution=execution.exec_arn, status=status)
    except Exception as exc:  # best effort, as in AWS
        st.note("sfn.status_event_failed", execution=execution.exec_arn, error=f"{type(exc).__name__}: {exc}")


def backend(account_id: str, region: str):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[account_id][region]
