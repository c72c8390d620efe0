"""Lambda without Docker: run the real handler from the function's deployed code.

``LambdaFunction._invoke_lambda`` is replaced by :func:`invoke`. The function's code is the zip moto
holds (``code_bytes``: the asset CloudFormation pointed at, or the inline ``ZipFile``), unpacked once
per code hash. Two ways to run it:

``inprocess`` (default)
    The handler runs in this interpreter, one invocation at a time (a re-entrant lock: a handler may
    invoke another function synchronously). Each function gets its own world:

    * modules: every top-level name the code ships (``index``, ``lambdas``, ``utils`` ...) plus
      ``aws_lambda_powertools`` and ``aws_xray_sdk`` is imported per function and swapped into
      ``sys.modules`` only while that function runs, so same-named modules never collide and
      Powertools and X-Ray SDK state (cold start, metric sets, Tracer provider, the recorder and what
      it patched) is per function;
    * patches: what a function's X-Ray SDK patched in shared modules (``botocore``'s
      ``BaseClient._make_api_call``, ``http.client`` ...: every ``wrapt`` patch, and the SDK's
      "patched" flags on those modules) is put in place only while that function runs, so the host,
      other threads between invocations and other functions call the unpatched originals;
    * Powertools loggers (``logging.getLogger(service)`` objects Powertools configured) are swapped
      the same way, so one function's appended keys never show in another's logs;
    * time: the function's own modules read the emulated clock for "now" (:func:`_emulated_time_for`);
    * environment: the function's variables plus the Lambda runtime ones, restored afterwards, with a
      default ``POWERTOOLS_METRICS_NAMESPACE`` so Metrics never raise for a missing namespace.
      Tracing as deployed: a function with ``TracingConfig: Active`` gets what Lambda sets for it
      (``AWS_XRAY_CONTEXT_MISSING=LOG_ERROR``, the daemon address, and per invocation, after the
      handler module is imported, ``_X_AMZN_TRACE_ID`` with a new sampled trace), so Powertools'
      Tracer patches and records for real; its recorder's emitter is an in-memory stand-in for the
      daemon, and what it would have sent is kept in :data:`TRACES`. Other functions (PassThrough)
      run with ``POWERTOOLS_TRACE_DISABLED=true``: nothing upstream sends them a sampled trace here.

``subprocess``
    One ``python -m local.lambda_worker`` per invocation, with the same environment plus
    ``AWS_ENDPOINT_URL`` pointing at the moto server. Only possible in server mode.

Either way an exception comes back as Lambda's error shape ``{"errorType", "errorMessage",
"stackTrace"}`` with ``FunctionError: Unhandled``, so ``Retry``/``Catch`` on error names work.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import clock as clock_mod
from . import state
from .lambda_environ import install_snapshot_environ, set_environ
from .monkey import replace

LOG = logging.getLogger("local.lambda")

_LOCK = threading.RLock()
_TURN = threading.local()  # .ran_ms: how long the calling thread's last in-process invocation ran once it had its turn
_CODE_ROOT = Path(tempfile.mkdtemp(prefix="tuneforge-lambda-code-"))
_ALWAYS_ISOLATED = ("aws_lambda_powertools", "aws_xray_sdk")
_APPLIED = False

#: invocation records (function, ms, error type), for measurements and debugging
INVOCATIONS: list[dict] = []
#: what traced functions' X-Ray SDK sent to the (stand-in) daemon: {"function", "document"}, the
#: document being the segment or subsegment as JSON (``trace_id``, ``id``, ``parent_id``, ``name`` ...)
TRACES: list[dict] = []

# What Lambda sets for a function with active tracing (Lambda developer guide, "Defined runtime
# environment variables"); the address is where Lambda's daemon listens, never reached here.
XRAY_DAEMON = ("169.254.79.129", "2000")
# Host variables a function never inherits: tracing is the function's own (the test driver's
# POWERTOOLS_TRACE_DISABLED must not turn an Active function's Tracer off).
_NOT_INHERITED = ("POWERTOOLS_TRACE_DISABLED", "_X_AMZN_TRACE_ID", "AWS_XRAY_", "_AWS_XRAY_")
_MISSING = object()
#: attributes of shared objects that some function's X-Ray SDK patched or flagged:
#: (id(owner), name) -> (owner, name, the host's own value or _MISSING)
_PATCH_POINTS: dict[tuple[int, str], tuple[Any, str, Any]] = {}


@dataclass
class _Image:
    """What one function has loaded: its modules and its Powertools loggers."""

    code_dir: Path
    top_names: frozenset[str]
    modules: dict[str, Any] = field(default_factory=dict)
    loggers: dict[str, Any] = field(default_factory=dict)
    #: the function's own boto3 default session: botocore caches the credentials a session first
    #: resolved, so a session shared between functions would call as whichever function ran first
    boto3_session: Any = None
    #: this function's values at the patch points: (id(owner), name) -> value
    patches: dict[tuple[int, str], Any] = field(default_factory=dict)
    emitter: Any = None  # _Emitter, once a traced function's recorder has it
    cold: bool = True


_IMAGES: dict[tuple[str, str], _Image] = {}


def _code_dir(fn) -> Path:
    code = fn.code_bytes or b""
    digest = hashlib.sha256(code).hexdigest()[:16]
    target = _CODE_ROOT / digest
    if not target.exists():
        tmp = _CODE_ROOT / f".{digest}.{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        if code:
            with zipfile.ZipFile(io.BytesIO(code)) as zf:
                zf.extractall(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another thread won
            pass
    return target


def _top_names(code_dir: Path) -> frozenset[str]:
    names = set(_ALWAYS_ISOLATED)
    for entry in code_dir.iterdir():
        if entry.is_dir() and not entry.name.endswith((".dist-info", ".egg-info")) and entry.name.isidentifier():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
    return frozenset(names)


def _image(fn) -> _Image:
    with _LOCK:
        code_dir = _code_dir(fn)
        key = (fn.function_arn, code_dir.name)
        image = _IMAGES.get(key)
        if image is None:
            image = _IMAGES[key] = _Image(code_dir, _top_names(code_dir))
        return image


def _tracing_active(fn) -> bool:
    return (getattr(fn, "tracing_config", None) or {}).get("Mode") == "Active"


def _trace_header() -> str:
    """A new sampled trace, as Lambda passes it to an Active function's invocation."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def _inherited(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.startswith(_NOT_INHERITED)}


