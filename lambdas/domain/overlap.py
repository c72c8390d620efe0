"""Evaluation prompts the candidate was trained on: the score they earn measures recall, not skill.

Validate streams the training file once (``lambdas.domain.validation``); for each valid record it asks
:meth:`EvaluationPrompts.match` whether the record's prompt (the first user turn, as the held-out split
and the evaluation read it) is one of the evaluation set's, as written or after normalization. Only
digests of the evaluation set's prompts are held (at most ``max_examples`` of them), never the training
data, so memory does not grow with the training file.

Normalization is the metrics' (``lambdas.domain.metrics.normalize``): Unicode NFC, case folding, every
punctuation character (``P*``) a space, whitespace runs collapsed. Vietnamese keeps its diacritics
(NFC composes them; they are letters, not punctuation), so "Thủ đô?" and "thủ  đô" match and "thu do"
does not. Done here without a Python loop over every character: it runs on every training record.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from lambdas.domain.catalogue import DatasetFormat

# Every punctuation character is neither a word character nor whitespace, except the underscore (``Pc``):
# this finds them and what else is neither (symbols, combining marks) at C speed, and the category is
# looked up for those few only. A 189-range class of ``P*`` took 60 µs on a 300-character prompt; this 9.
_NOT_WORD = re.compile(r"[^\w\s]|_")


def _punctuation_to_space(match: re.Match[str]) -> str:
    character = match.group()
    return " " if unicodedata.category(character)[0] == "P" else character


def normalized(text: str) -> str:
    """What ``metrics.normalize`` gives, faster: NFC, casefold (NFC again), punctuation to spaces, one space."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(_NOT_WORD.sub(_punctuation_to_space, text).split())


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return " ".join(
        block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)
    ).strip()


def training_prompt(record: dict[str, Any], dataset_format: DatasetFormat) -> str | None:
    """The record's prompt by the held-out split's rule (``holdout.as_example``): ``prompt``, or the first
    user turn's text. None for a record without one (continued pre-training passages)."""
    if dataset_format is DatasetFormat.PROMPT_COMPLETION:
        prompt = record.get("prompt")
        return prompt if isinstance(prompt, str) else None
    messages = record.get("messages")
    if not isinstance(messages, list):
        return None
    first = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    if first is None:
        return None
    return _text(first.get("content")) or None


@dataclass
class EvaluationPrompts:
    """Digests of the evaluation set's prompts, as written and normalized, each to its first line."""

    exact: dict[bytes, int] = field(default_factory=dict)
    normal: dict[bytes, int] = field(default_factory=dict)
    examples: int = 0
    lines: set[int] = field(default_factory=set)  # evaluation lines some training record repeated

    @classmethod
    def of(cls, examples: Iterable[tuple[int, str]]) -> "EvaluationPrompts":
        """From (line, prompt) pairs of the evaluation set, in file order."""
        prompts = cls()
        for line, prompt in examples:
            prompts.examples += 1
            prompts.exact.setdefault(_digest(prompt), line)
            prompts.normal.setdefault(_digest(normalized(prompt)), line)
        return prompts

    def match(self, prompt: str) -> tuple[int, bool] | None:
        """(evaluation line, whether as written) the training prompt repeats, or None."""
        line = self.exact.get(_digest(prompt))
        if line is not None:
            self.lines.add(line)
            return line, True
        line = self.normal.get(_digest(normalized(prompt)))
        if line is not None:
            self.lines.add(line)
            return line, False
        return None


def overlap_message(evaluation_line: int, training_line: int, exact: bool) -> str:
    how = "" if exact else " (after normalization)"
    return (
        f"evaluation line {evaluation_line} repeats training line {training_line}{how}; a model scored on a prompt it "
        "was trained on looks better than it is: take the example out of one of the two"
    )


def overlap_note(prompts: EvaluationPrompts) -> str | None:
    """One line for the report's notes: how many evaluation prompts the training data repeats."""
    if not prompts.lines:
        return None
    shown = ", ".join(str(line) for line in sorted(prompts.lines)[:10])
    more = ", …" if len(prompts.lines) > 10 else ""
    return (
        f"{len(prompts.lines)} of the {prompts.examples} evaluation prompts also appear in the training data "
        f"(evaluation lines {shown}{more}): the evaluation overstates the candidate on them"
    )
