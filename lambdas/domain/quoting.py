"""Text that leaves a run's reports: bounded and on one line.

A validation message may quote the dataset (a role, a URI, a schema version). The full message stays in
the run's report in S3, which only the data owner and the pipeline read; what goes into a step's output,
the execution history, the registry or a notification is cut to a line a person reads, so no dataset
field can fill it: Step Functions fails a state whose output is over its payload quota (256 KiB) with
States.DataLimitExceeded, "a terminal error that can't be caught by the States.ALL error type"
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html, read 2026-12-04), and
a DynamoDB item holds at most 400 KB.
"""

from __future__ import annotations

import re

MAX_LINE = 300  # characters: a notification line and an email preview
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with every run of control characters (newlines included) as one space, cut to ``limit``
    characters with an ellipsis."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
