"""A fake part-of-speech tagger for slot learning (mining/nouns.py's `NounPhraseTagger`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from guideminer.mining.nouns import TermTags


class WordListNouns:
    """Every term is a noun phrase said after a determiner, unless one of its words is in
    `not_nouns` (no noun phrase) or `not_things` (said without a determiner)."""

    model_id = "fake-nouns"

    def __init__(self, not_nouns: Iterable[str] = (), not_things: Iterable[str] = ()):
        self.not_nouns, self.not_things = frozenset(not_nouns), frozenset(not_things)
        self.asked: list[str] = []

    def tag_terms(self, occurrences: Mapping[str, Sequence[str]]) -> dict[str, TermTags]:
        self.asked += list(occurrences)
        return {term: TermTags(0.0 if set(term.split()) & self.not_nouns else 1.0,
                               0.0 if set(term.split()) & self.not_things else 1.0) for term in occurrences}
