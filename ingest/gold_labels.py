"""Gold labels a workspace carries: per-turn labels and per-conversation departments.

Why in ingest: the labels come from what the readers wrote (SGD `active_intents` / `actions`,
ConvLab `acts`, any export's metadata keys) or from the demo corpus's hidden truth, and more
than one downstream stage reads them: `guideminer eval proposals` (evaluation) and the
held-out scores of `guideminer distill` (offline_runtime), which may not import evaluation.

Sources (`GoldSource`):
- sgd: user turn = first non-empty `active_intents[].intent`; system turn = the sorted set of its
  acts ("INFORM_COUNT+OFFER", granularity "act") or of act(slot) ("REQUEST(city)", "act_slot");
  department = conversation metadata `domain` (the first service), or with level "domain" that
  service's SGD domain (`sgd_domain_of`: Events_1 and Events_2 are both Events).
- labels: turn metadata `condition_key` (customer turns) and `action_key` (agent turns), each a
  string or a list of strings; a list is one label set, written sorted and joined by "+"
  (["request(food)", "inform(area)"] -> "inform(area)+request(food)"); an empty list or a missing
  key leaves the turn unlabelled; department = conversation metadata `domain_key`.
- demo: the truth's per-turn labels (situation / move ids) and department ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

GoldSource = Literal["sgd", "demo", "labels"]
Granularity = Literal["act", "act_slot"]
LABELS_SCHEMA = {"conversation_id": pl.String, "turn_index": pl.Int32, "role": pl.String, "label": pl.String}


@dataclass(frozen=True)
class GoldLabels:
    """labels: (conversation_id, turn_index, role, label) per turn (label null: unlabelled);
    departments: (conversation_id, gold) per conversation (gold null: none)."""

    labels: pl.DataFrame
    departments: pl.DataFrame
    description: dict[str, Any]


def sgd_turn_label(role: str, metadata: str, granularity: Granularity = "act") -> str | None:
    """Gold label of one SGD turn: the active intent (user) or the act set (system)."""
    meta = json.loads(metadata) if metadata else {}
    if role == "customer":
        intents = [f.get("intent") for f in meta.get("active_intents") or [] if f.get("intent") not in (None, "", "NONE")]
        return intents[0] if intents else None
    acts = {a["act"] if granularity == "act" or not a.get("slot") else f"{a['act']}({a['slot']})"
            for a in meta.get("actions") or [] if a.get("act")}
    return "+".join(sorted(acts)) if acts else None


def metadata_label(value: Any, where: str, key: str) -> str | None:
    """A metadata value as one label: a string, or a list of strings as one sorted "+" set."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "+".join(sorted(set(value))) or None
    raise ValueError(f"{where}: metadata {key!r} must be a string or a list of strings, got {value!r}")


def metadata_departments(conversations: pl.DataFrame, key: str) -> pl.DataFrame:
    """(conversation_id, gold) from conversation metadata `key` (null when absent)."""
    rows = [(cid, metadata_label(json.loads(m or "{}").get(key), f"conversation {cid}", key))
            for cid, m in conversations.select("conversation_id", "metadata").iter_rows()]
    return pl.DataFrame(rows, schema={"conversation_id": pl.String, "gold": pl.String}, orient="row")


SgdLevel = Literal["service", "domain"]


def sgd_domain_of(service: str) -> str:
    """SGD's domain of a service: "Events_2" -> "Events". SGD gives one domain several services
    (different back-end APIs for one need: Events_1 and Events_2 both find events and buy
    tickets), so a receptionist routing by need can tell domains apart, not services."""
    return re.sub(r"_\d+$", "", service)


def check_sgd_level(level: str) -> None:
    if level not in ("service", "domain"):
        raise ValueError(f"unknown --sgd-level {level!r}: use service or domain")


def sgd_departments(conversations: pl.DataFrame, level: SgdLevel = "service") -> pl.DataFrame:
    """(conversation_id, gold): the first service (metadata "domain"), or its SGD domain."""
    check_sgd_level(level)
    departments = metadata_departments(conversations, "domain")
    if level == "domain":
        return departments.with_columns(pl.col("gold").map_elements(sgd_domain_of, return_dtype=pl.String))
    return departments


