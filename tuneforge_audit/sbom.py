"""audit/sbom.cdx.json: a CycloneDX SBOM of what tuneforge's Lambda functions run in AWS.

Read from the synthesized cloud assembly, not from this checkout: the asset each function ships (the
``lambdas`` package, every file hashed as it lies in cdk.out), the public Powertools layer the functions
attach (its ARN pattern, layer version and the Powertools release it ships: stacks/functions.py is the one
place those are written), the Lambda runtime the templates name, and the third-party packages the asset
imports with who provides each in AWS. The asset ships no third-party package of its own; what the layer and
the runtime provide are resolved by AWS when they were built, so those components carry no version of their
own, only the version this project tests with (property ``tuneforge:tested-version``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
import tomllib
import uuid
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL
from packaging.requirements import Requirement

from stacks.functions import POWERTOOLS_LAYER, POWERTOOLS_LAYER_RELEASE, POWERTOOLS_LAYER_VERSION
from tuneforge_audit.acknowledgements import load_templates

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = SchemaVersion.V1_6
ASSET_PACKAGE = "lambdas"
# Everything after the region in the layer ARN: how a function's Layers entry is recognised whatever form
# (literal or Fn::Join over AWS::Region) the template gives the region in.
_LAYER_SUFFIX = POWERTOOLS_LAYER.split("{region}", 1)[1]
LAYER_NAME = _LAYER_SUFFIX.split(":layer:", 1)[1].rsplit(":", 1)[0]
# Who provides each top-level module the asset imports, in AWS. boto3 and botocore are in every Python
# runtime ("an environment that includes the SDK for Python (Boto3)": https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html,
# looked up 2026-12-06); the Powertools layer is built with `aws-lambda-powertools[all]==<release>`
# (layer_v3/layer_constructors/helpers.py construct_build_args and layer_stack.py include_extras=True in
# github.com/aws-powertools/powertools-lambda-python, looked up 2026-12-06), so its extras' packages
# (pydantic for the parser, aws-xray-sdk for the tracer) come with it.
RUNTIME_PROVIDES = {"boto3": "boto3", "botocore": "botocore"}
LAYER_PROVIDES = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "pydantic": "pydantic",
    "aws_xray_sdk": "aws-xray-sdk",
}


@dataclass
class Asset:
    directory: Path
    cdk_hash: str
    functions: list[str] = field(default_factory=list)  # "<stack>/<logical id>"
    runtimes: set[str] = field(default_factory=set)
    architectures: set[str] = field(default_factory=set)
    with_layer: int = 0


def _mentions_layer(value: object) -> bool:
    return _LAYER_SUFFIX in json.dumps(value)


def _asset_path(resource: dict) -> str | None:
    """The cdk.out folder a function's code comes from: its asset metadata, else the S3 key CDK names after
    the asset hash (this app turns asset metadata off)."""
    path = (resource.get("Metadata") or {}).get("aws:asset:path")
    key = (resource.get("Properties", {}).get("Code") or {}).get("S3Key")
    if not path and isinstance(key, str) and key.endswith(".zip"):
        path = f"asset.{key.removesuffix('.zip')}"
    return path


def assets(cdk_out: Path) -> list[Asset]:
    """The Lambda assets in cdk.out that hold the ``lambdas`` package, with the functions that ship each."""
    found: dict[str, Asset] = {}
    for stack, template in sorted(load_templates(cdk_out).items()):
        for logical, resource in sorted(template.get("Resources", {}).items()):
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            properties = resource.get("Properties", {})
            path = _asset_path(resource)
            if not path or not (cdk_out / path / ASSET_PACKAGE).is_dir():
                continue  # CDK's own providers (inline code or their own bundles)
            asset = found.setdefault(path, Asset(cdk_out / path, path.removeprefix("asset.")))
            asset.functions.append(f"{stack}/{logical}")
            asset.runtimes.add(properties.get("Runtime", "?"))
            asset.architectures.update(properties.get("Architectures") or ["x86_64"])  # Lambda's default
            asset.with_layer += any(_mentions_layer(layer) for layer in properties.get("Layers") or [])
    return list(found.values())


def asset_files(directory: Path) -> dict[str, str]:
    """relative path -> sha256 of every file the asset ships."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def tree_digest(files: dict[str, str]) -> str:
    """One sha256 for the whole asset: over each file's path and content hash, in path order."""
    return hashlib.sha256("".join(f"{path}\0{digest}\n" for path, digest in sorted(files.items())).encode()).hexdigest()


