"""Answer turns belong to the conversation's open need.

In support conversations most customer turns after the first answer the agent: an order number,
an e-mail address, a phone number read out, "the one with the red lid". What the agent does next
depends on the need those answers serve, not on their words: after "It's order 4031035543" the
agent checks the tracking when the parcel never arrived and confirms the cancellation when the
customer wanted to cancel. A rule conditioned on the answer's words ("When the customer gives an
order number, check the tracking") is wrong for every other need, and on calls, where an
identification turn comes between every need and its answer, most rules were of that kind.

So on the need view (mining/guidelines.py) an *answer turn* takes its conversation's open need as
its condition, with its state ("after" the agent's move it answers) saying where in that need's
flow it is: "When the customer says their parcel never arrived (e.g. ...), after the agent asks
for the order number: check the tracking". The gold of every labelled corpus here is written the
same way (the demo's situation -> move, SGD's active intent -> system act).

Which turns are answers, by two data-driven tests (no word list; the same on any corpus):
- *answer cluster*: at most `ANSWER_MAX_OPENING_SHARE` of a customer cluster's turns open a
  conversation (are its first substantive customer turn, the need view's first turn). Needs are
  what customers open with; answers almost never open (demo and call-style demo: every
  details/identity cluster <= 0.33, every need cluster >= 0.43).
- *the words do not decide*: after some agent moves the customer's words matter more than the
  need ("Yes, book two tickets" vs "Where is the venue?" after an offer, SGD: the customer
  switches from searching to buying, which no need said). After a previous agent move where the
  answers' own clusters tell the agent's next move better than their open needs do (adjusted
  mutual information, `words_decide`), answers keep their own words as condition.
The open need of a turn is the latest earlier turn of the conversation that is no answer; an
answer before any need keeps its own words. Measured in docs/results.md "Answers belong to the
open need".
"""

from __future__ import annotations

import polars as pl
from sklearn.metrics import adjusted_mutual_info_score

OPEN_NEED = True  # answer turns take the open need as condition (module docstring)
ANSWER_MAX_OPENING_SHARE = 1 / 3
WORDS_DECIDE_MIN_TURNS = 10  # answer turns after one agent move, to compare words with needs
WORDS_DECIDE_MARGIN = 0.0  # AMI the words must gain over the need; ties go to the need


def answer_clusters(customers: pl.DataFrame, max_opening_share: float = ANSWER_MAX_OPENING_SHARE) -> set[int]:
    """Customer clusters whose turns open a conversation at most `max_opening_share` of the time;
    `customers`: the need view's non-noise customer turns (conversation_id, turn_index, cluster_id)."""
    ordered = customers.sort("conversation_id", "turn_index").with_columns(
        (pl.int_range(pl.len()).over("conversation_id") == 0).alias("opens"))
    shares = ordered.group_by("cluster_id").agg(pl.col("opens").mean().alias("share"))
    return set(shares.filter(pl.col("share") <= max_opening_share)["cluster_id"].to_list())


def words_decide(answers: pl.DataFrame, min_turns: int = WORDS_DECIDE_MIN_TURNS) -> set[int]:
    """Previous agent moves after which the customer's words tell the agent's next move better
    than the open need does: adjusted mutual information of the next move with the answer's own
    cluster above that with the need's, over the answer turns after that move (`answers`:
    previous_move, said_cluster, need_cluster, next_move; rows without a next move ignored).
    Moves with fewer than `min_turns` such turns are read as the need's (the structure's prior),
    and so are moves where the words tell the next move no better than chance (AMI <= 0: two
    AMIs both near 0 differ by noise, and on 14 card-number answers a -0.006 "beat" the need's
    -0.101, making "the customer gives the card ending" a rule about any need)."""
    decided = set()
    rows = answers.drop_nulls(["previous_move", "next_move", "need_cluster"])
    for (move,), group in rows.group_by("previous_move"):
        if group.height < min_turns:
            continue
        nxt = group["next_move"].to_list()
        own = adjusted_mutual_info_score(nxt, group["said_cluster"].to_list())
        need = adjusted_mutual_info_score(nxt, group["need_cluster"].to_list())
        if own > max(need, 0.0) + WORDS_DECIDE_MARGIN:
            decided.add(int(move))
    return decided


def with_open_needs(customers: pl.DataFrame, next_moves: pl.DataFrame | None = None,
                    answers: set[int] | None = None) -> pl.DataFrame:
    """`customers` (need view: conversation_id, block, turn_index, cluster_id, previous_move) with
    each answer turn's `cluster_id` replaced by its open need's, the original in `said_cluster`
    and the turn whose words the condition now is in `said_turn` (the turn itself for needs, for
    answers before any need, and after a move where the words decide: `words_decide` over
    `next_moves`, the first agent move (conversation_id, block, next_move) of each block)."""
    answers = answer_clusters(customers) if answers is None else answers
    is_answer = pl.col("cluster_id").is_in(sorted(answers))
    ordered = customers.sort("conversation_id", "turn_index").with_columns(
        pl.when(is_answer).then(None).otherwise(pl.col("cluster_id")).forward_fill().over("conversation_id")
        .alias("need_cluster"),
        pl.when(is_answer).then(None).otherwise(pl.col("turn_index")).forward_fill().over("conversation_id")
        .alias("need_turn"))
    rekeyed = is_answer & pl.col("need_cluster").is_not_null()
    if next_moves is not None and "previous_move" in ordered.columns:
        candidates = (ordered.filter(rekeyed).join(next_moves, on=["conversation_id", "block"], how="left")
                      .select("previous_move", pl.col("cluster_id").alias("said_cluster"), "need_cluster", "next_move"))
        rekeyed &= ~pl.col("previous_move").is_in(sorted(words_decide(candidates))).fill_null(False)
    return ordered.with_columns(
        pl.col("cluster_id").alias("said_cluster"),
        pl.when(rekeyed).then(pl.col("need_cluster")).otherwise(pl.col("cluster_id")).alias("cluster_id"),
        pl.when(rekeyed).then(pl.col("need_turn")).otherwise(pl.col("turn_index")).alias("said_turn"),
    ).drop("need_cluster", "need_turn")
