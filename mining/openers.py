"""Positional etiquette moves: what the agents say at a point of the conversation, whatever the
customer's words - the opening greeting, and the identification question after the need.

Why: agents greet at the start of a conversation ("Hello, thank you for contacting Larkfield.
My name is ... and I'll be helping you today."), alone or before their answer to the first
message; and on calls they answer the need, whatever it is, by identifying the caller first
("Sure, I can look into that. Can I start with your name?"). Neither habit has a customer-side
condition: the move follows every kind of message at that point, so a situation -> move rule
has lift ~1 and is never proposed (and on calls the greeting comes before the customer has said
anything, so no customer turn precedes it at all). A support lead expects both rules, and an
agent without them answers cold (on the demo, the real agents' first reply to 107 of 300
held-out conversations is the greeting; on the call-style demo, 204 of 2,062 held-out answers
are the name question after the need).

Criterion (positional, no word list; one rule for both points, chats and calls):
1. a *point* of each conversation: `conversation_start` = the agent's first turn;
   `first_need` = the agent's first turn after the customer's first need turn (not etiquette),
   in conversations where the agent had spoken before it (else that turn is the opening);
2. a cluster *belongs* to the point when it is an agent etiquette cluster at least
   `min_position_share` of whose non-noise turns are at that point, in at least `min_support`
   conversations (a greeting or an identification question; not a closing, an acknowledgement
   or a hold, which come anywhere);
3. the habit exists when the clusters belonging to the point make at least
   `min_conversation_share` of the point's turns (the agents' habit, not a few agents' style);
4. its action is the belonging cluster that is the point's turn most often (for the opening:
   in the conversations the customer opened, i.e. the greeting as said in reply to a message).
Etiquette rules whose action belongs to the point ("the customer greets -> greet") are the same
habit: they are merged into it (their scopes and evidence kept), so a first "hi" gets one
greeting, not two. At run time the rule holds at its point only (engine `Guideline.position`).
"""

from __future__ import annotations

import hashlib
import math
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.guidelines import ACTION_WINDOW, EVIDENCE_EXAMPLES, cluster_refs
from guideminer.mining.habits import scope_of
from guideminer.mining.phrasing import clean_keywords, describe_action, generalised_examples, is_empty_turn
from guideminer.mining.proposals_schema import (
    ClusterRef, EvidenceExample, GuidelineCounts, GuidelineProposal, GuidelineScores, Position,
)

CONDITIONS: dict[Position, str] = {
    "conversation_start": "the conversation starts (the agent has not said anything yet)",
    "first_need": "the customer has just stated their need (the first time in the conversation)",
}
START_CONDITION = CONDITIONS["conversation_start"]
POSITION_CLUSTER_IDS: dict[Position, int] = {"conversation_start": -2, "first_need": -3}  # no customer cluster
CONVERSATION_START = POSITION_CLUSTER_IDS["conversation_start"]


class OpeningParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    min_position_share: float = Field(0.6, ge=0.0, le=1.0)
    min_conversation_share: float = Field(0.5, ge=0.0, le=1.0)
    min_support: int = Field(3, ge=1)


def _roles(assignments: pl.DataFrame) -> pl.DataFrame:
    return assignments.with_columns(pl.col("role").cast(pl.String))


