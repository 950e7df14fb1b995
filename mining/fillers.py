"""Filler phrases: the openers and closers customers put around any need.

Why: "yes so basically ...", "im calling because ...", "... can you help me with that?" open or
close a large share of call-style need statements whatever the need. A sentence embedding
weighs them like any words, so at run time "im calling because my parcel never arrived" was
nearer a change-of-address example that began "im calling because I want to update the shipping
address" (cosine 0.64) than the same message without its opener was (0.46), and the agent
asked for the new address. The engine reads these phrases away before embedding
(engine/embedding.py `RewritingEmbedder`).

Which phrases, by the data (no word list; the same test on any corpus): over the need turns of
a mined workspace (customer turns of clusters that are no etiquette, no spread answer and no
answer, mining/context_split.py `not_needs`), every leading and trailing run of 2-4 words is a
candidate; it is a filler when it
- is common: in >= `MIN_SHARE` of the need turns (and >= `MIN_TURNS`),
- is spread over the needs: the total variation distance between its need clusters and all
  need turns' is <= `MAX_TV`, and it occurs in >= `MIN_COVER` of the need clusters with >=
  `MIN_CLUSTER_TURNS` turns.
A phrase that names a need ("i want to cancel") is concentrated in that need's clusters and
fails the spread test. Measured in docs/results.md "Filler phrases".
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl

from guideminer.mining.context_split import not_needs
from guideminer.mining.etiquette import etiquette_clusters, spread_clusters
from guideminer.mining.schema import MINING_FILES

MIN_WORDS, MAX_WORDS = 2, 4
MIN_SHARE, MIN_TURNS = 0.02, 10
MAX_TV, MIN_COVER, MIN_CLUSTER_TURNS = 0.3, 0.75, 10
_WORD = re.compile(r"[a-z0-9']+")


def edge_phrases(text: str) -> set[str]:
    """The leading and trailing runs of MIN_WORDS..MAX_WORDS words of `text` (lower case), when
    at least two words would remain around them."""
    words = _WORD.findall(text.lower())
    phrases = set()
    for n in range(MIN_WORDS, MAX_WORDS + 1):
        if len(words) >= n + 2:
            phrases.add(" ".join(words[:n]))
            phrases.add(" ".join(words[-n:]))
    return phrases


def learn_filler_phrases(need_turns: pl.DataFrame) -> tuple[str, ...]:
    """Filler phrases of `need_turns` (cluster_id, text), most common first (module docstring)."""
    per_phrase: dict[str, Counter] = defaultdict(Counter)
    turns = Counter()
    for cluster, text in need_turns.select("cluster_id", "text").iter_rows():
        turns[cluster] += 1
        for phrase in edge_phrases(text):
            per_phrase[phrase][cluster] += 1
    clusters = sorted(c for c, n in turns.items() if n >= MIN_CLUSTER_TURNS)
    total = sum(turns.values())
    if not clusters or total == 0:
        return ()
    prior = np.asarray([turns[c] for c in clusters], dtype=np.float64)
    prior /= prior.sum()
    chosen = []
    for phrase, counts in per_phrase.items():
        n = sum(counts.values())
        present = np.asarray([counts[c] for c in clusters], dtype=np.float64)
        if n < max(MIN_TURNS, MIN_SHARE * total) or present.sum() == 0:
            continue
        spread = 0.5 * float(np.abs(present / present.sum() - prior).sum())
        if spread <= MAX_TV and float(np.mean(present > 0)) >= MIN_COVER:
            chosen.append((-n, phrase))
    return tuple(phrase for _, phrase in sorted(chosen))


def workspace_filler_phrases(assignments: pl.DataFrame, clusters: pl.DataFrame, turns: pl.DataFrame) -> tuple[str, ...]:
    """`learn_filler_phrases` over a mined workspace's need turns (`turns`: conversation_id,
    turn_index, text)."""
    etiquette, spread = etiquette_clusters(clusters), spread_clusters(clusters)
    skipped = not_needs(assignments, etiquette, spread)
    need = (assignments.filter((pl.col("role").cast(pl.String) == "customer") & ~pl.col("is_noise")
                               & ~pl.col("cluster_id").is_in(sorted(skipped)))
            .join(turns.select("conversation_id", pl.col("turn_index").cast(pl.Int32), "text"),
                  on=["conversation_id", "turn_index"]))
    return learn_filler_phrases(need)


def filler_phrases(workspace: Path) -> tuple[str, ...]:
    """The mined workspace's filler phrases, for the exported spec (AgentSpec.filler_phrases)."""
    from guideminer.ingest.workspace import scan_turns

    workspace = Path(workspace)
    if not (workspace / MINING_FILES["turn_assignments"]).is_file() or not (workspace / MINING_FILES["clusters"]).is_file():
        return ()  # a workspace mined before clusters were written: no need turns to learn from
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"])
    clusters = pl.read_parquet(workspace / MINING_FILES["clusters"])
    turns = scan_turns(workspace).select("conversation_id", "turn_index", "text").collect()
    return workspace_filler_phrases(assignments, clusters, turns)


__all__ = ["edge_phrases", "filler_phrases", "learn_filler_phrases", "workspace_filler_phrases"]
