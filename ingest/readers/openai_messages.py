"""OpenAI chat-messages JSONL: `{"messages": [{"role": ..., "content": ...}], "id"?: ...}`.

Fine-tuning and eval sets rarely carry an id, so one is derived from the file name and line
(`<file stem>-L<line>`): stable across re-runs, so re-ingesting the file adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    Location,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    iter_jsonl,
)

OPENAI_ROLES = {
    "user": "customer",
    "assistant": "agent",
    "system": "system",
    "developer": "system",
    # Tool results are data the agent received, not something either party said.
    "tool": "system",
    "function": "system",
}
_KEPT_MESSAGE_KEYS = ("name", "tool_calls", "tool_call_id", "function_call")


def content_text(content: Any) -> Any:
    """Text of a message `content`: a string, a list of parts ({"type": "text", "text": ...}),
    or null (assistant tool-call messages). Non-text parts are not text; other shapes pass
    through so validation rejects them by name."""
    if content is None:
        return ""
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"]
        return "\n".join(texts)
    return content


def _turn(message: Any) -> Any:
    if not isinstance(message, dict):
        return message  # validation names the bad turn
    role = message.get("role")
    metadata: dict[str, Any] = {key: message[key] for key in _KEPT_MESSAGE_KEYS if key in message}
    if role in ("developer", "tool", "function"):
        metadata["openai_role"] = role
    return {"role": OPENAI_ROLES.get(role, role), "text": content_text(message.get("content")), "metadata": metadata}


def to_payload(value: dict[str, Any], location: Location) -> dict[str, Any]:
    """Canonical dict for one OpenAI record; other top-level keys become metadata."""
    messages = value.get("messages")
    conversation_id = value.get("id") or f"{Path(location.file).stem}-L{location.line}"
    metadata = {key: item for key, item in value.items() if key not in ("messages", "id")}
    turns = [_turn(message) for message in messages] if isinstance(messages, list) else messages
    return {"conversation_id": conversation_id, "turns": turns, "metadata": metadata}


def read_openai_messages(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per line with a `messages` list."""
    for item in iter_jsonl(path):
        if isinstance(item, Rejection):
            yield item
            continue
        location, value = item
        if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
            yield Rejection(location, "unrecognised record shape", value, "expected an object with a 'messages' list")
            continue
        yield RawConversation(location, to_payload(value, location), source=value)
