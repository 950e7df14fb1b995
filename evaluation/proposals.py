"""`guideminer eval proposals WORKSPACE --gold sgd|demo`: score proposals against gold labels.

Departments: NMI (and the other DSTC11 clustering scores) of conversation_departments.parquet
against the gold department of each conversation (SGD: conversation metadata `domain`, the
first service; demo: truth `department_id`).

Guidelines: every proposal maps to a pair (gold condition label, gold action label): the
majority gold label of the customer turns its condition matches (the answered turns of its
condition cluster, in its department when mined within one, in its state: first / later /
right after its previous agent move) and of the turns of its action cluster. precision = share of proposals whose mapped pair is a gold pair; recall =
share of gold pairs mapped by at least one proposal.
- SGD gold pairs (user intent -> next system act): each user turn with an active intent (first
  non-empty `active_intents[].intent` of the turn metadata) and the first system turn after it.
  The system turn's label is the sorted set of its acts ("OFFER+INFORM_COUNT") with
  granularity "act" (default; the behaviour "offer options" vs "ask"), or of act(slot)
  ("REQUEST(city)") with granularity "act_slot". A pair is gold when it occurs in at least
  `GOLD_MIN_CONVERSATIONS` conversations and in at least `GOLD_MIN_SHARE` of that intent's
  answered turns: the pairs an attentive reader of the data would call a habit.
- Demo gold pairs: the truth's situation guidelines (situation id -> move id). Generic truth
  guidelines (no condition situation: greeting, closing, ...) are not recall targets, but a
  proposal mapping to a non-situation label ("smalltalk") -> a generic move counts as precise.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Literal

import polars as pl

from guideminer.mining.guidelines import CONDITION_KEY, occurrences_and_windows, with_states
from guideminer.evaluation.metrics import clustering_scores
from guideminer.mining.proposals_schema import GuidelineSet
from guideminer.mining.schema import MINING_FILES

GOLD_MIN_CONVERSATIONS = 10
GOLD_MIN_SHARE = 0.1
ANY_CONDITION = "*"  # wildcard condition of a generic gold guideline
Granularity = Literal["act", "act_slot"]


def sgd_turn_label(role: str, metadata: str, granularity: Granularity = "act") -> str | None:
    """Gold label of one SGD turn: the active intent (user) or the act set (system)."""
    meta = json.loads(metadata) if metadata else {}
    if role == "customer":
        intents = [f.get("intent") for f in meta.get("active_intents") or [] if f.get("intent") not in (None, "", "NONE")]
        return intents[0] if intents else None
    acts = {a["act"] if granularity == "act" or not a.get("slot") else f"{a['act']}({a['slot']})"
            for a in meta.get("actions") or [] if a.get("act")}
    return "+".join(sorted(acts)) if acts else None


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


def sgd_gold(turns: pl.DataFrame, conversations: pl.DataFrame, granularity: Granularity = "act"):
    """(turn labels, conversation departments, gold pairs, no generic moves, no situations)."""
    labels = turns.select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "metadata")
    labels = labels.with_columns(pl.struct("role", "metadata").map_elements(
        lambda r: sgd_turn_label(r["role"], r["metadata"], granularity), return_dtype=pl.String).alias("label"))
    pairs = next_agent_pairs(labels)
    per_pair = pairs.group_by("condition", "action").agg(pl.col("conversation_id").n_unique().alias("convs"),
                                                         pl.len().alias("n"))
    totals = pairs.group_by("condition").agg(pl.len().alias("total"))
    gold = per_pair.join(totals, on="condition").filter(
        (pl.col("convs") >= GOLD_MIN_CONVERSATIONS) & (pl.col("n") / pl.col("total") >= GOLD_MIN_SHARE))
    departments = conversations.select("conversation_id", pl.col("metadata").map_elements(
        lambda m: json.loads(m).get("domain"), return_dtype=pl.String).alias("gold"))
    return (labels.select("conversation_id", "turn_index", "label"), departments,
            set(gold.select("condition", "action").iter_rows()), set(), set())


def demo_gold(truth_path: Path):
    """(turn labels, conversation departments, situation pairs, generic moves, situation ids)."""
    from guideminer.ingest.demo_truth import load_truth  # ingest is upstream of mining

    truth = load_truth(truth_path)
    rows = [(c.conversation_id, t.turn_index, t.label) for c in truth.conversations for t in c.turns]
    labels = pl.DataFrame(rows, schema={"conversation_id": pl.String, "turn_index": pl.Int32, "label": pl.String},
                          orient="row")
    departments = pl.DataFrame({"conversation_id": [c.conversation_id for c in truth.conversations],
                                "gold": [c.department_id for c in truth.conversations]})
    pairs = {(g.condition_situation_id, g.action_move_id) for g in truth.guidelines if g.condition_situation_id}
    generic = {g.action_move_id for g in truth.guidelines if not g.condition_situation_id}
    return labels, departments, pairs, generic, {s.id for s in truth.situations}


def cluster_majority(assignments: pl.DataFrame, labels: pl.DataFrame) -> dict[int, str]:
    """Majority gold label of each cluster's (non-noise, labelled) turns."""
    joined = (assignments.filter(~pl.col("is_noise")).select("conversation_id", "turn_index", "cluster_id")
              .join(labels.drop_nulls("label"), on=["conversation_id", "turn_index"]))
    counts: dict[int, Counter] = {}
    for cluster, label in joined.select("cluster_id", "label").iter_rows():
        counts.setdefault(cluster, Counter())[label] += 1
    return {c: sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for c, cnt in counts.items()}


