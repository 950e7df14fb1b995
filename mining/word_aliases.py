"""Head-word aliases of interchangeable words: "kettle" read as "electric kettle" is.

Why: a mined slot class holds the products as the corpus names them ("electric kettle",
"standing desk", "wireless headphones"); a customer who writes "I want to return a kettle"
names none of them, so the engine embeds "kettle" where every example says "item", and the
return rule scored 0.43 (cosine) against "i want to return a item i bought two months ago".

A multi-word member's last word becomes a member too (read as the same replacement) when the
corpus never uses it apart: of the customer turns where the word occurs, at least
`MIN_INSIDE_SHARE` have it inside a member of that class. "desk" stays out where "desk lamp"
is another member; "plan" stays out where customers say "my plan" alone. Data-driven; nothing
is added where the head word has a life of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from guideminer.engine.spec import InterchangeableWords

MIN_INSIDE_SHARE = 0.95
MIN_TURNS = 3  # turns with the word, to judge how it is used


def _whole(word: str) -> str:
    """A case-insensitive whole-word pattern (Rust regex: polars' vectorised `str.contains`)."""
    return rf"(?i)\b{re.escape(word)}\b"


def with_head_aliases(words: tuple[InterchangeableWords, ...], texts: Iterable[str]) -> tuple[InterchangeableWords, ...]:
    """`words` with each class's safe head-word aliases added to its members (module docstring)."""
    corpus = pl.Series("text", [t for t in texts if t], dtype=pl.String)
    taken = {m.lower() for w in words for m in (w.replacement, *w.members)}
    out = []
    for word_class in words:
        heads = {m.split()[-1].lower() for m in word_class.members if len(m.split()) > 1} - taken
        added = []
        for head in sorted(heads):
            with_word = corpus.filter(corpus.str.contains(_whole(head)))
            if with_word.len() < MIN_TURNS:
                continue
            inside = "|".join(_whole(m)[4:] for m in (*word_class.members, word_class.replacement) if head in m.lower())
            if with_word.str.contains(f"(?i){inside}").mean() >= MIN_INSIDE_SHARE:
                added.append(head)
        out.append(word_class.model_copy(update={"members": (*word_class.members, *added)}) if added else word_class)
    return tuple(out)


__all__ = ["with_head_aliases"]
