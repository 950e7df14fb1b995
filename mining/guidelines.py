"""Propose guidelines (condition -> action) from clustered turns; plain table functions, no models.

Definitions (every number in a proposal can be re-derived from its `counts`):
- occurrence: a customer turn that is not noise and is answered, i.e. at least one agent turn
  follows it before the customer speaks again. A customer turn followed directly by another
  customer turn is not an occurrence: the agent answers the last one.
- action window: the agent turns after the occurrence, up to the next customer turn, at most
  `action_window` (default 2, so a reply split into two messages still counts). Only AGENT turns
  in AGENT clusters can be actions; noise agent turns take a slot but are no action.
- etiquette (`clusters.is_etiquette`, mining/etiquette.py): department rules are mined on the
  conversation's *need view*, its turns with etiquette turns (greetings, small talk, spelled
  names and their read-back, holds, "anything else?") left out, because in calls the answer
  to a need comes after such a detour ("I need to close my account" -> "your name please?" ->
  spelled name -> read-back -> hold -> the answer), and without the view the need's action
  window holds only the detour. "after" states keep the real previous agent move (what the
  engine's context gate sees). The global etiquette set is mined on the whole conversation and
  keeps only etiquette situations answered by etiquette moves.
- department: with the miner's routing (conversation_departments), every count is taken within
  one department's conversations and each proposal belongs to that department
  (`condition_scope` "department"), because at run time a department's agent evaluates only its
  own guidelines: "the customer gives a city" leads to a movie offer in one department and a
  restaurant offer in another. Conversations routed nowhere are left out.
- state: "first" = the conversation's first non-noise customer turn, "later" = any other,
  "after" = right after a given agent move (`after_action`: the cluster of the last agent turn
  before it), which is what gives "yes, please" a meaning. A condition is proposed qualified by
  state only when that raises confidence by at least `state_min_gain` over the unqualified
  ("any") condition; otherwise the unqualified one is used. The base rate of an "after"
  condition is the "any" base rate: conditioning it on the previous move too would cancel
  exactly the habits the qualification finds.
- support = conversations where the condition occurred and the action followed in the window;
  it must reach `min_support` and `min_support_share` of the answered conversations in scope
  (the department, or all);
  confidence = P(action in window | condition occurrence); base rate = P(action in window |
  any occurrence in the same state, over all departments: `corpus_base_rate`), lift = confidence /
  base rate, which is what suppresses generic moves (greeting, closing) that follow nearly everything; consistency = 1 - entropy of
  the first reply's move cluster / log(number of agent clusters), how concentrated agents are.

Stable ids: `guideline_id` = "g-" + sha256(condition signature | state | action signature)[:12],
where a cluster's signature hashes its role and sorted top keywords (representative texts when
two clusters of a role share keywords). Cluster numbers never enter it, so re-mining the same
workspace gives the same ids, and a re-clustering that keeps a cluster's top keywords keeps them.
"""

from __future__ import annotations

import hashlib
import math

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.etiquette import etiquette_clusters, etiquette_pair
from guideminer.mining.open_need import OPEN_NEED, with_open_needs
from guideminer.mining.phrasing import (
    RulePhraser, clean_keywords, generalised_examples, is_empty_turn, looks_like_injection, phrase_rule,
)
from guideminer.mining.proposals_schema import (
    ClusterRef, EvidenceExample, GuidelineCounts, GuidelineProposal, GuidelineScores,
)
from guideminer.mining.schema import UNROUTED

ACTION_WINDOW = 2  # agent turns after the customer turn, up to the next customer turn
MIN_SUPPORT = 3  # conversations; 5 measured lower recall on SGD and the demo (docs/results.md)
# ... and at least this share of the conversations in scope (the department), so a habit of a
# 100k-conversation corpus needs more than 3 of them (below ~1,500 per department: just 3).
MIN_SUPPORT_SHARE = 0.002
MIN_CONFIDENCE = 0.2  # demo corpus: recall 0.25 -> 0.38 at the same precision (0.61) vs 0.3
MIN_LIFT = 2.0
MIN_CONSISTENCY = 0.2
PER_DEPARTMENT = True  # mine each department's conversations apart (module docstring)
STATE_MIN_GAIN = 0.15  # confidence gain needed to qualify a condition by conversation state
# Base rate of a move over all departments: a move is generic when it follows everything in the
# corpus; within a department with one main need, that need's own move follows most turns.
CORPUS_BASE_RATE = True
MANAGED_ENDINGS = True  # etiquette_occurrences
SIGNATURE_KEYWORDS = 5
EVIDENCE_EXAMPLES = 5
CONDITION_KEY = ["department_id", "condition_cluster", "state", "after_move"]
CANDIDATE_KEY = [*CONDITION_KEY, "agent_cluster"]