def third_party_imports(directory: Path) -> set[str]:
    """Top-level modules the asset's Python files import that are neither the standard library nor its own."""
    own = {child.name for child in directory.iterdir()} | {child.stem for child in directory.iterdir()}
    names: set[str] = set()
    for path in directory.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in own and name != "__future__"}


def _wanted_by_extras(requirement: Requirement, extras: list[str]) -> bool:
    """Whether the requirement's marker selects it for one of ``extras`` (no marker: never an extra's)."""
    marker = requirement.marker
    return marker is not None and any(marker.evaluate({"extra": extra}) for extra in extras)


def powertools_extras() -> list[str]:
    """The Powertools extras the functions use, as requirements.txt installs them for the tests."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and Requirement(line).name == "aws-lambda-powertools":
            return sorted(Requirement(line).extras)
    return []


def _tested(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _provided(name: str, provider: str, ref: str) -> Component:
    tested = _tested(name)
    properties = [Property(name="tuneforge:provided-by", value=provider)]
    if tested:
        properties.append(Property(name="tuneforge:tested-version", value=tested))
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        bom_ref=ref,
        purl=PackageURL("pypi", name=name),
        properties=properties,
        description=f"provided in AWS by {provider}, at the version AWS put there (this project pins none)",
    )


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def build(cdk_out: Path) -> Bom:
    cdk_out = Path(cdk_out).resolve()
    found = assets(cdk_out)
    if not found:
        raise ValueError(f"{cdk_out} holds no Lambda asset with the {ASSET_PACKAGE} package")
    bom = Bom()
    root = Component(type=ComponentType.APPLICATION, name="tuneforge", version=_project_version(), bom_ref="tuneforge")
    bom.metadata.component = root

    layer_ref = f"lambda-layer:{LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    layer = Component(
        type=ComponentType.LIBRARY,
        name=LAYER_NAME,
        version=str(POWERTOOLS_LAYER_VERSION),
        group="aws-lambda-layer",
        bom_ref=layer_ref,
        description=f"Public Powertools for AWS Lambda (Python) layer version {POWERTOOLS_LAYER_VERSION}, which ships Powertools {POWERTOOLS_LAYER_RELEASE}",
        properties=[
            Property(name="aws:lambda:layer-arn", value=POWERTOOLS_LAYER),
            Property(name="aws:lambda:layer-version", value=str(POWERTOOLS_LAYER_VERSION)),
            Property(name="tuneforge:powertools-release", value=POWERTOOLS_LAYER_RELEASE),
        ],
    )
    powertools = Component(
        type=ComponentType.LIBRARY,
        name="aws-lambda-powertools",
        version=POWERTOOLS_LAYER_RELEASE,
        bom_ref=f"pypi:aws-lambda-powertools@{POWERTOOLS_LAYER_RELEASE}",
        purl=PackageURL("pypi", name="aws-lambda-powertools", version=POWERTOOLS_LAYER_RELEASE),
        properties=[
            Property(name="tuneforge:provided-by", value=layer_ref),
            Property(name="tuneforge:extras-used", value=",".join(powertools_extras())),
        ],
    )
    layer.components.add(powertools)
    bom.components.add(layer)

    runtimes: dict[str, Component] = {}
    dependencies: dict[str, list[Component]] = {}
    for asset in found:
        files = asset_files(asset.directory)
        component = Component(
            type=ComponentType.APPLICATION,
            name=f"{ASSET_PACKAGE}-asset",
            version=asset.cdk_hash,
            bom_ref=f"asset:{asset.cdk_hash}",
            description=f"The {ASSET_PACKAGE} package as every tuneforge function ships it (cdk.out/{asset.directory.name}); the SHA-256 is over its files' paths and SHA-256s",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=tree_digest(files))],
            properties=[
                Property(name="tuneforge:functions", value=str(len(asset.functions))),
                Property(name="tuneforge:functions-with-powertools-layer", value=str(asset.with_layer)),
                Property(name="aws:lambda:architectures", value=",".join(sorted(asset.architectures))),
                *(Property(name="tuneforge:function", value=name) for name in asset.functions),
            ],
        )
        for path, digest in files.items():
            component.components.add(
                Component(
                    type=ComponentType.FILE,
                    name=path,
                    bom_ref=f"asset:{asset.cdk_hash}:{path}",
                    hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)],
                )
            )
        bom.components.add(component)
        needs = dependencies.setdefault(f"asset:{asset.cdk_hash}", [layer])
        for runtime in sorted(asset.runtimes):
            if runtime not in runtimes:
                platform = Component(
                    type=ComponentType.PLATFORM,
                    name=f"aws-lambda-{runtime}",
                    version=re.sub(r"^[a-z]+", "", runtime) or runtime,
                    bom_ref=f"lambda-runtime:{runtime}",
                    description=f"AWS Lambda managed runtime {runtime} (Runtime in the synthesized templates); AWS patches it in place",
                    properties=[Property(name="aws:lambda:runtime", value=runtime)],
                )
                runtimes[runtime] = platform
                bom.components.add(platform)
            needs.append(runtimes[runtime])

    # The asset's third-party imports, each under the component that provides it in AWS.
    imports = set().union(*(third_party_imports(asset.directory) for asset in found))
    extras_packages = {
        Requirement(spec).name
        for spec in requires("aws-lambda-powertools") or []
        if _wanted_by_extras(Requirement(spec), powertools_extras())
    }
    for module in sorted(imports):
        if module in RUNTIME_PROVIDES:
            for runtime, platform in runtimes.items():
                platform.components.add(
                    _provided(
                        RUNTIME_PROVIDES[module],
                        f"lambda-runtime:{runtime}",
                        f"lambda-runtime:{runtime}:pypi:{RUNTIME_PROVIDES[module]}",
                    )
                )
        elif module in LAYER_PROVIDES:
            if LAYER_PROVIDES[module] != "aws-lambda-powertools":
                extras_packages.add(LAYER_PROVIDES[module])
        else:
            raise ValueError(
                f"the {ASSET_PACKAGE} asset imports {module!r}, which neither the Lambda runtime nor the Powertools layer provides (tuneforge_audit/sbom.py RUNTIME_PROVIDES / LAYER_PROVIDES)"
            )
    for name in sorted(extras_packages):
        powertools.components.add(_provided(name, layer_ref, f"{layer_ref}:pypi:{name}"))

    bom.register_dependency(
        root, [component for component in bom.components if component.type == ComponentType.APPLICATION]
    )
    for ref, needed in dependencies.items():
        asset_component = next(c for c in bom.components if c.bom_ref.value == ref)
        bom.register_dependency(asset_component, needed)
    # A serial number that is the same for the same content, so two audits of one commit write one SBOM.
    bom.serial_number = uuid.uuid5(
        uuid.NAMESPACE_URL,
        "tuneforge-sbom:"
        + ",".join(sorted(c.bom_ref.value for c in bom.components))
        + ",".join(tree_digest(asset_files(a.directory)) for a in found),
    )
    return bom


def render(bom: Bom) -> str:
    return JsonV1Dot6(bom).output_as_string(indent=1) + "\n"


def validation_errors(text: str) -> str | None:
    """The CycloneDX 1.6 JSON schema's complaint about ``text``, or None when it is valid."""
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SCHEMA).validate_str(text)
    return None if error is None else str(error)


def write(cdk_out: Path, path: Path) -> Bom:
    bom = build(cdk_out)
    text = render(bom)
    problem = validation_errors(text)
    if problem:
        raise ValueError(f"the SBOM does not validate against CycloneDX {SCHEMA.to_version()}: {problem}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return bom


def summary(bom: Bom) -> str:
    def walk(components):
        for component in components:
            yield component
            yield from walk(component.components)

    every = list(walk(bom.components))
    files = sum(c.type == ComponentType.FILE for c in every)
    runtimes = sorted(c.name for c in every if c.type == ComponentType.PLATFORM)
    libraries = sorted(
        f"{c.name}{'@' + c.version if c.version else ''}"
        for c in every
        if c.type == ComponentType.LIBRARY and c.group != "aws-lambda-layer"
    )
    return f"asset of {files} files, layer {LAYER_NAME}:{POWERTOOLS_LAYER_VERSION} (Powertools {POWERTOOLS_LAYER_RELEASE}), runtime {', '.join(runtimes)}, packages {', '.join(libraries)}"
