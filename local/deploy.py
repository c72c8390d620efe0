"""Deploy a synthesized cloud assembly (``cdk.out``) into the emulator's CloudFormation.

What ``cdk deploy`` does, minus the network:

1. read ``manifest.json`` (nested assemblies of CDK Stages included) and order the stacks by their
   dependencies;
2. publish file assets from each ``*.assets.json``: directories are zipped, files uploaded as they are,
   to the bucket/key the templates reference (``cdk-<qualifier>-assets-<account>-<region>``);
   Docker image assets cannot be built here and are reported as skipped;
3. set the bootstrap-version SSM parameter (``/cdk-bootstrap/<qualifier>/version``) the templates'
   ``BootstrapVersion`` parameter reads;
4. create each stack (cross-stack exports/imports resolve in dependency order); a failure names the
   stack and the resource that failed.

Runs next to the moto backends (in-process, or inside the server process for server mode).
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import cfn_ext, state

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
BOOTSTRAP_VERSION = "30"


class DeployError(RuntimeError):
    """A stack could not be created: ``stack``, ``resource`` (logical id, type) and the cause."""

    def __init__(self, stack: str, message: str, resource: tuple[str, str] | None = None):
        self.stack = stack
        self.resource = resource
        where = f" at resource {resource[0]} ({resource[1]})" if resource else ""
        super().__init__(f"stack {stack} failed{where}: {message}")


@dataclass
class StackArtifact:
    artifact_id: str
    stack_name: str
    template_path: Path
    account: str
    region: str
    dependencies: list[str]
    assembly_dir: Path


@dataclass
class DeployedStack:
    name: str
    stack_id: str
    status: str
    outputs: dict[str, str]
    resources: list[dict[str, str]]  # logical_id, type, physical_id

    def physical_id(self, logical_id_prefix: str, resource_type: str | None = None) -> str:
        """Physical id of the one resource whose logical id starts with the prefix (CDK adds a hash)."""
        found = [
            r
            for r in self.resources
            if r["logical_id"].startswith(logical_id_prefix) and (resource_type is None or r["type"] == resource_type)
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources match {logical_id_prefix!r} ({resource_type}) in {self.name}")
        return found[0]["physical_id"]

    def of_type(self, resource_type: str) -> list[dict[str, str]]:
        return [r for r in self.resources if r["type"] == resource_type]


@dataclass
class DeployResult:
    stacks: list[DeployedStack] = field(default_factory=list)
    assets_uploaded: list[str] = field(default_factory=list)
    assets_skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def stack(self, name_contains: str) -> DeployedStack:
        found = [s for s in self.stacks if name_contains in s.name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} stacks match {name_contains!r}: {[s.name for s in self.stacks]}")
        return found[0]

    def resources(self, resource_type: str) -> list[dict[str, str]]:
        return [r for s in self.stacks for r in s.of_type(resource_type)]

    def to_json(self) -> dict:
        return {
            "stacks": [s.__dict__ for s in self.stacks],
            "assets_uploaded": self.assets_uploaded,
            "assets_skipped": self.assets_skipped,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: dict) -> "DeployResult":
        return cls(
            [DeployedStack(**s) for s in data["stacks"]],
            data["assets_uploaded"],
            data["assets_skipped"],
            data["seconds"],
        )


# ------------------------------------------------------------------------------------------------
def _env(environment: str | None) -> tuple[str, str]:
    match = re.match(r"^aws://([^/]+)/(.+)$", environment or "")
    account, region = match.groups() if match else ("unknown-account", "unknown-region")
    if not account.isdigit():
        account = DEFAULT_ACCOUNT
    if region.startswith("unknown"):
        region = DEFAULT_REGION
    return account, region


def read_assembly(cdk_out: str | os.PathLike) -> tuple[list[StackArtifact], list[tuple[Path, dict]]]:
    """Stacks in deployment order and the asset manifests, nested assemblies included."""
    stacks: dict[str, StackArtifact] = {}
    asset_manifests: list[tuple[Path, dict]] = []

    def visit(directory: Path, prefix: str) -> None:
        manifest = json.loads((directory / "manifest.json").read_text())
        for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
            kind = artifact.get("type")
            props = artifact.get("properties") or {}
            qualified = prefix + artifact_id
            if kind == "aws:cloudformation:stack":
                account, region = _env(artifact.get("environment"))
                stacks[qualified] = StackArtifact(
                    artifact_id=qualified,
                    stack_name=props.get("stackName") or artifact_id,
                    template_path=directory / props["templateFile"],
                    account=account,
                    region=region,
                    dependencies=[prefix + d for d in artifact.get("dependencies") or []],
                    assembly_dir=directory,
                )
            elif kind == "cdk:asset-manifest":
                path = directory / props["file"]
                asset_manifests.append((path, json.loads(path.read_text())))
            elif kind == "cdk:cloud-assembly":
                visit(directory / props["directoryName"], prefix + artifact_id + "/")

    if not (Path(cdk_out) / "manifest.json").is_file():
        raise DeployError(str(cdk_out), "no manifest.json here: not a cloud assembly (run cdk synth first)")
    visit(Path(cdk_out), "")
    stacks, asset_manifests = _without_pipeline_copies(stacks, asset_manifests)
    ordered: list[StackArtifact] = []
    done: set[str] = set()

    def place(artifact_id: str, trail: tuple[str, ...]) -> None:
        if artifact_id in done:
            return
        if artifact_id in trail:
            raise DeployError(artifact_id, f"dependency cycle: {' -> '.join(trail + (artifact_id,))}")
        artifact = stacks[artifact_id]
        for dep in artifact.dependencies:
            if dep in stacks:
                place(dep, trail + (artifact_id,))
        done.add(artifact_id)
        ordered.append(artifact)

    for artifact_id in stacks:
        place(artifact_id, ())
    return ordered, asset_manifests


def _without_pipeline_copies(
    stacks: dict[str, StackArtifact], asset_manifests: list[tuple[Path, dict]]
) -> tuple[dict[str, StackArtifact], list[tuple[Path, dict]]]:
    """Leave out a nested stack that is the same CloudFormation stack (name, account, region) as a top-level one.

    An app with a CDK Pipelines pipeline synthesizes each stage twice: at the top, for ``cdk deploy``, and inside the
    pipeline's Stage (``assembly-<pipeline stack>-<stage>/``), for the pipeline to deploy. ``cdk deploy
    'Tuneforge-dev-*'`` matches a nested stack's hierarchical id (``Tuneforge-Delivery/dev/…``), so it selects the
    top-level one only; deploying both would update the one stack with the other's template. The emulator runs no
    pipeline, so it deploys the top-level copy, which is what the gates checked.
    """
    top_level = {(s.stack_name, s.account, s.region) for key, s in stacks.items() if "/" not in key}
    kept = {
        key: s for key, s in stacks.items() if "/" not in key or (s.stack_name, s.account, s.region) not in top_level
    }
    if len(kept) == len(stacks):
        return stacks, asset_manifests
    wanted = {(s.assembly_dir, dep.rsplit("/", 1)[-1] + ".json") for s in kept.values() for dep in s.dependencies}
    # A stack's asset manifest is one of its dependencies: the dropped copies' manifests go with them.
    manifests = [(path, m) for path, m in asset_manifests if (path.parent, path.name) in wanted]
    return kept, manifests


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
    )


def zip_directory(path: Path) -> bytes:
    """A deterministic zip of a directory, as cdk-assets builds it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        files = [Path(root) / name for root, _dirs, names in os.walk(path, followlinks=True) for name in names]
        for file in sorted(files):
            info = zipfile.ZipInfo(str(file.relative_to(path)).replace(os.sep, "/"), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (file.stat().st_mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, file.read_bytes())
    return buffer.getvalue()


def _ensure_bucket(s3, name: str, region: str) -> None:
    try:
        s3.get_bucket(name)
    except Exception:
        s3.create_bucket(name, region)


def publish_assets(
    asset_manifests: list[tuple[Path, dict]], default_account: str, default_region: str, result: DeployResult
) -> None:
    from moto.s3.models import s3_backends

    for manifest_path, manifest in asset_manifests:
        base = manifest_path.parent
        for asset_id, asset in (manifest.get("files") or {}).items():
            source = asset["source"]
            src_path = base / source["path"] if source.get("path") else None
            if src_path is None or not src_path.exists():
                result.assets_skipped.append(f"{asset_id}: source {source} not found")
                continue
            if source.get("packaging") == "zip" and src_path.is_dir():
                body = zip_directory(src_path)
            elif src_path.is_dir():
                body = zip_directory(src_path)
            else:
                body = src_path.read_bytes()
            for dest in (asset.get("destinations") or {}).values():
                account = default_account
                region = dest.get("region") or default_region
                bucket = _substitute(dest["bucketName"], account, region)
                key = _substitute(dest["objectKey"], account, region)
                s3 = s3_backends[account]["aws"]
                _ensure_bucket(s3, bucket, region)
                s3.put_object(bucket, key, body)
                result.assets_uploaded.append(f"s3://{bucket}/{key}")
        for asset_id in manifest.get("dockerImages") or {}:
            result.assets_skipped.append(f"{asset_id}: Docker image assets cannot be built offline")


def _bootstrap_parameters(template: dict, account: str, region: str) -> None:
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[account][region]
    for param in (template.get("Parameters") or {}).values():
        default = str(param.get("Default", ""))
        if str(param.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and default.startswith(
            "/cdk-bootstrap/"
        ):
            try:
                if ssm.get_parameter(default) is not None:
                    continue
            except Exception:
                pass
            ssm.put_parameter(
                name=default,
                description="CDK bootstrap version (emulated bootstrap)",
                value=BOOTSTRAP_VERSION,
                parameter_type="String",
                allowed_pattern=None,  # type: ignore[arg-type]  # moto's hint says str; its own API passes None
                keyid=None,  # type: ignore[arg-type]  # as allowed_pattern
                overwrite=True,
                tags=[],
                data_type="text",
                tier=None,
                policies=None,
            )


def _describe(stack) -> DeployedStack:
    resources = []
    for res in stack.stack_resources:
        if res is None or not hasattr(res, "logical_resource_id"):
            continue
        try:
            physical = res.physical_resource_id
        except Exception:
            physical = ""
        resources.append(
            {
                "logical_id": res.logical_resource_id,
                "type": getattr(res, "cf_resource_type", "?"),
                "physical_id": str(physical),
            }
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack.outputs or [])}
    return DeployedStack(stack.name, stack.stack_id, stack.status, outputs, resources)


def select_stacks(
    stacks: list[StackArtifact],
    asset_manifests: list[tuple[Path, dict]],
    patterns: str | list[str] | tuple[str, ...] | None,
) -> tuple[list[StackArtifact], list[tuple[Path, dict]]]:
    """The stacks whose name (or artifact id) matches one of the glob ``patterns`` plus the stacks they
    depend on, as ``cdk deploy 'Tuneforge-dev-*'`` selects them, in deployment order; and only the asset
    manifests that belong to those stacks."""
    if patterns is None:
        return stacks, asset_manifests
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    by_id = {s.artifact_id: s for s in stacks}
    ids: set[str] = set()

    def include(artifact: StackArtifact) -> None:
        if artifact.artifact_id not in ids:
            ids.add(artifact.artifact_id)
            for dep in artifact.dependencies:
                if dep in by_id:
                    include(by_id[dep])

    for artifact in stacks:
        if any(
            fnmatch.fnmatchcase(artifact.stack_name, p) or fnmatch.fnmatchcase(artifact.artifact_id, p)
            for p in patterns
        ):
            include(artifact)
    if not ids:
        raise DeployError(
            ", ".join(patterns), f"no stack matches; the cloud assembly has {[s.stack_name for s in stacks]}"
        )
    chosen = [s for s in stacks if s.artifact_id in ids]
    # a stack's asset manifest is one of its dependencies (artifact "<stack>.assets", file "<stack>.assets.json")
    wanted = {(s.assembly_dir, dep.rsplit("/", 1)[-1] + ".json") for s in chosen for dep in s.dependencies}
    manifests = [(path, m) for path, m in asset_manifests if (path.parent, path.name) in wanted]
    return chosen, manifests


def deploy(
    cdk_out: str | os.PathLike, wait_seconds: float = 30.0, stacks: str | list[str] | tuple[str, ...] | None = None
) -> DeployResult:
    """Deploy every stack of ``cdk_out`` (or only those whose name matches the glob(s) ``stacks``)."""
    from moto.cloudformation.models import cloudformation_backends

    started = time.perf_counter()
    assembled, asset_manifests = read_assembly(cdk_out)
    if not assembled:
        raise DeployError(str(cdk_out), "no stacks in the cloud assembly")
    chosen, asset_manifests = select_stacks(assembled, asset_manifests, stacks)
    result = DeployResult()
    publish_assets(asset_manifests, chosen[0].account, chosen[0].region, result)
    for artifact in chosen:
        template_text = artifact.template_path.read_text()
        template = json.loads(template_text)
        _bootstrap_parameters(template, artifact.account, artifact.region)
        cfn = cloudformation_backends[artifact.account][artifact.region]
        existing = [s for s in cfn.stacks.values() if s.name == artifact.stack_name and s.status != "DELETE_COMPLETE"]
        try:
            if existing:
                cfn.update_stack(
                    name=artifact.stack_name, template=template_text, role_arn=None, parameters=[], tags={}
                )
                stack = cfn.get_stack(artifact.stack_name)
            else:
                stack = cfn.create_stack(name=artifact.stack_name, template=template_text, parameters={}, tags={})
        except Exception as exc:
            raise DeployError(artifact.stack_name, f"{type(exc).__name__}: {exc}", cfn_ext.last_resource()) from exc
        deadline = time.monotonic() + wait_seconds
        while stack.status == "CREATE_IN_PROGRESS" and time.monotonic() < deadline:
            stack.verify_readiness()
            if stack.status == "CREATE_IN_PROGRESS":
                time.sleep(0.05)
        if stack.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            pending = [cr.logical_id for cr in stack.custom_resources.values() if not cr.is_created()]
            raise DeployError(
                artifact.stack_name, f"status {stack.status}; custom resources without a response: {pending}"
            )
        result.stacks.append(_describe(stack))
        state.current().note("cfn.stack", stack=artifact.stack_name, status=stack.status)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
