"""Which PERSON detections stand, the words a spelling confirms, and per-conversation numbering.

- A NER span is cut at its first line break and before a number, and dropped if a word of it
  mixes letters and digits: the NER tags order codes ("LF-463234") and conversation ids.
- A span made only of allowed terms is vocabulary (`pii_allow`), unless an explicit "my name
  is" cue found it.
- A word right next to its own spelling ("Dubois, D-U-B-O-I-S", "priya P-R-I-Y-A") is a name,
  whatever its case: people spell names, not ordinary words.
- The first words of a turn answering a name question ("Who am I speaking with?") are a name.
- Trusted names (a name-slot cue, a NER full name, a spelled word, a name answer) may be redacted where they
  recur in the conversation (`pii_redactor`); a single NER word may not (NER tags vocabulary).
"""

from __future__ import annotations

import re

from guideminer.ingest.pii_allow import TITLES, AllowList, name_words
from guideminer.ingest.pii_types import OPENERS, Found

Span = tuple[int, int, str]
CUE_RECOGNIZERS = frozenset({"NameCueRecognizer", "AddressedNameRecognizer"})


def name_tokens(surface: str) -> frozenset[str]:
    return frozenset(word for word in name_words(surface) if word not in TITLES and len(word) > 1)


def person_span(item: Found, text: str, allow: AllowList) -> tuple[int, int] | None:
    """The span of a PERSON detection that stands, or None. A NER span is cut at its first line
    break (a name does not run into the next line of a signature block) and before a number
    ("Riverton 89160"), and dropped if a word of it mixes letters and digits (order codes,
    conversation ids: "LF-463234", "demo-000090#6"); a span of allowed terms only is dropped
    unless an explicit "my name is" cue found it, as is a NER span that is one discourse word
    ("Hmm", "Okay": the NER tags them after a line's prefix in the report)."""
    start, end = item.start, item.end
    source = item.metadata.get("recognizer_name", "")
    if source == "SpacyRecognizer":
        start, end = _name_part(text, start, end)
        if start == end or text[start:end].lower() in OPENERS:  # "Hmm, tempting..." is no name
            return None
    if source != "NameCueRecognizer" and allow and allow.covers_in(text, start, end):
        return None
    return start, end


def _name_part(text: str, start: int, end: int) -> tuple[int, int]:
    kept_end = start
    for match in re.finditer(r"\S+", text[start:end].split("\n", 1)[0]):
        word = match.group(0)
        if any(char.isdigit() for char in word):
            if any(char.isalpha() for char in word):
                return start, start  # a code, not a name
            break
        kept_end = start + match.end()
    surface = text[start:kept_end].rstrip(" ,.;:!?-")
    return (start, start + len(surface)) if any(char.isalpha() for char in surface) else (start, start)


def _spelled_letters(surface: str) -> str:
    """The letters a spelling spells: "T-U-C-K-E-R" -> "tucker", "P as in Peter, A as in apple" -> "pa"."""
    if re.search(r" (?:as|like) in ", surface, re.IGNORECASE):
        return "".join(re.findall(r"\b([A-Za-z]) (?:as|like) in", surface, re.IGNORECASE)).lower()
    return "".join(re.findall(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])", surface)).lower()


def spelled_words(text: str, spans: list[Span]) -> list[Span]:
    """The word a spelling spells out, just before it ("Dubois, D-U-B-O-I-S", "priya P-R-I-Y-A",
    "Novak spelled N-O-V-A-K") or just after it: a word someone spells is a name (or a part of an
    address or id), whatever its case."""
    found = []
    for start, end, kind in spans:
        letters = _spelled_letters(text[start:end]) if kind == "SPELLED" else ""
        if len(letters) < 2:
            continue
        near = [m for m in re.finditer(r"[A-Za-z][A-Za-z'-]*", text) if m.group(0).lower() == letters
                and (0 <= start - m.end() <= 40 or 0 <= m.start() - end <= 40)]
        found.extend((m.start(), m.end(), "PERSON") for m in near[:1])
    return found


def trusted_person(item: Found, surface: str) -> bool:
    """Found by a name slot cue, or a NER full name: safe to redact wherever it recurs."""
    return item.metadata.get("recognizer_name", "") in CUE_RECOGNIZERS or len(name_tokens(surface)) >= 2


class People:
    """Numbers persons within one scope: a mention sharing a name word with a known person is
    that person ("Justin Tucker", later "Mr. Tucker"); a spelling of a known name word is too."""

    def __init__(self) -> None:
        self._known: list[set[str]] = []

    def number(self, surface: str) -> int:
        tokens = name_tokens(surface)
        for index, known in enumerate(self._known):
            if tokens & known:
                known.update(tokens)
                return index + 1
        self._known.append(set(tokens))
        return len(self._known)

    def spelled(self, surface: str) -> int | None:
        letters = _spelled_letters(surface)
        for index, known in enumerate(self._known):
            if letters and letters in known:
                return index + 1
        return None



# --- a name given in answer ("Who am I speaking with?" / "yes its priya smith, ...") -----------
# The previous turn asked for a name:
_NAME_QUESTION = re.compile(
    r"\b(?:your|the)\s+(?:(?:full|first|last|middle)\s+(?:and\s+(?:first|last)\s+)?)?names?\b|\bname on the\b|\bsurname\b"
    r"|\bwho (?:am i|i am) (?:speaking|talking) (?:with|to)\b|\bwho(?:'s| is) (?:calling|this|speaking)\b"
    r"|\bspell (?:that|it|your|the)\b",
    re.IGNORECASE,
)
_ANSWER_RE = re.compile(
    r"^\W*(?:(?i:yes|yeah|yep|sure|ok|okay|hi|hello|um|uh|so)\W+)*"
    r"(?:(?i:it's|its|it is|this is|i'm|im|i am|my name is|my name's|name's|the name is)\s+)?"
    r"(?P<pii>[A-Za-z][A-Za-z'-]+(?:\s+[A-Za-z][A-Za-z'-]+){0,2})"
)
_NOT_ANSWER_WORDS = frozenset(
    "a an the and but or so is it its on in at for to of with not no yes yeah okay ok um uh like spelled spelt "
    "that this just actually correct right please thanks thank thats that's last first name i im sorry well what "
    "why how can could do does did have has was were will would about my your our their from here there speaking "
    "calling hi hello sure hold one moment sec second wait hang".split()
)


def name_answer(text: str, previous: str, allow: AllowList) -> list[Span]:
    """The first words of a turn that answers a name question, up to three and cut at the first
    word that cannot be a name. Calls give names as bare answers, often lower-case ("who am I
    speaking with?" / "its priya smith, thats ..."); no recogniser sees them without the question."""
    if not previous or not _NAME_QUESTION.search(previous):
        return []
    match = _ANSWER_RE.match(text)
    if match is None:
        return []
    start, kept = match.start("pii"), None
    for word in re.finditer(r"[A-Za-z][A-Za-z'-]+", match.group("pii")):
        if word.group(0).lower() in _NOT_ANSWER_WORDS:
            break
        kept = word
    if kept is None or (allow and allow.covers(text[start : start + kept.end()])):
        return []
    return [(start, start + kept.end(), "PERSON")]