class GuidelineParams(BaseModel):
    """Thresholds of `propose_guidelines` (module constants are the documented defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action_window: int = Field(ACTION_WINDOW, ge=1)
    min_support: int = Field(MIN_SUPPORT, ge=1)
    min_support_share: float = Field(MIN_SUPPORT_SHARE, ge=0.0, le=1.0)
    min_confidence: float = Field(MIN_CONFIDENCE, ge=0.0, le=1.0)
    min_lift: float = Field(MIN_LIFT, ge=0.0)
    min_consistency: float = Field(MIN_CONSISTENCY, ge=0.0, le=1.0)
    state_min_gain: float = Field(STATE_MIN_GAIN, ge=0.0)
    evidence_examples: int = Field(EVIDENCE_EXAMPLES, ge=1)
    per_department: bool = PER_DEPARTMENT
    after_states: bool = True  # propose conditions qualified by the previous agent move
    corpus_base_rate: bool = CORPUS_BASE_RATE  # False: the base rate within the condition's department
    open_need: bool = OPEN_NEED  # answer turns take their conversation's open need as condition (open_need.py)
    managed_endings: bool = MANAGED_ENDINGS  # the etiquette set also learns how need flows end


def _digest(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:length]


def cluster_refs(clusters: pl.DataFrame) -> dict[int, ClusterRef]:
    """ClusterRef per cluster id with a content signature (see module docstring)."""
    rows = clusters.sort("cluster_id").to_dicts()
    keyword_sig = {r["cluster_id"]: _digest(r["role"], *sorted(r["keywords"][:SIGNATURE_KEYWORDS]))
                   for r in rows}
    seen: dict[str, int] = {}
    for sig in keyword_sig.values():
        seen[sig] = seen.get(sig, 0) + 1
    refs = {}
    for r in rows:
        sig = keyword_sig[r["cluster_id"]]
        if seen[sig] > 1 or not r["keywords"]:
            sig = _digest(r["role"], *sorted(r["keywords"]), *sorted(r["representative_texts"]))
        refs[r["cluster_id"]] = ClusterRef(
            cluster_id=r["cluster_id"], role=r["role"], size=r["size"], keywords=list(r["keywords"]),
            representative_texts=list(r["representative_texts"]), name=r.get("name"), signature=sig)
    return refs


def check_roles(assignments: pl.DataFrame, clusters: pl.DataFrame) -> None:
    """Every assignment must point to a cluster of its own role: actions only from agent clusters."""
    joined = assignments.join(clusters.select("cluster_id", pl.col("role").alias("cluster_role")),
                              on="cluster_id", how="left")
    missing = joined.filter(pl.col("cluster_role").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        raise ValueError(f"turn {row['conversation_id']}#{row['turn_index']} is assigned to cluster "
                         f"{row['cluster_id']}, which clusters.parquet does not list")
    wrong = joined.filter(pl.col("role").cast(pl.String) != pl.col("cluster_role"))
    if wrong.height:
        row = wrong.row(0, named=True)
        raise ValueError(f"turn {row['conversation_id']}#{row['turn_index']} has role {row['role']!r} "
                         f"but its cluster {row['cluster_id']} is a {row['cluster_role']!r} cluster")


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
    the base rate stays that of every occurrence (the etiquette set's managed endings)."""
    occ = with_states(occurrences)
    pairs = (occ.join(windows.filter(pl.col("agent_cluster").is_not_null()), on=["conversation_id", "block"])
             .group_by("conversation_id", "condition_turn", *CONDITION_KEY, "agent_cluster")
             .agg(pl.col("action_turn").min()))
    scope_size = occ.group_by("department_id").agg(pl.col("conversation_id").n_unique().alias("scope_conversations"))
    base = _base_rates(occurrences, windows, corpus_base_rate)  # of every occurrence
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
            .with_columns((pl.col("followed_occurrences") / pl.col("condition_occurrences")).alias("confidence"),
                          (pl.col("action_occurrences") / pl.col("all_occurrences")).alias("base_rate"))
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


def guideline_id(condition: ClusterRef, state: str, action: ClusterRef, department_id: str | None = None,
                 after: ClusterRef | None = None) -> str:
    scope = (() if department_id is None else (department_id,)) + (() if after is None else (after.signature,))
    return "g-" + _digest(condition.signature, state, action.signature, *scope, length=12)