def _first_agent_after(agents: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Per conversation of `after` (conversation_id, after_turn): its first agent turn after it."""
    return (agents.join(after, on="conversation_id").filter(pl.col("turn_index") > pl.col("after_turn"))
            .sort("conversation_id", "turn_index").group_by("conversation_id", maintain_order=True)
            .agg(pl.col("turn_index").first(), pl.col("cluster_id").first(), pl.col("is_noise").first(),
                 pl.col("after_turn").first()))


def point_turns(assignments: pl.DataFrame, etiquette: set[int], position: Position) -> pl.DataFrame:
    """Per conversation, the agent turn at `position` (rule 1 of the module docstring):
    conversation_id, turn_index, cluster_id, is_noise, condition_turn (the customer turn it
    answers, -1 where none came before) and preferred (evidence and rule 4 prefer it)."""
    roles = _roles(assignments)
    agents = roles.filter(pl.col("role") == "agent").select("conversation_id", "turn_index", "cluster_id", "is_noise")
    customers = roles.filter(pl.col("role") == "customer")
    if position == "conversation_start":
        start = agents.select("conversation_id").unique().with_columns(pl.lit(-1).alias("after_turn"))
        first_customer = customers.group_by("conversation_id").agg(pl.col("turn_index").min().alias("first_customer"))
        return (_first_agent_after(agents, start).join(first_customer, on="conversation_id", how="left")
                .with_columns((pl.col("first_customer") < pl.col("turn_index")).fill_null(False).alias("preferred"))
                .with_columns(pl.when(pl.col("preferred")).then(pl.col("first_customer")).otherwise(-1)
                              .alias("condition_turn")).drop("first_customer", "after_turn"))
    needs = (customers.filter(~pl.col("cluster_id").is_in(list(etiquette))).group_by("conversation_id")
             .agg(pl.col("turn_index").min().alias("after_turn")))
    spoke = (agents.join(needs, on="conversation_id").filter(pl.col("turn_index") < pl.col("after_turn"))
             .select("conversation_id").unique())
    replies = _first_agent_after(agents, needs.join(spoke, on="conversation_id"))
    return replies.rename({"after_turn": "condition_turn"}).with_columns(pl.lit(True).alias("preferred"))


def belonging_clusters(assignments: pl.DataFrame, points: pl.DataFrame, etiquette: set[int],
                       params: OpeningParams, exclude: frozenset[int] = frozenset()) -> dict[int, int]:
    """Cluster id -> conversations whose point it is, for the clusters belonging to the point (rule 2)."""
    at_point = dict(points.filter(~pl.col("is_noise")).group_by("cluster_id").len().iter_rows())
    turns = dict(_roles(assignments).filter((pl.col("role") == "agent") & ~pl.col("is_noise"))
                 .group_by("cluster_id").len().iter_rows())
    return {c: n for c, n in at_point.items() if c in etiquette and c not in exclude and n >= params.min_support
            and n >= params.min_position_share * turns.get(c, n)}


def position_ref(position: Position, n_conversations: int) -> ClusterRef:
    return ClusterRef(cluster_id=POSITION_CLUSTER_IDS[position], role="customer", size=n_conversations, keywords=[],
                      representative_texts=[], name=position.replace("_", " "), signature=position)


def _evidence(points: pl.DataFrame, action_id: int) -> list[EvidenceExample]:
    chosen = (points.filter(pl.col("cluster_id") == action_id)
              .sort(pl.col("preferred").not_(), "conversation_id").head(EVIDENCE_EXAMPLES))
    return [EvidenceExample(conversation_id=c, condition_turn_index=int(f), action_turn_index=int(t))
            for c, t, f in chosen.select("conversation_id", "turn_index", "condition_turn").iter_rows()]


def _scores(points: pl.DataFrame, belonging: dict[int, int], assignments: pl.DataFrame) -> tuple[GuidelineScores, GuidelineCounts]:
    """Occurrence = a conversation's point; followed = its turn belongs; base rate = the
    belonging clusters' share of all agent turns (how often the move is made anywhere)."""
    agent_turns = _roles(assignments).filter((pl.col("role") == "agent") & ~pl.col("is_noise"))
    n_points, n_followed = points.height, sum(belonging.values())
    n_turns, n_moves = agent_turns.height, agent_turns.filter(pl.col("cluster_id").is_in(list(belonging))).height
    moves = dict(points.filter(~pl.col("is_noise")).group_by("cluster_id").len().iter_rows())
    total = sum(moves.values())
    entropy = -sum(n / total * math.log(n / total) for n in moves.values()) if total else 0.0
    confidence = n_followed / n_points if n_points else 0.0
    base_rate = n_moves / n_turns if n_turns else 0.0
    counts = GuidelineCounts(condition_occurrences=n_points, followed_occurrences=n_followed,
                             condition_conversations=n_points, followed_conversations=n_followed,
                             all_occurrences=n_turns, action_occurrences=n_moves,
                             next_move_counts=dict(sorted(moves.items(), key=lambda kv: -kv[1])[:10]))
    scores = GuidelineScores(support=n_followed, confidence=round(confidence, 6), base_rate=round(base_rate, 6),
                             lift=round(confidence / base_rate, 6) if base_rate else 0.0,
                             consistency=round(1.0 - entropy / math.log(len(moves)), 6) if len(moves) > 1 else 1.0,
                             top_move_share=round(max(moves.values()) / total, 6) if total else 0.0)
    return scores, counts


def positional_proposal(assignments: pl.DataFrame, clusters: pl.DataFrame, etiquette: set[int], position: Position,
                        params: OpeningParams | None = None,
                        exclude: frozenset[int] = frozenset()) -> tuple[GuidelineProposal | None, set[int]]:
    """(the proposal of the move at `position`, or None when the agents have no such habit; the
    clusters belonging to the point) - module docstring. `exclude`: clusters of another point."""
    params = params or OpeningParams()
    if not params.enabled:
        return None, set()
    points = point_turns(assignments, etiquette, position)
    belonging = belonging_clusters(assignments, points, etiquette, params, exclude)
    if points.height < params.min_support or sum(belonging.values()) < params.min_conversation_share * points.height:
        return None, set(belonging)
    preferred = dict(points.filter(pl.col("preferred")).group_by("cluster_id").len().iter_rows())
    action_id = max(belonging, key=lambda c: (preferred.get(c, 0), belonging[c], -c))
    action = cluster_refs(clusters)[action_id]
    done = generalised_examples(action.representative_texts)
    if not done or is_empty_turn(done[0]):
        return None, set(belonging)
    scores, counts = _scores(points, belonging, assignments)
    condition, action_text = CONDITIONS[position], describe_action(action, done)
    digest = hashlib.sha256(f"{position}|{action.signature}".encode()).hexdigest()[:12]
    proposal = GuidelineProposal(
        guideline_id=f"g-{digest}", rank=0, condition_text=condition, action_text=action_text,
        rule_text=f"When {condition}, {action_text}.", condition_state="first",
        condition=position_ref(position, points.height), action=action, action_window=ACTION_WINDOW, scores=scores,
        counts=counts, evidence=_evidence(points, action_id), phrased_by="position", is_etiquette=True,
        position=position, action_examples=done, tags=clean_keywords(action.keywords, 5))
    return proposal, set(belonging)


def with_positional_move(proposals: list[GuidelineProposal], positional: GuidelineProposal | None,
                         belonging: set[int]) -> list[GuidelineProposal]:
    """`proposals` with the positional move first and the etiquette rules whose action belongs
    to its point merged into it (module docstring): their scopes, ids and evidence are kept."""
    if positional is None:
        return proposals
    merged = [p for p in proposals if p.is_etiquette and p.position is None and p.action.cluster_id in belonging
              and not p.ends_need]
    kept = [p for p in proposals if p not in merged]
    scopes = [scope_of(positional)] + [s for p in merged for s in (p.scopes or [scope_of(p)])]
    positional = positional.model_copy(update={
        "scopes": scopes, "merged_from": [p.guideline_id for p in merged] + [m for p in merged for m in p.merged_from],
        "evidence": positional.evidence + [e for p in merged for e in p.evidence]})
    return [positional, *kept]


def with_positional_moves(proposals: list[GuidelineProposal], assignments: pl.DataFrame, clusters: pl.DataFrame,
                          etiquette: set[int], params: OpeningParams | None = None) -> list[GuidelineProposal]:
    """Both positional moves, the opening first; a cluster belongs to one point only."""
    opening, at_start = positional_proposal(assignments, clusters, etiquette, "conversation_start", params)
    after_need, at_need = positional_proposal(assignments, clusters, etiquette, "first_need", params, frozenset(at_start))
    return with_positional_move(with_positional_move(proposals, after_need, at_need), opening, at_start)

