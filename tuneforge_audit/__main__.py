"""Write audit/REPORT.md, audit/report.json and audit/sbom.cdx.json from a synthesized cloud assembly, and
audit/vulnerabilities.json from the lock files when the index can answer (tuneforge_audit/vulnerabilities.py).

    python -m tuneforge_audit --cdk-out cdk.out --out audit                    # make audit
    python -m tuneforge_audit --cdk-out cdk.out --out audit --base main~3      # make audit BASE=main~3
    python -m tuneforge_audit --cdk-out cdk.out --out audit --base-report old/report.json

With ``--base`` the git ref is checked out into a temporary worktree, synthesized there with this
interpreter, modelled with *this* generator (so both sides state their facts the same way) and the worktree
is removed again. Exit status 0 when the report was written (flags are for reviewers; the gates fail builds),
2 when there is no cloud assembly or the base cannot be synthesized.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stacks import node_runtime

# The model imports aws_cdk (jsii starts on the first `node` on PATH), and a base ref's synth inherits this
# PATH: the pinned Node first, or one line naming the fix.
try:
    node_runtime.ensure()
except node_runtime.UnsupportedNode as problem:
    sys.exit(f"audit: {problem}")

from tuneforge_audit import markdown, model, sbom, standing_cost, vulnerabilities  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class BaseError(RuntimeError):
    pass


@contextlib.contextmanager
def synthesized(ref: str, *, repo: Path = ROOT) -> Iterator[Path]:
    """The cloud assembly of git ``ref``, synthesized with this interpreter in a temporary worktree that is
    removed again afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="tuneforge-audit-base-"))
    tree, out = scratch / "tree", scratch / "cdk.out"
    added = subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), ref], cwd=repo, capture_output=True, text=True
    )
    if added.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise BaseError(f"cannot check out {ref!r}: {added.stderr.strip()}")
    try:
        env = {**os.environ, "CDK_OUTDIR": str(out), "PYTHONPATH": str(tree)}
        env.pop("TUNEFORGE_CONFIG", None)
        synth = subprocess.run([sys.executable, "app.py"], cwd=tree, env=env, capture_output=True, text=True)
        if synth.returncode != 0 or not (out / "manifest.json").exists():
            raise BaseError(f"synth of {ref!r} failed (exit {synth.returncode}): {synth.stderr.strip()[-2000:]}")
        yield out
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=repo, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def model_of_ref(ref: str, *, repo: Path = ROOT) -> dict:
    """Synthesize git ``ref`` in a temporary worktree and model it (scanners skipped: figures are not diffed)."""
    with synthesized(ref, repo=repo) as out:
        base = model.build(out, scanners=False)
    base["source"] = f"git {ref} ({_rev(repo, ref)})"
    return base


def _rev(repo: Path, ref: str) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", ref], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip() or "?"


def write(out_dir: Path, head: dict, base: dict | None = None, base_label: str | None = None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    if base is not None:
        from tuneforge_audit.diff import diff_models

        head = {
            **head,
            "changed_since_base": {
                "base": base_label,
                "source": base.get("source", ""),
                "changes": diff_models(base, head),
            },
        }
    report_json, report_md = out_dir / "report.json", out_dir / "REPORT.md"
    report_json.write_text(json.dumps(head, indent=1, sort_keys=False) + "\n")
    report_md.write_text(markdown.render(head, base, base_label))
    return report_md, report_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tuneforge security review report from cdk.out")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--out", type=Path, default=Path("audit"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--base", help="git ref to compare with (synthesized in a temporary worktree)")
    group.add_argument("--base-report", type=Path, help="a previous report.json to compare with")
    parser.add_argument("--no-scanners", action="store_true", help="skip cfn-lint and checkov (no scanner figures)")
    parser.add_argument("--no-vulnerabilities", action="store_true", help="skip pip-audit over the lock files")
    args = parser.parse_args(argv)
    if not (args.cdk_out / "manifest.json").exists():
        print(f"audit: {args.cdk_out} holds no cloud assembly; run `make synth` first", file=sys.stderr)
        return 2
    base = label = None
    try:
        if args.base:
            base, label = model_of_ref(args.base), args.base
        elif args.base_report:
            base, label = json.loads(args.base_report.read_text()), str(args.base_report)
    except (BaseError, OSError, json.JSONDecodeError) as problem:
        print(f"audit: {problem}", file=sys.stderr)
        return 2
    head = model.build(args.cdk_out, scanners=not args.no_scanners)
    report_md, report_json = write(args.out, head, base, label)
    fails = sum(f["level"] == model.FAIL for f in head["flags"])
    reviews = sum(f["level"] == model.REVIEW for f in head["flags"])
    print(
        f"audit: wrote {report_md} and {report_json}: {len(head['stacks'])} stacks, {len(head['roles'])} roles, {fails} flagged, {reviews} accepted with reasons"
    )
    print(f"audit: standing cost: {standing_cost.summary(head['standing_cost'])}")
    sbom_path = args.out / "sbom.cdx.json"
    print(f"audit: wrote {sbom_path}: {sbom.summary(sbom.write(args.cdk_out, sbom_path))}")
    if not args.no_vulnerabilities:
        print(f"audit: {vulnerabilities.write(args.out / 'vulnerabilities.json')}")
    if base is not None:
        from tuneforge_audit.diff import diff_models

        delta = diff_models(base, head)
        print(
            f"audit: changed since {label}: "
            + (", ".join(f"{topic} +{len(d['added'])}/-{len(d['removed'])}" for topic, d in delta.items()) or "nothing")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
