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

Which PERSON detections stand, and which words a spelling confirms, is `pii_people`. A name
found in a trusted way (a name-slot cue, a NER full name, a spelled-out word) is redacted wherever
it recurs in the same conversation: "This is Casey from ..." makes the later lower-case "thanks
casey" <PERSON_1> too, which no recogniser finds on its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from guideminer.ingest.pii_allow import AllowList
from guideminer.ingest.pii_people import People, name_answer, name_tokens, person_span, spelled_words, trusted_person
from guideminer.ingest.pii_types import DATE_CANDIDATE, ID_CANDIDATE, PHONE_CANDIDATE, Found

if TYPE_CHECKING:
    from guideminer.ingest.pii_settings import PiiSettings

Redactor = Callable[[str], tuple[str, Counter[str]]]
Span = tuple[int, int, str]
T = TypeVar("T")

_BIRTH_CUE = re.compile(r"\b(?:birth|born|dob|d\.o\.b|birthday|birthdate|date of b)", re.IGNORECASE)
_PHONE_CUE = re.compile(
    r"\b(?:phone|telephone|tel|call|calling|cell|mobile|landline|text|reach|callback|fax|office|desk|whatsapp|sms|messages?|"
    r"(?:my|your|his|her|the best|a good|contact) number)\b",
    re.IGNORECASE,
)
# Overlaps keep the more trusted detection: validated patterns first, NER last (a spelling
# "P as in Peter" is one span, not a person called Peter).
_PRIORITY = {"URL": 9, "EMAIL": 9, "IBAN": 9, "CARD": 9, "SSN": 9, "IP": 9, "PHONE": 8, "ADDRESS": 7,
             "DATE_OF_BIRTH": 6, "ID": 5, "SPELLED": 4, "PERSON": 3, "CUED_PHONE": 6}
# Digit groups made a phone by a cue: below ADDRESS, whose postcode they can be ("..., 21 8010");
# renamed PHONE once overlaps are settled.
_CUED_PHONE = "CUED_PHONE"
_CONTEXT_CHARS = 200
_PHONE_CUE_CHARS = 48  # "call me back on", "registered mobile": a cue right before the digits
_PLACEHOLDER_RE = re.compile(r"<[A-Z][A-Z_]*[A-Z0-9]>")  # <PERSON_1>, <PHONE>, <DATE_OF_BIRTH>


class SpanFinder(Protocol):
    """Raw detections for a batch of texts (Presidio in production, fakes in tests)."""

    def find(self, texts: Sequence[str]) -> list[list[Found]]: ...

    def submit(self, texts: Sequence[str]) -> Callable[[], list[list[Found]]]:
        """Start `find(texts)` (on workers, where there are any); the callable returns its result."""
        ...


class IdContext(Protocol):
    def context_near(self, pattern_names: Sequence[str], before: str) -> bool: ...


@runtime_checkable
class ConversationRedactor(Protocol):
    """A redactor that can number entities consistently across one conversation's strings."""

    def scope(self, texts: Sequence[str]) -> Redactor: ...

    def prepare(self, texts: Sequence[str]) -> Callable[[], None] | None:
        """Start analysing the texts of the next window; the callable (None: nothing to wait
        for) makes them the prepared batch and must be called before that window's scopes."""
        ...

    def __call__(self, text: str) -> tuple[str, Counter[str]]: ...


def _resolve(found: Found, before: str, id_context: IdContext) -> str | None:
    """The final type of a detection given the text before it, or None to keep it as text."""
    if found.entity == DATE_CANDIDATE:
        return "DATE_OF_BIRTH" if _BIRTH_CUE.search(before) else None
    if found.entity == ID_CANDIDATE:
        return "ID" if id_context.context_near(found.metadata.get("id_patterns", ()), before) else None
    if found.entity == "SPOKEN_NUMBER":
        return "PHONE" if _PHONE_CUE.search(before) else "ID"
    if found.entity == PHONE_CANDIDATE:  # digit groups: a phone only right after a phone cue
        return _CUED_PHONE if _PHONE_CUE.search(before[-_PHONE_CUE_CHARS:]) else None
    return found.entity


def _trusted_words(text: str, start: int, end: int) -> frozenset[str]:
    """The name words of a trusted PERSON span that may mark the name where it recurs. The first
    word of a span of several that opens the text or a sentence is left out: its capital says
    nothing ("Confirm Bistro Aix and the city is ..." must not make "CONFIRM" a name elsewhere)."""
    words = name_tokens(text[start:end])
    surface = text[start:end].split()
    if len(surface) > 1 and re.search(r"(?:^|[.!?]\s+)\W*$", text[:start]):
        first = name_tokens(surface[0])
        if words - first:
            return words - first
    return words


