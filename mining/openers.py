"""The opening move: what the agents say first in a conversation, whatever the customer said.

Why: agents greet at the start of a conversation ("Hello, thank you for contacting Larkfield.
My name is ... and I'll be helping you today."), alone or before their answer to the first
message. That habit has no customer-side condition: the greeting follows every kind of first
message, so a situation -> move rule has lift ~1 and is never proposed; and on phone calls the
agent greets before the customer has said anything, so no customer turn precedes it at all. A
support lead expects the rule ("a conversation starts -> greet"), and an agent without it
answers the first message cold (on the demo, the real agents' first reply to 107 of 300 held-out
conversations is the greeting).

Criterion (positional, no word list, the same for chats and calls):
1. an *opener* cluster is an agent etiquette cluster at least `min_first_share` of whose
   non-noise turns are their conversation's first agent turn (a greeting; not a closing or a
   hold, which come later), in at least `min_support` conversations;
2. the habit exists when the opener clusters hold at least `min_conversation_share` of the
   conversations' first agent turns (the agents' habit, not a few agents' style);
3. its action is the opener cluster that opens most of the conversations the customer opened
   (the greeting as said in reply to a first message; on calls, where the agent opens, the one
   that opens most conversations).
Etiquette rules whose action is an opener cluster ("the customer greets -> greet") are the same
habit: they are merged into it (their scopes and evidence kept), so a first "hi" gets one
greeting, not two. At run time the rule holds exactly when the agent has not spoken yet
(engine `Guideline.opens_conversation`), whatever the message says.
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
    ClusterRef, EvidenceExample, GuidelineCounts, GuidelineProposal, GuidelineScores,
)

CONVERSATION_START = -2  # condition "cluster" of the opening move: the start itself, no customer turns
START_CONDITION = "the conversation starts (the agent has not said anything yet)"


class OpeningParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    min_first_share: float = Field(0.8, ge=0.0, le=1.0)
    min_conversation_share: float = Field(0.5, ge=0.0, le=1.0)
    min_support: int = Field(3, ge=1)


def first_agent_turns(assignments: pl.DataFrame) -> pl.DataFrame:
    """Per conversation with an agent turn: its first agent turn (turn_index, cluster_id,
    is_noise) and `customer_opened` (a customer turn came before it)."""
    roles = assignments.with_columns(pl.col("role").cast(pl.String))
    first_customer = (roles.filter(pl.col("role") == "customer").group_by("conversation_id")
                      .agg(pl.col("turn_index").min().alias("first_customer")))
    first = (roles.filter(pl.col("role") == "agent").sort("conversation_id", "turn_index")
             .group_by("conversation_id", maintain_order=True)
             .agg(pl.col("turn_index").first(), pl.col("cluster_id").first(), pl.col("is_noise").first()))
    return (first.join(first_customer, on="conversation_id", how="left")
            .with_columns((pl.col("first_customer") < pl.col("turn_index")).fill_null(False).alias("customer_opened")))


def opener_clusters(assignments: pl.DataFrame, etiquette: set[int], params: OpeningParams) -> dict[int, int]:
    """Opener cluster id -> conversations it opens (rule 1 of the module docstring)."""
    firsts = first_agent_turns(assignments).filter(~pl.col("is_noise"))
    opens = dict(firsts.group_by("cluster_id").len().iter_rows())
    turns = dict(assignments.filter((pl.col("role").cast(pl.String) == "agent") & ~pl.col("is_noise"))
                 .group_by("cluster_id").len().iter_rows())
    return {c: n for c, n in opens.items() if c in etiquette and n >= params.min_support
            and n >= params.min_first_share * turns.get(c, n)}


def start_ref(n_conversations: int) -> ClusterRef:
    return ClusterRef(cluster_id=CONVERSATION_START, role="customer", size=n_conversations, keywords=[],
                      representative_texts=[], name="conversation start", signature="conversation-start")


def _evidence(firsts: pl.DataFrame, action_id: int) -> list[EvidenceExample]:
    """Conversations the action opened, those the customer opened first (the condition turn is the
    customer's first message; -1 where the agent spoke first)."""
    chosen = (firsts.filter(pl.col("cluster_id") == action_id)
              .sort(pl.col("customer_opened").not_(), "conversation_id").head(EVIDENCE_EXAMPLES))
    return [EvidenceExample(conversation_id=c, condition_turn_index=int(f) if opened else -1, action_turn_index=int(t))
            for c, t, f, opened in chosen.select("conversation_id", "turn_index", "first_customer",
                                                 "customer_opened").iter_rows()]


def _scores(firsts: pl.DataFrame, openers: dict[int, int], assignments: pl.DataFrame) -> tuple[GuidelineScores, GuidelineCounts]:
    agent_turns = assignments.filter((pl.col("role").cast(pl.String) == "agent") & ~pl.col("is_noise"))
    n_conv, n_open = firsts.height, sum(openers.values())
    n_turns = agent_turns.height
    n_opener_turns = agent_turns.filter(pl.col("cluster_id").is_in(list(openers))).height
    starts = dict(firsts.filter(~pl.col("is_noise")).group_by("cluster_id").len().iter_rows())
    total = sum(starts.values())
    entropy = -sum(n / total * math.log(n / total) for n in starts.values()) if total else 0.0
    consistency = 1.0 - entropy / math.log(len(starts)) if len(starts) > 1 else 1.0
    confidence = n_open / n_conv if n_conv else 0.0
    base_rate = n_opener_turns / n_turns if n_turns else 0.0
    counts = GuidelineCounts(condition_occurrences=n_conv, followed_occurrences=n_open, condition_conversations=n_conv,
                             followed_conversations=n_open, all_occurrences=n_turns, action_occurrences=n_opener_turns,
                             next_move_counts=dict(sorted(starts.items(), key=lambda kv: -kv[1])[:10]))
    scores = GuidelineScores(support=n_open, confidence=round(confidence, 6), base_rate=round(base_rate, 6),
                             lift=round(confidence / base_rate, 6) if base_rate else 0.0,
                             consistency=round(consistency, 6),
                             top_move_share=round(max(starts.values()) / total, 6) if total else 0.0)
    return scores, counts


def opening_proposal(assignments: pl.DataFrame, clusters: pl.DataFrame, etiquette: set[int],
                     params: OpeningParams | None = None) -> GuidelineProposal | None:
    """The opening-move proposal (module docstring), or None when the agents have no such habit."""
    params = params or OpeningParams()
    if not params.enabled:
        return None
    firsts = first_agent_turns(assignments)
    openers = opener_clusters(assignments, etiquette, params)
    if not firsts.height or sum(openers.values()) < params.min_conversation_share * firsts.height:
        return None
    by_customer = dict(firsts.filter(pl.col("customer_opened")).group_by("cluster_id").len().iter_rows())
    action_id = max(openers, key=lambda c: (by_customer.get(c, 0), openers[c], -c))
    action = cluster_refs(clusters)[action_id]
    done = generalised_examples(action.representative_texts)
    if not done or is_empty_turn(done[0]):
        return None
    scores, counts = _scores(firsts, openers, assignments)
    action_text = describe_action(action, done)
    digest = hashlib.sha256(f"conversation-start|{action.signature}".encode()).hexdigest()[:12]
    return GuidelineProposal(
        guideline_id=f"g-{digest}", rank=0, condition_text=START_CONDITION, action_text=action_text,
        rule_text=f"When {START_CONDITION}, {action_text}.", condition_state="first",
        condition=start_ref(firsts.height), action=action, action_window=ACTION_WINDOW, scores=scores, counts=counts,
        evidence=_evidence(firsts, action_id), phrased_by="opening", is_etiquette=True, opens_conversation=True,
        action_examples=done, tags=clean_keywords(action.keywords, 5))


def with_opening_move(proposals: list[GuidelineProposal], opening: GuidelineProposal | None,
                      openers: set[int]) -> list[GuidelineProposal]:
    """`proposals` with the opening move first and the etiquette rules whose action is an opener
    cluster merged into it (module docstring): their scopes, ids and evidence are kept."""
    if opening is None:
        return proposals
    merged = [p for p in proposals if p.is_etiquette and p.action.cluster_id in openers and not p.ends_need]
    kept = [p for p in proposals if p not in merged]
    scopes = [scope_of(opening)] + [s for p in merged for s in (p.scopes or [scope_of(p)])]
    opening = opening.model_copy(update={
        "scopes": scopes, "merged_from": [p.guideline_id for p in merged] + [m for p in merged for m in p.merged_from],
        "evidence": opening.evidence + [e for p in merged for e in p.evidence]})
    return [opening, *kept]
