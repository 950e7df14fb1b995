"""Conversation-scoped redaction with consistent typed placeholders.

`PiiRedactor.scope(turn_texts)` analyses a conversation's turns in one batch and returns the
per-string redactor `normalize` applies to turn text and metadata: within that scope the same
person is the same ``<PERSON_n>`` in every turn (and in metadata), so mining sees structure
("ask for <PERSON_1>'s date of birth") and templates get fields. Other types are plain
(``<ADDRESS>``, ``<DATE_OF_BIRTH>``, ``<ID>``, ``<EMAIL>``, ``<PHONE>``, ``<SPELLED>``, and the
checksum types of `guideminer.ingest.redact`).

Context decides the two candidate types (see `guideminer.ingest.pii_recognizers`): the text
before the span in the same turn and the whole previous turn are searched for the cue, because in
calls the question and the answer are different turns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from guideminer.ingest.pii_types import DATE_CANDIDATE, ID_CANDIDATE, Found

Redactor = Callable[[str], tuple[str, Counter[str]]]
T = TypeVar("T")

_BIRTH_CUE = re.compile(r"\b(?:birth|born|dob|d\.o\.b|birthday|birthdate|date of b)", re.IGNORECASE)
_PHONE_CUE = re.compile(
    r"\b(?:phone|telephone|tel|call|calling|cell|mobile|landline|text|reach|callback|fax|"
    r"(?:my|your|his|her|the best|a good|contact) number)\b",
    re.IGNORECASE,
)
_TITLES = frozenset("mr mrs ms miss dr mister sir madam ma'am".split())
# Overlaps keep the more trusted detection: validated patterns first, NER last (a spelling
# "P as in Peter" is one span, not a person called Peter).
_PRIORITY = {"URL": 9, "EMAIL": 9, "IBAN": 9, "CARD": 9, "SSN": 9, "IP": 9, "PHONE": 8, "ADDRESS": 7,
             "DATE_OF_BIRTH": 6, "ID": 5, "SPELLED": 4, "PERSON": 3}
_CONTEXT_CHARS = 200


class SpanFinder(Protocol):
    """Raw detections for a batch of texts (Presidio in production, fakes in tests)."""

    def find(self, texts: Sequence[str]) -> list[list[Found]]: ...


class IdContext(Protocol):
    def context_near(self, pattern_names: Sequence[str], before: str) -> bool: ...


@runtime_checkable
class ConversationRedactor(Protocol):
    """A redactor that can number entities consistently across one conversation's strings."""

    def scope(self, texts: Sequence[str]) -> Redactor: ...

    def prepare(self, texts: Sequence[str]) -> None: ...

    def __call__(self, text: str) -> tuple[str, Counter[str]]: ...


def _resolve(found: Found, before: str, id_context: IdContext) -> str | None:
    """The final type of a detection given the text before it, or None to keep it as text."""
    if found.entity == DATE_CANDIDATE:
        return "DATE_OF_BIRTH" if _BIRTH_CUE.search(before) else None
    if found.entity == ID_CANDIDATE:
        return "ID" if id_context.context_near(found.metadata.get("id_patterns", ()), before) else None
    if found.entity == "SPOKEN_NUMBER":
        return "PHONE" if _PHONE_CUE.search(before) else "ID"
    return found.entity


def _non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    ranked = sorted(spans, key=lambda s: (-_PRIORITY.get(s[2], 0), -(s[1] - s[0]), s[0]))
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in ranked:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    return sorted(kept)