def _proposal(row: dict, refs: dict[int, ClusterRef], evidence: list[EvidenceExample],
              params: GuidelineParams, phraser: RulePhraser | None,
              continues_need: bool = False) -> GuidelineProposal | None:
    condition, action = refs[row["condition_cluster"]], refs[row["agent_cluster"]]
    after = refs[row["after_move"]] if row["after_move"] is not None else None
    if condition.role != "customer" or action.role != "agent":
        raise ValueError(f"cluster roles wrong for {condition.cluster_id}->{action.cluster_id}")
    if sum(looks_like_injection(t) for t in action.representative_texts) * 2 > len(action.representative_texts):
        return None  # an agent cluster that itself reads like injected instructions
    action_examples = generalised_examples(action.representative_texts)
    if not action_examples or all(map(is_empty_turn, action_examples)):
        return None  # a move of spelled letters, digit read-backs or bare names: no instruction in it
    ends_need = bool(row.get("ends_need", False))
    phrased = phrase_rule(condition, action, row["state"], phraser, after, continues_need, ends_need)
    if phrased is None:
        return None
    rule, phrased_by = phrased
    counts = GuidelineCounts(
        condition_occurrences=row["condition_occurrences"], followed_occurrences=row["followed_occurrences"],
        condition_conversations=row["condition_conversations"],
        followed_conversations=row["followed_conversations"], all_occurrences=row["all_occurrences"],
        action_occurrences=row["action_occurrences"],
        next_move_counts={kv["k"]: kv["v"] for kv in row["next_move_counts"] or []})
    scores = GuidelineScores(
        support=row["followed_conversations"], confidence=round(row["confidence"], 6),
        base_rate=round(row["base_rate"], 6), lift=round(row["lift"], 6),
        consistency=round(row["consistency"], 6), top_move_share=round(row["top_move_share"], 6))
    return GuidelineProposal(
        guideline_id=guideline_id(condition, row["state"], action, row["department_id"], after), rank=0,
        after_action=after,
        department_id=row["department_id"],
        condition_scope="all" if row["department_id"] is None else "department",
        condition_text=rule.condition_text, action_text=rule.action_text, rule_text=rule.rule_text,
        condition_state=row["state"], condition=condition, action=action,
        action_window=params.action_window, scores=scores, counts=counts, evidence=evidence,
        phrased_by=phrased_by, is_etiquette=row.get("is_etiquette", False), continues_need=continues_need,
        ends_need=ends_need,
        condition_examples=generalised_examples(condition.representative_texts, keep_shared=False),
        action_examples=action_examples,
        tags=list(dict.fromkeys(clean_keywords(condition.keywords, 5) + clean_keywords(action.keywords, 5))))


def _without_etiquette(selected: pl.DataFrame, etiquette: set[int]) -> pl.DataFrame:
    table = selected.filter(~etiquette_pair(etiquette)) if etiquette else selected
    return table.with_columns(pl.lit(False).alias("is_etiquette"), pl.lit(False).alias("ends_need"))


def _only_etiquette(selected: pl.DataFrame, etiquette: set[int]) -> pl.DataFrame:
    """Rows answered by conversation management; their conditions are etiquette situations or
    managed endings (`etiquette_occurrences`)."""
    return (selected.filter(pl.col("agent_cluster").is_in(sorted(etiquette)))
            .with_columns(pl.lit(True).alias("is_etiquette"),
                          (~pl.col("condition_cluster").is_in(sorted(etiquette))).alias("ends_need")))


def _select_etiquette(table: pl.DataFrame, etiquette: set[int], params: GuidelineParams) -> pl.DataFrame:
    """The etiquette set's rows: etiquette situations by `select_candidates`; managed endings
    only right after a given agent move of a need (state "after", no etiquette move), above the
    same thresholds. An ending is "the need's flow is done", which the customer's last words do not say ("It's order 4031"
    answers a question that is no last step) and the move before them does ("Would you like a
    replacement or a refund?" is): without the previous move, an ending's reply examples would
    close the conversation on any order number or e-mail address."""
    managed = pl.col("condition_cluster").is_in(sorted(etiquette))
    last_step = ~pl.col("after_move").is_in(sorted(etiquette))  # a need's step, no greeting or small talk
    endings = table.filter(~managed & (pl.col("state") == "after") & last_step).filter(
        (pl.col("followed_conversations") >= params.min_support)
        & (pl.col("followed_conversations") >= params.min_support_share * pl.col("scope_conversations"))
        & (pl.col("confidence") >= params.min_confidence)
        & (pl.col("lift") >= params.min_lift)
        & (pl.col("consistency") >= params.min_consistency))
    return pl.concat([select_candidates(table.filter(managed), params), endings]).sort(
        pl.col("followed_conversations"), pl.col("confidence"), *CANDIDATE_KEY,
        descending=[True, True, False, False, False, False, False], nulls_last=True)


