"""Evaluation examples with images: the field, Validate's checks, the Converse blocks, the emulator, the report."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.domain.catalogue import DatasetFormat, get_model
from lambdas.domain.endpoints import deploy_for_evaluation
from lambdas.domain.evaluation import (
    EvaluationSetError,
    Example,
    _evaluate_one,
    ask,
    check_evaluation_set,
    evaluate,
    invocable_model,
    load_evaluation_set,
    parse_evaluation_set,
)
from lambdas.domain.evaluation_images import MAX_IMAGE_BYTES, ImageLoadError, image_blocks, sniff_format
from lambdas.domain.holdout import as_example
from local.converse_images import NO_IMAGES
from samples.generate import DEV_DATA_BUCKET, PICTURES, picture, picture_name
from tests.unit.evaluation.helpers import ARTIFACTS_BUCKET, DATA_BUCKET, SAMPLES

NOVA_LITE = get_model("amazon.nova-lite-v1:0:300k")
NOVA_MICRO = get_model("amazon.nova-micro-v1:0:128k")
PNG = picture("do", "tron", 3)


def _line(**record) -> bytes:
    return (json.dumps({"prompt": "Hình này có màu gì?", "reference": "Màu đỏ.", **record}) + "\n").encode()


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="data")
        client.put_object(Bucket="data", Key="evaluation/images/red.png", Body=PNG)
        client.put_object(Bucket="data", Key="snapshots/red.png", Body=PNG)  # in the bucket, not where Evaluate reads
        yield client


def _check(s3, *records: bytes, model=NOVA_LITE):
    s3.put_object(Bucket="data", Key="evaluation/set.jsonl", Body=b"".join(records))
    return check_evaluation_set(s3, "data", "evaluation/set.jsonl", 50, model=model)


def test_the_images_field_is_a_list_of_uris_and_a_malformed_one_names_its_line():
    [example] = parse_evaluation_set(_line(images=["s3://data/evaluation/images/red.png"]), "s3://data/set.jsonl")
    assert example.images == ["s3://data/evaluation/images/red.png"]
    assert parse_evaluation_set(_line(), "s3://data/set.jsonl")[0].images == []
    with pytest.raises(EvaluationSetError, match=r"line 2: images must be a list of s3:// URIs"):
        parse_evaluation_set(_line() + _line(images="s3://data/a.png"), "s3://data/set.jsonl")


def test_images_that_meet_the_media_rules_pass_validate(s3):
    checked = _check(s3, _line(images=["s3://data/evaluation/images/red.png"]), _line())
    assert checked["evaluation_examples"] == 2


@pytest.mark.parametrize(
    ("images", "model", "problem"),
    [
        (
            ["s3://data/evaluation/images/gone.png"],
            NOVA_LITE,
            r"line 1: images\[0\]\.source\.s3Location\.uri: .*does not exist",
        ),
        (
            ["s3://data/evaluation/images/red.bmp"],
            NOVA_LITE,
            r"line 1: images\[0\]\.format: image format 'bmp' is not accepted by Nova Lite",
        ),
        (
            ["s3://elsewhere/evaluation/images/red.png"],
            NOVA_LITE,
            r"line 1: .*media is in bucket 'elsewhere' but the dataset is in 'data'",
        ),
        (
            ["s3://data/evaluation/images/red.png"],
            NOVA_MICRO,
            r"line 1: images\[0\]: Nova Micro takes no images",
        ),
        (
            ["s3://data/snapshots/red.png"],
            NOVA_LITE,
            r"line 1: images\[0\]: s3://data/snapshots/red.png is outside evaluation/ and incoming/",
        ),
        (
            ["s3://data/evaluation/images/red.png"] * 11,
            NOVA_LITE,
            r"line 1: messages: 11 images in one record; Nova Lite accepts at most 10",
        ),
    ],
    ids=["missing", "format", "other-bucket", "text-only-model", "outside-evaluates-prefixes", "too-many"],
)
def test_images_are_checked_like_training_media_with_line_numbers(s3, images, model, problem):
    with pytest.raises(EvaluationSetError, match=problem):
        _check(s3, _line(images=images), model=model)


def test_an_image_over_converses_size_limit_is_refused_before_any_job(s3):
    s3.put_object(Bucket="data", Key="evaluation/images/huge.png", Body=PNG + b"\0" * MAX_IMAGE_BYTES)
    with pytest.raises(
        EvaluationSetError,
        match=r"line 1: images\[0\]: .*huge.png is 3,750,292 bytes; Converse takes images of at most 3,750,000",
    ):
        _check(s3, _line(images=["s3://data/evaluation/images/huge.png"]))


def test_images_are_sent_as_bytes_in_the_format_their_signature_names(s3):
    s3.put_object(Bucket="data", Key="evaluation/images/really-a-png.jpg", Body=PNG)
    [block] = image_blocks(s3, ["s3://data/evaluation/images/really-a-png.jpg"])
    assert block == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert [sniff_format(b) for b in (b"\xff\xd8\xff\xe0", b"GIF89a..", b"RIFF\0\0\0\0WEBPVP8 ", b"{}")] == [
        "jpeg",
        "gif",
        "webp",
        None,
    ]
    s3.put_object(Bucket="data", Key="evaluation/images/notes.png", Body=b"not an image")
    with pytest.raises(ImageLoadError, match="notes.png is not a PNG, JPEG, GIF or WebP image"):
        image_blocks(s3, ["s3://data/evaluation/images/notes.png"])


def test_an_unreadable_image_fails_the_example_on_both_sides_without_a_call(s3):
    example = Example(line=3, prompt="p", reference="r", images=["s3://data/evaluation/images/gone.png"])
    result = _evaluate_one(None, example, "candidate", "baseline", None, lambda s: None, s3)
    assert result.candidate.error == result.baseline.error and "ImageLoadError" in result.candidate.error
    assert result.to_json()["images"] == ["s3://data/evaluation/images/gone.png"]


def test_a_held_out_record_keeps_the_images_of_its_first_user_turn():
    record = json.loads((SAMPLES / "multimodal" / "vqa-vi" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    example = as_example(record, DatasetFormat.CONVERSATION_2024)
    assert example == {
        "prompt": "Hình trong ảnh này có màu gì?",
        "images": [f"s3://{DEV_DATA_BUCKET}/incoming/vqa-vi/hinh-hoc/images/do-tron-3.png"],
        "reference": "Hình trong ảnh có màu đỏ.",
    }
    # text-only records are written as before: no "images" key
    text = {
        "messages": [{"role": "user", "content": [{"text": "q"}]}, {"role": "assistant", "content": [{"text": "a"}]}]
    }
    assert as_example(text, DatasetFormat.CONVERSATION_2024) == {"prompt": "q", "reference": "a"}


# --- on the emulator ------------------------------------------------------------------------------------
def _image_block(data: bytes = PNG, fmt: str = "png") -> dict:
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def test_a_model_that_takes_no_images_refuses_them_with_bedrocks_error(aws):
    with pytest.raises(ClientError) as refused:
        aws.runtime.converse(
            modelId="amazon.nova-micro-v1:0",
            messages=[{"role": "user", "content": [_image_block(), {"text": "Màu gì?"}]}],
        )
    assert refused.value.response["Error"] == {"Code": "ValidationException", "Message": NO_IMAGES}
    # ask() returns the error for the example instead of raising (no retry: a ValidationException is final)
    answer = ask(aws.runtime, "amazon.nova-micro-v1:0", "Màu gì?", content=[_image_block()], sleep=lambda s: None)
    assert answer.error == f"ValidationException: {NO_IMAGES}" and answer.attempts == 1


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (_image_block(fmt="bmp"), r"Member must satisfy enum value set: \[png, jpeg, gif, webp\]"),
        (_image_block(data=b"\0" * (MAX_IMAGE_BYTES + 1)), r"3,750,001 bytes; an image may be at most 3,750,000 bytes"),
    ],
    ids=["format", "size"],
)
def test_image_blocks_are_checked_as_bedrock_checks_them(aws, block, message):
    with pytest.raises(ClientError, match=message):
        aws.runtime.converse(
            modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [block, {"text": "?"}]}]
        )


def _vqa_candidate(aws, tmp_path):
    """The bundled multimodal sample in the test's data bucket: its pictures, a trained and deployed candidate."""
    for p in PICTURES:
        for key in (
            f"incoming/vqa-vi/hinh-hoc/images/{picture_name(*p)}",
            f"evaluation/vqa-vi/images/{picture_name(*p)}",
        ):
            aws.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=picture(*p))
    training = tmp_path / "train.jsonl"
    training.write_text(
        (SAMPLES / "multimodal" / "vqa-vi" / "train.jsonl")
        .read_text(encoding="utf-8")
        .replace(DEV_DATA_BUCKET, DATA_BUCKET),
        encoding="utf-8",
    )
    profile = aws.profiles["vqa-vi"]
    run = aws.run(profile, str(training), key="incoming/vqa-vi/hinh-hoc/train.jsonl")
    endpoint = deploy_for_evaluation(aws.bedrock, aws.registry, run, aws.train(run), region="us-east-1")
    aws.advance(aws.emulator.settings.deployment_duration)
    aws.put_evaluation_set(
        profile.evaluation.dataset_key,
        (SAMPLES / "evaluation" / "vqa-vi.jsonl").read_text(encoding="utf-8").replace(DEV_DATA_BUCKET, DATA_BUCKET),
    )
    check_evaluation_set(
        aws.s3, DATA_BUCKET, profile.evaluation.dataset_key, 50, model=profile.model
    )  # Validate's check
    examples = load_evaluation_set(aws.s3, DATA_BUCKET, profile.evaluation.dataset_key, 50)
    return run, endpoint, examples


