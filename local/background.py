"""``python -m local.server --detach [--deploy CDK_OUT]`` and ``--stop``: the server in the background for a
shell session, so that a pasted block of commands never runs one before the server listens.

``--detach`` starts the same server as a child in a session of its own (closing the terminal does not stop
it), returns once ``/_emulator/health`` answers, and with ``--deploy`` deploys the cloud assembly before it
returns; it exits non-zero, and stops the child, when either does not happen. ``--stop`` asks the server on
``--port`` to shut down and waits until it no longer answers.

The waiting is here rather than in a ``tuneforge emulator up`` command: cli/ may not import local/
(tests/test_architecture.py), and the emulator is a development tool, not part of the product's CLI.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .deploy import DeployError
from .remote import RemoteEmulator, RemoteError

START_TIMEOUT = 60.0  # seconds; the server imports moto and its backends before it listens (~2-10 s here)


def _answers(remote: RemoteEmulator) -> bool:
    try:
        remote._call("GET", "health", timeout=2)
        return True
    except (OSError, RemoteError):
        return False


def _server_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "local.server", "--host", args.host, "--port", str(args.port)]
    argv += ["--time-scale", str(args.time_scale), "--job-duration", str(args.job_duration)]
    argv += ["--lambda-mode", args.lambda_mode, "--account", args.account, "--region", args.region]
    return argv + (["--auto-schedule"] if args.auto_schedule else [])


def detach(args: argparse.Namespace) -> int:
    remote = RemoteEmulator(f"http://127.0.0.1:{args.port}", account=args.account, region=args.region)
    if _answers(remote):
        print(f"an emulator already answers on port {args.port}; stop it first (--stop)", file=sys.stderr)
        return 1
    log = Path(args.log or Path(tempfile.gettempdir()) / f"tuneforge-emulator-{args.port}.log").resolve()
    with open(log, "w") as out:
        process = subprocess.Popen(
            _server_argv(args), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(remote):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            print(f"the emulator did not start on port {args.port}; its output is in {log}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(f"emulator on {remote.endpoint_url} (pid {process.pid}, output in {log}; stop: --stop --port {args.port})")
    if args.deploy:
        try:
            result = remote.deploy(args.deploy, stacks=args.stacks)
        except (DeployError, RemoteError, OSError) as error:
            process.terminate()
            process.wait(timeout=30)
            print(f"deploying {args.deploy} failed, emulator stopped: {error}", file=sys.stderr)
            return 1
        names = ", ".join(stack.name for stack in result.stacks) or "no stack"
        print(f"deployed {names} from {args.deploy} in {result.seconds:.0f} s")
    return 0


def stop(args: argparse.Namespace) -> int:
    remote = RemoteEmulator(f"http://127.0.0.1:{args.port}")
    if not _answers(remote):
        print(f"no emulator answers on port {args.port}", file=sys.stderr)
        return 1
    try:
        remote._call("POST", "shutdown")
    except (OSError, RemoteError):
        pass  # the server may close the connection as it goes
    deadline = time.monotonic() + 30
    while _answers(remote):
        if time.monotonic() > deadline:
            print(f"the emulator on port {args.port} did not stop", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(f"emulator on port {args.port} stopped")
    return 0
