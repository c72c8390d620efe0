"""Files people upload by mistake instead of JSONL, told apart by their first bytes."""

from __future__ import annotations

import re

# First bytes of files people upload by mistake, and what to do instead. No JSONL file starts with any of
# them (a record starts with "{", after optional whitespace or a UTF-8 BOM), so a match is never a false
# alarm about a real dataset, and one file-level error replaces a report of undecodable lines.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "this file is gzip-compressed; upload the uncompressed JSONL"),  # RFC 1952 section 2.3.1
    (b"PK\x03\x04", "this file is a ZIP archive; extract it and upload the JSONL inside"),  # PKWARE APPNOTE 4.3.7
    (b"PK\x05\x06", "this file is an empty ZIP archive; upload the uncompressed JSONL"),  # APPNOTE 4.3.16
    (b"\xfd7zXZ\x00", "this file is xz-compressed; upload the uncompressed JSONL"),  # .xz file format, 2.1.1.1
    (b"\x28\xb5\x2f\xfd", "this file is zstd-compressed; upload the uncompressed JSONL"),  # RFC 8878 section 3.1.1
    (
        b"PAR1",
        "this file is Apache Parquet, not JSONL; export it as JSON Lines, one JSON object per line",
    ),  # parquet-format
    (
        b"%PDF-",
        "this file is a PDF document, not JSONL; upload the records as JSON Lines, one JSON object per line",
    ),  # ISO 32000-1 7.5.2
    (
        b"\xff\xfe",
        "this file is UTF-16 (or UTF-32) text; save it as UTF-8",
    ),  # byte-order marks, Unicode 15 section 23.8
    (b"\xfe\xff", "this file is UTF-16 text; save it as UTF-8"),
)
_BZIP2 = re.compile(rb"BZh[1-9]")  # bzip2's stream header: "BZh" and the block size, "1"-"9"


def not_jsonl_text(first_line: bytes) -> str | None:
    """Why the file whose first line this is cannot be JSONL text, or None."""
    for signature, why in _SIGNATURES:
        if first_line.startswith(signature):
            return why
    if _BZIP2.match(first_line):
        return "this file is bzip2-compressed; upload the uncompressed JSONL"
    if b"\x00" in first_line:
        return "this file is binary, not text (its first line has NUL bytes); upload the dataset as UTF-8 JSONL (UTF-16 text: save it as UTF-8)"
    return None
