"""Schema-Guided Dialogue (DSTC8) dialogue files: a JSON array of dialogues.

Kept: dialogue_id -> conversation_id; services -> conversation metadata (`domain` is the first
service, `services` all of them); speaker USER -> customer, SYSTEM -> agent; per turn the
frames' `actions` (service, act, slot) and, for user turns, each frame's `active_intent`.
Slot values and spans are dropped: they are gold annotations of the text, not conversation
metadata, and would duplicate (possibly personal) values outside the redacted text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    NotConversationFile,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    iter_json_records,
    records_with_key,
)

SGD_SPEAKERS = {"USER": "customer", "SYSTEM": "agent"}


def turn_metadata(turn: dict[str, Any]) -> dict[str, Any]:
    """Actions of every frame, plus the active intent per frame for user turns."""
    frames = [frame for frame in turn.get("frames") or [] if isinstance(frame, dict)]
    actions = [
        {"service": frame.get("service"), "act": action.get("act"), "slot": action.get("slot")}
        for frame in frames
        for action in frame.get("actions") or []
        if isinstance(action, dict)
    ]
    metadata: dict[str, Any] = {"actions": actions}
    if turn.get("speaker") == "USER":
        metadata["active_intents"] = [
            {"service": frame.get("service"), "intent": (frame.get("state") or {}).get("active_intent")}
            for frame in frames
        ]
    return metadata


def to_payload(dialogue: dict[str, Any]) -> dict[str, Any]:
    """Canonical dict for one SGD dialogue."""
    services = dialogue.get("services") or []
    turns = dialogue.get("turns")
    if isinstance(turns, list):
        turns = [
            {
                "role": SGD_SPEAKERS.get(turn.get("speaker"), turn.get("speaker")),
                "text": turn.get("utterance"),
                "metadata": turn_metadata(turn),
            }
            if isinstance(turn, dict)
            else turn
            for turn in turns
        ]
    metadata = {"domain": services[0] if services else None, "services": services, "source_format": "sgd"}
    return {"conversation_id": dialogue.get("dialogue_id"), "turns": turns, "metadata": metadata}


def read_sgd(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per dialogue; schema.json (service definitions) is skipped."""
    if path.name == "schema.json":
        raise NotConversationFile("SGD schema.json holds service definitions, not dialogues")
    for item in records_with_key(iter_json_records(path, list_keys=("dialogues",)), "dialogue_id", "an SGD dialogue"):
        if isinstance(item, Rejection):
            yield item
            continue
        location, dialogue = item
        yield RawConversation(location, to_payload(dialogue), source=dialogue)
