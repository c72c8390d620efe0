"""The `delivery:` section: the typed model, and one clear line naming the field for each mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacks.config import CodeCommitSource, ConfigError, ConnectionSource, S3Source, load_delivery, load_stages

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config" / "tuneforge.yaml"


@pytest.fixture(scope="module")
def stages():
    return load_stages(CONFIG)


def _config(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(yaml.safe_dump(yaml.safe_load(CONFIG.read_text())))
    mutate(data)
    path = tmp_path / "tuneforge.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_bundled_pipeline_deploys_dev_then_prod_after_an_approval(stages):
    delivery = load_delivery(CONFIG, stages)
    assert delivery is not None
    assert [(entry.stage, entry.approval) for entry in delivery.stages] == [("dev", False), ("prod", True)]
    assert isinstance(delivery.source, ConnectionSource) and delivery.source.branch == "main"
    assert delivery.account not in {stage.account for stage in stages}  # a tooling account of its own


def test_no_delivery_section_means_no_pipeline(tmp_path, stages):
    assert load_delivery(_config(tmp_path, lambda d: d.pop("delivery")), stages) is None


@pytest.mark.parametrize(
    "source, kind",
    [
        ({"kind": "codecommit", "repository": "tuneforge", "branch": "main"}, CodeCommitSource),
        ({"kind": "s3", "bucket": "tooling-sources", "key": "tuneforge/source.zip"}, S3Source),
    ],
)
def test_every_source_kind_is_read(tmp_path, stages, source, kind):
    path = _config(tmp_path, lambda d: d["delivery"].update(source=source))
    delivery = load_delivery(path, stages)
    assert delivery is not None and isinstance(delivery.source, kind)


def _set(path: str, value):
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data["delivery"]
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (
            _set("stages", [{"stage": "dev"}, {"stage": "staging", "approval": True}]),
            "delivery.stages.1.stage",
            "unknown stage 'staging'; defined: dev, prod",
        ),
        (_set("stages", [{"stage": "dev"}, {"stage": "dev"}]), "delivery.stages", "listed twice"),
        (_set("stages", []), "delivery.stages", "at least 1"),
        (_set("account", "12345"), "delivery.account", "should match pattern"),
        (_set("region", "mars-1"), "delivery.region", "should match pattern"),
        (_set("source", _DELETE), "delivery.source", "required but missing"),
        (_set("source.kind", "github"), "delivery.source", "connection', 'codecommit', 's3'"),
        (
            _set("source.connection_arn", "arn:aws:iam::333333333333:role/x"),
            "delivery.source.connection.connection_arn",
            "should match pattern",
        ),
        (_set("source.repository", "tuneforge"), "delivery.source.connection.repository", "should match pattern"),
        (_set("source.token", "secret"), "delivery.source.connection.token", "not a known setting"),
        (_set("stages.1.approve", True), "delivery.stages.1.approve", "not a known setting"),
        (_set("log_retention_days", 42), "delivery.log_retention_days", "must be one CloudWatch accepts: 1, 3, 5"),
    ],
)
def test_a_mistake_is_one_line_naming_the_field(tmp_path, stages, mutate, field, words):
    path = _config(tmp_path, mutate)
    with pytest.raises(ConfigError) as raised:
        load_delivery(path, stages)
    message = str(raised.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert words in message and "\n" not in message


def test_a_delivery_that_is_not_a_mapping_is_refused(tmp_path, stages):
    path = _config(tmp_path, lambda d: d.update(delivery=["dev", "prod"]))
    with pytest.raises(ConfigError, match=r": delivery: must be a mapping of settings$"):
        load_delivery(path, stages)


def test_app_stops_on_a_bad_delivery_section_with_one_line_and_no_cloud_assembly(tmp_path):
    path = _config(tmp_path, _set("stages", [{"stage": "qa"}]))
    outdir = tmp_path / "cdk.out"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env={**os.environ, "TUNEFORGE_CONFIG": str(path), "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        f"tuneforge: configuration error: {path}: delivery.stages.0.stage: unknown stage 'qa'; defined: dev, prod"
    )
    assert not outdir.exists()
