"""OpenAI chat fine-tuning JSONL → Bedrock, and back.

OpenAI's format is ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}`` where
``content`` is a string or a list of ``{"type": "text", "text": ...}`` parts. Many teams already hold
their data this way, so the validator recognises it and converts each record to the target model's
schema: ``bedrock-conversation-2024`` (Nova, Llama 3.2+, distillation prompts) or Claude 3 Haiku's
``system`` + ``messages``.

    from_openai_chat(record, target) -> dict       raises ConversionError(field, message)
    to_openai_chat(record, source) -> dict         the inverse, for round trips and exports
    is_openai_chat(record, target) -> bool         does this record need converting for ``target``?

What has no Bedrock equivalent is refused (tool calls, ``tool``/``function`` roles, images given as
URLs, system messages after the first turn) or dropped with a warning (``name``, ``weight``).
"""

from __future__ import annotations

from typing import Any

from lambdas.domain.catalogue import DatasetFormat

SCHEMA_VERSION = "bedrock-conversation-2024"
OPENAI_CHAT = "openai-chat"
TARGETS = (DatasetFormat.CONVERSATION_2024, DatasetFormat.CLAUDE_MESSAGES, DatasetFormat.DISTILLATION_PROMPTS)
_DROPPABLE = ("name", "weight")  # per-message keys OpenAI accepts that Bedrock has no place for


class ConversionError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def is_openai_chat(record: object, target: DatasetFormat) -> bool:
    """True when ``record`` is OpenAI chat rather than already in ``target``'s schema.

    For Claude 3 Haiku the two formats coincide unless the record carries a system message or content
    parts; such a record is taken as native (converting it would change nothing).
    """
    if target not in TARGETS or type(record) is not dict or "schemaVersion" in record:
        return False
    messages = record.get("messages")
    if type(messages) is not list or not messages or not all(type(m) is dict for m in messages):
        return False
    if set(record) - {"messages"}:
        return False  # OpenAI chat records hold nothing else (Haiku's top-level "system" is native)
    has_system = any(m.get("role") == "system" for m in messages)
    has_parts = any(
        type(m.get("content")) is list and m["content"] and all(type(p) is dict and "type" in p for p in m["content"])
        for m in messages
    )
    has_strings = any(type(m.get("content")) is str for m in messages)
    if target is DatasetFormat.CLAUDE_MESSAGES:
        return has_system or has_parts
    return has_system or has_parts or has_strings


def _text_of(content: object, path: str) -> str:
    if type(content) is str:
        return content
    if type(content) is list:
        texts = []
        for k, part in enumerate(content):
            if type(part) is not dict or part.get("type") != "text" or type(part.get("text")) is not str:
                kind = part.get("type") if type(part) is dict else type(part).__name__
                raise ConversionError(
                    f"{path}[{k}]",
                    f"content part of type {kind!r} cannot be converted: only text parts can (upload images to S3 and write the record in {SCHEMA_VERSION} instead)",
                )
            texts.append(part["text"])
        # OpenAI concatenates text parts; so do we, so the trained text is what the data owner wrote.
        return "".join(texts)
    if content is None:
        raise ConversionError(path, "the message has no content")
    raise ConversionError(path, f"content must be a string or a list of text parts, not {type(content).__name__}")


def from_openai_chat(record: dict[str, Any], target: DatasetFormat) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Convert one OpenAI chat record. Returns (converted record, [(field, warning)])."""
    if target not in TARGETS:
        raise ConversionError(
            "", f"OpenAI chat records convert to {', '.join(t.value for t in TARGETS)}, not {target.value}"
        )
    messages = record.get("messages")
    if type(messages) is not list:
        raise ConversionError("messages", "an OpenAI chat record needs a 'messages' list")
    warnings: list[tuple[str, str]] = []
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if type(message) is not dict:
            raise ConversionError(path, "each message must be an object")
        role = message.get("role")
        if role in ("tool", "function") or "tool_calls" in message or "function_call" in message:
            raise ConversionError(
                path, "tool and function calls have no equivalent in Bedrock fine-tuning data; remove this turn"
            )
        for key in _DROPPABLE:
            if key in message:
                warnings.append((f"{path}.{key}", f"'{key}' has no Bedrock equivalent and was dropped"))
        unknown = set(message) - {"role", "content", *_DROPPABLE}
        if unknown:
            raise ConversionError(path, f"unsupported message field(s): {', '.join(sorted(unknown))}")
        text = _text_of(message.get("content"), f"{path}.content")
        if role == "system":
            if turns:
                raise ConversionError(
                    f"{path}.role",
                    "a system message after the conversation started cannot be converted: Bedrock has one system prompt per record, before the first turn",
                )
            system.append(text)
        elif role in ("user", "assistant"):
            turns.append((role, text))
        else:
            raise ConversionError(
                f"{path}.role", f"role {role!r} cannot be converted; OpenAI chat roles are system, user and assistant"
            )
    if target is DatasetFormat.CLAUDE_MESSAGES:
        converted: dict[str, Any] = {}
        if system:
            converted["system"] = "\n\n".join(system)
        converted["messages"] = [{"role": role, "content": text} for role, text in turns]
        return converted, warnings
    converted = {"schemaVersion": SCHEMA_VERSION}
    if system:
        converted["system"] = [{"text": "\n\n".join(system)}]
    converted["messages"] = [{"role": role, "content": [{"text": text}]} for role, text in turns]
    return converted, warnings


def to_openai_chat(record: dict[str, Any], source: DatasetFormat) -> dict[str, Any]:
    """The inverse of :func:`from_openai_chat` for records without media."""
    messages: list[dict[str, Any]] = []
    if source is DatasetFormat.CLAUDE_MESSAGES:
        if "system" in record:
            messages.append({"role": "system", "content": record["system"]})
        messages += [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
        return {"messages": messages}
    if source not in TARGETS:
        raise ConversionError("", f"{source.value} records have no OpenAI chat equivalent")
    for block in record.get("system", []):
        messages.append({"role": "system", "content": block["text"]})
    for m in record["messages"]:
        texts = []
        for k, block in enumerate(m["content"]):
            if "text" not in block:
                raise ConversionError(f"content[{k}]", "media blocks have no OpenAI chat equivalent here")
            texts.append(block["text"])
        messages.append({"role": m["role"], "content": "".join(texts)})
    return {"messages": messages}
