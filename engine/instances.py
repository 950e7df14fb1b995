"""Instance details in a turn (dates, times, amounts, counts, names, references) as typed placeholders.

Why: a mined rule or canned reply must describe what agents *habitually* do, never one
customer's facts. "According to our system it should be with you by Saturday April 15" sent to
every customer who asks about delivery is a confident false statement; "... by <DATE>" is a
template a tool result can fill. Detection is deterministic (regular expressions, no model),
tuned for precision on support English: a missed detail is still caught by the cross-member
variation check in `guideminer.mining.templates`, while a false one would only make a rule
vaguer. The ingest redaction placeholders (`<EMAIL>`, `<PHONE>`, ...) are kept as they are.

Each span is typed so a reviewer reads `<DATE>` rather than a blank, and a template names its
field `{date}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTHS_SAFE = (r"(?:january|february|march|april|june|july|august|september|october|november|december|"
                r"jan|feb|aug|sept?|oct|nov|dec)")  # "may" / "mar" alone are words
_WEEKDAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
_NUMBER_WORDS = ("two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
                 "forty|fifty|hundred")
_COUNTED = (r"(?:people|persons?|guests?|adults?|children|kids|tickets?|seats?|nights?|rooms?|days?|"
            r"weeks?|months?|years?|hours?|minutes?|bags?|items?|units?|times|passengers?|beds?|baths?|"
            r"bedrooms?|stars?|dollars|pounds|euros)")

# (type, pattern), applied in order; earlier types win overlapping spans
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(p, re.IGNORECASE)) for kind, p in (
    ("AMOUNT", r"[$£€]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:dollars|bucks|pounds|euros|usd|gbp|eur)\b"),
    ("TIME", r"\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.m\.|[ap]m\b)|\b\d{1,2}:\d{2}\b|\b(?:noon|midnight)\b|"
             r"\b(?:half past|quarter (?:past|to)) (?:\d{1,2}|" + _NUMBER_WORDS + r"|one)\b|"
             r"\b\d{1,2} o'?clock\b"),
    ("DATE", r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|"
             r"\b(?:(?:next|this|last) )?" + _WEEKDAYS + r"(?:,? (?:the )?" + _ORDINAL + r"(?: of " + _MONTHS
             + r")?|,? " + _MONTHS + r" " + _ORDINAL + r")?\b|"
             r"\b" + _MONTHS_SAFE + r"\.? " + _ORDINAL + r"(?:,? \d{4})?\b|"
             r"\b(?:the )?" + _ORDINAL + r" of " + _MONTHS + r"\b|\bthe \d{1,2}(?:st|nd|rd|th)\b|"
             r"\b(?:mar|may)\.? \d{1,2}(?:st|nd|rd|th)?\b"),
    ("POSTCODE", r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"),
    # not a count-unit compound ("2-year", "30-day"): a reference mixes letters and digits as a code
    ("REFERENCE", r"\b(?!\d{1,3}-[A-Za-z]+\b)(?=[A-Za-z-]*\d)(?=[\d-]*[A-Za-z])[A-Za-z\d-]{5,}\b|\b\d{5,}\b"),
    ("NUMBER", r"\b\d+(?:\.\d+)?\b(?!-[A-Za-z])|\b(?:" + _NUMBER_WORDS + r")(?= " + _COUNTED + r"\b)"),
))
# a ingest / redaction placeholder already in the text
EXISTING = re.compile(r"<([A-Z][A-Z0-9_]*)>")
_WORD = re.compile(r"[A-Za-z][A-Za-z'&.-]*")
_SENTENCE_END = re.compile(r"[.!?:;\"(]\s*$")
# capitalised words that are no proper noun (sentence-internal capitals in chat)
NOT_NAMES = frozenset("""
i i'm i'll i'd i've ok okay hi hello hey yes no sure thanks thank please sorry mr mrs ms dr
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december am pm tv id usa uk us eu
""".split())


@dataclass(frozen=True)
class Span:
    """One instance detail: characters [start, end) of the text, its type and its value."""

    start: int
    end: int
    kind: str
    value: str


def _capitalised_names(text: str, taken: list[Span]) -> list[Span]:
    """Runs of capitalised words that do not start a sentence: proper names in chat English."""
    spans: list[Span] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if run:
            start, end = run[0].start(), run[-1].start() + len(run[-1].group(0).rstrip("."))
            spans.append(Span(start, end, "NAME", text[start:end]))
            run.clear()

    for match in _WORD.finditer(text):
        word = match.group(0).rstrip(".")
        overlaps = any(s.start < match.end() and match.start() < s.end for s in taken)
        capital = word[:1].isupper() and word.lower() not in NOT_NAMES and not overlaps
        ends_sentence = bool(run) and run[-1].group(0).endswith(".")
        if run and capital and not ends_sentence and text[run[-1].end():match.start()] in (" ", " & ", "-"):
            run.append(match)  # continues a name: "San Francisco" (not "Larkfield. This")
            continue
        close()
        starts_sentence = match.start() == 0 or bool(_SENTENCE_END.search(text[:match.start()]))
        if capital and not starts_sentence and not word.isupper():
            run.append(match)
    close()
    return spans


def instance_spans(text: str) -> list[Span]:
    """Every instance detail of `text`, non-overlapping, in text order (module docstring)."""
    spans: list[Span] = [Span(m.start(), m.end(), m.group(1), m.group(0)) for m in EXISTING.finditer(text)]
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if match.end() > match.start() and not any(s.start < match.end() and match.start() < s.end for s in spans):
                spans.append(Span(match.start(), match.end(), kind, match.group(0)))
    spans += _capitalised_names(text, spans)
    return sorted(spans, key=lambda s: s.start)


def with_placeholders(text: str, kept: frozenset[str] = frozenset()) -> str:
    """`text` with each instance detail, but those of a `kept` kind, replaced by `<TYPE>` (module docstring)."""
    out, position = [], 0
    for span in instance_spans(text):
        if span.kind in kept:
            continue
        out.append(text[position:span.start])
        out.append(f"<{span.kind}>")
        position = span.end
    out.append(text[position:])
    return "".join(out)


_NUMBERED = re.compile(r"<([A-Z][A-Z_]*?)_\d+>")
# kinds that stay as said in the clustered text: counts and prices are as often a habit's own wording
# ("our return window is 30 days", "the premium plan is $9.99") as one customer's fact
KEPT_IN_MOVES = frozenset({"NUMBER", "AMOUNT"})


def fact_masked(text: str) -> str:
    """`text` with each instance detail but counts and amounts replaced by `<TYPE>`, numbered
    redaction placeholders read as their type (`<PERSON_2>` -> `<PERSON>`): the text a move is
    clustered on, where which fact was said must not matter."""
    return _NUMBERED.sub(r"<\1>", with_placeholders(text, KEPT_IN_MOVES))
