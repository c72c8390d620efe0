"""Record-level rules for reinforcement fine-tuning prompts (:attr:`DatasetFormat.RFT_PROMPTS`).

AWS documents one record per line in OpenAI chat-completions format: ``messages`` (system, user or
assistant turns holding the prompt the model answers) and ``reference_answer`` (what the grader scores
the sampled responses against, in any shape the grader understands); further fields are allowed and
passed to the grader. Sources (read 2026-12-07):
https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html (Nova) and
https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data-open-weight.html (open-weight models).

Rules beyond those pages, and why: a record needs at least one ``user`` turn (the input prompt the pages
speak of; without one the job has nothing to sample responses for), and content must be text (a string,
or OpenAI's ``{"type": "text"}`` parts) because the pages document no images for RFT.
"""

from __future__ import annotations

from typing import Any

from lambdas.domain.catalogue import DatasetFormat
from lambdas.domain.formats import Issue, _missing, _text, _type_name

_ROLES = ("system", "user", "assistant")


class RftPrompts:
    """``{"messages": [{"role": ..., "content": ...}, ...], "reference_answer": ..., <grader fields>}``."""

    def check(self, record: dict[str, Any], issue: Issue) -> int:
        """Returns the characters of the prompt: the reference answer goes to the grader, not the model."""
        chars = 0
        if "messages" not in record:
            _missing(record, "messages", DatasetFormat.RFT_PROMPTS, issue)
        else:
            chars = self._messages(record["messages"], issue)
        self._reference_answer(record, issue)
        return chars

    def _messages(self, messages: object, issue: Issue) -> int:
        if type(messages) is not list:
            issue("wrong-type", "messages", f"'messages' must be a list, not {_type_name(messages)}")
            return 0
        if not messages:
            issue("empty-text", "messages", "'messages' is empty; a record needs the user prompt the model answers")
            return 0
        chars = 0
        has_user = False
        for index, message in enumerate(messages):
            path = f"messages[{index}]"
            if type(message) is not dict:
                issue("wrong-type", path, f"each message must be an object, not {_type_name(message)}")
                return chars
            role = message.get("role")
            if role is None:
                issue("missing-field", f"{path}.role", "the turn has no 'role'; use 'system', 'user' or 'assistant'")
                return chars
            if role not in _ROLES:
                issue(
                    "invalid-role", f"{path}.role", f"role {role!r} is not allowed; use 'system', 'user' or 'assistant'"
                )
                return chars
            has_user = has_user or role == "user"
            chars += self._content(message.get("content"), f"{path}.content", issue)
        if not has_user:
            issue("no-user-turn", "messages", "no 'user' turn: the record holds no prompt for the model to answer")
        return chars

    @staticmethod
    def _content(content: object, path: str, issue: Issue) -> int:
        if type(content) is not list:
            return _text(content, path, issue, ())
        if not content:
            issue("empty-text", path, f"'{path}' is an empty list of parts")
            return 0
        chars = 0
        for index, part in enumerate(content):
            part_path = f"{path}[{index}]"
            if type(part) is not dict or part.get("type") != "text":
                issue(
                    "invalid-content-block",
                    part_path,
                    'RFT prompts are text: each part must be {"type": "text", "text": "..."}',
                )
                continue
            chars += _text(part.get("text"), f"{part_path}.text", issue, ())
        return chars

    @staticmethod
    def _reference_answer(record: dict[str, Any], issue: Issue) -> None:
        if record.get("reference_answer") is None:
            issue(
                "missing-field",
                "reference_answer",
                "the required field 'reference_answer' is missing or null; the grader scores responses against it",
            )
            return
        answer = record["reference_answer"]
        if (type(answer) is str and (not answer or answer.isspace())) or (type(answer) in (list, dict) and not answer):
            issue(
                "empty-text", "reference_answer", "'reference_answer' is empty; the grader has nothing to compare with"
            )
