"""The candidate table of guideline mining: occurrences of customer turns, their states and
action windows, and every (condition, state, action) with its counts and scores; plain polars
functions over turn assignments. The definitions (occurrence, action window, need view, state,
support, confidence, base rate, lift, consistency) are in mining/guidelines.py's docstring,
which proposes guidelines from this table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from guideminer.mining.open_need import OPEN_NEED, with_open_needs
from guideminer.mining.proposals_schema import EvidenceExample
from guideminer.mining.schema import UNROUTED

if TYPE_CHECKING:
    from guideminer.mining.guidelines import GuidelineParams

# Base rate of a move over all departments: a move is generic when it follows everything in the
# corpus; within a department with one main need, that need's own move follows most turns.
CORPUS_BASE_RATE = True
CONDITION_KEY = ["department_id", "condition_cluster", "state", "after_move"]
CANDIDATE_KEY = [*CONDITION_KEY, "agent_cluster"]


def occurrences_and_windows(assignments: pl.DataFrame, action_window: int,
                            routed: pl.DataFrame | None = None,
                            skip: set[int] | frozenset[int] = frozenset(),
                            open_need: bool = OPEN_NEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(occurrences, window rows): answered customer turns with their state and department, and
    the agent turns in each one's window (`agent_cluster` null for noise, `rank` 1 = first reply).

    With `routed` (conversation_departments) each occurrence carries its conversation's department
    and conversations routed nowhere are left out; without it every department_id is null.
    `skip` (the etiquette clusters: the need view of the module docstring): turns of those
    clusters are left out after each turn's previous agent move is taken, and, with `open_need`,
    an answer turn's condition is its conversation's open need (mining/open_need.py).
    `said_turn` is the turn whose words the condition is: the turn itself, or the need's turn."""
    turns = (assignments.with_columns(pl.col("role").cast(pl.String))
             .filter(pl.col("role").is_in(["customer", "agent"]))
             .sort("conversation_id", "turn_index")
             .with_columns(_previous_move().alias("previous_move")))
    if skip:
        turns = turns.filter(~pl.col("cluster_id").is_in(sorted(skip)))
    turns = turns.with_columns((pl.col("role") == "customer").cast(pl.Int32).cum_sum()
                               .over("conversation_id").alias("block"))
    agents = (turns.filter((pl.col("role") == "agent") & (pl.col("block") > 0))
              .with_columns(pl.int_range(1, pl.len() + 1).over("conversation_id", "block").alias("rank"))
              .filter(pl.col("rank") <= action_window)
              .select("conversation_id", "block", "rank", pl.col("turn_index").alias("action_turn"),
                      pl.when(pl.col("is_noise")).then(None).otherwise(pl.col("cluster_id")).alias("agent_cluster"),
                      pl.col("confidence").alias("action_confidence")))
    answered = agents.select("conversation_id", "block").unique()
    customers = turns.filter((pl.col("role") == "customer") & ~pl.col("is_noise"))
    if skip and open_need:
        replies = agents.filter(pl.col("rank") == 1).select("conversation_id", "block",
                                                            pl.col("agent_cluster").alias("next_move"))
        customers = with_open_needs(customers, replies)
    else:
        customers = customers.with_columns(pl.col("turn_index").alias("said_turn"))
    first_turn = customers.group_by("conversation_id").agg(pl.col("turn_index").min().alias("first_turn"))
    if routed is None:
        departments = customers.select("conversation_id").unique().with_columns(
            pl.lit(None, pl.String).alias("department_id"))
    else:
        departments = routed.filter(pl.col("department_id") != UNROUTED).select("conversation_id", "department_id")
    occurrences = (customers.join(answered, on=["conversation_id", "block"], how="semi")
                   .join(first_turn, on="conversation_id")
                   .join(departments, on="conversation_id")
                   .select("conversation_id", "block", "department_id", pl.col("turn_index").alias("condition_turn"),
                           pl.col("cluster_id").alias("condition_cluster"), "confidence",
                           pl.when(pl.col("turn_index") == pl.col("first_turn")).then(pl.lit("first"))
                           .otherwise(pl.lit("later")).alias("state"), "previous_move", "said_turn"))
    if skip:
        # on the need view a need's own turn after conversation management ("How can I help
        # you?", small talk) is placed nowhere by it: no "after" state (an answer turn keeps the
        # etiquette question it answers, e.g. the identification question, as its place)
        own = pl.col("said_turn") == pl.col("condition_turn")
        occurrences = occurrences.with_columns(
            pl.when(own & pl.col("previous_move").is_in(sorted(skip))).then(None)
            .otherwise(pl.col("previous_move")).alias("previous_move"))
    return occurrences, agents


def _previous_move() -> pl.Expr:
    """Cluster of the last agent turn before each turn (null: none yet, or it was noise)."""
    move = (pl.when(pl.col("role") != "agent").then(None)
            .when(pl.col("is_noise")).then(-1).otherwise(pl.col("cluster_id")))
    last = move.shift(1).forward_fill().over("conversation_id", order_by="turn_index")
    return pl.when(last >= 0).then(last).otherwise(None).cast(pl.Int32)


