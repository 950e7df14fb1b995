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
fails the spread test. A filler is then completed into the fixed expression it starts (or
ends): while one word follows it (precedes it, at the end) in >= `FIXED_SHARE` of the need
turns it opens (closes), that word is part of it. Why: runs stop at `MAX_WORDS`, and "hello
hello long story" left "short, I'm not happy with ..." in the rule text. Words are compared
without apostrophes ("wasn't" = "wasnt": chats drop them). Measured in docs/results.md
"Filler phrases" and "Fillers completed".
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
FIXED_SHARE, MAX_FIXED_WORDS = 0.9, 12
_WORD = re.compile(r"[a-z0-9']+")


def phrase_words(text: str) -> list[str]:
    """Lower-case words of `text`, apostrophes dropped ("wasn't" reads as "wasnt")."""
    return [w.replace("'", "") for w in _WORD.findall(text.lower()) if w.replace("'", "")]


def edge_phrases(text: str) -> set[str]:
    """The leading and trailing runs of MIN_WORDS..MAX_WORDS words of `text` (lower case), when
    at least two words would remain around them."""
    words = phrase_words(text)
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
    phrases = [phrase for _, phrase in sorted(chosen)]
    texts = [phrase_words(t) for t in need_turns["text"].to_list()]
    completed = [c for p in phrases for c in (completed_phrase(p, texts, True), completed_phrase(p, texts, False))]
    return tuple(dict.fromkeys([*phrases, *(c for c in completed if c not in phrases)]))


def completed_phrase(phrase: str, texts: list[list[str]], leading: bool) -> str:
    """`phrase` extended word by word into the fixed expression it opens (`leading`) or closes
    in `texts` (word lists): while one next (previous) word follows it in >= FIXED_SHARE of
    the texts it opens (closes) with two words left over, up to MAX_FIXED_WORDS words."""
    words = phrase.split()
    while len(words) < MAX_FIXED_WORDS:
        n = len(words)
        at_edge = [t for t in texts if len(t) >= n + 3 and (t[:n] if leading else t[-n:]) == words]
        if not at_edge:
            break
        word, count = Counter(t[n] if leading else t[-n - 1] for t in at_edge).most_common(1)[0]
        if count < FIXED_SHARE * len(at_edge):
            break
        words = [*words, word] if leading else [word, *words]
    return " ".join(words)


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