def _runtime_env(fn, code_dir: Path) -> dict[str, str]:
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "emulated",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": fn.handler or "",
        "POWERTOOLS_METRICS_NAMESPACE": "Emulated",
    }
    active = _tracing_active(fn)
    if active:
        ip, port = XRAY_DAEMON
        env.update(
            {
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "AWS_XRAY_DAEMON_ADDRESS": f"{ip}:{port}",
                "_AWS_XRAY_DAEMON_ADDRESS": ip,
                "_AWS_XRAY_DAEMON_PORT": port,
            }
        )
    env.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
    if not active:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"  # PassThrough: no sampled trace reaches it here
    env.update(_role_credentials(fn))
    return env


def _role_credentials(fn) -> dict[str, str]:
    """Lambda hands the handler temporary credentials of its execution role; the emulator's say who
    calls (local.authz), and from which VPC when the function is attached to one."""
    from . import authz
    from .authz.world import World

    vpc_id = World(fn.account_id, fn.region).function_vpc(fn)
    return authz.credentials_for(fn.role, session=fn.function_name, vpc_id=vpc_id)


class _Emitter:
    """Stands in for the recorder's UDP emitter: keeps what it would send to the X-Ray daemon.

    Only what the invoking thread records is kept: while a function runs, its patches are in place
    for the whole process, and the emulator's other threads (an execution invoking the next task,
    the test driver) would otherwise be recorded in its trace."""

    def __init__(self, function_name: str, sink: list[dict]):
        self.function_name = function_name
        self.sink = sink
        self.thread: int | None = None
        self.ip, self.port = XRAY_DAEMON[0], int(XRAY_DAEMON[1])

    def send_entity(self, entity) -> None:
        if self.thread is not None and threading.get_ident() != self.thread:
            return
        try:
            self.sink.append({"function": self.function_name, "document": json.loads(entity.serialize())})
        except Exception:  # the UDP emitter logs and carries on too
            LOG.exception("could not record an X-Ray entity of %s", self.function_name)

    def set_daemon_address(self, address) -> None:
        pass


