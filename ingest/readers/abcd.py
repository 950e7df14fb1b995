"""Action-Based Conversations Dataset (ABCD) conversations.

Accepts the released layouts: a JSON array of conversations (abcd_sample.json) or the full
`{"train": [...], "dev": [...], "test": [...]}` file. Turns come from `original` (the real
text; `delexed` is lower-cased and masked). ABCD "action" turns are what the agent did in its
tools ("Account has been pulled up for ...") and become system turns; the button name from
`delexed[i].targets[2]` (e.g. "pull-up-account") is kept as turn metadata `action` when the
two lists line up. Conversation metadata keeps flow and subflow; the scenario's personal and
order details are not copied (they are PII and only restate what the text says).
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
    iter_json_records,
)

ABCD_SPEAKERS = {"customer": "customer", "agent": "agent", "action": "system"}
_SPLITS = ("train", "dev", "test")


def _action_names(conversation: dict[str, Any], n_turns: int) -> list[str | None]:
    delexed = conversation.get("delexed")
    if not isinstance(delexed, list) or len(delexed) != n_turns:
        return [None] * n_turns
    names: list[str | None] = []
    for turn in delexed:
        targets = turn.get("targets") if isinstance(turn, dict) else None
        is_action = isinstance(targets, list) and len(targets) > 2 and turn.get("speaker") == "action"
        names.append(targets[2] if is_action else None)
    return names


def to_payload(conversation: dict[str, Any], split: str | None) -> dict[str, Any]:
    """Canonical dict for one ABCD conversation."""
    original = conversation.get("original")
    turns: Any = original
    if isinstance(original, list):
        actions = _action_names(conversation, len(original))
        turns = []
        for pair, action in zip(original, actions):
            if not (isinstance(pair, list) and len(pair) == 2):
                turns.append(pair)  # validation names it
                continue
            metadata = {"action": action} if action else {}
            turns.append({"role": ABCD_SPEAKERS.get(pair[0], pair[0]), "text": pair[1], "metadata": metadata})
    scenario = conversation.get("scenario") or {}
    metadata = {"flow": scenario.get("flow"), "subflow": scenario.get("subflow"), "source_format": "abcd"}
    if split:
        metadata["split"] = split
    return {"conversation_id": conversation.get("convo_id"), "turns": turns, "metadata": metadata}


def _records(path: Path) -> Iterator[tuple[Location, Any, str | None] | Rejection]:
    for item in iter_json_records(path, list_keys=()):
        if isinstance(item, Rejection):
            yield item
            continue
        location, value = item
        if isinstance(value, dict) and any(isinstance(value.get(s), list) for s in _SPLITS):
            index = 0  # full ABCD file: one object holding the three splits, numbered through
            for split in _SPLITS:
                for conversation in value.get(split) or []:
                    yield Location(location.file, record=index), conversation, split
                    index += 1
        else:
            yield location, value, None


def read_abcd(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per ABCD conversation."""
    for item in _records(path):
        if isinstance(item, Rejection):
            yield item
            continue
        location, conversation, split = item
        if not isinstance(conversation, dict) or "original" not in conversation:
            yield Rejection(location, "unrecognised record shape", conversation, "not an ABCD conversation (no 'original' turns)")
            continue
        yield RawConversation(location, to_payload(conversation, split), source=conversation)
