"""Which evidence turns word a rule: the texts of a proposal's evidence, most central first.

Split from mining/proposals.py: the proposal step reads its evidence turns in one join
(`evidence_texts`) and words conditions, replies and templates from them; these helpers say
which of them come first (`central_first`, `own_scope_first`) and which are worded alike
(`worded_alike`).
"""

from __future__ import annotations

import re

import polars as pl

from guideminer.engine.embedding import FillerPhrases
from guideminer.mining.proposals_schema import GuidelineProposal
from guideminer.mining.templates import typed_text


def evidence_keys(proposal: GuidelineProposal, which: str) -> list[tuple[str, int]]:
    return [(e.conversation_id, getattr(e, which)) for e in proposal.evidence]


EVIDENCE_TURNS = ("condition_turn_index", "said_turn_index", "action_turn_index")


def _turn_column(frame: pl.DataFrame, keys: list[tuple[str, int]], column: str) -> dict[tuple[str, int], object]:
    """(conversation, turn index) -> `column` of `frame` for each of `keys`, in one join."""
    wanted = pl.DataFrame({"conversation_id": [c for c, _ in keys], "turn_index": [i for _, i in keys]},
                          schema={"conversation_id": pl.String, "turn_index": frame.schema["turn_index"]})
    return {(c, i): v for c, i, v in frame.join(wanted.unique(), on=["conversation_id", "turn_index"])
            .select("conversation_id", "turn_index", column).iter_rows()}


def evidence_texts(proposals: list[GuidelineProposal], turns: pl.DataFrame | None) -> dict[tuple[str, int], str]:
    """(conversation, turn index) -> text of every evidence turn (condition and action) of
    `proposals`, in one join."""
    if turns is None or not proposals:
        return {}
    keys = [k for p in proposals for which in EVIDENCE_TURNS for k in evidence_keys(p, which)]
    keys += [(c, i - 1) for p in proposals if p.ends_need for c, i in evidence_keys(p, "condition_turn_index")]
    return _turn_column(turns, keys, "text")


def condition_clusters(proposals: list[GuidelineProposal], assignments: pl.DataFrame) -> dict[tuple[str, int], int]:
    """(conversation, turn index) -> cluster of every evidence condition turn, in one join."""
    keys = [k for p in proposals for k in evidence_keys(p, "condition_turn_index")]
    return _turn_column(assignments, keys, "cluster_id") if keys else {}


def word_set(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def word_overlap(a: str, b: str) -> float:
    wa, wb = word_set(a), word_set(b)
    return len(wa & wb) / max(len(wa | wb), 1)


def central_first(texts: list[str]) -> list[str]:
    """`texts` ordered by how much each shares its words with the others (a medoid by word-set
    overlap), so one odd evidence turn does not word the rule; ties keep evidence order."""
    def centrality(i: int) -> float:
        return sum(word_overlap(texts[i], other) for j, other in enumerate(texts) if j != i)
    order = sorted(range(len(texts)), key=lambda i: (-centrality(i), i))
    return [texts[i] for i in order]


def worded_alike(text: str, base: str) -> bool:
    """Word Jaccard >= 0.5 between the two turns with their instance details typed (`{name}`).
    Why typed: on the raw words, the turns that share the base's restaurant or theatre name are
    the ones that pass, so that name is then shared by most members and kept as the template's
    own wording ("At Roxie Theater I found 1 showtime ...", sent to every customer; SGD)."""
    return word_overlap(typed_text(text), typed_text(base)) >= 0.5


def own_scope_first(proposal: GuidelineProposal, said: dict[tuple[str, int], str],
                     clusters: dict[tuple[str, int], int] | None, fillers: FillerPhrases | None = None) -> list[str]:
    """The condition's evidence words, most central first, those of the proposal's own condition
    cluster before those of the scopes merged into it. Why: a habit merged across situations
    (one agent move for "I forgot my password", "my account is locked", "I want to update my
    email") was worded by the sentence most alike to all of them, which was the smallest scope's
    ("update the contact details on my account") over evidence that is mostly password resets."""
    conditions, words = evidence_keys(proposal, "condition_turn_index"), evidence_keys(proposal, "said_turn_index")
    pairs = [(c, fillers.strip(said[k]) if fillers is not None else said[k])
             for c, k in zip(conditions, words) if k in said]
    own = [t for c, t in pairs if clusters is not None and clusters.get(c) == proposal.condition.cluster_id]
    if len(own) < 2:
        return central_first([t for _, t in pairs])
    rest = [t for c, t in pairs if clusters.get(c) != proposal.condition.cluster_id]
    return central_first(own) + central_first(rest)
