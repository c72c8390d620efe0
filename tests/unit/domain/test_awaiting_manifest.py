"""The janitor's decision on a dataset folder whose grace has passed, and the notice it sends."""

from __future__ import annotations

import pytest

from lambdas.domain.awaiting_manifest import dataset_folder, missing_manifest_notice, verdict


@pytest.mark.parametrize(
    ("manifest_exists", "already_told", "expected"),
    [
        (True, False, "manifest-arrived"),  # its upload started the run (or was refused with its own notice)
        (True, True, "manifest-arrived"),
        (False, True, "already-told"),
        (False, False, "tell"),
    ],
)
def test_only_a_folder_still_without_its_manifest_and_not_yet_told_is_told(manifest_exists, already_told, expected):
    assert verdict(manifest_exists=manifest_exists, already_told=already_told) == expected


@pytest.mark.parametrize(
    ("key", "folder"),
    [
        ("incoming/p/ds/train.jsonl", "incoming/p/ds"),
        ("incoming/p/ds/media/cat.png", "incoming/p/ds"),  # a manifest names paths below its folder
        ("incoming/p/ds/manifest.json", None),
        ("incoming/p/train.jsonl", None),
    ],
)
def test_the_folder_awaited_is_the_dataset_folder_under_the_profile(key, folder):
    assert dataset_folder(key) == folder


def test_the_notice_names_the_folder_the_reason_and_a_manifest_for_its_files():
    item = {
        "run_id": "folder~abc",
        "folder": "incoming/p/ds",
        "bucket": "data",
        "profile": "p",
        "last_file": "incoming/p/ds/validation.jsonl",
    }
    notice = missing_manifest_notice(item, ["incoming/p/ds/train.jsonl", "incoming/p/ds/validation.jsonl"], more=True)
    assert list(notice)[:4] == ["outcome", "key", "bucket", "profile"] and notice["outcome"] == "IGNORED_UPLOAD"
    assert notice["key"] == "incoming/p/ds/" and notice["registry_item"] == "folder~abc"
    assert "incoming/p/ds/" in notice["reason"] and "no manifest.json" in notice["reason"]
    assert notice["what_to_do"].startswith("upload incoming/p/ds/manifest.json last")
    assert '{"training": "train.jsonl", "validation": "validation.jsonl"}' in notice["what_to_do"]
    assert "train.jsonl, validation.jsonl and more" in notice["what_to_do"]