def with_states(occurrences: pl.DataFrame, every_state: bool = False) -> pl.DataFrame:
    """Each occurrence under every state it is in: first/later, "any", and "after" its previous
    agent move (`after_move`, null in the other states). An answer turn that continues its open
    need (`said_turn` another turn: mining/open_need.py) is only "after": its place in the need's
    flow is the move it answers, and as "later" or "any" it would make a step of the need a rule
    about the need itself, holding anywhere in it. `every_state`: every occurrence in every state
    (base rates: how often a move follows any turn)."""
    continuing = (pl.col("said_turn") != pl.col("condition_turn")
                  if "said_turn" in occurrences.columns and not every_state else pl.lit(False))
    plain = (occurrences.filter(~continuing).drop("previous_move")
             .with_columns(pl.lit(None, pl.Int32).alias("after_move")))
    after = (occurrences.filter(pl.col("previous_move").is_not_null())
             .with_columns(pl.lit("after").alias("state")).rename({"previous_move": "after_move"}))
    return pl.concat([plain, plain.with_columns(pl.lit("any").alias("state")), after.select(plain.columns)])


def candidate_table(occurrences: pl.DataFrame, windows: pl.DataFrame, n_agent_clusters: int,
                    corpus_base_rate: bool = CORPUS_BASE_RATE, counted: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (condition, state, action) seen at least once, with every count and score;
    the base rate over all departments (`corpus_base_rate`) or within the condition's own.
    `counted` (conversation_id, condition_turn): only these occurrences are candidates, while
    the base rate stays that of every occurrence (the etiquette set's managed endings);
    `counted_share` is the share of a condition's occurrences that are counted (1 without)."""
    occ = with_states(occurrences)
    pairs = (occ.join(windows.filter(pl.col("agent_cluster").is_not_null()), on=["conversation_id", "block"])
             .group_by("conversation_id", "condition_turn", *CONDITION_KEY, "agent_cluster")
             .agg(pl.col("action_turn").min()))
    scope_size = occ.group_by("department_id").agg(pl.col("conversation_id").n_unique().alias("scope_conversations"))
    base = _base_rates(occurrences, windows, corpus_base_rate)  # of every occurrence
    every = occ.group_by(*CONDITION_KEY).agg(pl.len().alias("every_occurrence"))
    if counted is not None:
        occ = occ.join(counted, on=["conversation_id", "condition_turn"], how="semi")
        pairs = pairs.join(counted, on=["conversation_id", "condition_turn"], how="semi")
    scope = ["base_state"] if corpus_base_rate else ["department_id", "base_state"]
    condition = occ.group_by(*CONDITION_KEY).agg(
        pl.len().alias("condition_occurrences"),
        pl.col("conversation_id").n_unique().alias("condition_conversations"))
    base_state = pl.when(pl.col("state") == "after").then(pl.lit("any")).otherwise(pl.col("state")).alias("base_state")
    followed = pairs.group_by(*CANDIDATE_KEY).agg(
        pl.len().alias("followed_occurrences"),
        pl.col("conversation_id").n_unique().alias("followed_conversations"))
    first_moves = (occ.join(windows.filter((pl.col("rank") == 1) & pl.col("agent_cluster").is_not_null()),
                            on=["conversation_id", "block"])
                   .group_by(*CANDIDATE_KEY).agg(pl.len().alias("n")))
    consistency = _consistency(first_moves, n_agent_clusters)
    return (followed.join(condition, on=CONDITION_KEY, nulls_equal=True).with_columns(base_state)
            .join(base, on=[*scope, "agent_cluster"], nulls_equal=True).drop("base_state")
            .join(consistency, on=CONDITION_KEY, how="left", nulls_equal=True)
            .join(scope_size, on="department_id", how="left", nulls_equal=True)
            .join(every, on=CONDITION_KEY, nulls_equal=True)
            .with_columns((pl.col("followed_occurrences") / pl.col("condition_occurrences")).alias("confidence"),
                          (pl.col("action_occurrences") / pl.col("all_occurrences")).alias("base_rate"),
                          (pl.col("condition_occurrences") / pl.col("every_occurrence")).alias("counted_share"))
            .drop("every_occurrence")
            .with_columns((pl.col("confidence") / pl.col("base_rate")).alias("lift"),
                          pl.col("consistency").fill_null(0.0), pl.col("top_move_share").fill_null(0.0))
            .sort(*CANDIDATE_KEY, nulls_last=True))


def _base_rates(occurrences: pl.DataFrame, windows: pl.DataFrame, corpus_base_rate: bool) -> pl.DataFrame:
    """Occurrences and action occurrences per unqualified state (first / later / any) over every
    occurrence, all departments (`corpus_base_rate`) or per department."""
    occ = with_states(occurrences, every_state=True).filter(pl.col("state") != "after")
    pairs = (occ.join(windows.filter(pl.col("agent_cluster").is_not_null()), on=["conversation_id", "block"])
             .group_by("conversation_id", "condition_turn", *CONDITION_KEY, "agent_cluster").agg(pl.len()))
    by_scope = [] if corpus_base_rate else [pl.col("department_id")]
    scope = ["base_state"] if corpus_base_rate else ["department_id", "base_state"]
    return (occ.group_by(*by_scope, pl.col("state").alias("base_state")).agg(pl.len().alias("all_occurrences"))
            .join(pairs.group_by(*by_scope, pl.col("state").alias("base_state"), "agent_cluster")
                  .agg(pl.len().alias("action_occurrences")), on=scope, nulls_equal=True))


def _consistency(first_moves: pl.DataFrame, n_agent_clusters: int) -> pl.DataFrame:
    """Per (condition, state): 1 - normalised entropy and top share of the first reply's move."""
    rows = []
    for (department, cluster, state, after), group in first_moves.group_by(*CONDITION_KEY):
        counts = dict(zip(group["agent_cluster"].to_list(), group["n"].to_list(), strict=True))
        total = sum(counts.values())
        entropy = -sum(c / total * math.log(c / total) for c in counts.values())
        normaliser = math.log(n_agent_clusters) if n_agent_clusters > 1 else 1.0
        rows.append({"department_id": department, "condition_cluster": cluster, "state": state, "after_move": after,
                     "consistency": max(0.0, 1.0 - entropy / normaliser),
                     "top_move_share": max(counts.values()) / total,
                     "next_move_counts": [{"k": k, "v": v} for k, v in sorted(counts.items())]})
    schema = {"department_id": pl.String, "condition_cluster": pl.Int32, "state": pl.String, "after_move": pl.Int32,
              "consistency": pl.Float64,
              "top_move_share": pl.Float64,
              "next_move_counts": pl.List(pl.Struct({"k": pl.Int32, "v": pl.Int64}))}
    return pl.DataFrame(rows, schema=schema)


def select_candidates(table: pl.DataFrame, params: GuidelineParams) -> pl.DataFrame:
    """Rows above every threshold; a state-qualified row replaces its "any" row when it gains
    at least `state_min_gain` confidence, an "after" row only when it gains that much over the
    first/later rows too (module docstring)."""
    passing = table.filter(
        (pl.col("followed_conversations") >= params.min_support)
        & (pl.col("followed_conversations") >= params.min_support_share * pl.col("scope_conversations"))
        & (pl.col("confidence") >= params.min_confidence)
        & (pl.col("lift") >= params.min_lift)
        & (pl.col("consistency") >= params.min_consistency))
    pair = ["department_id", "condition_cluster", "agent_cluster"]
    general = (table.filter(pl.col("state") != "after").group_by(pair)
               .agg(pl.col("confidence").filter(pl.col("state") == "any").max().alias("any_confidence"),
                    pl.col("confidence").max().alias("state_confidence")))
    # an "after" row must also beat first/later: else it restates them with a gate on top
    # a pair seen in no other state (a continued need's step) has nothing to beat
    beaten = (pl.when(pl.col("state") == "after").then(pl.col("state_confidence"))
              .otherwise(pl.col("any_confidence")).fill_null(0.0))
    qualified = (passing.filter(pl.col("state") != "any")
                 .join(general, on=pair, how="left", nulls_equal=True)
                 .filter(pl.col("confidence") - beaten >= params.state_min_gain)
                 .drop("any_confidence", "state_confidence"))
    unqualified = (passing.filter(pl.col("state") == "any")
                   .join(qualified.select(pair), on=pair, how="anti", nulls_equal=True))
    return pl.concat([qualified, unqualified]).sort(
        pl.col("followed_conversations"), pl.col("confidence"), *CANDIDATE_KEY,
        descending=[True, True, False, False, False, False, False], nulls_last=True)


def evidence_for(pairs: pl.DataFrame, limit: int) -> list[EvidenceExample]:
    """Up to `limit` followed occurrences, one per conversation, most confident first."""
    chosen = (pairs.sort(pl.col("strength"), pl.col("conversation_id"), pl.col("condition_turn"),
                         descending=[True, False, False])
              .unique("conversation_id", keep="first", maintain_order=True).head(limit))
    return [EvidenceExample(conversation_id=r["conversation_id"], condition_turn_index=r["condition_turn"],
                            action_turn_index=r["action_turn"],
                            need_turn_index=r["said_turn"] if r["said_turn"] != r["condition_turn"] else None)
            for r in chosen.iter_rows(named=True)]


def followed_pairs(occurrences: pl.DataFrame, windows: pl.DataFrame) -> pl.DataFrame:
    """Every (occurrence, action cluster in its window) with the earliest action turn; all states."""
    return (with_states(occurrences)
            .join(windows.filter(pl.col("agent_cluster").is_not_null()), on=["conversation_id", "block"])
            .with_columns((pl.col("confidence") * pl.col("action_confidence")).alias("strength"))
            .sort("action_turn")
            .group_by("conversation_id", "condition_turn", *CANDIDATE_KEY, maintain_order=True)
            .agg(pl.col("action_turn").first(), pl.col("strength").first(), pl.col("said_turn").first()))
