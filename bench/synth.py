"""Synth time of the full tuneforge app divided by a one-bucket app's, measured in the same run.

Both run as fresh processes (as `cdk synth` does) with the same harness: the same App settings
(`stacks.app_builder.new_app`), the same context and the same nag packs attached, so the ratio shows
what tuneforge's constructs cost over CDK's fixed start-up.
Run: .venv/bin/python bench/synth.py [--repeat 3]     Goal: ratio <= 1.6.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_BUCKET_APP = """
import sys
sys.path.insert(0, {root!r})
from aws_cdk import Environment, Stack, aws_s3 as s3
from app import cdk_context
from stacks.app_builder import new_app
from stacks.nag import add_security_gates
app = new_app(context=cdk_context(), outdir=sys.argv[1])
stack = Stack(app, "OneBucket", env=Environment(account="123456789012", region="us-east-1"))
s3.Bucket(stack, "Bucket", enforce_ssl=True, versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL)
add_security_gates(app)
try:
    app.synth()
except Exception:
    pass  # the bare bucket has nag findings; the time to find them is what we measure
"""


def _time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from stacks import node_runtime

    node_runtime.ensure()  # both apps run on the pinned Node (make node), or this stops here naming the fix
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "one_bucket.py"
        script.write_text(ONE_BUCKET_APP.format(root=str(ROOT)))
        full, small = [], []
        for round_ in range(args.repeat):
            small.append(_time([sys.executable, str(script), f"{scratch}/small{round_}"], env))
            full.append(_time([sys.executable, "app.py"], {**env, "CDK_OUTDIR": f"{scratch}/full{round_}"}))
    full_s, small_s = statistics.median(full), statistics.median(small)
    print(f"full app synth:   {full_s:.2f} s (median of {args.repeat}: {', '.join(f'{t:.2f}' for t in full)})")
    print(f"one-bucket synth: {small_s:.2f} s (median of {args.repeat}: {', '.join(f'{t:.2f}' for t in small)})")
    print(f"ratio: {full_s / small_s:.2f} (goal <= 1.6)")


if __name__ == "__main__":
    main()
