"""Record-level rules for each Bedrock dataset format.

One checker per :class:`~lambdas.domain.catalogue.DatasetFormat`. A checker looks at one parsed JSON
object, reports each problem through ``issue(kind, field, message)`` and returns the number of text
characters in the record (the validator turns that into a token estimate). Checkers never raise on bad
input: whatever shape the object has, the result is issues, not exceptions.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Protocol

from lambdas.domain.catalogue import DatasetFormat, DatasetLimits, ModelSpec
from lambdas.domain.report import Severity

Issue = Callable[..., None]  # issue(kind, field, message, severity=None)

SCHEMA_VERSION = "bedrock-conversation-2024"
# Characters the Nova sample validator allows in a media key.
_MEDIA_KEY = re.compile(r"^[\w\-/.]+$")


class RecordChecker(Protocol):
    def check(self, record: dict[str, Any], issue: Issue) -> int: ...


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def looks_like(record: dict[str, Any]) -> str | None:
    """Which format a record seems to be written in: used to turn 'missing field' into a useful hint."""
    if "prompt" in record and "completion" in record:
        return DatasetFormat.PROMPT_COMPLETION.value
    if "input" in record and len(record) == 1:
        return DatasetFormat.CONTINUED_PRE_TRAINING.value
    messages = record.get("messages")
    if isinstance(messages, list):
        if record.get("schemaVersion") == SCHEMA_VERSION or any(
            isinstance(m, dict)
            and isinstance(m.get("content"), list)
            and m["content"]
            and isinstance(m["content"][0], dict)
            and "type" not in m["content"][0]
            for m in messages
        ):
            return DatasetFormat.CONVERSATION_2024.value
        if any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
            return "openai-chat"
        return "chat messages"
    return None


def _missing(record: dict[str, Any], name: str, expected: DatasetFormat, issue: Issue) -> None:
    seen = looks_like(record)
    hint = (
        f"; this record looks like {seen} format, but this model and customization type expect {expected.value}"
        if seen and seen != expected.value
        else ""
    )
    issue("missing-field", name, f"the required field '{name}' is missing{hint}")


def _unknown_fields(
    record: dict[str, Any], allowed: frozenset[str], issue: Issue, severity: Severity | None = None, prefix: str = ""
) -> None:
    for key in record:
        if key not in allowed:
            issue(
                "unknown-field",
                f"{prefix}{key}",
                f"'{key}' is not part of this format (expected only: {', '.join(sorted(allowed))})",
                severity,
            )


def _text(value: object, path: str, issue: Issue, reserved: tuple[str, ...], *, required: bool = True) -> int:
    """Check one text value; returns its length in characters."""
    if type(value) is not str:
        if value is None and required:
            issue("missing-field", path, f"'{path}' is missing or null")
        else:
            issue("wrong-type", path, f"'{path}' must be a string, not {_type_name(value)}")
        return 0
    if not value or value.isspace():
        issue("empty-text", path, f"'{path}' is empty")
    elif reserved:
        _reserved(value, path, issue, reserved)
    return len(value)


def _reserved(value: str, path: str, issue: Issue, reserved: tuple[str, ...]) -> None:
    found = [r for r in reserved if r in value]
    if found:
        issue(
            "reserved-string",
            path,
            f"the text contains {', '.join(repr(r) for r in found)}, which Bedrock reserves for its prompt template; rephrase it",
        )


class PromptCompletion:
    """``{"prompt": "...", "completion": "..."}``: Titan, Cohere, Llama 3.1."""

    _ALLOWED = frozenset({"prompt", "completion"})

    def __init__(self, limits: DatasetLimits):
        self.prompt_chars = None if limits.tokens.prompt is None else limits.tokens.prompt * limits.chars_per_token
        self.completion_chars = (
            None if limits.tokens.completion is None else limits.tokens.completion * limits.chars_per_token
        )
        self.limits = limits

    def check(self, record: dict[str, Any], issue: Issue) -> int:
        prompt = record.get("prompt")
        completion = record.get("completion")
        # The common case (two non-empty strings, nothing else) costs four C-level calls.
        if (
            type(prompt) is str
            and type(completion) is str
            and prompt
            and completion
            and len(record) == 2
            and not prompt.isspace()
            and not completion.isspace()
        ):
            chars = len(prompt) + len(completion)
        else:
            chars = 0
            for name, value in (("prompt", prompt), ("completion", completion)):
                if name not in record:
                    _missing(record, name, DatasetFormat.PROMPT_COMPLETION, issue)
                else:
                    chars += _text(value, name, issue, ())
            if ("prompt" in record or "completion" in record) and any(k not in self._ALLOWED for k in record):
                _unknown_fields(record, self._ALLOWED, issue)
        if self.prompt_chars is not None and type(prompt) is str and len(prompt) > self.prompt_chars:
            est = round(len(prompt) / self.limits.chars_per_token)
            issue(
                "too-many-tokens",
                "prompt",
                f"the prompt is about {est:,} tokens; the limit is {self.limits.tokens.prompt:,}",
            )
        if self.completion_chars is not None and type(completion) is str and len(completion) > self.completion_chars:
            est = round(len(completion) / self.limits.chars_per_token)
            issue(
                "too-many-tokens",
                "completion",
                f"the completion is about {est:,} tokens; the limit is {self.limits.tokens.completion:,}",
            )
        return chars


class ContinuedPreTraining:
    """``{"input": "..."}``: unlabeled text."""

    _ALLOWED = frozenset({"input"})

    def check(self, record: dict[str, Any], issue: Issue) -> int:
        value = record.get("input")
        if type(value) is str and value and len(record) == 1 and not value.isspace():
            return len(value)
        if "input" not in record:
            _missing(record, "input", DatasetFormat.CONTINUED_PRE_TRAINING, issue)
            return 0
        chars = _text(value, "input", issue, ())
        _unknown_fields(record, self._ALLOWED, issue)
        return chars


def _check_roles(roles: list[tuple[int, object]], issue: Issue, *, must_end_with_assistant: bool) -> None:
    """Roles must be user/assistant, start with user and alternate; report the first break only."""
    expected = "user"
    for index, role in roles:
        if role is None:
            issue("missing-field", f"messages[{index}].role", "the turn has no 'role'; use 'user' or 'assistant'")
            return
        if role not in ("user", "assistant"):
            hint = "; put the system prompt in the top-level 'system' field" if role == "system" else ""
            issue(
                "invalid-role",
                f"messages[{index}].role",
                f"role {role!r} is not allowed; use 'user' or 'assistant'{hint}",
            )
            return
        if role != expected:
            if index == 0:
                issue("first-turn-not-user", "messages[0].role", "the conversation must start with a 'user' turn")
            else:
                issue(
                    "roles-not-alternating",
                    f"messages[{index}].role",
                    f"turn {index + 1} is '{role}' like the turn before it; turns must alternate user, assistant, user, …",
                )
            return
        expected = "assistant" if role == "user" else "user"
    if must_end_with_assistant and roles and roles[-1][1] != "assistant":
        last = roles[-1][0]
        issue(
            "last-turn-not-assistant",
            f"messages[{last}].role",
            "the conversation must end with an 'assistant' turn (the answer the model learns)",
        )


class ClaudeMessages:
    """Claude 3 Haiku: ``{"system": "...", "messages": [{"role": "user", "content": "..."}, ...]}``."""

    _ALLOWED = frozenset({"system", "messages"})
    _MESSAGE = frozenset({"role", "content"})

    def check(self, record: dict[str, Any], issue: Issue) -> int:
        if "messages" not in record:
            _missing(record, "messages", DatasetFormat.CLAUDE_MESSAGES, issue)
            return 0
        chars = 0
        _unknown_fields(record, self._ALLOWED, issue)
        if "system" in record:
            system = record["system"]
            if type(system) is not str:
                issue("wrong-type", "system", f"'system' must be a string for Claude 3 Haiku, not {_type_name(system)}")
            else:
                chars += len(system)
        messages = record["messages"]
        if type(messages) is not list:
            issue("wrong-type", "messages", f"'messages' must be a list, not {_type_name(messages)}")
            return chars
        if not messages:
            issue("empty-text", "messages", "'messages' is empty; a record needs at least a user and an assistant turn")
            return chars
        roles = []
        for i, message in enumerate(messages):
            path = f"messages[{i}]"
            if type(message) is not dict:
                issue("wrong-type", path, f"each message must be an object, not {_type_name(message)}")
                return chars
            _unknown_fields(message, self._MESSAGE, issue, prefix=f"{path}.")
            roles.append((i, message.get("role")))
            content = message.get("content")
            if type(content) is list:
                issue(
                    "wrong-type",
                    f"{path}.content",
                    "Claude 3 Haiku takes the content as a plain string, not a list of blocks",
                )
            else:
                chars += _text(content, f"{path}.content", issue, ())
        _check_roles(roles, issue, must_end_with_assistant=True)
        return chars


class Conversation2024:
    """``bedrock-conversation-2024``: Nova and Llama 3.2+, fine-tuning (media allowed per model) and
    distillation prompts (text only, one block per turn, optionally single-turn)."""

    _ALLOWED = frozenset({"schemaVersion", "system", "messages"})
    _MESSAGE = frozenset({"role", "content"})

    def __init__(
        self,
        model: ModelSpec,
        limits: DatasetLimits,
        *,
        distillation: bool,
        bucket: str | None = None,
        media_exists: Callable[[str], bool] | None = None,
    ):
        self.model = model
        self.limits = limits
        self.media = limits.media
        self.distillation = distillation
        self.bucket = bucket
        self.media_exists = media_exists
        self.reserved = limits.reserved_strings
        self.max_system = 1 if distillation or model.provider == "meta" else None
        self.strict = Severity.ERROR if distillation else None  # AWS's distillation validator allows no other keys

    def check(self, record: dict[str, Any], issue: Issue) -> int:
        if "messages" not in record:
            # Most likely a record in another format: say that once instead of listing every foreign key.
            _missing(record, "messages", DatasetFormat.CONVERSATION_2024, issue)
            return 0
        chars = 0
        _unknown_fields(record, self._ALLOWED, issue, self.strict)
        version = record.get("schemaVersion")
        required = self.limits.schema_version  # None: the model takes any string (Nova fine-tuning)
        if "schemaVersion" not in record:
            if self.distillation:
                issue(
                    "schema-version", "schemaVersion", f'distillation records need "schemaVersion": "{SCHEMA_VERSION}"'
                )
            else:
                issue(
                    "missing-schema-version",
                    "schemaVersion",
                    f'add "schemaVersion": "{SCHEMA_VERSION}" to every record',
                )
        elif required is None:
            if type(version) is not str:
                issue("schema-version", "schemaVersion", f"schemaVersion must be a string, not {_type_name(version)}")
        elif version != required:
            issue("schema-version", "schemaVersion", f"schemaVersion is {version!r}; it must be {required!r}")
        if "system" in record:
            chars += self._system(record["system"], issue)
        messages = record["messages"]
        if type(messages) is not list:
            issue("wrong-type", "messages", f"'messages' must be a list, not {_type_name(messages)}")
            return chars
        if not messages:
            issue("empty-text", "messages", "'messages' is empty")
            return chars
        roles: list[tuple[int, object]] = []
        media = {"image": 0, "video": 0}
        for i, message in enumerate(messages):
            path = f"messages[{i}]"
            if type(message) is not dict:
                issue("wrong-type", path, f"each message must be an object, not {_type_name(message)}")
                return chars
            _unknown_fields(message, self._MESSAGE, issue, self.strict, prefix=f"{path}.")
            role = message.get("role")
            roles.append((i, role))
            if "content" not in message:
                issue("missing-field", f"{path}.content", "the message has no 'content'")
                continue
            chars += self._content(message["content"], f"{path}.content", role, media, issue)
        self._turns(roles, issue)
        self._media_counts(media, issue)
        return chars

    def _system(self, system: object, issue: Issue) -> int:
        if type(system) is str:
            issue(
                "wrong-type", "system", '\'system\' must be a list of text blocks, e.g. [{"text": "..."}], not a string'
            )
            return len(system)
        if type(system) is not list:
            issue("wrong-type", "system", f"'system' must be a list of text blocks, not {_type_name(system)}")
            return 0
        if self.max_system is not None and len(system) > self.max_system:
            issue(
                "too-many-system-blocks",
                "system",
                f"{self.model.name} takes at most {self.max_system} system block; this record has {len(system)}",
            )
        chars = 0
        for j, block in enumerate(system):
            path = f"system[{j}]"
            if type(block) is not dict or "text" not in block:
                issue("invalid-content-block", path, "each system block must be an object with a 'text' string")
                continue
            _unknown_fields(block, frozenset({"text"}), issue, self.strict, prefix=f"{path}.")
            text = block["text"]
            if type(text) is not str:
                issue("wrong-type", f"{path}.text", f"'{path}.text' must be a string, not {_type_name(text)}")
            elif not text or text.isspace():
                issue("empty-system-text", f"{path}.text", "the system prompt is empty; remove it or write one")
            else:
                _reserved(text, f"{path}.text", issue, self.reserved)
                chars += len(text)
        return chars

    def _content(self, content: object, path: str, role: object, media: dict[str, int], issue: Issue) -> int:
        if type(content) is str:
            issue("wrong-type", path, '\'content\' must be a list of blocks, e.g. [{"text": "..."}], not a string')
            return len(content)
        if type(content) is not list:
            issue("wrong-type", path, f"'content' must be a list of blocks, not {_type_name(content)}")
            return 0
        if not content:
            issue("empty-text", path, "the turn has no content")
            return 0
        if self.distillation and len(content) > 1:
            issue(
                "too-many-content-blocks",
                path,
                f"distillation prompts take exactly one text block per turn; this turn has {len(content)}",
            )
        chars = 0
        empty_texts: list[str] = []
        has_media = False
        for k, block in enumerate(content):
            bpath = f"{path}[{k}]"
            if type(block) is not dict:
                issue("invalid-content-block", bpath, f"a content block must be an object, not {_type_name(block)}")
                continue
            kinds = (
                ("text", "image", "video", "reasoningContent")
                if self.limits.reasoning_content and not self.distillation
                else ("text", "image", "video")
            )
            present = [key for key in kinds if key in block]
            if len(present) != 1 or len(block) != 1:
                # A content block is a union in the Converse schema: one key, nothing beside it.
                hint = (
                    ' (this looks like OpenAI\'s {"type": ...} content parts; Bedrock wants {"text": "..."})'
                    if "type" in block
                    else ""
                )
                named = ", ".join(f"{{'{k}'}}" for k in kinds)
                issue(
                    "invalid-content-block",
                    bpath,
                    f"a content block must be exactly one of {named}; found keys {', '.join(sorted(map(str, block))) or 'none'}{hint}",
                )
                continue
            kind = present[0]
            if kind == "reasoningContent":
                chars += self._reasoning(block[kind], f"{bpath}.reasoningContent", role, issue)
            elif kind == "text":
                text = block["text"]
                if type(text) is not str:
                    issue("wrong-type", f"{bpath}.text", f"'text' must be a string, not {_type_name(text)}")
                elif not text or text.isspace():
                    empty_texts.append(f"{bpath}.text")
                else:
                    if self.reserved:
                        _reserved(text, f"{bpath}.text", issue, self.reserved)
                    chars += len(text)
            else:
                has_media = True
                self._media_block(kind, block[kind], f"{bpath}.{kind}", role, media, issue)
        if not has_media:
            for p in empty_texts:
                issue("empty-text", p, "the text is empty")
        return chars

    def check_user_media(self, blocks: list[tuple[str, dict[str, Any]]], issue: Issue) -> None:
        """Media blocks, ``(path, {"image": ...})``, of one user turn outside a record (an evaluation example's
        images) by the rules a record's media meet: kind the model takes, format, bucket, key, existence, count."""
        media = {"image": 0, "video": 0}
        for path, block in blocks:
            for kind, spec in block.items():
                self._media_block(kind, spec, path, "user", media, issue)
        self._media_counts(media, issue)

    def _reasoning(self, block: object, path: str, role: object, issue: Issue) -> int:
        """Converse's ReasoningContentBlock, as Nova 2 SFT takes it: text reasoning in assistant turns only."""
        if role != "assistant":
            issue("invalid-content-block", path, "reasoning content is only allowed in assistant turns")
            return 0
        if type(block) is not dict or set(block) != {"reasoningText"}:
            found = ", ".join(sorted(map(str, block))) if type(block) is dict else _type_name(block)
            issue(
                "invalid-content-block",
                path,
                f'reasoningContent must be {{"reasoningText": {{"text": "..."}}}} (text reasoning only); found {found or "nothing"}',
            )
            return 0
        reasoning = block["reasoningText"]
        if type(reasoning) is not dict or "text" not in reasoning:
            issue("missing-field", f"{path}.reasoningText.text", "reasoningText needs a 'text' string")
            return 0
        _unknown_fields(reasoning, frozenset({"text", "signature"}), issue, prefix=f"{path}.reasoningText.")
        text = reasoning["text"]
        if type(text) is not str:
            issue("wrong-type", f"{path}.reasoningText.text", f"'text' must be a string, not {_type_name(text)}")
            return 0
        if not text or text.isspace():
            issue(
                "empty-text",
                f"{path}.reasoningText.text",
                "the reasoning text is empty; remove the block or write the reasoning",
            )
            return 0
        if self.reserved:
            _reserved(text, f"{path}.reasoningText.text", issue, self.reserved)
        return len(text)

    def _media_block(
        self, kind: str, spec: object, path: str, role: object, media: dict[str, int], issue: Issue
    ) -> None:
        media[kind] += 1
        allowed = self.media.image_formats if kind == "image" else self.media.video_formats
        if self.distillation or not allowed:
            what = "distillation prompts take" if self.distillation else f"{self.model.name} takes"
            issue(
                "media-not-supported", path, f"{what} no {kind}s; remove the {kind} or choose a model that accepts them"
            )
            return
        if role == "assistant":
            issue("media-in-assistant-turn", path, f"{kind}s are only allowed in user turns")
        if type(spec) is not dict:
            issue("wrong-type", path, f"'{kind}' must be an object with 'format' and 'source'")
            return
        fmt = spec.get("format")
        if type(fmt) is not str or fmt.lower() not in allowed:
            issue(
                "media-format",
                f"{path}.format",
                f"{kind} format {fmt!r} is not accepted by {self.model.name}; use one of {', '.join(sorted(allowed))}",
            )
        source = spec.get("source")
        location = source.get("s3Location") if type(source) is dict else None
        uri = location.get("uri") if type(location) is dict else None
        if type(uri) is not str:
            issue(
                "missing-field",
                f"{path}.source.s3Location.uri",
                f"the {kind} needs source.s3Location.uri (an s3:// URI)",
            )
            return
        self._uri(uri, f"{path}.source.s3Location.uri", issue)

    def _uri(self, uri: str, path: str, issue: Issue) -> None:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            issue("invalid-media-uri", path, f"{uri!r} is not an s3://bucket/key URI")
            return
        bucket, key = uri[5:].split("/", 1)
        if not _MEDIA_KEY.match(uri[5:]):
            issue(
                "invalid-media-uri",
                path,
                f"{uri!r} contains characters Bedrock does not accept; use letters, digits, _ - / . only",
            )
        if self.bucket and bucket != self.bucket:
            issue(
                "media-other-bucket",
                path,
                f"the media is in bucket {bucket!r} but the dataset is in {self.bucket!r}; Bedrock reads media only from the dataset's bucket",
            )
            return
        if self.media_exists is not None:
            try:
                exists = self.media_exists(uri)
            except Exception as error:  # a permissions or network problem must not stop the scan
                issue("media-check-failed", path, f"could not check {uri}: {error}")
                return
            if not exists:
                issue("media-not-found", path, f"{uri} does not exist")

    def _turns(self, roles: list[tuple[int, object]], issue: Issue) -> None:
        if self.distillation and self.limits.single_turn_only:
            if len(roles) > 2:
                issue(
                    "too-many-turns",
                    "messages[2]",
                    f"{self.model.name} students take single-turn prompts only: one user turn, optionally one assistant turn",
                )
            _check_roles(roles[:2], issue, must_end_with_assistant=False)
        else:
            _check_roles(roles, issue, must_end_with_assistant=not self.distillation)

    def _media_counts(self, media: dict[str, int], issue: Issue) -> None:
        if not (self.media.images or self.media.videos) or self.distillation:
            return  # already reported per block
        images, videos = media["image"], media["video"]
        if images and videos and not self.media.mixing_allowed:
            issue(
                "mixed-media",
                "messages",
                f"a record may contain images or one video, not both; this one has {images} image(s) and {videos} video(s)",
            )
        cap = self.media.max_images_per_record
        if cap is not None and images > cap:
            issue(
                "too-many-images", "messages", f"{images} images in one record; {self.model.name} accepts at most {cap}"
            )
        cap = self.media.max_videos_per_record
        if cap is not None and videos > cap:
            issue(
                "too-many-videos", "messages", f"{videos} videos in one record; {self.model.name} accepts at most {cap}"
            )


def checker_for(
    model: ModelSpec,
    fmt: DatasetFormat,
    limits: DatasetLimits,
    *,
    bucket: str | None = None,
    media_exists: Callable[[str], bool] | None = None,
) -> RecordChecker:
    if fmt is DatasetFormat.PROMPT_COMPLETION:
        return PromptCompletion(limits)
    if fmt is DatasetFormat.CONTINUED_PRE_TRAINING:
        return ContinuedPreTraining()
    if fmt is DatasetFormat.CLAUDE_MESSAGES:
        return ClaudeMessages()
    if fmt is DatasetFormat.RFT_PROMPTS:
        from lambdas.domain.rft_format import RftPrompts  # it builds on this module's helpers

        return RftPrompts()
    return Conversation2024(
        model, limits, distillation=fmt is DatasetFormat.DISTILLATION_PROMPTS, bucket=bucket, media_exists=media_exists
    )
