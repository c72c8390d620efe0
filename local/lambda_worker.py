"""One Lambda invocation in a fresh interpreter (``lambda_mode="subprocess"``).

Reads ``{"handler", "event", "function_name", "function_arn", "memory_size", "timeout"}`` on stdin,
imports the handler from the current directory (the unpacked code; it is also first on PYTHONPATH),
and writes ``{"payload", "errored", "traces"}`` to the file named by argv[1]. Handler output goes to
stdout and stderr untouched. The environment (function variables, AWS_ENDPOINT_URL) is set by the
parent. With a ``trace_header`` (an Active function) the X-Ray recorder gets the in-memory emitter
before the handler is imported and ``_X_AMZN_TRACE_ID`` is set after, as in-process; what it would
have sent to the daemon comes back as ``traces``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class _Context:
    def __init__(self, request: dict):
        self.function_name = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = request["function_arn"]
        self.memory_limit_in_mb = request["memory_size"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "emulated"
        self.identity = None
        self.client_context = None
        self._deadline = time.time() + request["timeout"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _emulated_time() -> None:
    """The function's own modules (those under the code directory) read the emulated time the parent
    passed for "now": it does not move while a handler runs (see local.lambda_runtime)."""
    now = os.environ.get("TUNEFORGE_EMULATED_NOW")
    if not now:
        return
    import importlib.util

    # local/clock.py by path: importing the ``local`` package would load moto into the worker
    spec = importlib.util.spec_from_file_location(
        "_tf_clock", os.path.join(os.path.dirname(os.path.abspath(__file__)), "clock.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError("local/clock.py not found beside local/lambda_worker.py")
    clock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(clock)
    replacements = clock.emulated_time_modules(lambda: float(now))
    root = os.path.realpath(os.getcwd()) + os.sep
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path and os.path.realpath(path).startswith(root):
            clock.use_emulated_time(module, replacements)


def main() -> None:
    out_path = sys.argv[1]
    request = json.loads(sys.stdin.read())
    module_name, _, func_name = request["handler"].rpartition(".")
    traces: list[dict] = []
    try:
        if request.get("trace_header"):
            from local.lambda_runtime import _install_emitter

            _install_emitter(request["function_name"], traces)
        module = importlib.import_module(module_name)
        _emulated_time()
        handler = getattr(module, func_name)
        if request.get("trace_header"):
            os.environ["_X_AMZN_TRACE_ID"] = request["trace_header"]
        result = {"payload": handler(request["event"], _Context(request)), "errored": False}
    except Exception as exc:
        result = {
            "payload": {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[-8:],
            },
            "errored": True,
        }
    result["traces"] = [t["document"] for t in traces]
    with open(out_path, "w") as fh:
        json.dump(result, fh, default=str)


if __name__ == "__main__":
    main()