def _install_emitter(function_name: str, sink: list[dict]) -> _Emitter | None:
    """Import the function's X-Ray SDK (as its Tracer would, with the Lambda environment in place, so
    the recorder takes the Lambda context) and give its recorder the stand-in emitter."""
    try:
        from aws_xray_sdk.core import xray_recorder  # type: ignore[import-untyped]  # the SDK ships no type information
    except ImportError:
        return None
    xray_recorder.emitter = emitter = _Emitter(function_name, sink)
    return emitter


def _own(owner, name: str):
    try:
        return vars(owner).get(name, _MISSING)
    except TypeError:
        return getattr(owner, name, _MISSING)


def _put(owner, name: str, value) -> None:
    if value is not _MISSING:
        setattr(owner, name, value)
    elif name in getattr(owner, "__dict__", {}):
        delattr(owner, name)


def _module_of(owner):
    return owner if isinstance(owner, type(sys)) else sys.modules.get(getattr(owner, "__module__", None) or "")


def _enter_patches(image: _Image):
    """Put this function's patches in place (the host's originals where it has none) and record the
    ones it makes while it runs; returns what :func:`_leave_patches` needs to undo it."""
    saved = {key: _own(owner, name) for key, (owner, name, _host) in _PATCH_POINTS.items()}
    for key, (owner, name, host) in _PATCH_POINTS.items():
        _put(owner, name, image.patches.get(key, host))
    try:
        import wrapt.patches as wrapt_patches
    except ImportError:
        return saved, None, None
    previous = wrapt_patches.apply_patch

    def apply_patch(owner, name, replacement):
        key = (id(owner), name)
        if key not in _PATCH_POINTS:
            _PATCH_POINTS[key] = (owner, name, _own(owner, name))
        setattr(owner, name, replacement)
        image.patches[key] = replacement

    wrapt_patches.apply_patch = apply_patch
    return saved, wrapt_patches, previous


def _leave_patches(image: _Image, token) -> None:
    saved, wrapt_patches, previous = token
    if wrapt_patches is not None:
        wrapt_patches.apply_patch = previous
    # the X-Ray SDK flags a module it patched (``_xray_enabled``, ``__xray_patched``) and skips it when
    # flagged: the flags on the patched modules are the function's too
    for module in {
        id(m): m for m in (_module_of(owner) for owner, _n, _h in list(_PATCH_POINTS.values())) if m is not None
    }.values():
        for name in [n for n in vars(module) if "xray" in n.lower()]:
            key = (id(module), name)
            _PATCH_POINTS.setdefault(key, (module, name, _MISSING))
            image.patches[key] = vars(module)[name]
    for key, (owner, name, host) in _PATCH_POINTS.items():
        _put(owner, name, saved.get(key, host))


class LambdaContext:
    def __init__(self, fn, deadline: float):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "emulated"
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _is_powertools_logger(obj: Any) -> bool:
    return isinstance(obj, logging.Logger) and (
        getattr(obj, "powertools_handler", None) is not None or obj.name.startswith("aws_lambda_powertools")
    )


def _error(exc: BaseException) -> dict:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[-8:],
    }


