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

from . import clock as clock_mod
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
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp as ts_mod
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function as wf_mod

    # moto's SendTaskFailure response drops ``cause``; AWS hands it to the Catch as $.Cause.
    def send_task_failure(self):
        from moto.core.responses import EmptyResult

        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
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
        return original_start(
            self, state_machine_arn, name=name, execution_input=execution_input, trace_header=trace_header
        )

    parser_models.StepFunctionsParserBackend.start_execution = start_execution

    # 3. Threads and events on the emulated clock (local.clock): every thread the interpreter starts is
    #    work until it ends or waits; Event.wait(timeout) and Thread.join(timeout) (state TimeoutSeconds,
    #    HeartbeatSeconds, the execution's TimeoutSeconds, task-token waits) wait in emulated time.
    #    Timestamps (history, $$.State.EnteredTime, start/stop dates) are emulated time too.
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every state component)
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state as execute_state_mod
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401
    from moto.stepfunctions.parser.asl.eval import environment as environment_mod
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning, ProgramStopped, ProgramTimedOut
    from moto.stepfunctions.parser.backend import execution as execution_mod
    from moto.stepfunctions.parser.backend import execution_worker  # noqa: F401

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
            continue  # its ``time`` is replaced below
        clock_mod.use_emulated_time(module, emulated_now)

    # 3a. Wait: sleep on the emulated clock until the end, or until the execution stops
    def _wait_interval(self, env, wait_seconds):
        clock_mod.current().sleep(
            wait_seconds, interrupt=env.program_state_event, stopped=lambda: not env.is_running(), label="Wait"
        )

    wf_mod.WaitFunction._wait_interval = _wait_interval

    def _timestamp_wait_seconds(self, env):
        self.string.eval(env=env)
        timestamp = self._from_timestamp_string(timestamp=env.stack.pop())
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
        return int((timestamp - clock_mod.current().now_dt()).total_seconds())

    ts_mod.Timestamp._get_wait_seconds = _timestamp_wait_seconds

    # 3b. Retry backoff: the module's ``time.sleep`` is the only sleep in retrier_decl; it ends early
    #     when the execution stops (the retrier's env is kept per thread for that)
    retrying = threading.local()

    class _ClockTime:
        def __getattr__(self, name):
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            env = getattr(retrying, "env", None)
            if env is None:
                clock_mod.current().sleep(seconds, label="Retry")
            else:
                clock_mod.current().sleep(
                    seconds, interrupt=env.program_state_event, stopped=lambda: not env.is_running(), label="Retry"
                )

    retrier_decl.time = _ClockTime()
    original_retrier_body = retrier_decl.RetrierDecl._eval_body

    def retrier_eval_body(self, env):
        previous, retrying.env = getattr(retrying, "env", None), env
        try:
            return original_retrier_body(self, env)
        finally:
            retrying.env = previous

    retrier_decl.RetrierDecl._eval_body = retrier_eval_body

    # 3c. StopExecution ends a task waiting for a task token (moto left it waiting until its heartbeat
    #     or timeout, then the timeout error overwrote the stop and the execution ended FAILED with
    #     States.Timeout). A stopped or timed-out execution keeps that ending: errors that surface
    #     afterwards in its abandoned state are not its outcome.
    Environment = environment_mod.Environment

    def _interrupt_callbacks(env) -> None:
        pool = getattr(env.callback_pool_manager, "_pool", {})
        for endpoint in list(pool.values()):
            try:
                endpoint.interrupt_all()
            except Exception:
                pass

    original_set_stop = Environment.set_stop

    def set_stop(self, stop_date, cause, error):
        original_set_stop(self, stop_date, cause, error)
        _interrupt_callbacks(self)

    Environment.set_stop = set_stop

    original_set_timed_out = Environment.set_timed_out

    def set_timed_out(self):
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_timed_out(self)
        _interrupt_callbacks(self)

    Environment.set_timed_out = set_timed_out

    original_set_error = Environment.set_error

    def set_error(self, error):
        if isinstance(self._program_state, (ProgramStopped, ProgramTimedOut)):
            return
        original_set_error(self, error)

    Environment.set_error = set_error

    ExecutionState = execute_state_mod.ExecutionState
    original_evaluate_with_timeout = ExecutionState._evaluate_with_timeout

    def evaluate_with_timeout(self, env):
        try:
            return original_evaluate_with_timeout(self, env)
        except Exception:
            if isinstance(env._program_state, ProgramRunning):
                raise
            # stopped or timed out meanwhile: no TaskFailed/Retry/Catch for the abandoned task

    ExecutionState._evaluate_with_timeout = evaluate_with_timeout

    # 4. building the executor's boto3 client for each task takes no emulated time either
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_mod

    original_client_for = boto_client_mod.boto_client_for

    @functools.wraps(original_client_for)
    def boto_client_for(region, service, state_credentials=None):
        with clock_mod.current().busy():
            client = original_client_for(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None)
        if role_arn:
            # Service integrations run as the state machine's role (or the task's Credentials role),
            # which is who local.authz must check: sign with that role's emulated credentials.
            from botocore.credentials import Credentials

            from . import authz

            creds = authz.register_principal(role_arn, session="states")
            client._request_signer._credentials = Credentials(
                creds["aws_access_key_id"], creds["aws_secret_access_key"], creds["aws_session_token"]
            )
        return client

    boto_client_mod.boto_client_for = boto_client_for
    # 5. execution status changes -> EventBridge
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