def _name_tokens(surface: str) -> frozenset[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", surface.lower())
    return frozenset(word for word in words if word not in _TITLES and len(word) > 1)


class _People:
    """Numbers persons within one scope: a mention sharing a name word with a known person is
    that person ("Justin Tucker", later "Mr. Tucker"); a spelling of a known name word is too."""

    def __init__(self) -> None:
        self._known: list[set[str]] = []

    def number(self, surface: str) -> int:
        tokens = _name_tokens(surface)
        for index, known in enumerate(self._known):
            if tokens & known:
                known.update(tokens)
                return index + 1
        self._known.append(set(tokens))
        return len(self._known)

    def spelled(self, surface: str) -> int | None:
        if re.search(r" (?:as|like) in ", surface, re.IGNORECASE):
            letters = "".join(re.findall(r"\b([A-Za-z]) (?:as|like) in", surface, re.IGNORECASE))
        else:
            letters = "".join(re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", surface))
        letters = letters.lower()
        for index, known in enumerate(self._known):
            if letters and letters in known:
                return index + 1
        return None


class _Scope:
    """One conversation: precomputed detections for its turns, shared person numbering."""

    def __init__(self, owner: PiiRedactor, texts: Sequence[str]) -> None:
        self._owner = owner
        self._people = _People()
        self._previous = ""
        self._found = owner.found_many(texts)

    def __call__(self, text: str) -> tuple[str, Counter[str]]:
        if not isinstance(text, str):
            raise TypeError(f"redact expects str, got {type(text).__name__}")
        found = self._found[text] if text in self._found else self._owner.found_one(text)
        redacted, counts = self._apply(text, found)
        if text in self._found:
            self._previous = text  # turns only: a metadata value is not what was said before
        return redacted, counts

    def spans(self, text: str, found: Sequence[Found]) -> list[tuple[int, int, str]]:
        """Final (start, end, type) of what is redacted in `text`, given this scope's context."""
        spans = []
        for item in found:
            before = self._previous[-_CONTEXT_CHARS:] + "\n" + text[max(0, item.start - _CONTEXT_CHARS) : item.start]
            kind = _resolve(item, before, self._owner.id_context)
            if kind is not None:
                spans.append((item.start, item.end, kind))
        return _non_overlapping(spans)

    def _apply(self, text: str, found: Sequence[Found]) -> tuple[str, Counter[str]]:
        kept = self.spans(text, found)
        counts: Counter[str] = Counter()
        # persons first, in text order, so a spelling after the name can refer to it
        labels = {}
        for start, end, kind in kept:
            if kind == "PERSON":
                labels[start] = f"<PERSON_{self._people.number(text[start:end])}>"
        for start, end, kind in kept:
            if kind == "SPELLED":
                person = self._people.spelled(text[start:end])
                labels[start] = f"<PERSON_{person}>" if person else "<SPELLED>"
        pieces, cursor = [], 0
        for start, end, kind in kept:
            label = labels.get(start, f"<{kind}>")
            counts["PERSON" if label.startswith("<PERSON_") else kind] += 1
            pieces.append(text[cursor:start])
            pieces.append(label)
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces), counts


class PiiRedactor:
    """Redacts with a `SpanFinder`; detections of short strings (metadata values repeat) are
    cached, placeholders are numbered per scope."""

    def __init__(self, finder: SpanFinder, id_context: IdContext, cache_chars: int = 64, cache_entries: int = 100_000) -> None:
        self.finder = finder
        self.id_context = id_context
        self._cache_chars = cache_chars
        self._cached = lru_cache(maxsize=cache_entries)(lambda text: tuple(finder.find([text])[0]))
        self._prepared: dict[str, Sequence[Found]] = {}

    def prepare(self, texts: Sequence[str]) -> None:
        """Analyse the turns of the next few conversations in one batch (NER is much cheaper per
        text in batches of hundreds than in one conversation's handful); replaces the last batch."""
        unique = list(dict.fromkeys(texts))
        self._prepared = dict(zip(unique, self.finder.find(unique)))

    def found_many(self, texts: Sequence[str]) -> dict[str, Sequence[Found]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._prepared))
        found = {text: self._prepared[text] for text in texts if text in self._prepared}
        found.update(zip(missing, self.finder.find(missing)) if missing else ())
        return found

    def found_one(self, text: str) -> Sequence[Found]:
        if len(text) <= self._cache_chars:
            return self._cached(text)
        return self.finder.find([text])[0]

    def scope(self, texts: Sequence[str]) -> Redactor:
        return _Scope(self, texts)

    def __call__(self, text: str) -> tuple[str, Counter[str]]:
        """One string on its own (a quarantined record): its own numbering."""
        return _Scope(self, [])(text)

    def detect(self, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        """What would be redacted in each text, each judged on its own (the audit)."""
        texts = list(texts)
        return [_Scope(self, []).spans(text, found) for text, found in zip(texts, self.finder.find(texts))]


class PlainScopes:
    """A per-string redactor (e.g. a test fake or the regex-only `redact_text`) as a
    `ConversationRedactor`: every scope is the same function."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def scope(self, texts: Sequence[str]) -> Redactor:
        return self._redactor

    def prepare(self, texts: Sequence[str]) -> None:
        return None

    def __call__(self, text: str) -> tuple[str, Counter[str]]:
        return self._redactor(text)


def read_ahead(items: Iterable[T], redactor: ConversationRedactor, texts_of: Callable[[T], list[str]], window: int = 256) -> Iterator[T]:
    """Yield `items` unchanged, but first let the redactor analyse the texts of each window of
    them in one batch. Items read before a reading error are still yielded, then it is raised
    (the pipeline counts what a corrupt file gave before it broke)."""
    iterator = iter(items)
    while True:
        buffer: list[T] = []
        error: BaseException | None = None
        try:
            for item in iterator:
                buffer.append(item)
                if len(buffer) >= window:
                    break
        except Exception as exc:  # re-raised below, after the items read so far
            error = exc
        if buffer:
            redactor.prepare([text for item in buffer for text in texts_of(item)])
        yield from buffer
        if error is not None:
            raise error
        if len(buffer) < window:
            return


def default_pii_redactor(extra_id_patterns: Sequence = ()) -> PiiRedactor:
    """Presidio with the registered spaCy model and the shipped (plus given) id patterns; built
    once per process and set of pattern files (loading the model takes about a second)."""
    return _built_redactor(tuple(str(p) for p in extra_id_patterns))


@lru_cache(maxsize=4)
def _built_redactor(extra_id_patterns: tuple[str, ...]) -> PiiRedactor:
    from guideminer.ingest.pii_engine import PresidioFinder, load_ner_pipeline
    from guideminer.models.registry import resolve_spacy_model

    nlp = load_ner_pipeline(resolve_spacy_model().path)
    finder = PresidioFinder(nlp, extra_id_patterns=tuple(Path(p) for p in extra_id_patterns))
    return PiiRedactor(finder, finder.id_recognizer)
