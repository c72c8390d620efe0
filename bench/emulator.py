"""Measure the emulator: Lambda invocation cost per mode, deploy time, a run's wall time.

    .venv/bin/python bench/emulator.py [path/to/cdk.out]

Without an argument it synthesizes tests/e2e/fixture_app. Prints one line per figure; the figures in
docs/local-emulation.md come from here.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = "\n".join(
    json.dumps({"prompt": p, "completion": c})
    for p, c in [
        ("What is the capital of France?", "Paris"),
        ("How many legs does a spider have?", "Eight"),
        ("Thủ đô của Việt Nam là gì?", "Hà Nội"),
    ]
)
POWERTOOLS_HANDLER = """
from aws_lambda_powertools import Logger, Metrics, Tracer
logger = Logger(service="measure")
tracer = Tracer()
metrics = Metrics(namespace="Measure")

@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    return {"ok": True}
"""


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", source)
    return buf.getvalue()


def _invocations(driver, n: int = 20) -> tuple[float, float]:
    lam = driver.client("lambda")
    role = driver.client("iam").create_role(RoleName="measure", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="measure",
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip(POWERTOOLS_HANDLER)},
    )
    walls = []
    for _ in range(n + 1):
        started = time.perf_counter()
        lam.invoke(FunctionName="measure", Payload=b"{}")
        walls.append((time.perf_counter() - started) * 1000)
    return walls[0], statistics.median(walls[1:])


def _run(driver, cdk_out: Path) -> tuple[float, float, str]:
    started = time.perf_counter()
    result = driver.deploy(cdk_out)
    deployed = time.perf_counter()
    outputs = result.stacks[0].outputs
    driver.upload(outputs["BucketName"], "incoming/measure/data.jsonl", DATA)
    arn = driver.wait_for_executions(outputs["StateMachineArn"], count=1, timeout=60)[0]["executionArn"]
    run = driver.wait_for_execution(arn, timeout=120)
    return deployed - started, time.perf_counter() - deployed, run["status"]


def main(argv: list[str]) -> None:
    from local import Emulator
    from local.remote import RemoteEmulator

    if argv:
        cdk_out = Path(argv[0])
    else:
        sys.path.insert(0, str(ROOT / "tests" / "e2e"))
        from fixture_app.app import build  # type: ignore[import-not-found]  # tests/e2e, put on sys.path above

        cdk_out = Path(tempfile.mkdtemp(prefix="measure-cdk.out-"))
        started = time.perf_counter()
        build(str(cdk_out))
        print(f"synth fixture app: {time.perf_counter() - started:.1f} s")

    with Emulator(time_scale=0.0001) as aws:
        cold, warm = _invocations(aws)
        print(f"in-process Lambda (Powertools handler): cold {cold:.0f} ms, warm median {warm:.1f} ms")
    with Emulator(time_scale=0.0001) as aws:
        deploy_s, run_s, status = _run(aws, cdk_out)
        print(f"in-process: deploy {deploy_s:.2f} s, upload -> {status} {run_s:.2f} s")
    for mode in ("inprocess", "subprocess"):
        started = time.perf_counter()
        with RemoteEmulator.launch(time_scale=0.0001, lambda_mode=mode) as remote:
            boot = time.perf_counter() - started
            cold, warm = _invocations(remote)
            print(
                f"server mode, {mode} Lambda: server start {boot:.1f} s, invoke cold {cold:.0f} ms, warm median {warm:.1f} ms"
            )
            remote.reset()
            deploy_s, run_s, status = _run(remote, cdk_out)
            print(f"server mode, {mode} Lambda: deploy {deploy_s:.2f} s, upload -> {status} {run_s:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
