"""What an agent's question asks for: the detail kinds most answers to it carry.

Why: the runtime must not ask for what the customer has already said (engine/asked.py), so each
exported question move says which kinds of detail it asks for. Read from the data, not from the
question's words: the answers to "Which city would you like to look for events in?" are "In
Berkeley" / "San Jose, please" (a NAME), to "How many tickets?" "2 tickets" (a NUMBER), to "Can I
have your name?" "<PERSON_3>" (a redacted name).

Criterion, per guideline (its action clusters, with the variants merged into it):
1. a question: at least `QUESTION_SHARE` of the move's agent turns contain "?";
2. answers: the customer turn right after each of those turns (at least `MIN_ANSWERS`);
3. a kind (engine/instances.py detail kinds, redaction placeholders by base kind) is asked for
   when at least `ASKED_SHARE` of the answers carry it and that share is at least `LIFT` times
   its share among all customer turns (a kind said everywhere, such as a NUMBER in a call's
   order numbers, asks for nothing in particular);
4. the agents skip it once it is said: on the customer turns of the guideline's situation, the
   question follows at most `SKIP_RATIO` times as often when the customer had already said
   every asked kind as when not. Agents who ask for the order number and a photo whether or
   not the opening gave the number (the demo corpus) ask it again by habit, and so does the
   agent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from guideminer.engine.asked import detail_kinds
from guideminer.ingest.workspace import scan_turns
from guideminer.mining.match_examples import habit_cluster_pairs
from guideminer.mining.proposals_schema import GuidelineProposal
from guideminer.mining.schema import MINING_FILES

QUESTION_SHARE = 0.5
MIN_ANSWERS = 5
ASKED_SHARE = 0.5
LIFT = 2.0
MIN_SAID = 5
SKIP_RATIO = 0.5


def turn_table(turns: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """Every turn in order with its cluster, the next turn's role, text and cluster, and the
    kinds a customer turn says (`kinds`), had said before it (`said`) and up to and including it
    (`said_through`)."""
    ordered = turns.sort("conversation_id", "turn_index").join(
        assignments.select("conversation_id", "turn_index", "cluster_id"), on=["conversation_id", "turn_index"],
        how="left").sort("conversation_id", "turn_index")
    own, said, through, seen, current = [], [], [], set(), None
    for conversation_id, role, text in ordered.select("conversation_id", "role", "text").iter_rows():
        if conversation_id != current:
            current, seen = conversation_id, set()
        said.append(sorted(seen))
        own.append(sorted(detail_kinds(text)) if role == "customer" else [])
        seen = seen | set(own[-1])
        through.append(sorted(seen))
    nxt = {c: pl.col(c).shift(-1).over("conversation_id") for c in ("role", "text", "cluster_id")}
    return ordered.with_columns(nxt["role"].alias("next_role"), nxt["text"].alias("next_text"),
                                nxt["cluster_id"].alias("next_cluster"),
                                pl.Series("kinds", own, dtype=pl.List(pl.String)),
                                pl.Series("said", said, dtype=pl.List(pl.String)),
                                pl.Series("said_through", through, dtype=pl.List(pl.String)))


def answers_by_move(table: pl.DataFrame) -> pl.DataFrame:
    """Per agent turn: its cluster, whether it asks ("?") and the next customer turn's text."""
    return table.filter(pl.col("role") == "agent").select(
        "cluster_id", pl.col("text").str.contains("?", literal=True).alias("asks"),
        pl.when(pl.col("next_role") == "customer").then(pl.col("next_text")).alias("answer"))


def kind_shares(texts: list[str]) -> dict[str, float]:
    counts = Counter(k for t in texts for k in detail_kinds(t))
    return {k: n / max(len(texts), 1) for k, n in counts.items()}


def asked_kinds(moves: pl.DataFrame, base: Mapping[str, float]) -> tuple[str, ...]:
    """The kinds one move's turns ask for (items 1-3 of the module docstring), most carried first."""
    if moves.height == 0 or moves["asks"].mean() < QUESTION_SHARE:
        return ()
    answers = [a for a in moves["answer"].to_list() if a]
    if len(answers) < MIN_ANSWERS:
        return ()
    shares = kind_shares(answers)
    asked = [k for k, share in shares.items() if share >= ASKED_SHARE and share >= LIFT * base.get(k, 0.0)]
    return tuple(sorted(asked, key=lambda k: (-shares[k], k)))


def skips_when_said(situation: pl.DataFrame, action_clusters: set[int], kinds: tuple[str, ...]) -> bool:
    """Item 4 of the module docstring on the situation's customer turns (`said_through`,
    `next_cluster`): the question follows at most `SKIP_RATIO` times as often when every kind
    was said as when one was missing. Fewer than `MIN_SAID` turns with them said: nothing
    contradicts skipping."""
    said = [set(kinds) <= set(s or ()) for s in situation["said_through"].to_list()]
    asked = [c in action_clusters for c in situation["next_cluster"].to_list()]
    with_kinds = [a for a, s in zip(asked, said, strict=True) if s]
    without = [a for a, s in zip(asked, said, strict=True) if not s]
    if len(with_kinds) < MIN_SAID or not without:
        return True
    return sum(with_kinds) / len(with_kinds) <= SKIP_RATIO * (sum(without) / len(without))


def guideline_asks_for(workspace: Path, proposals: Mapping[str, GuidelineProposal]) -> dict[str, tuple[str, ...]]:
    """Guideline id -> the kinds its question asks for (only guidelines that ask for some)."""
    path = Path(workspace) / MINING_FILES["turn_assignments"]
    if not proposals or not path.is_file():
        return {}
    turns = scan_turns(workspace).select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text").collect()
    table = turn_table(turns, pl.read_parquet(path))
    moves, customers = answers_by_move(table), table.filter(pl.col("role") == "customer")
    counts = Counter(k for kinds in customers["kinds"].to_list() for k in kinds)  # read once, in turn_table
    base = {k: n / max(customers.height, 1) for k, n in counts.items()}
    found = {}
    for guideline_id, proposal in proposals.items():
        pairs = habit_cluster_pairs(proposal)
        actions, conditions = {a for _, a in pairs}, sorted({c for c, _ in pairs})
        kinds = asked_kinds(moves.filter(pl.col("cluster_id").is_in(sorted(actions))), base)
        if kinds and skips_when_said(customers.filter(pl.col("cluster_id").is_in(conditions)), actions, kinds):
            found[guideline_id] = kinds
    return found

