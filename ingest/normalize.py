"""Validate, limit, redact and hash one conversation: the checks every format shares.

Readers only reshape their export; everything that decides whether a conversation is accepted
happens here, so the quarantine reasons are the same whatever the source format. Redaction runs
before hashing: the content hash describes exactly what is stored (and no hash of raw personal
data is ever written), and since redaction is deterministic re-ingesting the same file still
gives the same hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from guideminer.ingest.readers.base import RawConversation
from guideminer.ingest.schema import ROLES, Conversation

# `redact_text` from guideminer.ingest.redact has this shape; tests may pass a fake.
Redactor = Callable[[str], tuple[str, Counter[str]]]

DEFAULT_MAX_TURN_CHARS = 100_000
"""A single turn longer than this is not a chat message (a pasted log, a base64 attachment) and
would dominate embedding and clustering cost; such conversations are quarantined as
'turn too long'. Configurable with `--max-turn-chars`."""


class RecordError(Exception):
    """A conversation that must be quarantined: `reason` is the category, `detail` the specifics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class NormalTurn:
    role: str
    text: str
    timestamp: datetime | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class NormalConversation:
    """A validated, redacted conversation ready to be written, with its content hash."""

    conversation_id: str
    turns: list[NormalTurn]
    metadata: dict[str, Any]
    content_hash: str
    redactions: Counter[str] = field(default_factory=Counter)


def _location_text(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "record"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(error: ValidationError) -> RecordError:
    """Turn pydantic's first error into a category and a sentence naming field and value."""
    first = error.errors()[0]
    where, kind, value = _location_text(first["loc"]), first["type"], first.get("input")
    if kind == "literal_error" and first["loc"][-1] == "role":
        return RecordError("unknown role", f"{where}: unknown role {_short(value)} (expected {', '.join(ROLES)})")
    if kind == "missing":
        return RecordError("missing field", f"{where}: required field is missing")
    if kind == "extra_forbidden":
        return RecordError("unexpected field", f"{where}: field is not part of the canonical format")
    if kind == "too_short" and first["loc"] == ("turns",):
        return RecordError("empty conversation", "conversation has no turns")
    return RecordError("invalid field", f"{where}: {first['msg']} (got {_short(value)})")


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 to an aware UTC datetime; timestamps without an offset are taken as UTC."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _checked_turns(conversation: Conversation, max_turn_chars: int) -> list[NormalTurn]:
    turns = []
    for index, turn in enumerate(conversation.turns):
        if len(turn.text) > max_turn_chars:
            raise RecordError("turn too long", f"turns.{index}.text has {len(turn.text):,} characters (limit {max_turn_chars:,})")
        try:
            stamp = parse_timestamp(turn.timestamp) if turn.timestamp is not None else None
        except ValueError:
            raise RecordError("invalid timestamp", f"turns.{index}.timestamp: not ISO-8601: {_short(turn.timestamp)}") from None
        turns.append(NormalTurn(turn.role, turn.text, stamp, turn.metadata))
    if not any(turn.text.strip() for turn in turns):
        raise RecordError("empty conversation", "no turn has any text")
    return turns


def cached_redactor(redactor: Redactor, max_chars: int = 64, max_entries: int = 100_000) -> Redactor:
    """Memoise the redactor for short strings. Structured metadata repeats the same short
    values (act names, services, statuses) hundreds of thousands of times; without the cache
    redacting them costs more than everything else in ingest. Long texts are not cached."""
    remember = lru_cache(maxsize=max_entries)(redactor)

    def redact(text: str) -> tuple[str, Counter[str]]:
        return remember(text) if len(text) <= max_chars else redactor(text)

    return redact


def redact_value(value: Any, redactor: Redactor, counts: Counter[str]) -> Any:
    """Redact every string inside a metadata value (keys and non-strings are left alone)."""
    if isinstance(value, str):
        redacted, found = redactor(value)
        counts.update(found)
        return redacted
    if isinstance(value, dict):
        return {key: redact_value(item, redactor, counts) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item, redactor, counts) for item in value]
    return value


def _redacted(turns: list[NormalTurn], metadata: dict[str, Any], redactor: Redactor, counts: Counter[str]) -> tuple[list[NormalTurn], dict[str, Any]]:
    redacted_turns = [
        NormalTurn(t.role, redact_value(t.text, redactor, counts), t.timestamp, redact_value(t.metadata, redactor, counts))
        for t in turns
    ]
    return redacted_turns, redact_value(metadata, redactor, counts)


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing and for the metadata columns."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(conversation_id: str, turns: list[NormalTurn], metadata: dict[str, Any]) -> str:
    """sha256 of the normalised conversation; equal hashes mean identical stored content."""
    document = {
        "conversation_id": conversation_id,
        "metadata": metadata,
        "turns": [
            {"role": t.role, "text": t.text, "timestamp": t.timestamp.isoformat() if t.timestamp else None, "metadata": t.metadata}
            for t in turns
        ],
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def normalize(raw: RawConversation, max_turn_chars: int, redactor: Redactor | None) -> NormalConversation:
    """Validate and redact one reader record; raises RecordError with the quarantine reason."""
    try:
        conversation = Conversation.model_validate(raw.payload)
    except ValidationError as exc:
        raise describe_validation_error(exc) from None
    turns = _checked_turns(conversation, max_turn_chars)
    metadata = conversation.metadata
    counts: Counter[str] = Counter()
    if redactor is not None:
        turns, metadata = _redacted(turns, metadata, redactor, counts)
    digest = content_hash(conversation.conversation_id, turns, metadata)
    return NormalConversation(conversation.conversation_id, turns, metadata, digest, counts)