def condition_majority(assignments: pl.DataFrame, labels: pl.DataFrame,
                       routed: pl.DataFrame | None) -> dict[tuple, str]:
    """Majority gold label of the condition turns each possible condition matches, keyed by
    (department_id or None, condition cluster, state, after_move): the answered customer turns
    of the cluster in that department (all departments when None), state and previous move."""
    occurrences, _ = occurrences_and_windows(assignments, 1, routed)
    counts = (with_states(occurrences).join(labels.drop_nulls("label").rename({"turn_index": "condition_turn"}),
                                            on=["conversation_id", "condition_turn"])
              .group_by(*CONDITION_KEY, "label").len()
              .sort("len", "label", descending=[True, False]).group_by(*CONDITION_KEY, maintain_order=True).first())
    return {tuple(r[:4]): r[4] for r in counts.select(*CONDITION_KEY, "label").iter_rows()}


def proposal_condition_key(p) -> tuple:
    department = p.department_id if p.condition_scope == "department" else None
    return department, p.condition.cluster_id, p.condition_state, p.after_action.cluster_id if p.after_action else None


def guideline_scores(guidelines: GuidelineSet, majority: dict[int, str], gold_pairs: set[tuple[str, str]],
                     generic_moves: set[str], situations: set[str], conditions: dict[tuple, str]) -> dict:
    """precision / recall of proposals' mapped pairs against gold pairs (module docstring);
    `conditions` from `condition_majority`, `majority` (of action clusters) from `cluster_majority`."""
    mapped = [(conditions.get(proposal_condition_key(p)), majority.get(p.action.cluster_id))
              for p in guidelines.proposals]
    correct = [pair in gold_pairs or (pair[0] not in situations and pair[1] in generic_moves) for pair in mapped]
    covered = gold_pairs & set(mapped)
    return {
        "n_proposals": len(mapped), "n_gold_pairs": len(gold_pairs),
        "precision": sum(correct) / len(mapped) if mapped else 0.0,
        "recall": len(covered) / len(gold_pairs) if gold_pairs else 0.0,
        "missed_gold_pairs": sorted(map(list, gold_pairs - covered))[:50],
        "wrong_pairs": sorted({tuple(map(str, m)) for m, ok in zip(mapped, correct, strict=True) if not ok})[:50],
    }


def evaluate_proposals(workspace: Path, gold: Literal["sgd", "demo"], *, truth: Path | None = None,
                       granularity: Granularity = "act") -> dict:
    """Departments NMI and guideline precision/recall of a mined workspace against gold labels."""
    from guideminer.ingest.workspace import read_conversations, read_turns

    workspace = Path(workspace)
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"])
    guidelines = GuidelineSet.model_validate_json((workspace / MINING_FILES["guidelines"]).read_text(encoding="utf-8"))
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"])
    if gold == "sgd":
        labels, departments, pairs, generic, situations = sgd_gold(
            read_turns(workspace), read_conversations(workspace), granularity)
    elif gold == "demo":
        labels, departments, pairs, generic, situations = demo_gold(truth or workspace)
    else:
        raise ValueError(f"unknown gold {gold!r}: use 'sgd' or 'demo'")
    joined = routed.join(departments.drop_nulls("gold"), on="conversation_id")
    dept_scores = clustering_scores(joined["department_id"].to_list(), joined["gold"].to_list()) if joined.height else {}
    return {
        "gold": gold, "granularity": granularity if gold == "sgd" else "move",
        "gold_thresholds": {"min_conversations": GOLD_MIN_CONVERSATIONS, "min_share": GOLD_MIN_SHARE},
        "departments": {"n_conversations": joined.height, "n_departments": joined["department_id"].n_unique(),
                        "n_gold": joined["gold"].n_unique(), **dept_scores},
        "guidelines": guideline_scores(guidelines, cluster_majority(assignments, labels), pairs, generic, situations,
                                       {**condition_majority(assignments, labels, None),
                                        **condition_majority(assignments, labels, routed)}),
    }