def sgd_labels(turns: pl.DataFrame, conversations: pl.DataFrame, granularity: Granularity = "act",
               level: SgdLevel = "service") -> GoldLabels:
    labels = turns.select("conversation_id", pl.col("turn_index").cast(pl.Int32), pl.col("role").cast(pl.String),
                          "metadata")
    labels = labels.with_columns(pl.struct("role", "metadata").map_elements(
        lambda r: sgd_turn_label(r["role"], r["metadata"], granularity), return_dtype=pl.String).alias("label"))
    return GoldLabels(labels.drop("metadata"), sgd_departments(conversations, level),
                      {"granularity": granularity, "sgd_level": level})


def key_labels(turns: pl.DataFrame, conversations: pl.DataFrame, condition_key: str, action_key: str | None,
               domain_key: str = "domain") -> GoldLabels:
    """Labels from turn metadata keys. No turn of a role carrying its key is an error (a typo
    would otherwise score against nothing); the key present but every value empty (KVRET's
    unannotated system acts) is a warning in `description`. `action_key` None: agent turns stay
    unlabelled."""
    rows = []
    keys = {"customer": condition_key, "agent": action_key}
    present, found = {"customer": 0, "agent": 0}, {"customer": 0, "agent": 0}
    for cid, index, role, metadata in turns.select("conversation_id", "turn_index", pl.col("role").cast(pl.String),
                                                   "metadata").iter_rows():
        key = keys.get(role)
        label = None
        if key is not None:
            meta = json.loads(metadata or "{}")
            label = metadata_label(meta.get(key), f"turn {cid}#{index}", key)
            present[role] += key in meta
            found[role] += label is not None
        rows.append((cid, index, role, label))
    warnings = []
    for role, key in keys.items():
        if key is not None and not present[role]:
            raise ValueError(f"no {role} turn carries turn metadata key {key!r}")
        if key is not None and not found[role]:
            warnings.append(f"{present[role]} {role} turns carry {key!r} but every value is empty: no {role} labels")
    description: dict[str, Any] = {"condition_key": condition_key, "action_key": action_key, "domain_key": domain_key}
    if warnings:
        description["warnings"] = warnings
    return GoldLabels(pl.DataFrame(rows, schema=LABELS_SCHEMA, orient="row"),
                      metadata_departments(conversations, domain_key), description)


def demo_labels(truth_path: Path) -> GoldLabels:
    from guideminer.ingest.demo_truth import load_truth

    return truth_labels(load_truth(truth_path))


def truth_labels(truth) -> GoldLabels:
    """GoldLabels of a loaded `DemoTruth`."""
    rows = [(c.conversation_id, t.turn_index, t.role, t.label) for c in truth.conversations for t in c.turns]
    departments = pl.DataFrame({"conversation_id": [c.conversation_id for c in truth.conversations],
                                "gold": [c.department_id for c in truth.conversations]})
    return GoldLabels(pl.DataFrame(rows, schema=LABELS_SCHEMA, orient="row"), departments, {"granularity": "move"})


def load_gold_labels(workspace: Path, gold: GoldSource, *, truth: Path | None = None, granularity: Granularity = "act",
                     condition_key: str | None = None, action_key: str | None = None,
                     domain_key: str = "domain", need_actions: bool = True, sgd_level: SgdLevel = "service") -> GoldLabels:
    """The gold labels of an ingested workspace from one source (module docstring)."""
    from guideminer.ingest.workspace import read_conversations, read_turns

    if gold == "sgd":
        return sgd_labels(read_turns(workspace), read_conversations(workspace), granularity, sgd_level)
    if gold == "demo":
        return demo_labels(truth or workspace)
    if gold == "labels":
        if not condition_key or (need_actions and not action_key):
            raise ValueError("--gold labels needs --condition-key" + (" and --action-key" if need_actions else "")
                             + " (turn metadata keys)")
        return key_labels(read_turns(workspace), read_conversations(workspace), condition_key, action_key, domain_key)
    raise ValueError(f"unknown gold {gold!r}: use 'sgd', 'demo' or 'labels'")