def _run_inprocess(fn, event: Any) -> tuple[str, bool, str]:
    image = _image(fn)
    handler_path = fn.handler or "index.handler"
    module_name, _, func_name = handler_path.rpartition(".")
    with _LOCK:
        # Invocations take turns here: the duration Lambda would report starts once this one holds the lock.
        began = time.perf_counter()
        saved_env = os.environ.copy()
        host_modules = {n: m for n, m in sys.modules.items() if n.split(".", 1)[0] in image.top_names}
        for name in host_modules:
            del sys.modules[name]
        sys.modules.update(image.modules)
        manager = logging.Logger.manager
        host_loggers = {
            n: lg for n, lg in manager.loggerDict.items() if _is_powertools_logger(lg) or n in image.loggers
        }
        for name in host_loggers:
            del manager.loggerDict[name]
        manager.loggerDict.update(image.loggers)
        sys.path.insert(0, str(image.code_dir))
        import boto3

        host_session = boto3.DEFAULT_SESSION
        boto3.DEFAULT_SESSION = image.boto3_session
        patches = None
        try:
            set_environ({**_inherited(saved_env), **_runtime_env(fn, image.code_dir)})
            patches = _enter_patches(image)
            try:
                traced = _tracing_active(fn)
                if traced and image.emitter is None:
                    image.emitter = _install_emitter(fn.function_name, TRACES)
                module = __import__(module_name, fromlist=["_"]) if module_name else None
                _emulated_time_for(image)
                handler = getattr(module, func_name)
                if traced:  # per invocation, after the init phase, as the runtime client does
                    os.environ["_X_AMZN_TRACE_ID"] = _trace_header()
                    if image.emitter is not None:
                        image.emitter.thread = threading.get_ident()
                context = LambdaContext(fn, time.time() + float(fn.timeout or 3))
                result = handler(event, context)
                return json.dumps(result, default=str), False, ""
            except Exception as exc:  # the Lambda error shape
                return json.dumps(_error(exc)), True, "".join(traceback.format_exc())
        finally:
            _TURN.ran_ms = (time.perf_counter() - began) * 1000
            image.boto3_session = boto3.DEFAULT_SESSION
            boto3.DEFAULT_SESSION = host_session
            if patches is not None:
                _leave_patches(image, patches)
            set_environ(saved_env)
            try:
                sys.path.remove(str(image.code_dir))
            except ValueError:
                pass
            image.modules = {n: m for n, m in sys.modules.items() if n.split(".", 1)[0] in image.top_names}
            for name in image.modules:
                del sys.modules[name]
            sys.modules.update(host_modules)
            mine = {n: lg for n, lg in manager.loggerDict.items() if _is_powertools_logger(lg) or n in image.loggers}
            # children of a Powertools service logger ("service.child") belong to the function too
            roots = tuple(f"{n}." for n in mine)
            mine.update({n: lg for n, lg in manager.loggerDict.items() if roots and n.startswith(roots)})
            image.loggers = mine
            for name in mine:
                manager.loggerDict.pop(name, None)
            manager.loggerDict.update(host_loggers)
            image.cold = False


_EMULATED_NOW = clock_mod.emulated_time_modules(lambda: clock_mod.current().now())


def _emulated_time_for(image: _Image) -> None:
    """The function's own modules read the emulated clock for "now" (``datetime.now()``,
    ``time.time()``): in AWS a handler's clock is the one Bedrock and Step Functions keep, and here
    that is the emulated one (a check of how long an endpoint has been Creating must see emulated
    time). Libraries (Powertools included) keep the wall clock. Emulated time does not move while
    a handler runs."""
    for name, module in list(sys.modules.items()):
        top = name.split(".", 1)[0]
        if (
            module is None
            or top not in image.top_names
            or top in _ALWAYS_ISOLATED
            or getattr(module, "__tf_emulated_time__", False)
        ):
            continue
        clock_mod.use_emulated_time(module, _EMULATED_NOW)
        try:
            replace(module, "__tf_emulated_time__", True)
        except AttributeError:
            pass


def _run_subprocess(fn, event: Any) -> tuple[str, bool, str]:
    settings = state.current().settings
    if not settings.endpoint_url:
        raise RuntimeError("lambda_mode='subprocess' needs server mode (an endpoint URL the subprocess can reach)")
    image = _image(fn)
    env = {k: v for k, v in _inherited(os.environ.copy()).items() if not k.startswith(("MOTO_", "TEST_SERVER_MODE"))}
    env.update(_runtime_env(fn, image.code_dir))
    env["AWS_ENDPOINT_URL"] = settings.endpoint_url
    env["TUNEFORGE_EMULATED_NOW"] = repr(clock_mod.current().now())  # see _emulated_time_for
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    repo_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([str(image.code_dir), repo_root])
    request = {
        "handler": fn.handler or "index.handler",
        "event": event,
        "function_name": fn.function_name,
        "function_arn": fn.function_arn,
        "memory_size": int(fn.memory_size),
        "timeout": float(fn.timeout or 3),
        "trace_header": _trace_header() if _tracing_active(fn) else None,
    }
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        out_path = out.name
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "local.lambda_worker", out_path],
            input=json.dumps(request),
            text=True,
            capture_output=True,
            env=env,
            cwd=str(image.code_dir),
            timeout=max(float(fn.timeout or 3), 1.0) + 30,
        )
        try:
            with open(out_path) as fh:
                result = json.load(fh)
        except (OSError, ValueError):
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"worker exited {proc.returncode}: {proc.stderr[-2000:]}",
            }
            return json.dumps(error), True, proc.stderr
        TRACES.extend({"function": fn.function_name, "document": doc} for doc in result.get("traces") or [])
        return json.dumps(result["payload"]), bool(result["errored"]), proc.stderr
    finally:
        os.unlink(out_path)