def etiquette_occurrences(assignments: pl.DataFrame, whole: pl.DataFrame, etiquette: set[int],
                          params: GuidelineParams) -> pl.DataFrame:
    """(conversation_id, condition_turn) of the whole-conversation occurrences the etiquette set
    is mined from: etiquette situations, and, with `managed_endings`, need turns that the need
    view leaves unanswered because only conversation management follows them ("A replacement
    please." -> "That's all sorted, anything else?"; "ok it's working again" -> the same).
    Ending a need's flow is the same habit in every department, whatever the customer's last
    words were; without it the agent has no move there and hands the customer off. A need turn
    the need view answers (its move comes after a detour: name, spelling, hold) is no ending."""
    keys = ["conversation_id", "condition_turn"]
    managed = whole.filter(pl.col("condition_cluster").is_in(sorted(etiquette))).select(keys)
    if not params.managed_endings:
        return managed
    answered, _ = occurrences_and_windows(assignments, params.action_window, None, etiquette)
    endings = (whole.filter(~pl.col("condition_cluster").is_in(sorted(etiquette))).select(keys)
               .join(answered.select(keys), on=keys, how="anti"))
    return pl.concat([managed, endings]).unique()


def propose_guidelines(assignments: pl.DataFrame, clusters: pl.DataFrame,
                       params: GuidelineParams | None = None, phraser: RulePhraser | None = None,
                       routed: pl.DataFrame | None = None) -> list[GuidelineProposal]:
    """Guideline proposals ranked by support then confidence (see module docstring); with
    `routed`, mined within each department (module docstring)."""
    params = params or GuidelineParams()
    check_roles(assignments, clusters)
    refs = cluster_refs(clusters)
    n_agent = clusters.filter(pl.col("role") == "agent").height
    etiquette = etiquette_clusters(clusters)
    key = CANDIDATE_KEY
    sources = [(routed, False)] + ([(None, True)] if etiquette else [])  # etiquette: one global set
    selected_parts, pair_parts = [], []
    for scope, global_set in sources:
        skip = frozenset() if global_set else frozenset(etiquette)  # departments: the need view
        occurrences, windows = occurrences_and_windows(assignments, params.action_window, scope, skip,
                                                       params.open_need)
        if not params.after_states:
            occurrences = occurrences.with_columns(pl.lit(None, pl.Int32).alias("previous_move"))
        counted = etiquette_occurrences(assignments, occurrences, etiquette, params) if global_set else None
        table = candidate_table(occurrences, windows, n_agent, params.corpus_base_rate, counted)
        if global_set:
            chosen = _only_etiquette(_select_etiquette(table, etiquette, params), etiquette)
        else:
            chosen = _without_etiquette(select_candidates(table, params), etiquette)
        selected_parts.append(chosen)
        counted_occurrences = occurrences if counted is None else occurrences.join(
            counted, on=["conversation_id", "condition_turn"], how="semi")
        pair_parts.append(followed_pairs(counted_occurrences, windows).join(chosen.select(key), on=key, how="semi",
                                                                              nulls_equal=True))
    selected = pl.concat(selected_parts, how="vertical_relaxed").sort(
        pl.col("followed_conversations"), pl.col("confidence"), *CANDIDATE_KEY,
        descending=[True, True, False, False, False, False, False], nulls_last=True)
    pairs = pl.concat(pair_parts, how="vertical_relaxed")
    by_key = pairs.partition_by(key, as_dict=True)
    proposals: list[GuidelineProposal] = []
    for row in selected.iter_rows(named=True):
        mine = by_key[tuple(row[k] for k in key)]
        continues = bool((mine["said_turn"] != mine["condition_turn"]).mean() > 0.5)
        proposal = _proposal(row, refs, evidence_for(mine, params.evidence_examples), params, phraser, continues)
        if proposal is not None:
            proposals.append(proposal.model_copy(update={"rank": len(proposals) + 1}))
    return proposals
