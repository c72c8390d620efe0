"""Server mode: moto with the project's extensions on 127.0.0.1, for a CLI or demo in another process.

    python -m local.server --port 5005 [--time-scale 0.001] [--job-duration 3600]
                           [--lambda-mode inprocess|subprocess] [--auto-schedule]
                           [--detach [--deploy CDK_OUT] [--stacks GLOB] [--log FILE]]
    python -m local.server --port 5005 --stop

``--detach`` returns once the server answers (and, with ``--deploy``, once the stacks are deployed): see
``local.background``.

AWS APIs are served as by ``moto_server`` (point clients at ``--endpoint-url http://127.0.0.1:5005``
or ``AWS_ENDPOINT_URL``). The emulator's own controls are under ``/_emulator/`` (JSON in, JSON out):

    GET  /_emulator/health                      {"ok": true, "moto": "5.2.5", "now": ..., "auto": ...}
    POST /_emulator/deploy     {"cdk_out": "/abs/path/cdk.out", "stacks": "glob"?}  -> DeployResult
    POST /_emulator/advance    {"seconds": 3600}                     -> {"now": ...}
    POST /_emulator/settle     {"timeout": 60}                       -> {"now": ...}
    POST /_emulator/clock      {"auto": false}   (pause; true resumes) -> {"now", "auto", "busy"}
    POST /_emulator/tick
    POST /_emulator/fire-scheduled-rules {"name_contains": "Poll"}  -> {"fired": [rule ARNs]}
    POST /_emulator/faults     {"method": "throttle", "kwargs": {"operation": "...", "times": 2}}
    GET  /_emulator/faults                      {"fired": [...]}
    POST /_emulator/settings   {"job_duration": 60, ...}
    POST /_emulator/wait-idle  {"timeout": 30}
    GET  /_emulator/journal                     [...]
    GET  /_emulator/invocations                 [...]
    GET  /_emulator/traces                      [{"function", "document"}, ...]
    POST /_emulator/reset                       every backend and the emulator state, as new
    POST /_emulator/shutdown                    stop serving (``--stop``)

``local.remote.RemoteEmulator`` wraps these.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from . import converse_ext, lambda_runtime, patches, state
from .clock import Clock
from .faults import Faults

_FAULT_METHODS = {
    "throttle",
    "deny",
    "api_error",
    "fail_job",
    "stop_job",
    "lose_job_event",
    "fail_endpoint",
    "stall_endpoint",
    "degrade_candidate",
    "clear",
}


class ControlApp:
    """WSGI middleware: ``/_emulator/*`` here, everything else to moto."""

    def __init__(self, moto_app, ticker: patches.Ticker, account: str, region: str):
        self.moto_app = moto_app
        self.stop: Any = None  # set once the server exists: how /_emulator/shutdown stops it
        self.ticker = ticker
        self.account = account
        self.region = region

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_emulator/"):
            return self.moto_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            status, payload = 200, self.handle(environ["REQUEST_METHOD"], path[len("/_emulator/") :], body)
        except Exception as exc:  # report, keep serving
            from .deploy import DeployError

            status = 400 if isinstance(exc, (DeployError, ValueError, TypeError, KeyError, LookupError)) else 500
            payload = {"error": type(exc).__name__, "message": str(exc)}
            if getattr(exc, "resource", None):
                payload["resource"] = list(exc.resource)
            if getattr(exc, "stack", None):
                payload["stack"] = exc.stack
        data = json.dumps(payload, default=str).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'ERROR'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def handle(self, method: str, action: str, body: dict[str, Any]) -> Any:
        control = getattr(self, "_" + action.replace("-", "_"), None) if action in _CONTROLS else None
        if control is None:
            raise LookupError(f"no such control: {method} /_emulator/{action}")
        return control(method, body)

    # One method per control, named after it ("wait-idle" -> _wait_idle); each takes (method, body).
    def _health(self, method: str, body: dict[str, Any]) -> Any:
        import moto

        clock = state.current().clock
        return {"ok": True, "moto": moto.__version__, "now": clock.iso(), "auto": clock.auto}

    def _deploy(self, method: str, body: dict[str, Any]) -> Any:
        from .deploy import deploy

        return deploy(body["cdk_out"], stacks=body.get("stacks")).to_json()

    def _advance(self, method: str, body: dict[str, Any]) -> Any:
        now = state.current().clock.advance(float(body.get("seconds", 0)))
        self.ticker.tick()
        return {"now": now}

    def _settle(self, method: str, body: dict[str, Any]) -> Any:
        return {"now": state.current().clock.settle(float(body.get("timeout", 60)))}

    def _clock(self, method: str, body: dict[str, Any]) -> Any:
        clock = state.current().clock
        if "auto" in body:
            clock.set_auto(bool(body["auto"]))
        return {"now": clock.now(), "auto": clock.auto, "busy": clock.busy_count()}

    def _tick(self, method: str, body: dict[str, Any]) -> Any:
        self.ticker.tick()
        return {"now": state.current().clock.now()}

    def _fire_scheduled_rules(self, method: str, body: dict[str, Any]) -> Any:
        from .events_ext import fire_scheduled_rules

        return {"fired": fire_scheduled_rules(body.get("name_contains"), self.account)}

    def _faults(self, method: str, body: dict[str, Any]) -> Any:
        faults = state.current().faults
        if method == "GET":
            return {"fired": faults.fired}
        if body.get("method") not in _FAULT_METHODS:
            raise ValueError(f"unknown fault {body.get('method')!r}; one of {sorted(_FAULT_METHODS)}")
        getattr(faults, body["method"])(**(body.get("kwargs") or {}))
        return {"ok": True}

    def _settings(self, method: str, body: dict[str, Any]) -> Any:
        settings = state.current().settings
        for key, value in body.items():
            if not hasattr(settings, key):
                raise KeyError(f"unknown setting {key!r}")
            setattr(settings, key, value)
        return settings.__dict__

    def _wait_idle(self, method: str, body: dict[str, Any]) -> Any:
        return {"idle": state.current().wait_idle(float(body.get("timeout", 30)))}

    def _journal(self, method: str, body: dict[str, Any]) -> Any:
        return state.current().journal

    def _invocations(self, method: str, body: dict[str, Any]) -> Any:
        return lambda_runtime.INVOCATIONS

    def _traces(self, method: str, body: dict[str, Any]) -> Any:
        return lambda_runtime.TRACES

    def _reset(self, method: str, body: dict[str, Any]) -> Any:
        reset()
        return {"ok": True}

    def _shutdown(self, method: str, body: dict[str, Any]) -> Any:
        if self.stop is None:
            raise LookupError("this server cannot be stopped over HTTP")
        self.stop()
        return {"ok": True}


_CONTROLS = frozenset(
    {
        "health",
        "deploy",
        "advance",
        "settle",
        "clock",
        "tick",
        "fire-scheduled-rules",
        "faults",
        "settings",
        "wait-idle",
        "journal",
        "invocations",
        "traces",
        "reset",
        "shutdown",
    }
)


def reset() -> None:
    from moto.moto_api import _internal  # noqa: F401
    from moto.moto_api._internal.models import moto_api_backend

    from .emulator import stop_running_executions

    st = state.current()
    st.closing = True
    try:
        stop_running_executions()
    finally:
        st.closing = False
    moto_api_backend.reset()
    lambda_runtime.reset()
    converse_ext.clear_cache()
    st = state.current()
    st.faults.clear()
    st.journal.clear()
    st.schedule_marks.clear()


def st_clock_auto(args) -> bool:
    return args.time_scale != 0


def build_state(args) -> state.EmulatorState:
    st = state.EmulatorState(clock=Clock(args.time_scale, args.timeout_scale), faults=Faults())
    st.settings.job_duration = args.job_duration
    st.settings.lambda_mode = args.lambda_mode
    st.settings.auto_schedule = args.auto_schedule
    st.settings.endpoint_url = f"http://127.0.0.1:{args.port}"
    return st


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", "-p", type=int, default=5005)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.001,
        help="0: emulated time moves only with /_emulator/advance; else it moves on its own (discrete-event time, see local.clock); the value is otherwise ignored",
    )
    parser.add_argument("--timeout-scale", type=float, default=None, help="ignored (timeouts are emulated durations)")
    parser.add_argument("--job-duration", type=float, default=3600.0, help="emulated seconds a customization job runs")
    parser.add_argument("--lambda-mode", choices=["inprocess", "subprocess"], default="inprocess")
    parser.add_argument("--auto-schedule", action="store_true", help="fire rate() rules as emulated time passes")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--detach", action="store_true", help="run in the background; return once the server answers (see --deploy)"
    )
    parser.add_argument(
        "--deploy", metavar="CDK_OUT", help="with --detach: deploy this cloud assembly before returning"
    )
    parser.add_argument(
        "--stacks",
        default="Tuneforge-dev-*",
        help="with --deploy: the stacks to deploy, a glob (default Tuneforge-dev-*)",
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        help="with --detach: the server's output (default tuneforge-emulator-PORT.log in the temporary folder)",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop the server answering on --port, and wait until it has"
    )
    args = parser.parse_args(argv)
    if args.deploy and not args.detach:
        parser.error("--deploy needs --detach (a foreground server never returns to deploy)")
    if args.detach or args.stop:
        from . import background

        sys.exit(background.stop(args) if args.stop else background.detach(args))

    endpoint = f"http://127.0.0.1:{args.port}"
    os.environ["MOTO_PORT"] = str(args.port)
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # handlers running in this process call back over HTTP
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)
    os.environ.setdefault("AWS_REGION", args.region)

    from moto.core.config import default_user_config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    default_user_config.setdefault("lambda", {})["use_docker"] = True  # our _invoke_lambda, not the echo backend

    patches.apply()
    state.install(build_state(args))
    ticker = patches.Ticker()
    ticker.start()
    app = ControlApp(DomainDispatcherApplication(create_backend_app), ticker, args.account, args.region)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    app.stop = shutdown
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(
        f"tuneforge emulator (moto + extensions) on {endpoint}  time={'auto' if st_clock_auto(args) else 'manual'}  lambda={args.lambda_mode}",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        ticker.stop()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