def invoke(fn, event: Any) -> tuple[str, bool, str]:
    """Run the function on ``event``; returns (payload JSON, errored, logs)."""
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event or "{}")
        except ValueError:
            pass
    started = time.perf_counter()
    mode = state.current().settings.lambda_mode
    runner = _run_subprocess if mode == "subprocess" else _run_inprocess
    with clock_mod.current().busy():  # a handler is work: emulated time waits for it (see local.clock)
        payload, errored, logs = runner(fn, event)
    # In-process invocations run one at a time: the time spent waiting for the turn is not the function's.
    elapsed = _TURN.ran_ms if mode != "subprocess" else (time.perf_counter() - started) * 1000
    error_type = json.loads(payload).get("errorType") if errored else None
    INVOCATIONS.append({"function": fn.function_name, "ms": round(elapsed, 2), "mode": mode, "error": error_type})
    state.current().note("lambda", function=fn.function_name, ms=round(elapsed, 1), error=error_type)
    return payload, errored, logs


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    import base64

    from moto.awslambda import models as lambda_models

    install_snapshot_environ()

    def _invoke_lambda(self, event=None):
        return invoke(self, event)

    def fn_invoke(self, body, request_headers, response_headers):
        res, errored, logs = self._invoke_lambda(event=body)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        inv_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
        if inv_type == "RequestResponse":
            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode("utf-8")).decode("utf-8")
            return res.encode("utf-8")
        return res

    replace(lambda_models.LambdaFunction, "_invoke_lambda", _invoke_lambda)
    replace(lambda_models.LambdaFunction, "invoke", fn_invoke)

    # Layers that are not in the emulator (e.g. the public Powertools layer) are taken to provide
    # packages already installed here: record them instead of failing the function's creation.
    original_layers = lambda_models.LambdaFunction._get_layers_data

    def _get_layers_data(self, layers_versions_arns):
        try:
            return original_layers(self, layers_versions_arns)
        except lambda_models.UnknownLayerVersionException:
            return [{"Arn": arn, "CodeSize": 0} for arn in layers_versions_arns]

    replace(lambda_models.LambdaFunction, "_get_layers_data", _get_layers_data)

    # moto's CloudFormation create/update drop TracingConfig: keep it, so a function deployed with
    # ``Tracing: Active`` runs traced (see _runtime_env)
    original_create = lambda_models.LambdaFunction.__dict__["create_from_cloudformation_json"].__func__
    original_update = lambda_models.LambdaFunction.__dict__["update_from_cloudformation_json"].__func__

    def _tracing(cloudformation_json) -> dict:
        return (cloudformation_json.get("Properties") or {}).get("TracingConfig") or {"Mode": "PassThrough"}

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        fn = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        fn.tracing_config = _tracing(cloudformation_json)
        return fn

    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        fn = original_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        fn.tracing_config = _tracing(cloudformation_json)
        return fn

    for name, method in (
        ("create_from_cloudformation_json", create_from_cloudformation_json),
        ("update_from_cloudformation_json", update_from_cloudformation_json),
    ):
        replace(lambda_models.LambdaFunction, name, classmethod(method))
    _APPLIED = True


def reset() -> None:
    """Forget loaded functions (the next invocation of each is a cold start) and the records."""
    with _LOCK:
        _IMAGES.clear()
        INVOCATIONS.clear()
        TRACES.clear()
        _PATCH_POINTS.clear()  # every one holds the host's original between invocations
