"""ConvLab-3 unified-format datasets: a `data.zip` holding `data/dialogues.json` (read inside
the zip, never unpacked), or that `dialogues.json` itself.

Kept: dialogue_id -> conversation_id; speaker user -> customer, system -> agent; conversation
metadata `domain` (the first of the dialogue's `domains`), `domains`, `dataset` and `split`;
per turn whose `dialogue_acts` are annotated, turn metadata `acts` (sorted distinct
"intent(slot)", "intent" when the act has no slot: ["inform(area)", "request(food)"]) and
`intents` (sorted distinct intents). A turn without `dialogue_acts` (WOZ 2.0 system turns are
not annotated) gets neither key, so "not annotated" stays apart from "annotated, no act" ([]).
Slot values, spans, the dialogue state, goals and database results are dropped: they are gold
annotations of the text and would copy (possibly personal) values outside the redacted text.

These keys are what `guideminer eval proposals --gold labels --condition-key acts --action-key
acts --domain-key domain` reads.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    Location,
    NotConversationFile,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    iter_json_records,
    records_with_key,
)

CONVLAB_SPEAKERS = {"user": "customer", "system": "agent"}
ACT_KINDS = ("binary", "categorical", "non-categorical")
DIALOGUES_MEMBER = "dialogues.json"


def dialogues_member(archive: zipfile.ZipFile) -> str | None:
    """The archive's `data/dialogues.json` (or the shallowest `dialogues.json`), if any."""
    names = sorted((n for n in archive.namelist() if n.rsplit("/", 1)[-1] == DIALOGUES_MEMBER),
                   key=lambda n: (n.count("/"), n))
    return names[0] if names else None


def turn_acts(acts: Any) -> tuple[list[str], list[str]] | str:
    """(acts, intents) of one turn's `dialogue_acts`, or why they cannot be read."""
    if not isinstance(acts, dict):
        return f"dialogue_acts is {type(acts).__name__}, expected an object"
    found: set[str] = set()
    intents: set[str] = set()
    for kind in ACT_KINDS:
        items = acts.get(kind) or []
        if not isinstance(items, list):
            return f"dialogue_acts.{kind} is {type(items).__name__}, expected a list"
        for act in items:
            if not isinstance(act, dict) or not isinstance(act.get("intent"), str) or not act["intent"]:
                return f"dialogue_acts.{kind} holds {act!r}, expected an object with an 'intent'"
            slot = act.get("slot")
            found.add(f"{act['intent']}({slot})" if isinstance(slot, str) and slot else act["intent"])
            intents.add(act["intent"])
    return sorted(found), sorted(intents)


def to_payload(dialogue: dict[str, Any]) -> dict[str, Any] | tuple[str, str]:
    """Canonical dict for one dialogue, or (quarantine reason, detail) when it cannot be shaped."""
    turns = dialogue.get("turns")
    if not isinstance(turns, list):
        return "unrecognised record shape", "no 'turns' list"
    shaped: list[Any] = []
    last_index = -1
    for position, turn in enumerate(turns):
        if not isinstance(turn, dict):
            shaped.append(turn)  # validation names it
            continue
        index = turn.get("utt_idx", position)
        if not isinstance(index, int) or index <= last_index:
            return "invalid turn order", f"turn {position}: utt_idx {index!r} is not after the previous turn's ({last_index})"
        last_index = index
        metadata: dict[str, Any] = {}
        if "dialogue_acts" in turn:
            acts = turn_acts(turn["dialogue_acts"])
            if isinstance(acts, str):
                return "bad dialogue acts", f"turn {position} (utt_idx {index}): {acts}"
            metadata = {"acts": acts[0], "intents": acts[1]}
        speaker = turn.get("speaker")
        shaped.append({"role": CONVLAB_SPEAKERS.get(speaker, speaker), "text": turn.get("utterance"),
                       "metadata": metadata})
    domains = dialogue.get("domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        return "unrecognised record shape", f"domains is {domains!r}, expected a list of strings"
    metadata = {"domain": domains[0] if domains else None, "domains": domains, "dataset": dialogue.get("dataset"),
                "split": dialogue.get("data_split"), "source_format": "convlab"}
    return {"conversation_id": dialogue.get("dialogue_id"), "turns": shaped, "metadata": metadata}


def _zip_records(path: Path) -> Iterator[tuple[Location, Any] | Rejection]:
    try:
        with zipfile.ZipFile(path) as archive:
            member = dialogues_member(archive)
            if member is None:
                raise NotConversationFile(f"no {DIALOGUES_MEMBER} inside the zip (not a ConvLab unified dataset)")
            raw = archive.read(member)
    except zipfile.BadZipFile as exc:
        yield Rejection(Location(str(path)), "unreadable file", "", f"not a readable zip: {exc}")
        return
    where = f"{path}!{member}"
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        yield Rejection(Location(where), "not valid UTF-8", raw, f"{member} is not valid UTF-8")
        return
    except json.JSONDecodeError as exc:
        yield Rejection(Location(where), "bad JSON", raw.decode("utf-8"),
                        f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    if not isinstance(document, list):
        yield Rejection(Location(where), "unrecognised record shape", document, "expected a JSON array of dialogues")
        return
    for index, dialogue in enumerate(document):
        yield Location(where, record=index), dialogue


def read_convlab(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per dialogue of a ConvLab-3 unified dataset."""
    records = _zip_records(path) if path.suffix.lower() == ".zip" else iter_json_records(path, list_keys=())
    for item in records_with_key(records, "dialogue_id", "a ConvLab dialogue"):
        if isinstance(item, Rejection):
            yield item
            continue
        location, dialogue = item
        payload = to_payload(dialogue)
        if isinstance(payload, tuple):
            reason, detail = payload
            yield Rejection(location, reason, dialogue, f"dialogue {dialogue.get('dialogue_id')}: {detail}")
            continue
        yield RawConversation(location, payload, source=dialogue)
