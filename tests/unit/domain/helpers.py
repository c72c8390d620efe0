"""Small builders for test datasets."""

from __future__ import annotations

import json
from typing import Any

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"
TITAN_EXPRESS = "amazon.titan-text-express-v1:0:8k"
TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
LLAMA_31_8B = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA_32_11B = "meta.llama3-2-11b-instruct-v1:0:128k"
COHERE = "cohere.command-text-v14:7:4k"


def jsonl(*records: Any) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n" for r in records
    )


def conv(
    user: str = "What is the capital of Vietnam?",
    assistant: str = "Hà Nội.",
    system: str | None = "Answer briefly.",
    **extra: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if system is not None:
        record["system"] = [{"text": system}]
    record["messages"] = [
        {"role": "user", "content": [{"text": user}]},
        {"role": "assistant", "content": [{"text": assistant}]},
    ]
    record.update(extra)
    return record


def convs(n: int, **kw: Any) -> list[dict[str, Any]]:
    return [conv(user=f"Question number {i}?", **kw) for i in range(n)]


def pcs(n: int) -> list[dict[str, str]]:
    return [{"prompt": f"Summarise ticket {i}.", "completion": f"Ticket {i} is about billing."} for i in range(n)]


def haiku(n: int) -> list[dict[str, Any]]:
    return [
        {
            "system": "You are a helpful support agent.",
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Answer {i}."},
            ],
        }
        for i in range(n)
    ]


def prompts(n: int) -> list[dict[str, Any]]:
    return [
        {
            "schemaVersion": "bedrock-conversation-2024",
            "messages": [{"role": "user", "content": [{"text": f"Explain topic {i}."}]}],
        }
        for i in range(n)
    ]
