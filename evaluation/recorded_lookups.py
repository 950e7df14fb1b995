"""Recorded look-ups: SGD's own back end, replayed as the agent's one tool in `eval agent`.

Why: most SGD agent moves carry data only a back end has ("I found 10 restaurants. 71 Saint
Peter is in San Jose.", "Your reservation is confirmed."). Without a tool the exported agent
rightly withholds them (a template with an unfilled field, or a claim, is never sent), so on SGD
the held-out figures measured a missing tool, not the rules. SGD records what its back end did:
the dialogue state after each user turn (`state.slot_values`), the service calls and their
results. This module answers the agent's look-ups from those records, as a deployed tool would.

What the tool knows at a customer turn, and nothing later:
- it succeeds when, in the dialogue state after that user turn, some frame's active intent has
  every required slot of the service schema filled (a real API would refuse the call otherwise;
  the error names the missing slots);
- its values come from the conversation's recorded call for that intent (the one the real agent
  made next, else the latest before): the first result row, the call's other parameters and
  `count` (number of results). Values only fill template text; no score reads them.
- template fields are named by kind (`{number}`, `{time}`, `{name_2}`: mining/templates.py), not
  by SGD slot, so values are given to fields by kind, in slot order (`fields_for`).

Scores with these look-ups measure which move the agent chooses when its data is available;
the no-tool run stays the figure for an agent deployed without tools.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guideminer.engine import AgentSpec, ToolRegistry
from guideminer.offline_runtime.tools_attach import ToolAttachment, attach_tools

TOOL_NAME = "recorded_lookup"
KIND_SLOTS = {  # field kind -> words of SGD slot names that carry it
    "time": ("time",), "date": ("date",), "address": ("address",), "phone": ("phone",),
    "amount": ("price", "fare", "amount", "balance", "cost", "rent"), "email": ("email",),
}
_SUFFIX = re.compile(r"_\d+$")


@dataclass(frozen=True)
class UserTurnState:
    intents: tuple[tuple[str, str, frozenset[str]], ...]  # (service, active intent, filled slots)


@dataclass
class RecordedConversation:
    states: dict[int, UserTurnState] = field(default_factory=dict)  # user turn index -> state
    calls: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (turn, method, values)


def _values(frame: dict[str, Any]) -> dict[str, Any]:
    call = frame["service_call"]
    results = frame.get("service_results") or []
    row = results[0] if results else {}
    asked = {k: v for k, v in call.get("parameters", {}).items() if k not in row}
    return {**row, **asked, "count": str(len(results))}  # the result's own values first


def read_recorded(sgd_dir: Path, conversation_ids: set[str]) -> dict[str, RecordedConversation]:
    """The records of `conversation_ids` from SGD dialogue files (`dialogues_*.json`)."""
    found: dict[str, RecordedConversation] = {}
    for path in sorted(Path(sgd_dir).glob("dialogues_*.json")):
        for dialogue in json.loads(path.read_text()):
            if dialogue["dialogue_id"] not in conversation_ids:
                continue
            record = found.setdefault(dialogue["dialogue_id"], RecordedConversation())
            for index, turn in enumerate(dialogue["turns"]):
                for frame in turn["frames"]:
                    if "service_call" in frame:
                        record.calls.append((index, frame["service_call"]["method"], _values(frame)))
                if turn["speaker"] == "USER":
                    record.states[index] = UserTurnState(tuple(
                        (f["service"], f["state"]["active_intent"], frozenset(f["state"]["slot_values"]))
                        for f in turn["frames"] if f["state"]["active_intent"] != "NONE"))
    return found


def read_required_slots(sgd_dir: Path) -> dict[tuple[str, str], frozenset[str]]:
    """(service, intent) -> required slots, from the SGD `schema.json`."""
    schema = json.loads((Path(sgd_dir) / "schema.json").read_text())
    return {(s["service_name"], i["name"]): frozenset(i["required_slots"]) for s in schema for i in s["intents"]}


def fields_for(values: dict[str, Any], field_names: list[str]) -> dict[str, str]:
    """Give each template field a recorded value of its kind, in slot order: `{time}` the first
    time slot, `{time_2}` the second; `{number}` the result count first; `{name}`, `{value}`,
    `{person_N}` and other kinds the remaining values. A field with no value left stays out."""
    by_kind: dict[str, list[str]] = {kind: [str(v) for k, v in values.items() if any(w in k for w in words)]
                                     for kind, words in KIND_SLOTS.items()}
    typed = {k for k in values if any(w in k for words in KIND_SLOTS.values() for w in words)}
    by_kind["number"] = [str(values["count"])] if "count" in values else []
    by_kind["number"] += [str(v) for k, v in values.items() if k != "count" and str(v).isdigit() and k not in typed]
    rest = [str(v) for k, v in values.items() if k != "count" and k not in typed and not str(v).isdigit()]
    filled: dict[str, str] = {}
    for name in sorted(field_names):
        kind = _SUFFIX.sub("", name)
        rank = int(name.rsplit("_", 1)[1]) - 1 if _SUFFIX.search(name) else 0
        pool = by_kind.get(kind, rest)
        if rank < len(pool):
            filled[name] = pool[rank]
    return filled


class RecordedLookups:
    """The tool: `position` is set by the replay before each customer turn; a call answers
    from the records at that turn (module docstring) or raises a LookupError naming the gap."""

    def __init__(self, records: dict[str, RecordedConversation], required: dict[tuple[str, str], frozenset[str]],
                 field_names: list[str]) -> None:
        self.records, self.required, self.field_names = records, required, field_names
        self.at: tuple[str, int] | None = None

    def position(self, conversation_id: str, turn_index: int) -> None:
        self.at = (conversation_id, turn_index)

    def __call__(self) -> dict[str, str]:
        if self.at is None or self.at[0] not in self.records:
            raise LookupError(f"no recorded back end for conversation {self.at and self.at[0]!r}")
        conversation_id, turn = self.at
        record = self.records[conversation_id]
        state = record.states.get(turn)
        if state is None or not state.intents:
            raise LookupError(f"{conversation_id} turn {turn}: no active intent to look anything up for")
        gaps = []
        for service, intent, filled in state.intents:
            missing = self.required.get((service, intent), frozenset()) - filled
            if not missing:
                return fields_for(self._values(record, intent, turn), self.field_names)
            gaps.append(f"{intent} needs {', '.join(sorted(missing))}")
        raise LookupError(f"{conversation_id} turn {turn}: " + "; ".join(gaps))

    @staticmethod
    def _values(record: RecordedConversation, intent: str, turn: int) -> dict[str, Any]:
        later = [v for t, m, v in record.calls if m == intent and t > turn]
        earlier = [v for t, m, v in record.calls if m == intent and t <= turn]
        return later[0] if later else earlier[-1] if earlier else {}


def spec_tool_fields(spec: AgentSpec) -> list[str]:
    return sorted({f for d in spec.guideline_sets for c in d.canned_responses for f in set(c.fields) - set(c.echoes)})


def wire_recorded_lookups(spec: AgentSpec, sgd_dir: Path, conversation_ids: set[str]):
    """(spec with `recorded_lookup` serving every guideline whose reply has a field a tool could
    fill or states an outcome, its registry, the tool, tool -> attached guideline ids)."""
    lookups = RecordedLookups(read_recorded(sgd_dir, conversation_ids), read_required_slots(sgd_dir),
                              spec_tool_fields(spec))
    attachment = ToolAttachment(fills=("*",), backs_claims=True,
                                description="SGD's recorded back end at this turn (eval agent --recorded-lookups)")
    wired, attached = attach_tools(spec, {TOOL_NAME: attachment}, "recorded look-ups")
    return wired, ToolRegistry({TOOL_NAME: lookups}), lookups, attached
