"""audit/sbom.cdx.json describes what the synthesized functions run: the asset as shipped, the pinned layer
and the release it carries, the runtime the templates name, and who provides each package the asset imports."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from stacks.functions import POWERTOOLS_LAYER, POWERTOOLS_LAYER_RELEASE, POWERTOOLS_LAYER_VERSION
from tuneforge_audit import sbom

ROOT = sbom.ROOT


@pytest.fixture(scope="module")
def document(assembly) -> dict:
    return json.loads(sbom.render(sbom.build(assembly.directory)))


def walk(components):
    for component in components:
        yield component
        yield from walk(component.get("components", []))


def props(component: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in component.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


def test_it_validates_against_the_cyclonedx_schema(assembly):
    assert sbom.validation_errors(sbom.render(sbom.build(assembly.directory))) is None


def test_the_asset_is_the_lambdas_source_file_by_file(document):
    (asset,) = [c for c in document["components"] if c["name"] == "lambdas-asset"]
    shipped = {c["name"]: c["hashes"][0]["content"] for c in asset["components"] if c["type"] == "file"}
    source = {
        p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("lambdas", "graders")  # graders/: the teams' RFT graders, shipped beside the package
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped == source
    assert asset["hashes"] == [{"alg": "SHA-256", "content": sbom.tree_digest(shipped)}]


def test_every_function_with_the_asset_is_named_and_has_the_layer(document, assembly):
    (asset,) = [c for c in document["components"] if c["name"] == "lambdas-asset"]
    listed = props(asset)
    functions = [
        f"{stack}/{logical}"
        for stack, t in assembly.templates.items()
        for logical, r in t["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and sbom._LAYER_SUFFIX in json.dumps(r["Properties"].get("Layers", []))
    ]
    assert sorted(listed["tuneforge:function"]) == sorted(functions) and functions
    assert listed["tuneforge:functions-with-powertools-layer"] == [str(len(functions))]


def test_the_layer_is_the_pinned_version_carrying_the_pinned_release(document):
    (layer,) = [c for c in document["components"] if c.get("group") == "aws-lambda-layer"]
    assert layer["version"] == str(POWERTOOLS_LAYER_VERSION)
    assert props(layer)["aws:lambda:layer-arn"] == [POWERTOOLS_LAYER]
    (powertools,) = [c for c in layer["components"] if c["name"] == "aws-lambda-powertools"]
    assert powertools["version"] == POWERTOOLS_LAYER_RELEASE
    assert powertools["purl"] == f"pkg:pypi/aws-lambda-powertools@{POWERTOOLS_LAYER_RELEASE}"
    assert {c["name"] for c in powertools["components"]} >= {"pydantic", "aws-xray-sdk"}


def test_the_runtime_is_the_one_the_templates_name(document, assembly):
    runtimes = {
        r["Properties"]["Runtime"]
        for t in assembly.templates.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and sbom._LAYER_SUFFIX in json.dumps(r["Properties"].get("Layers", []))
    }
    platforms = [c for c in document["components"] if c["type"] == "platform"]
    assert {props(c)["aws:lambda:runtime"][0] for c in platforms} == runtimes
    for platform in platforms:
        assert {c["name"] for c in platform["components"]} == {"boto3", "botocore"}
        assert all("version" not in c for c in platform["components"]), (
            "AWS sets the runtime's SDK version, not this project"
        )


def test_the_dependency_graph_ties_the_asset_to_layer_and_runtime(document):
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
    (asset,) = [c["bom-ref"] for c in document["components"] if c["name"] == "lambdas-asset"]
    assert graph["tuneforge"] == {asset}
    assert graph[asset] == {
        c["bom-ref"]
        for c in document["components"]
        if c["type"] in ("platform",) or c.get("group") == "aws-lambda-layer"
    }


def test_an_import_nothing_in_aws_provides_fails_the_sbom(assembly, tmp_path):
    copy = tmp_path / "cdk.out"
    shutil.copytree(assembly.directory, copy, symlinks=False)
    (asset,) = sbom.assets(copy)
    (asset.directory / "lambdas" / "uses_requests.py").write_text("import requests\n")
    with pytest.raises(ValueError, match="imports 'requests'"):
        sbom.build(copy)
