"""Step Functions: run executions with moto's ASL interpreter (the "parser" backend), everywhere.

Patches (each checked by tests/e2e/test_emulator_smoke.py):

1. ``moto.stepfunctions.models.stepfunctions_backends`` -> ``stepfunctions_parser_backends`` so state
   machines created by CloudFormation land in the executing backend.
2. ``StepFunctionsParserBackend.start_execution`` without ``name`` used the ARN ``...:None`` (the second
   unnamed run failed with ExecutionAlreadyExists): a uuid is used, as AWS does.
3. Wait states and Retry backoffs sleep on the emulated clock (``local.clock.Clock``), so delays are
   scaled without changing the definition. Timeouts and heartbeats are scaled by ``timeout_scale``.
"""

from __future__ import annotations

import functools

import datetime
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
    def boto_client_for(*args, **kwargs):
        with state.current().clock.hold():
            return original_client_for(*args, **kwargs)

    boto_client_mod.boto_client_for = boto_client_for
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (imports every state component)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401

    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original_client_for:
            module.boto_client_for = boto_client_for
    _APPLIED = True


def backend(account_id: str, region: str):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[account_id][region]
