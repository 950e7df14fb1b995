"""A fake part-of-speech tagger for slot learning (mining/nouns.py's `NounPhraseTagger`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


class WordListNouns:
    """Every term is a noun phrase unless one of its words is in `not_nouns`."""

    model_id = "fake-nouns"

    def __init__(self, not_nouns: Iterable[str] = ()):
        self.not_nouns = frozenset(not_nouns)
        self.asked: list[str] = []

    def noun_phrase_shares(self, occurrences: Mapping[str, Sequence[str]]) -> dict[str, float]:
        self.asked += list(occurrences)
        return {term: 0.0 if set(term.split()) & self.not_nouns else 1.0 for term in occurrences}
