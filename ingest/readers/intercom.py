"""Intercom conversation exports (the public REST API JSON shapes).

Accepted layouts: one conversation object (`GET /conversations/{id}`), `{"conversations":
[...]}` (a list page), a JSON array, or JSONL with one conversation per line.
The opening message is `source`; replies are `conversation_parts.conversation_parts`.
author.type user/lead/contact -> customer, admin/bot/team -> agent. Parts with part_type
`note` are internal and excluded; parts without a body (assignment, open, close, snooze
events) are not messages and are excluded too; both are counted in the report. HTML bodies are
converted to text with the stdlib HTML parser; `created_at` (Unix seconds) becomes ISO-8601.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    html_to_text,
    iter_json_records,
)

INTERCOM_AUTHORS = {"user": "customer", "lead": "customer", "contact": "customer", "admin": "agent", "bot": "agent", "team": "agent"}
INTERNAL_PART_TYPES = frozenset({"note", "note_and_reopen"})


def iso_from_unix(value: Any) -> Any:
    """ISO-8601 UTC string for Unix seconds; other values pass through for validation."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    return value


def _author_role(part: dict[str, Any]) -> Any:
    author = part.get("author")
    kind = author.get("type") if isinstance(author, dict) else None
    return INTERCOM_AUTHORS.get(kind, kind if kind is not None else "missing author.type")


def part_turn(part: dict[str, Any]) -> dict[str, Any]:
    """One message (the source or a conversation part) as a canonical turn dict."""
    body = part.get("body")
    author = part.get("author") if isinstance(part.get("author"), dict) else {}
    metadata = {"part_id": part.get("id"), "part_type": part.get("part_type", "source"), "author_id": author.get("id")}
    return {
        "role": _author_role(part),
        "text": html_to_text(body) if isinstance(body, str) else body,
        "timestamp": iso_from_unix(part.get("created_at")),
        "metadata": metadata,
    }


def conversation_payload(conversation: dict[str, Any]) -> tuple[dict[str, Any], Counter[str]]:
    """Canonical dict for one Intercom conversation and the count of excluded parts."""
    excluded: Counter[str] = Counter()
    turns: list[Any] = []
    source = conversation.get("source")
    if isinstance(source, dict) and source.get("body"):
        turns.append(part_turn({**source, "created_at": source.get("created_at", conversation.get("created_at"))}))
    container = conversation.get("conversation_parts") or {}
    parts = container.get("conversation_parts", []) if isinstance(container, dict) else container
    for part in parts or []:
        if not isinstance(part, dict):
            turns.append(part)  # validation names it
        elif part.get("part_type") in INTERNAL_PART_TYPES:
            excluded["intercom internal note"] += 1
        elif not part.get("body"):
            excluded[f"intercom {part.get('part_type')} event (no body)"] += 1
        else:
            turns.append(part_turn(part))
    tags = conversation.get("tags") or {}
    metadata = {
        "title": conversation.get("title"),
        "state": conversation.get("state"),
        "created_at": iso_from_unix(conversation.get("created_at")),
        "tags": [t.get("name") for t in tags.get("tags", []) if isinstance(t, dict)] if isinstance(tags, dict) else [],
        "channel": source.get("delivered_as") if isinstance(source, dict) else None,
        "source_format": "intercom",
    }
    return {"conversation_id": conversation.get("id"), "turns": turns, "metadata": metadata}, excluded


def read_intercom(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per Intercom conversation."""
    for item in iter_json_records(path, list_keys=("conversations", "data")):
        if isinstance(item, Rejection):
            yield item
            continue
        location, conversation = item
        if not isinstance(conversation, dict) or not ("source" in conversation or "conversation_parts" in conversation):
            yield Rejection(location, "unrecognised record shape", conversation, "not an Intercom conversation (no 'source' or 'conversation_parts')")
            continue
        payload, excluded = conversation_payload(conversation)
        yield RawConversation(location, payload, source=conversation, excluded=excluded)
