"""Gold labels for `eval agent`: one small reader per label source, all with one output shape.

A reader takes a workspace and returns `AgentGold`:
- `turns`: conversation_id, turn_index, `label` (customer turns: the condition label; agent
  turns: the action label; None when the turn carries none) and `label_set` (customer turns:
  every condition label the turn carries, so a turn raising two topics has two; else empty);
- `domains`: conversation_id -> gold department label (conversations without one are absent).

Sources (the same definitions as `eval proposals`):
- sgd: condition = the first active intent (`sgd_turn_label`), label set = every frame's active
  intent; action = the system turn's act set ("OFFER+INFORM_COUNT"); domain = conversation
  metadata `gold_key` (SGD's reader stores the first service as "domain").
- demo: the hidden truth: customer label = situation id (or smalltalk / details / unhappy),
  label set = every situation the turn states; action = move id; domain = truth department.
- labels: any ingested corpus whose turn metadata carries the labels: customer metadata
  `condition_key` (a string, or a list = a label set whose first item is the label) and agent
  metadata `action_key` (a string, or a list joined sorted with "+"); domain = conversation
  metadata `gold_key`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from guideminer.evaluation.proposals import sgd_turn_label
from guideminer.ingest.gold_labels import check_sgd_level, sgd_domain_of
from guideminer.ingest.workspace import read_conversations, read_turns

LABEL_SCHEMA = {"conversation_id": pl.String, "turn_index": pl.Int32, "label": pl.String,
                "label_set": pl.List(pl.String)}


class AgentGold(NamedTuple):
    turns: pl.DataFrame
    domains: dict[str, str]


GoldReader = Callable[[Path], AgentGold]


def _frame(rows: list[tuple[str, int, str | None, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LABEL_SCHEMA, orient="row")


def metadata_domains(workspace: Path, gold_key: str) -> dict[str, str]:
    """conversation_id -> str(metadata[gold_key]) for conversations that carry the key."""
    found = {}
    for conversation_id, metadata in read_conversations(workspace).select("conversation_id", "metadata").iter_rows():
        value = json.loads(metadata or "{}").get(gold_key)
        if value is not None:
            found[conversation_id] = str(value)
    return found


def _turn_rows(workspace: Path):
    return (read_turns(workspace).select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "metadata")
            .iter_rows())


def sgd_intents(metadata: str) -> list[str]:
    """Every frame's active intent of an SGD user turn, in frame order, without repeats."""
    meta = json.loads(metadata) if metadata else {}
    intents = [f.get("intent") for f in meta.get("active_intents") or []]
    return list(dict.fromkeys(i for i in intents if i not in (None, "", "NONE")))


def sgd_reader(gold_key: str = "domain", level: str = "service") -> GoldReader:
    """`level` "domain": each conversation's gold department is its service's SGD domain
    (`sgd_domain_of`: Events_1 and Events_2 are both Events)."""
    def read(workspace: Path) -> AgentGold:
        rows = [(c, t, sgd_turn_label(role, metadata), sgd_intents(metadata) if role == "customer" else [])
                for c, t, role, metadata in _turn_rows(workspace) if role in ("customer", "agent")]
        domains = metadata_domains(workspace, gold_key)
        if level == "domain":
            domains = {c: sgd_domain_of(d) for c, d in domains.items()}
        return AgentGold(_frame(rows), domains)
    return read


def demo_reader(truth: Path) -> GoldReader:
    def read(workspace: Path) -> AgentGold:
        from guideminer.ingest.demo_truth import load_truth

        keep = set(read_conversations(workspace)["conversation_id"].to_list())
        conversations = [c for c in load_truth(truth).conversations if c.conversation_id in keep]
        rows = [(c.conversation_id, t.turn_index, t.label, list(t.situation_ids) if t.role == "customer" else [])
                for c in conversations for t in c.turns]
        return AgentGold(_frame(rows), {c.conversation_id: c.department_id for c in conversations})
    return read


def _metadata_value(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return list(dict.fromkeys(str(v) for v in value))
    raise ValueError(f"{where}: gold label must be a string or a list of strings, got {json.dumps(value)[:80]}")


def labels_reader(condition_key: str, action_key: str, gold_key: str = "domain") -> GoldReader:
    def read(workspace: Path) -> AgentGold:
        rows = []
        for conversation_id, turn_index, role, metadata in _turn_rows(workspace):
            if role not in ("customer", "agent"):
                continue
            key = condition_key if role == "customer" else action_key
            where = f"{workspace}: conversation {conversation_id!r} turn {turn_index} metadata {key!r}"
            values = _metadata_value(json.loads(metadata or "{}").get(key), where)
            if role == "customer":
                rows.append((conversation_id, turn_index, values[0] if values else None, values))
            else:
                rows.append((conversation_id, turn_index, "+".join(sorted(values)) or None, []))
        return AgentGold(_frame(rows), metadata_domains(workspace, gold_key))
    return read


def gold_reader(gold: str, *, truth: Path | None = None, gold_key: str = "domain", condition_key: str | None = None,
                action_key: str | None = None, sgd_level: str = "service") -> GoldReader:
    """The reader for a `--gold` name; errors say which option is missing."""
    check_sgd_level(sgd_level)
    if gold == "sgd":
        return sgd_reader(gold_key, sgd_level)
    if gold == "demo":
        if truth is None:
            raise ValueError("--gold demo needs --truth (the demo corpus's truth.json or its folder)")
        return demo_reader(truth)
    if gold == "labels":
        if not condition_key or not action_key:
            raise ValueError("--gold labels needs --condition-key and --action-key (turn metadata keys)")
        return labels_reader(condition_key, action_key, gold_key)
    raise ValueError(f"unknown gold {gold!r}: use sgd, demo or labels")