def _non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    ranked = sorted(spans, key=lambda s: (-_PRIORITY.get(s[2], 0), -(s[1] - s[0]), s[0]))
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in ranked:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    return sorted(kept)


class _Scope:
    """One conversation: the judged spans of its turns (each with the previous turn as context),
    the trusted name words that recur, and one person numbering."""

    def __init__(self, owner: PiiRedactor, texts: Sequence[str]) -> None:
        self._owner = owner
        self._people = People()
        self._previous = ""
        found = owner.found_many(texts)
        self._spans: dict[str, list[Span]] = {}
        names: set[str] = set()
        previous = ""
        for text in texts:
            if text not in self._spans:
                self._spans[text], trusted = owner.judge(text, found[text], previous)
                names.update(trusted)
            previous = text
        names = {n for n in names if not owner.allow.covers(n)}
        self._recurring = (re.compile(r"(?i)(?<![\w'<-])(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                                      + r")(?![\w>-])") if names else None)

    def __call__(self, text: str) -> tuple[str, Counter[str]]:
        if not isinstance(text, str):
            raise TypeError(f"redact expects str, got {type(text).__name__}")
        return self._apply(text, self.spans(text))

    def spans(self, text: str) -> list[Span]:
        """What is redacted in `text`: (start, end, type), in order (benchmarks score these)."""
        spans = self._spans.get(text)
        if spans is None:  # a metadata value: as judged where a turn says it, else on its own
            spans = self._as_said(text)
            if spans is None:
                spans, _ = self._owner.judge(text, self._owner.found_one(text), self._previous)
        else:
            self._previous = text  # turns only: a metadata value is not what was said before
        return self._with_recurrences(text, spans)

    def _as_said(self, text: str) -> list[Span] | None:
        """The spans of a metadata value that a turn of this conversation says verbatim (a slot
        value, an entity annotation), cut from that turn's judgement, which had the words around
        it; None when no turn says it or a span of the turn crosses its edges."""
        if len(text) < 2:
            return None
        for turn, spans in self._spans.items():
            at = turn.find(text)
            if at < 0:
                continue
            end = at + len(text)
            if any(s < at < e or s < end < e for s, e, _ in spans):
                return None
            return [(s - at, e - at, k) for s, e, k in spans if at <= s and e <= end]
        return None

    def _with_recurrences(self, text: str, spans: list[Span]) -> list[Span]:
        """Add the trusted names where they recur: capitalised anywhere, in any case in a text
        with no capital at all (lower-case transcripts), three letters or more there."""
        if self._recurring is None:
            return spans
        lower_case_text = not any(char.isupper() for char in text)
        extra: list[Span] = []
        for match in self._recurring.finditer(text):
            word = match.group(0)
            if not (word[0].isupper() or (lower_case_text and len(word) >= 3)):
                continue
            if any(s < match.end() and match.start() < e for s, e, _ in spans):
                continue
            if extra and text[extra[-1][1] : match.start()] == " ":  # "Jane" "Smith": one name
                extra[-1] = (extra[-1][0], match.end(), "PERSON")
            else:
                extra.append((match.start(), match.end(), "PERSON"))
        return sorted(spans + extra) if extra else spans

    def _apply(self, text: str, kept: Sequence[Span]) -> tuple[str, Counter[str]]:
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

    def __init__(self, finder: SpanFinder, id_context: IdContext, allow: AllowList | None = None,
                 cache_chars: int = 64, cache_entries: int = 100_000) -> None:
        self.finder = finder
        self.id_context = id_context
        self.allow = allow if allow is not None else getattr(finder, "allow", None) or AllowList()
        self._cache_chars = cache_chars
        self._cached = lru_cache(maxsize=cache_entries)(lambda text: tuple(finder.find([text])[0]))
        self._prepared: dict[str, Sequence[Found]] = {}

    def prepare(self, texts: Sequence[str]) -> Callable[[], None]:
        """Analyse the strings of the next few conversations in one batch (NER is much cheaper per
        text in batches of hundreds than in one conversation's handful). With a pool finder the
        workers start now, while this process still redacts and writes the window before; the
        returned callable waits and makes this batch the prepared one (replacing the last)."""
        unique = list(dict.fromkeys(texts))
        result = self.finder.submit(unique)

        def install() -> None:
            self._prepared = dict(zip(unique, result()))

        return install

    def found_many(self, texts: Sequence[str]) -> dict[str, Sequence[Found]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._prepared))
        found = {text: self._prepared[text] for text in texts if text in self._prepared}
        found.update(zip(missing, self.finder.find(missing)) if missing else ())
        return found

    def found_one(self, text: str) -> Sequence[Found]:
        if text in self._prepared:  # metadata strings are analysed with their window's turns
            return self._prepared[text]
        if len(text) <= self._cache_chars:
            return self._cached(text)
        return self.finder.find([text])[0]

    def judge(self, text: str, found: Sequence[Found], previous: str) -> tuple[list[Span], set[str]]:
        """The final spans of `text` (the previous turn as context) and its trusted name words."""
        spans: list[Span] = []
        trusted: dict[Span, frozenset[str]] = {}
        for item in found:
            before = previous[-_CONTEXT_CHARS:] + "\n" + text[max(0, item.start - _CONTEXT_CHARS) : item.start]
            kind = _resolve(item, before, self.id_context)
            start, end = item.start, item.end
            if kind == "PERSON":
                span = person_span(item, text, self.allow)
                if span is None:
                    continue
                start, end = span
                if trusted_person(item, text[start:end]):
                    trusted[(start, end, kind)] = _trusted_words(text, start, end)
            if kind is not None:
                spans.append((start, end, kind))
        for span in spelled_words(text, spans) + name_answer(text, previous, self.allow):
            spans.append(span)
            trusted[span] = name_tokens(text[span[0] : span[1]])
        kept = _non_overlapping(spans)
        words = {word for span in kept for word in trusted.get(span, ())}
        return [(s, e, "PHONE" if k == _CUED_PHONE else k) for s, e, k in kept], words

    def scope(self, texts: Sequence[str]) -> Redactor:
        return _Scope(self, texts)

    def __call__(self, text: str) -> tuple[str, Counter[str]]:
        """One string on its own (a quarantined record): its own numbering."""
        return _Scope(self, [])(text)

    def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """What would be redacted in each text, each judged on its own (the audit). Placeholders
        are blanked first: "<PHONE>, and my last order was 4046524279" must not read as a phone cue."""
        texts = [_PLACEHOLDER_RE.sub(lambda m: "<" + "_" * (len(m.group(0)) - 2) + ">", t) for t in texts]
        return [self.judge(text, found, "")[0] for text, found in zip(texts, self.finder.find(texts))]


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
    them in one batch; the next window is read and its analysis started before the items of
    this one are yielded, so pool workers analyse while the caller redacts and writes. Items
    read before a reading error are still yielded, then it is raised (the pipeline counts what
    a corrupt file gave before it broke)."""
    iterator = iter(items)
    pending: tuple[list[T], Callable[[], None] | None] | None = None
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
        started = (buffer, redactor.prepare([text for item in buffer for text in texts_of(item)]) if buffer else None)
        if pending is not None:  # the window before: its analysis ran while this one was read
            yield from _ready(*pending)
        pending = started
        if error is not None or len(buffer) < window:
            yield from _ready(*pending)
            if error is not None:
                raise error
            return


def _ready(buffer: list[T], install: Callable[[], None] | None) -> list[T]:
    if install is not None:
        install()
    return buffer


def default_pii_redactor(settings: PiiSettings | None = None, processes: int = 1) -> PiiRedactor:
    """Presidio with the registered spaCy model, the shipped id patterns and allowed terms plus
    the deployment's (`settings`); built once per process, settings and process count (loading
    the model takes about a second). `processes` > 1 analyses over a pool of workers
    (`guideminer.ingest.pii_parallel`), each with its own model."""
    from guideminer.ingest.pii_settings import PiiSettings

    return _built_redactor(settings or PiiSettings(), processes)


def build_finder(settings: PiiSettings) -> Any:
    """The Presidio finder for `settings` (module level: pool workers call it to build theirs)."""
    from guideminer.ingest.pii_types import modules_hidden

    with modules_hidden("torch", "transformers"):  # see modules_hidden: ~10 s less per ingest start
        from guideminer.ingest.pii_engine import PresidioFinder, load_ner_pipeline
    from guideminer.models.registry import resolve_spacy_model

    nlp = load_ner_pipeline(resolve_spacy_model().path)
    return PresidioFinder(nlp, extra_id_patterns=_id_patterns(settings), allow=_allow(settings))


def _allow(settings: PiiSettings) -> AllowList:
    from guideminer.ingest.pii_allow import allow_terms

    return AllowList((*allow_terms(), *settings.allow_terms))


def _id_patterns(settings: PiiSettings) -> list[Any]:
    from guideminer.ingest.pii_ids import IdPattern

    return [IdPattern(name=n, regex=r, context=c) for n, r, c in settings.id_patterns]


@lru_cache(maxsize=4)
def _built_redactor(settings: PiiSettings, processes: int) -> PiiRedactor:
    if processes <= 1:
        finder = build_finder(settings)
        return PiiRedactor(finder, finder.id_recognizer, finder.allow)
    from guideminer.ingest.pii_ids import IdContext, id_patterns
    from guideminer.ingest.pii_parallel import PoolFinder

    ids = IdContext(id_patterns(_id_patterns(settings)))
    pool = PoolFinder(build_finder, (settings,), processes, _allow(settings), ids)
    return PiiRedactor(pool, ids, pool.allow)