def test_a_multimodal_candidate_answers_by_the_picture_and_beats_its_baseline(aws, tmp_path):
    run, endpoint, examples = _vqa_candidate(aws, tmp_path)
    assert len(examples) == 16 and all(len(e.images) == 1 for e in examples)
    summary, decision = evaluate(
        aws.runtime,
        aws.s3,
        run,
        examples=examples,
        candidate_model=endpoint.arn,
        baseline_model=invocable_model(run.profile.base_model, "us-east-1", "123456789012").model_id,
        artifacts_bucket=ARTIFACTS_BUCKET,
        evaluation_set_uri=f"s3://{DATA_BUCKET}/{run.profile.evaluation.dataset_key}",
        sleep=lambda s: None,
        now="2026-11-24T12:00:00+00:00",
    )
    # Every question's words fit 8 training records (one per picture): only the picture tells them apart.
    assert summary.candidate["exact_match"] == 1.0 and decision.passed
    assert summary.failed_calls == {"candidate": 0, "baseline": 0}
    calls = [e for e in aws.emulator.journal if e["event"] == "bedrock.converse"]
    candidate_calls = [c for c in calls if c["kind"] == "nearest-neighbour"]
    assert len(candidate_calls) == 16 and all(c["images"] == 1 and c["image_match"] for c in candidate_calls)
    assert all(c["images"] == 1 for c in calls if c["kind"] == "baseline")  # the baseline saw them too
    # The examples file records the URIs; the page shows each shown example's picture inline.
    records = [json.loads(line) for line in aws.read(summary.examples_uri).decode().splitlines()]
    assert records[0]["images"] == examples[0].images
    page = aws.read(summary.html_uri).decode()
    thumbnails = re.findall(r'<img class="thumb" src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert len(thumbnails) == 12  # one per shown example (the page shows 12 of 16)


def test_without_the_picture_the_same_words_find_the_wrong_record(aws, tmp_path):
    run, endpoint, examples = _vqa_candidate(aws, tmp_path)
    wrong = [e for e in examples if "màu" in e.prompt and "đỏ" not in e.reference][0]
    blind = ask(aws.runtime, endpoint.arn, wrong.prompt, sleep=lambda s: None)
    seeing = ask(
        aws.runtime, endpoint.arn, wrong.prompt, sleep=lambda s: None, content=image_blocks(aws.s3, wrong.images)
    )
    assert seeing.text == wrong.reference and blind.text != wrong.reference


def test_the_page_shows_a_thumbnail_where_it_has_one_and_the_uri_where_it_has_none():
    from lambdas.domain.evaluation_report import render_html

    report = {
        "profile": "vqa-vi",
        "run_id": "r1",
        "examples": 1,
        "candidate_model": "c",
        "baseline_model": "b",
        "metrics": {"candidate": {"token_f1": 1.0}, "baseline": {"token_f1": 0.0}},
        "decision": {"passed": True, "checks": []},
    }
    example = {
        "line": 1,
        "prompt": "Màu gì?",
        "images": ["s3://data/evaluation/a.png", "s3://data/evaluation/big.png"],
        "reference": "Đỏ.",
        "candidate": "Đỏ.",
        "baseline": "?",
        "metrics": {"candidate": {"token_f1": 1.0}, "baseline": {"token_f1": 0.0}},
    }
    page = render_html(report, [example], thumbnails={"s3://data/evaluation/a.png": "data:image/png;base64,AAAA"})
    assert '<img class="thumb" src="data:image/png;base64,AAAA" alt="s3://data/evaluation/a.png"' in page
    assert '<code class="small">s3://data/evaluation/big.png</code>' in page and page.count("<img") == 1


def test_thumbnails_are_inline_only_under_their_size_cap(s3):
    from lambdas.domain.evaluation_images import THUMBNAIL_MAX_BYTES, report_thumbnails

    s3.put_object(Bucket="data", Key="evaluation/images/big.png", Body=PNG + b"\0" * THUMBNAIL_MAX_BYTES)
    records = [
        {"line": 1, "prompt": "p", "reference": "r", "images": ["s3://data/evaluation/images/red.png"]},
        {"line": 2, "prompt": "p", "reference": "r", "images": ["s3://data/evaluation/images/big.png"]},
        {"line": 3, "prompt": "p", "reference": "r", "images": ["s3://data/evaluation/images/gone.png"]},
    ]
    thumbnails = report_thumbnails(s3, records)
    assert list(thumbnails) == ["s3://data/evaluation/images/red.png"]
    assert thumbnails["s3://data/evaluation/images/red.png"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_a_held_out_split_names_snapshots_of_its_pictures_so_a_later_overwrite_changes_nothing(aws, tmp_path):
    """The held-out examples show the pictures Validate saw: copied into the run's snapshot with the training
    side's media, not read from incoming/ where a data owner may overwrite them before evaluation."""
    from lambdas.domain.evaluation import holdout_key_for
    from lambdas.domain.holdout import split_holdout
    from lambdas.domain.snapshot import take_snapshot
    from tests.unit.evaluation.helpers import DATA_BUCKET as UNIT_DATA_BUCKET

    lines = (SAMPLES / "multimodal" / "vqa-vi" / "train.jsonl").read_text(encoding="utf-8")
    upload = tmp_path / "train.jsonl"
    upload.write_text(lines.replace(f"s3://{DEV_DATA_BUCKET}/", f"s3://{UNIT_DATA_BUCKET}/"), encoding="utf-8")
    pictures = sorted(set(re.findall(rf"s3://{UNIT_DATA_BUCKET}/([^\"]+\.png)", upload.read_text(encoding="utf-8"))))
    by_name = {picture_name(*spec): picture(*spec) for spec in PICTURES}
    originals = {key: by_name[key.rsplit("/", 1)[-1]] for key in pictures}
    for key, body in originals.items():
        aws.s3.put_object(Bucket=UNIT_DATA_BUCKET, Key=key, Body=body)
    run = aws.run(
        aws.profile("vqa-vi", evaluation={"dataset_key": None, "holdout_fraction": 0.25, "max_examples": 50}),
        str(upload),
    )

    def snapshot_split(training_lines, held_out_media):
        snapshot = take_snapshot(
            aws.s3,
            run,
            data_bucket=UNIT_DATA_BUCKET,
            has_media=True,
            training_lines=training_lines,
            held_out_media=held_out_media,
        )
        return {media.source_uri: media.snapshot_uri for media in snapshot.media}

    _, held, _ = split_holdout(aws.s3, run, artifacts_bucket=ARTIFACTS_BUCKET, write_training=snapshot_split)
    for key in pictures:
        aws.s3.put_object(Bucket=UNIT_DATA_BUCKET, Key=key, Body=b"overwritten after Validate")

    body = aws.s3.get_object(Bucket=ARTIFACTS_BUCKET, Key=holdout_key_for(run))["Body"].read().decode()
    examples = [json.loads(line) for line in body.splitlines()]
    assert held == len(examples) > 0
    media = f"s3://{UNIT_DATA_BUCKET}/snapshots/{run.run_id}/media/"
    for example in examples:
        [uri] = example["images"]
        assert uri.startswith(media), uri
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        assert aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read() in originals.values()
