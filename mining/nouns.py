"""Which slot candidates are noun phrases, by a part-of-speech tagger (mining/slots.py rule 2).

Why: a slot filler names a thing (a product, a city, a plan, a day); words that share its frames
but are verbs, fillers or opinions ("update / change / pause", "alright / tried", "keeps
crashing") carry the need itself, and rewriting them to "item" erases it. Frames and answers
cannot always tell them apart on a few hundred conversations (the call-style demo: "update /
change / reset" passed both tests), while a tagger tells a noun from a verb in any corpus.

A term is a noun phrase in one occurrence when its last word is tagged NOUN or PROPN and every
word before it is a NOUN, PROPN, ADJ, NUM or a gerund ("running shoes"); its share is over the
sampled turns it occurs in. A slot class whose members mostly follow a determiner or possessive
names things and is rewritten to "item" (mining/slots.py rule 5). The tagger is the shipped
spaCy pipeline (`models` registry, the one PII redaction uses) with only its tagger and
attribute ruler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

HEADS = frozenset({"NOUN", "PROPN"})
MODIFIERS = frozenset({"NOUN", "PROPN", "ADJ", "NUM"})
TAGGER_COMPONENTS = ("tok2vec", "tagger", "attribute_ruler")
# whole-word bounds for slot members, a hyphen between letters being inside a word ("e-reader-case")
WORD_START, WORD_END = r"(?<![\w'])(?<![\w']-)", r"(?![\w'])(?!-[\w'])"


class TermTags(NamedTuple):
    """Shares of a term's tagged occurrences: as a noun phrase, and right after a determiner or
    possessive ("the blender", "my order"): a thing, which reads right as "the item"; "good
    morning", "new york" or "monday" are noun phrases said without one."""

    noun_phrase: float
    after_determiner: float


class NounPhraseTagger(Protocol):
    """The one method mining/slots.py needs: per term, its `TermTags` over the given occurrences
    (sentences that contain it)."""

    model_id: str

    def tag_terms(self, occurrences: Mapping[str, Sequence[str]]) -> dict[str, TermTags]: ...


def phrase_alternation(terms: Sequence[str]) -> str:
    """A regex alternation of `terms` (lower-cased, longest first: "coffee maker" before
    "coffee"), any run of spaces between a term's words; callers add `WORD_START` / `WORD_END`."""
    ordered = sorted({t.lower() for t in terms}, key=lambda t: (-len(t), t))
    return "|".join(r"\s+".join(re.escape(w) for w in t.split()) for t in ordered)


def term_pattern(term: str) -> re.Pattern[str]:
    """The term as whole words (a hyphen between letters is inside a word), any case, any run of
    spaces between its words."""
    return re.compile(f"{WORD_START}(?:{phrase_alternation([term])}){WORD_END}", re.IGNORECASE)


def is_noun_phrase(pos: Sequence[str], tags: Sequence[str]) -> bool:
    """Coarse (`pos`) and fine (`tags`) tags of a term's tokens: a noun head after modifiers."""
    if not pos or pos[-1] not in HEADS:
        return False
    return all(p in MODIFIERS or t in ("VBG", "HYPH") for p, t in zip(pos[:-1], tags[:-1], strict=True))


class SpacyNounPhrases:
    """`NounPhraseTagger` over a spaCy pipeline with a tagger, loaded by `load()` on first use:
    a re-run of `mine` whose slots step is cached only needs `model_id` (for the step's key)."""

    def __init__(self, load: Callable[[], Any], model_id: str):
        self._load = load
        self._nlp: Any = None
        self.model_id = model_id

    def tag_terms(self, occurrences: Mapping[str, Sequence[str]]) -> dict[str, TermTags]:
        if self._nlp is None:
            self._nlp = self._load()
        patterns = {term: term_pattern(term) for term in occurrences}
        jobs = [(term, text) for term, texts in occurrences.items() for text in texts]
        found: dict[str, list[tuple[bool, bool]]] = {term: [] for term in occurrences}
        for (term, _), doc in zip(jobs, self._nlp.pipe(text for _, text in jobs), strict=True):
            match = patterns[term].search(doc.text)
            if match is None:
                continue
            tokens = [t for t in doc if t.idx < match.end() and t.idx + len(t) > match.start()]
            before = doc[tokens[0].i - 1] if tokens and tokens[0].i > 0 else None
            determined = before is not None and (before.pos_ == "DET" or before.tag_ == "PRP$")
            found[term].append((is_noun_phrase([t.pos_ for t in tokens], [t.tag_ for t in tokens]), determined))
        return {term: TermTags(sum(n for n, _ in flags) / len(flags), sum(d for _, d in flags) / len(flags))
                if flags else TermTags(0.0, 0.0) for term, flags in found.items()}


@lru_cache(maxsize=2)
def load_noun_tagger(name: str | None = None) -> SpacyNounPhrases:
    """The shipped spaCy pipeline (hash-checked by the registry) with its tagger components only,
    loaded when it first tags."""
    import spacy

    from guideminer.models.registry import DEFAULT_SPACY, resolve_spacy_model, spacy_components

    entry = resolve_spacy_model(name or DEFAULT_SPACY)
    excluded = [n for n in spacy_components(entry.path) if n not in TAGGER_COMPONENTS]
    return SpacyNounPhrases(lambda: spacy.load(entry.path, exclude=excluded), f"{entry.name}@{entry.short_hash}")


__all__ = ["WORD_END", "WORD_START", "NounPhraseTagger", "SpacyNounPhrases", "TermTags", "is_noun_phrase",
           "load_noun_tagger", "phrase_alternation", "term_pattern"]
