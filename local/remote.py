"""Drive an emulator served by ``python -m local.server`` from another process (CLI, demo).

    with RemoteEmulator.launch(port=5005, time_scale=0.001) as aws:   # or RemoteEmulator(url)
        aws.deploy("cdk.out")
        aws.upload(bucket, "incoming/p/data.jsonl", path)
        aws.wait_for_execution(arn)
        aws.faults.throttle("CreateModelCustomizationJob", times=2)

Same driver methods as the in-process ``Emulator`` (``local.emulator.Driver``); boto3 clients point
at the server's endpoint URL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .deploy import DeployError, DeployResult
from .emulator import DEFAULT_ACCOUNT, DEFAULT_REGION, Driver


class RemoteError(RuntimeError):
    pass


class _RemoteFaults:
    def __init__(self, remote: "RemoteEmulator"):
        self._remote = remote

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def arm(*args, **kwargs):
            if args:
                raise TypeError("pass fault arguments by name over the wire")
            return self._remote._call("POST", "faults", {"method": method, "kwargs": kwargs})

        return arm

    @property
    def fired(self) -> list[dict]:
        return self._remote._call("GET", "faults")["fired"]


class RemoteEmulator(Driver):
    def __init__(self, endpoint_url: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.account = account
        self.region = region
        self.faults = _RemoteFaults(self)
        self._process: subprocess.Popen | None = None

    # -- launching ----------------------------------------------------------------------------
    @classmethod
    def launch(
        cls,
        port: int | None = None,
        *,
        time_scale: float = 0.001,
        job_duration: float = 3600.0,
        lambda_mode: str = "inprocess",
        auto_schedule: bool = False,
        log: str | os.PathLike | None = None,
        timeout: float = 30.0,
    ) -> "RemoteEmulator":
        """Start ``python -m local.server`` as a child process and wait until it answers."""
        port = port or _free_port()
        args = [
            sys.executable,
            "-m",
            "local.server",
            "--port",
            str(port),
            "--time-scale",
            str(time_scale),
            "--job-duration",
            str(job_duration),
            "--lambda-mode",
            lambda_mode,
        ]
        if auto_schedule:
            args.append("--auto-schedule")
        out = open(log, "w") if log else subprocess.DEVNULL
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
        )
        env.pop("AWS_ENDPOINT_URL", None)
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        remote = cls(f"http://127.0.0.1:{port}")
        remote._process = process
        deadline = time.monotonic() + timeout
        while True:
            try:
                remote._call("GET", "health")
                return remote
            except (OSError, RemoteError):
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RemoteError(f"emulator server did not start on port {port} (exit {process.poll()})") from None
                time.sleep(0.1)

    def close(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def __enter__(self) -> "RemoteEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- wire -----------------------------------------------------------------------------------
    def _call(self, method: str, action: str, body: dict | None = None, timeout: float = 300.0) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"{self.endpoint_url}/_emulator/{action}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read() or b"{}")
            if payload.get("error") == "DeployError":
                raise DeployError(
                    payload.get("stack", "?"),
                    payload.get("message", ""),
                    tuple(payload["resource"]) if payload.get("resource") else None,
                ) from None
            raise RemoteError(f"{payload.get('error')}: {payload.get('message')}") from None

    def client(self, service: str, principal: str | None = None) -> Any:
        import boto3

        if principal is not None:  # a principal's credentials are registered in the emulator's own process
            raise NotImplementedError("acting as another principal needs the in-process Emulator")
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # -- controls -------------------------------------------------------------------------------
    def deploy(self, cdk_out: str | os.PathLike, stacks: str | list[str] | None = None) -> DeployResult:
        return DeployResult.from_json(
            self._call("POST", "deploy", {"cdk_out": str(Path(cdk_out).resolve()), "stacks": stacks})
        )

    def advance(self, seconds: float) -> float:
        return self._call("POST", "advance", {"seconds": seconds})["now"]

    def settle(self, timeout: float = 60.0) -> float:
        return self._call("POST", "settle", {"timeout": timeout}, timeout=timeout + 10)["now"]

    def pause(self) -> None:
        self._call("POST", "clock", {"auto": False})

    def resume(self) -> None:
        self._call("POST", "clock", {"auto": True})

    def tick(self) -> None:
        self._call("POST", "tick")

    def fire_scheduled_rules(self, name_contains: str | None = None) -> list[str]:
        return self._call("POST", "fire-scheduled-rules", {"name_contains": name_contains})["fired"]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self._call("POST", "wait-idle", {"timeout": timeout}, timeout=timeout + 10)["idle"]

    def settings(self, **values) -> dict:
        return self._call("POST", "settings", values)

    @property
    def journal(self) -> list[dict]:
        return self._call("GET", "journal")

    def invocations(self) -> list[dict]:
        return self._call("GET", "invocations")

    def traces(self, function: str | None = None) -> list[dict]:
        return [t["document"] for t in self._call("GET", "traces") if function is None or t["function"] == function]

    def reset(self) -> None:
        self._call("POST", "reset")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
