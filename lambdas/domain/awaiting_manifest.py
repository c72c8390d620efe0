"""A dataset folder whose ``manifest.json`` never arrives: told to its data owners once, after a grace period.

The files of a folder (``incoming/<profile>/<dataset>/<file>``) start nothing: the folder's run starts when its
manifest arrives, and ``tuneforge submit`` uploads the manifest last. So at a file's upload nothing is wrong yet.
StartRun records the folder (one registry item per folder, ``RunRegistry.record_awaiting_manifest``) and marks it
for the janitor's sweep index ``MANIFEST_GRACE`` after the latest file; when the janitor reaches it, it lists the
folder: a manifest there now has started (or refused, with its own notice) the run, so the item only leaves the
index; no manifest, and the data owners get an ``IGNORED_UPLOAD`` notice naming the folder and its files, once.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any, Callable, Literal

from pydantic import BaseModel

from lambdas.domain.abnormal_end import claim_notification, release_notification
from lambdas.domain.registry import IGNORED_UPLOAD, RunRegistry
from lambdas.domain.runs import MANIFEST_NAME, S3ObjectRef

# How long after a folder's latest file the janitor first looks for its manifest. submit uploads the manifest
# seconds after the data; an hour leaves room for a large folder uploaded by hand, file by file, while the data
# owner still hears the same working day. The janitor runs every janitor_interval_minutes (default 60), so the
# notice comes between one and two intervals after the grace.
MANIFEST_GRACE = timedelta(hours=1)
# The files a notice names; a folder with more says how many it does not name.
FILES_NAMED = 20
MANIFEST_HELP = "README, 'How an upload becomes exactly one run'"

Verdict = Literal["manifest-arrived", "already-told", "tell"]


def dataset_folder(key: str) -> str | None:
    """``incoming/<profile>/<dataset>`` for a file inside a dataset folder, else None."""
    parts = PurePosixPath(key).parts
    return "/".join(parts[:3]) if len(parts) >= 4 and parts[3] != MANIFEST_NAME else None


def await_manifest(registry: RunRegistry, obj: S3ObjectRef, *, profile: str, now: datetime, epoch_seconds: int) -> str:
    """Record a folder file whose manifest has not arrived, for the janitor to look at after the grace."""
    folder = dataset_folder(obj.key)
    if folder is None:
        raise ValueError(f"{obj.key} is not a file of a dataset folder")
    after = (now + MANIFEST_GRACE).astimezone(timezone.utc).isoformat(timespec="seconds")
    return registry.record_awaiting_manifest(
        obj, folder=folder, profile=profile, sweep_after=after, epoch_seconds=epoch_seconds
    )


def verdict(*, manifest_exists: bool, already_told: bool) -> Verdict:
    """What the janitor does with a folder whose grace has passed. A manifest that exists has started its run (or
    been refused with a notice of its own), so the folder needs nothing more."""
    if manifest_exists:
        return "manifest-arrived"
    return "already-told" if already_told else "tell"


def missing_manifest_notice(item: dict[str, Any], files: list[str], *, more: bool) -> dict[str, Any]:
    """The IGNORED_UPLOAD notice of a folder without a manifest (``trigger.ignored_upload_notice``'s fields)."""
    folder = str(item["folder"])
    names = [PurePosixPath(key).relative_to(folder).as_posix() for key in files]
    validation = [n for n in names if "valid" in n.lower()]
    training = [n for n in names if n not in validation] or names or ["train.jsonl"]
    example = {"training": training[0], **({"validation": validation[0]} if validation else {})}
    listed = ", ".join(names) + (" and more" if more else "") if names else "none left"
    grace = int(MANIFEST_GRACE.total_seconds() // 60)
    return {
        "outcome": IGNORED_UPLOAD,
        "key": f"{folder}/",
        "bucket": item.get("bucket"),
        "profile": item.get("profile"),
        "reason": (
            f"files arrived in the dataset folder {folder}/ but no {MANIFEST_NAME} within {grace} minutes of the"
            f" latest ({item.get('last_file')}); a folder's run starts only when its {MANIFEST_NAME} arrives"
        ),
        "what_to_do": (
            f"upload {folder}/{MANIFEST_NAME} last, naming the files by their path in the folder, e.g."
            f" {json.dumps(example, ensure_ascii=False)} (files in the folder now: {listed}); see {MANIFEST_HELP}"
        ),
        "files": names,
        "registry_item": item["run_id"],
    }


class FolderLook(BaseModel):
    item_id: str
    folder: str | None = None
    verdict: Verdict | None = None  # None: the item was gone
    notice: dict[str, Any] | None = None


def look_at_folder(
    s3: Any, registry: RunRegistry, item_id: str, *, publish: Callable[[dict[str, Any]], None]
) -> FolderLook:
    """The janitor's visit to a folder item whose grace has passed: tell once if its manifest is still missing,
    then take it out of the sweep index (a later file of the folder marks it again)."""
    item = registry.get(item_id)
    if item is None:
        registry.clear_sweep(item_id)
        return FolderLook(item_id=item_id)
    folder, bucket = str(item["folder"]), str(item["bucket"])
    # Listing, not HeadObject: the key is known and the janitor may only list incoming/ (stacks/janitor.py).
    manifest_key = f"{folder}/{MANIFEST_NAME}"
    found = s3.list_objects_v2(Bucket=bucket, Prefix=manifest_key, MaxKeys=10).get("Contents", [])
    decided = verdict(
        manifest_exists=any(entry["Key"] == manifest_key for entry in found),
        already_told=bool(item.get("notified_outcome")),
    )
    look = FolderLook(item_id=item_id, folder=folder, verdict=decided)
    if decided == "tell":
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{folder}/", MaxKeys=FILES_NAMED)
        files = [entry["Key"] for entry in listing.get("Contents", [])]
        look.notice = missing_manifest_notice(item, files, more=bool(listing.get("IsTruncated")))
        # Claimed before publishing, released when publishing fails, as every ignored upload's notice is.
        if claim_notification(registry, item_id, IGNORED_UPLOAD):
            try:
                publish(look.notice)
            except Exception:
                release_notification(registry, item_id)
                raise
    registry.clear_sweep(item_id)
    return look
