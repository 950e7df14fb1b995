"""Gold guideline pairs for `guideminer eval proposals`, over the gold labels a workspace
carries (`guideminer.ingest.gold_labels`: SGD annotations, turn metadata keys, demo truth).

The gold-pair rule (the one place it is defined; `--gold sgd` and `--gold labels`): every
labelled customer turn is paired with the label of the first agent turn after it, before the
customer speaks again (`next_agent_pairs`). A pair (condition label, action label) is gold when it
  - occurs in at least `GOLD_MIN_CONVERSATIONS` (10) distinct conversations (support floor), and
  - makes up at least `GOLD_MIN_SHARE` (10%) of that condition label's answered turns (share floor):
the pairs an attentive reader of the data would call a habit. The demo corpus needs no rule: its
truth lists the guidelines its agents followed (situation -> move), and its generic guidelines
(no situation: greeting, closing) are right after any non-situation customer turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from guideminer.ingest.gold_labels import (  # noqa: F401  (re-exported)
    GoldLabels, GoldSource, Granularity, SgdLevel, demo_labels, key_labels, load_gold_labels, sgd_labels, sgd_turn_label,
    truth_labels,
)

GOLD_MIN_CONVERSATIONS = 10
GOLD_MIN_SHARE = 0.1
ANY_CONDITION = "*"  # wildcard condition of a generic gold guideline (demo: greeting, closing)


@dataclass(frozen=True)
class Gold:
    """What proposals are scored against: turn `labels` (conversation_id, turn_index, label),
    `departments` (conversation_id, gold), gold `pairs` (the recall targets), `generic_moves`
    (actions right after any non-situation condition) and `situations` (demo only)."""

    labels: pl.DataFrame
    departments: pl.DataFrame
    pairs: set[tuple[str, str]]
    generic_moves: set[str] = field(default_factory=set)
    situations: set[str] = field(default_factory=set)
    description: dict[str, Any] = field(default_factory=dict)


def next_agent_pairs(labels: pl.DataFrame) -> pl.DataFrame:
    """(conversation_id, condition label, action label) for every labelled customer turn and the
    first agent turn after it, before the customer speaks again."""
    ordered = labels.sort("conversation_id", "turn_index").with_columns(
        (pl.col("role") == "customer").cast(pl.Int32).cum_sum().over("conversation_id").alias("block"))
    first_agent = (ordered.filter(pl.col("role") == "agent").group_by("conversation_id", "block")
                   .agg(pl.col("label").sort_by("turn_index").first().alias("action")))
    customers = ordered.filter(pl.col("role") == "customer").select("conversation_id", "block",
                                                                      pl.col("label").alias("condition"))
    return customers.join(first_agent, on=["conversation_id", "block"]).drop_nulls(["condition", "action"])


def gold_pairs(labels: pl.DataFrame) -> set[tuple[str, str]]:
    """The gold-pair rule of the module docstring over (conversation_id, turn_index, role, label)."""
    pairs = next_agent_pairs(labels)
    per_pair = pairs.group_by("condition", "action").agg(pl.col("conversation_id").n_unique().alias("convs"),
                                                         pl.len().alias("n"))
    totals = pairs.group_by("condition").agg(pl.len().alias("total"))
    gold = per_pair.join(totals, on="condition").filter(
        (pl.col("convs") >= GOLD_MIN_CONVERSATIONS) & (pl.col("n") / pl.col("total") >= GOLD_MIN_SHARE))
    return set(gold.select("condition", "action").iter_rows())


def pair_rule() -> dict[str, float | int]:
    return {"min_conversations": GOLD_MIN_CONVERSATIONS, "min_share": GOLD_MIN_SHARE}


def from_labels(labels: GoldLabels) -> Gold:
    """Gold pairs by the rule, over any labelled corpus."""
    return Gold(labels.labels.drop("role"), labels.departments, gold_pairs(labels.labels),
                description={**labels.description, "gold_thresholds": pair_rule()})


def sgd_gold(turns: pl.DataFrame, conversations: pl.DataFrame, granularity: Granularity = "act") -> Gold:
    return from_labels(sgd_labels(turns, conversations, granularity))


def labels_gold(turns: pl.DataFrame, conversations: pl.DataFrame, condition_key: str, action_key: str,
                domain_key: str = "domain") -> Gold:
    return from_labels(key_labels(turns, conversations, condition_key, action_key, domain_key))


def demo_gold(truth_path: Path) -> Gold:
    """The demo truth: situation guidelines are the pairs, generic guidelines the generic moves."""
    from guideminer.ingest.demo_truth import load_truth

    truth = load_truth(truth_path)
    labels = truth_labels(truth)
    pairs = {(g.condition_situation_id, g.action_move_id) for g in truth.guidelines if g.condition_situation_id}
    generic = {g.action_move_id for g in truth.guidelines if not g.condition_situation_id}
    return Gold(labels.labels.drop("role"), labels.departments, pairs, generic, {s.id for s in truth.situations},
                description={"granularity": "move", "gold_thresholds": "none: the truth's situation guidelines"})


def load_gold(workspace: Path, gold: GoldSource, *, truth: Path | None = None, granularity: Granularity = "act",
              condition_key: str | None = None, action_key: str | None = None, domain_key: str = "domain",
              sgd_level: SgdLevel = "service") -> Gold:
    if gold == "demo":
        return demo_gold(truth or workspace)
    return from_labels(load_gold_labels(workspace, gold, truth=truth, granularity=granularity,
                                        condition_key=condition_key, action_key=action_key, domain_key=domain_key,
                                        sgd_level=sgd_level))
