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
  engine's context gate sees), except that a need's own turn after an etiquette move ("How can I
  help you?", small talk) has none: that qualifier places it nowhere in a need's flow, and on
  calls it gated need rules on one phrasing of the greeting (call-style routing 0.53 -> 0.69 without
  it, docs/results.md); an answer turn keeps the etiquette question it answers (identification). The global etiquette set is mined on the whole conversation and
  keeps only etiquette situations, and answers spread over every need (`clusters.is_spread`: a
  phone number), answered by etiquette moves.
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

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.etiquette import etiquette_clusters, etiquette_pair, spread_clusters
from guideminer.mining.candidates import (  # noqa: F401  (re-exported: the table functions of the definitions above)
    CANDIDATE_KEY, CONDITION_KEY, CORPUS_BASE_RATE, candidate_table, evidence_for, followed_pairs,
    occurrences_and_windows, select_candidates, with_states,
)
from guideminer.mining.open_need import OPEN_NEED
from guideminer.mining.phrasing import (
    RulePhraser, clean_keywords, generalised_examples, is_empty_turn, looks_like_injection, phrase_rule,
)
from guideminer.mining.proposals_schema import (
    ClusterRef, EvidenceExample, GuidelineCounts, GuidelineProposal, GuidelineScores,
)

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
MANAGED_ENDINGS = True  # etiquette_occurrences
# An ending is what most such answers after that step get (the share of them that only
# conversation management follows): after a step where the flow often goes on ("It's <EMAIL>"
# after "confirm the e-mail address?" ends an e-mail change and leads to the reset link of a
# password reset) closing would end a need half done (docs/results.md "Answers belong to the open need")
ENDING_MIN_SHARE = 0.5
SIGNATURE_KEYWORDS = 5
EVIDENCE_EXAMPLES = 5


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


def guideline_id(condition: ClusterRef, state: str, action: ClusterRef, department_id: str | None = None,
                 after: ClusterRef | None = None) -> str:
    scope = (() if department_id is None else (department_id,)) + (() if after is None else (after.signature,))
    return "g-" + _digest(condition.signature, state, action.signature, *scope, length=12)


def _proposal(row: dict, refs: dict[int, ClusterRef], evidence: list[EvidenceExample],
              params: GuidelineParams, phraser: RulePhraser | None,
              continues_need: bool = False, aside: bool = False) -> GuidelineProposal | None:
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
    phrased = phrase_rule(condition, action, row["state"], phraser, after, continues_need, ends_need, aside=aside)
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


def without_unplaced_answers(occurrences: pl.DataFrame, spread: set[int]) -> pl.DataFrame:
    """Department occurrences without the turns, in their own words, of a cluster spread over
    every need (`clusters.is_spread`: a phone number, a name) said before any need of the
    conversation could be read. Such a turn says nothing of the need its department serves (the
    need sat in an etiquette cluster, in an angry or chatty wording), and as a condition it read
    "When the customer says “its <PHONE>”, say “Sure, we can swap it.”" (call-style demo). After
    a need, an answer continues it (mining/open_need.py) or, where its words decide the next
    move, keeps them: "the customer gives a date" after SGD's date question stays a rule."""
    own = pl.col("said_turn") == pl.col("condition_turn")
    first_need = (occurrences.filter(~pl.col("condition_cluster").is_in(sorted(spread)))
                  .group_by("conversation_id").agg(pl.col("condition_turn").min().alias("first_need")))
    return (occurrences.join(first_need, on="conversation_id", how="left")
            .filter(~(own & pl.col("condition_cluster").is_in(sorted(spread))
                      & (pl.col("first_need").is_null() | (pl.col("condition_turn") < pl.col("first_need")))))
            .drop("first_need"))


def _without_etiquette(selected: pl.DataFrame, etiquette: set[int]) -> pl.DataFrame:
    table = selected.filter(~etiquette_pair(etiquette)) if etiquette else selected
    return table.with_columns(pl.lit(False).alias("is_etiquette"), pl.lit(False).alias("ends_need"))


def _only_etiquette(selected: pl.DataFrame, etiquette: set[int], managed_situations: set[int]) -> pl.DataFrame:
    """Rows answered by conversation management; their conditions are managed situations
    (etiquette, spread answers) or managed endings (`etiquette_occurrences`)."""
    return (selected.filter(pl.col("agent_cluster").is_in(sorted(etiquette)))
            .with_columns(pl.lit(True).alias("is_etiquette"),
                          (~pl.col("condition_cluster").is_in(sorted(managed_situations))).alias("ends_need")))


def _select_etiquette(table: pl.DataFrame, managed_situations: set[int], params: GuidelineParams,
                      etiquette: set[int]) -> pl.DataFrame:
    """The etiquette set's rows: `managed_situations` (etiquette, and spread answers) by
    `select_candidates`; managed endings only right after a given agent move of a need (state
    "after", no `etiquette` move), above the same thresholds. An ending is "the need's flow is done", which the customer's last words do not say ("It's order 4031"
    answers a question that is no last step) and the move before them does ("Would you like a
    replacement or a refund?" is): without the previous move, an ending's reply examples would
    close the conversation on any order number or e-mail address."""
    managed = pl.col("condition_cluster").is_in(sorted(managed_situations))
    last_step = ~pl.col("after_move").is_in(sorted(etiquette))  # a need's step, no greeting or small talk
    endings = table.filter(~managed & (pl.col("state") == "after") & last_step).filter(
        (pl.col("followed_conversations") >= params.min_support)
        & (pl.col("followed_conversations") >= params.min_support_share * pl.col("scope_conversations"))
        & (pl.col("counted_share") >= ENDING_MIN_SHARE)
        & (pl.col("confidence") >= params.min_confidence)
        & (pl.col("lift") >= params.min_lift)
        & (pl.col("consistency") >= params.min_consistency))
    return pl.concat([select_candidates(table.filter(managed), params), endings]).sort(
        pl.col("followed_conversations"), pl.col("confidence"), *CANDIDATE_KEY,
        descending=[True, True, False, False, False, False, False], nulls_last=True)


def etiquette_occurrences(assignments: pl.DataFrame, whole: pl.DataFrame, etiquette: set[int],
                          params: GuidelineParams, managed_situations: set[int] | None = None) -> pl.DataFrame:
    """(conversation_id, condition_turn) of the whole-conversation occurrences the etiquette set
    is mined from: `managed_situations` (default: the etiquette clusters; propose_guidelines adds
    the spread answers), and, with `managed_endings`, need turns that the need
    view leaves unanswered because only conversation management follows them ("A replacement
    please." -> "That's all sorted, anything else?"; "ok it's working again" -> the same).
    Ending a need's flow is the same habit in every department, whatever the customer's last
    words were; without it the agent has no move there and hands the customer off. A need turn
    the need view answers (its move comes after a detour: name, spelling, hold) is no ending."""
    keys = ["conversation_id", "condition_turn"]
    situations = etiquette if managed_situations is None else managed_situations
    managed = whole.filter(pl.col("condition_cluster").is_in(sorted(situations))).select(keys)
    if not params.managed_endings:
        return managed
    answered, _ = occurrences_and_windows(assignments, params.action_window, None, etiquette)
    endings = (whole.filter(~pl.col("condition_cluster").is_in(sorted(situations))).select(keys)
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
    spread = spread_clusters(clusters) - etiquette
    # the etiquette set's situations: conversation management, and answers every need gets (a
    # phone number -> "Bear with me, I'll place you on a short hold": call-style next action
    # 0.726 -> 0.763, docs/results.md)
    managed = etiquette | spread
    key = CANDIDATE_KEY
    sources = [(routed, False)] + ([(None, True)] if etiquette else [])  # etiquette: one global set
    selected_parts, pair_parts = [], []
    for scope, global_set in sources:
        skip = frozenset() if global_set else frozenset(etiquette)  # departments: the need view
        occurrences, windows = occurrences_and_windows(assignments, params.action_window, scope, skip,
                                                       params.open_need)
        if spread and not global_set:
            occurrences = without_unplaced_answers(occurrences, spread)
        if not params.after_states:
            occurrences = occurrences.with_columns(pl.lit(None, pl.Int32).alias("previous_move"))
        counted = etiquette_occurrences(assignments, occurrences, etiquette, params, managed) if global_set else None
        table = candidate_table(occurrences, windows, n_agent, params.corpus_base_rate, counted)
        if global_set:
            chosen = _only_etiquette(_select_etiquette(table, managed, params, etiquette), etiquette, managed)
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
        proposal = _proposal(row, refs, evidence_for(mine, params.evidence_examples), params, phraser, continues,
                             aside=row["after_move"] in etiquette)
        if proposal is not None:
            proposals.append(proposal.model_copy(update={"rank": len(proposals) + 1}))
    return proposals
