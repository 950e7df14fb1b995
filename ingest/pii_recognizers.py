"""Presidio recognisers for what support calls contain, beyond what a generic NER model finds.

Each class is a Presidio `EntityRecognizer`; `guideminer.ingest.pii_engine` registers them next to
Presidio's `SpacyRecognizer` (PERSON from the packaged spaCy model). Why custom ones: calls spell
("T-U-C-K-E-R", "P as in Peter"), speak emails and numbers ("marcus dot davis at gmail dot com",
"two one two five five five ..."), give street addresses and dates of birth, and read out member,
policy and provider ids; none of that is a written pattern a generic recogniser knows.

Two entity types are *candidates* that need context to become PII, decided per conversation by
`guideminer.ingest.pii_redactor` (the previous turn is often the question: "And your date of
birth?" / "June 18th, 1979."):
- ``DATE_CANDIDATE`` -> ``DATE_OF_BIRTH`` when a birth cue is near (a delivery date stays);
- ``ID_CANDIDATE`` -> ``ID`` when one of the id pattern's context words is near (an order number
  stays unless a deployment adds an order pattern to its id-patterns YAML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from guideminer.ingest.pii_ids import IdContext, IdPattern
from guideminer.ingest.pii_types import DATE_CANDIDATE, ID_CANDIDATE
from guideminer.ingest.redact import PLACEHOLDERS, find_spans


class RegexRecognizer(EntityRecognizer):
    """One entity type from one compiled pattern; group 'pii' (if present) is the span."""

    def __init__(self, entity: str, pattern: re.Pattern[str], name: str, score: float = 0.85) -> None:
        self.pattern = pattern
        self.score = score
        super().__init__(supported_entities=[entity], name=name, supported_language="en")

    def load(self) -> None:  # nothing to load: the pattern is compiled
        return None

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            group = "pii" if "pii" in self.pattern.groupindex else 0
            if match.start(group) < match.end(group):
                yield match.start(group), match.end(group)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        return [RecognizerResult(entity, start, end, self.score) for start, end in self.spans(text)]


class ChecksumRecognizer(EntityRecognizer):
    """The validated written patterns of `guideminer.ingest.redact` (Luhn cards, mod-97 IBANs,
    SSN ranges, secret URLs, emails, IPs, phone shapes) as one Presidio recogniser."""

    def __init__(self) -> None:
        super().__init__(supported_entities=list(PLACEHOLDERS), name="ChecksumRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        return [RecognizerResult(kind, start, end, 1.0) for start, end, kind in find_spans(text)]


# --- spelled-out letters and codes -----------------------------------------------------------
# "T-U-C-K-E-R", "t u c k e r", "W J K 4 6 2": four or more single characters joined by one
# separator kind, or three or more letters joined by dashes. Dots are not a separator (U.S.A.).
_SPELLED_RE = re.compile(
    r"(?<![\w'-])(?:[A-Za-z0-9](?:-[A-Za-z0-9]){2,}|[A-Za-z0-9](?:,? [A-Za-z0-9]){3,})(?![\w'-])"
)
# "P as in Peter, A as in apple": one or more, with the glue between them.
_AS_IN_RE = re.compile(
    r"\b[A-Za-z] (?:as|like) in [A-Za-z]+(?:(?:,|,? and| then)? [A-Za-z] (?:as|like) in [A-Za-z]+)*",
    re.IGNORECASE,
)
_SPOKEN_LETTER_SINGLES = frozenset("a i".split())


def _spelled_spans(text: str) -> Iterable[tuple[int, int]]:
    for match in _SPELLED_RE.finditer(text):
        items = re.split(r",? |-", match.group(0))
        letters = [item for item in items if item.isalpha()]
        # "I a m" style runs of the two English one-letter words are not a spelling
        if letters and all(item.lower() in _SPOKEN_LETTER_SINGLES for item in letters):
            continue
        if not letters and "-" in match.group(0):
            continue  # 1-2-3 is a count or a date-like code, the number recognisers decide
        yield match.start(), match.end()
    for match in _AS_IN_RE.finditer(text):
        yield match.start(), match.end()


class SpelledRecognizer(RegexRecognizer):
    def __init__(self) -> None:
        super().__init__("SPELLED", _SPELLED_RE, "SpelledRecognizer", score=0.8)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        return _spelled_spans(text)


# --- spoken emails and numbers ---------------------------------------------------------------
_TLDS = r"(?:com|net|org|edu|gov|io|co|uk|us|ca|de|fr|me|info|biz|mil)"
_WORD = r"[A-Za-z0-9_+-]+"
_SPOKEN_EMAIL_RE = re.compile(
    rf"(?<![\w.])(?P<pii>{_WORD}(?:(?:\.|\s+(?:dot|underscore|dash|hyphen)\s+){_WORD}){{0,4}}"
    rf"\s+(?:at|@)\s+{_WORD}(?:(?:\.|\s+dot\s+){_WORD}){{0,2}}(?:\.|\s+dot\s+){_TLDS})\b",
    re.IGNORECASE,
)
_LOCAL_PART_STOP = frozenset(
    "i me my is was it its email address mail e-mail send sent the a an to me that this look looked "
    "arrive arrived be here there".split()
)


class SpokenEmailRecognizer(RegexRecognizer):
    """``marcus.davis.80 at gmail dot com``; the local part is cut at the first word that is
    clearly not part of an address ("my email is john at ..." keeps "my email is")."""

    def __init__(self) -> None:
        super().__init__("EMAIL", _SPOKEN_EMAIL_RE, "SpokenEmailRecognizer", score=0.85)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            start, end = match.start("pii"), match.end("pii")
            body = text[start:end]
            at = re.search(r"\s+(?:at|@)\s+", body, re.IGNORECASE)
            local = body[: at.start()] if at else body
            if local.lower() in _LOCAL_PART_STOP:
                continue
            yield start, end


_DIGIT_WORDS = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple|[0-9])"
_SPOKEN_NUMBER_RE = re.compile(
    rf"\b(?:{_DIGIT_WORDS}(?:[ ,-]+|$)){{4,}}",
    re.IGNORECASE,
)
_NUMBER_WORD_RE = re.compile(r"zero|oh|one|two|three|four|five|six|seven|eight|nine", re.IGNORECASE)


class SpokenNumberRecognizer(RegexRecognizer):
    """Four or more digits said as words ("two one two, five five five ..."), possibly mixed with
    written digits; at least two must be words, or it is a written number the other recognisers
    judge. Typed ``SPOKEN_NUMBER``: the redactor calls it a phone or an id by context."""

    def __init__(self) -> None:
        super().__init__("SPOKEN_NUMBER", _SPOKEN_NUMBER_RE, "SpokenNumberRecognizer", score=0.8)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            span = match.group(0).rstrip(" ,-")
            words = _NUMBER_WORD_RE.findall(span)
            if len(words) >= 2 and len(re.findall(_DIGIT_WORDS, span, re.IGNORECASE)) >= 4:
                yield match.start(), match.start() + len(span)


# --- street addresses --------------------------------------------------------------------
_STREET_TYPES = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|close|row)"
)
_US_STATES = (
    "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|"
    "hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|"
    "michigan|minnesota|mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|"
    "new mexico|new york|north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|"
    "rhode island|south carolina|south dakota|tennessee|texas|utah|vermont|virginia|washington|"
    "west virginia|wisconsin|wyoming"
)
_STREET_NAME = r"(?:[A-Za-z][A-Za-z'.-]*\s+){0,3}?[A-Za-z][A-Za-z'.-]*"
_UNIT = r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|flat|#)\.?\s*[A-Za-z0-9-]+)?"
_CITY_STATE_ZIP = (
    rf"(?:,\s*[A-Z][A-Za-z.'-]*(?:\s+[A-Z][A-Za-z.'-]*){{0,2}}"
    rf"(?:,?\s+(?:(?i:{_US_STATES})|[A-Z]{{2}}))?(?:,?\s+[0-9]{{5}}(?:-[0-9]{{4}})?)?)?"
)
_ADDRESS_RE = re.compile(
    rf"\b(?P<pii>[0-9]{{1,6}}[A-Za-z]?\s+{_STREET_NAME}\s+(?i:{_STREET_TYPES})\b\.?{_UNIT}{_CITY_STATE_ZIP}"
    rf"|(?i:p\.?\s?o\.?\s+box)\s+[0-9]{{1,6}})"
)


class AddressRecognizer(RegexRecognizer):
    """House number, up to four name words and a street type ("200 Union Street"), then an
    optional unit and ", City, State ZIP"; or a PO box."""

    def __init__(self) -> None:
        super().__init__("ADDRESS", _ADDRESS_RE, "AddressRecognizer", score=0.85)


# --- dates (candidates for dates of birth) ---------------------------------------------------
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL_WORDS = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"thirtieth|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirty[- ]first)"
)
_DAY = rf"(?:[0-3]?[0-9](?:st|nd|rd|th)?|{_ORDINAL_WORDS})"
_YEAR_WORDS = r"(?:nineteen|twenty)[- ](?:hundred|oh[- ]\w+|[a-z]+(?:[- ][a-z]+)?)"
_YEAR = rf"(?:(?:19|20)[0-9]{{2}}|'?[0-9]{{2}}|{_YEAR_WORDS})"
_DATE_RE = re.compile(
    rf"(?i)\b(?:{_MONTHS}\.?\s+(?:the\s+)?{_DAY}(?:,?\s+(?:of\s+)?{_YEAR})?"
    rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTHS}\.?(?:,?\s+{_YEAR})?"
    rf"|[0-1]?[0-9][/.-][0-3]?[0-9][/.-](?:19|20)?[0-9]{{2}}"
    rf"|(?:19|20)[0-9]{{2}}-[0-1][0-9]-[0-3][0-9])\b"
)


class DateRecognizer(RegexRecognizer):
    """Calendar dates, written or spoken ("June 18th, 1979", "the eighteenth of june",
    "06/18/1979"); candidates only, see the module docstring."""

    def __init__(self) -> None:
        super().__init__(DATE_CANDIDATE, _DATE_RE, "DateRecognizer", score=0.6)


# --- names by cue (lower-case transcripts, where NER sees no capital) -------------------------
_NAME_CUE_RE = re.compile(
    r"(?i:\b(?:my|the|his|her|your|[a-z]+'s)\s+(?:full\s+|first\s+|last\s+)?name\s+is|\bname's|\bname\s+on\s+the\s+"
    r"(?:account|policy|card)\s+is|\b(?:policy|account)\s*holder\s+is|\b(?:first|last|middle|family)\s+name(?:'s|\s+is)"
    r"|\bsurname(?:'s|\s+is))\s+(?P<pii>[A-Za-z][A-Za-z'-]+(?:\s+[A-Za-z][A-Za-z'-]+){0,2})"
    # the bare form ends its clause: "..., first name tom." (not "last name spelled K-I-M")
    r"|(?i:\b(?:first|last|middle|family)\s+name|\bsurname),?\s+(?P<bare>[A-Za-z][A-Za-z'-]+)(?=\s*[,.!?;]|\s*$)"
)
_NOT_NAME_WORDS = frozenset(
    "a an the and but or so is it its on in at for to of with not no yes yeah okay ok um uh like "
    "spelled spelt that this just actually correct right please thanks thank".split()
)


class NameCueRecognizer(RegexRecognizer):
    """"my name is justin tucker": up to three words after a name cue, cut at the first word
    that cannot be part of a name. Needed because NER misses names in lower-case ASR text."""

    def __init__(self) -> None:
        super().__init__("PERSON", _NAME_CUE_RE, "NameCueRecognizer", score=0.9)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            group = "pii" if match.group("pii") else "bare"
            start = match.start(group)
            words = list(re.finditer(r"[A-Za-z][A-Za-z'-]+", match.group(group)))
            kept = []
            for word in words:
                if word.group(0).lower() in _NOT_NAME_WORDS:
                    break
                kept.append(word)
            if kept:
                yield start, start + kept[-1].end()


# --- names addressed, signed or introduced ("Hi Lukas,", "Kind regards, Jane Smith") --------
_NAME = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_TITLE = r"(?:(?i:mr|mrs|ms|miss|dr)\.?\s+)?"
_END = r"(?=\s*[,.!?;]|\s*$)"
_ADDRESSED_RE = re.compile(
    # greeting or thanks, then the name: "Hi Jane,", "Thanks, Mr. Tucker.", "thanks for your help Sam!"
    rf"(?:\b(?i:hi|hello|hey|dear|thanks|thank you|good (?:morning|afternoon|evening))"
    rf"(?:\s+(?i:so|very)\s+much)?(?:\s+(?i:for\s+(?:your|all\s+your|the)\s+help))?,?\s+{_TITLE}"
    rf"(?P<pii>{_NAME}(?:\s+{_NAME})?){_END}"
    rf"|\b(?i:regards|best wishes|sincerely|cheers|thanks|best|many thanks),?\s*\n?\s*(?P<sig>{_NAME}(?:\s+{_NAME})?)\s*[.!]?\s*$"
    # a lower-case name after a formal sign-off at the very end ("kind regards aisha becker"):
    # nothing else ends a message there; "cheers mate", "thanks again" need a capital above
    rf"|\b(?i:regards|best wishes|sincerely|yours truly),?\s*\n?\s*(?P<lsig>[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)\s*[.!]?\s*$"
    # self-introductions: "This is Sam from ...", "I'm Sam, ...", "this is Sam.", "Sam here from ..."
    rf"|\b(?i:this is|i'm|i am)\s+{_TITLE}(?P<intro>{_NAME}(?:\s+{_NAME})?)(?=\s+(?i:from|with|at|here|speaking)\b|\s*[,.!?](?:\s|$)|\s*$)"
    rf"|(?P<here>{_NAME})\s+(?i:here)\s+(?i:from|at|with)\b"
    rf"|\b(?i:speaking|talking)\s+(?i:with|to)\s+{_TITLE}(?P<with>{_NAME}){_END})"
)
_GROUPS = ("pii", "sig", "lsig", "intro", "here", "with")
_NOT_ADDRESSED = frozenset(
    "there all team everyone everybody sir madam support again guys folks friend friends so you "
    "for very much customer service agent i yes no ok okay bye goodbye great perfect mr mrs ms miss dr "
    "from to the and in".split()
)
CUE_SCORE = 0.9  # above the NER's 0.85: Presidio keeps the cue detection of a span both find


class AddressedNameRecognizer(RegexRecognizer):
    """A capitalised name right after a greeting or thanks, before a sign-off's end, or in a
    self-introduction ("This is Sam from ...", "Sam here from ..."): NER misses many single first
    names in these slots, and agents' names are said mostly there."""

    def __init__(self) -> None:
        super().__init__("PERSON", _ADDRESSED_RE, "AddressedNameRecognizer", score=CUE_SCORE)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            group = next(g for g in _GROUPS if match.group(g))
            words = match.group(group).split()
            if words[0].lower() in _NOT_ADDRESSED:
                continue
            yield match.start(group), match.end(group)


_CUES = (NameCueRecognizer(), AddressedNameRecognizer())


def cue_name_spans(text: str) -> list[tuple[int, int]]:
    """Where a name slot holds a name, by the cue recognisers alone (no NER)."""
    return [span for recognizer in _CUES for span in recognizer.spans(text)]


class IdPatternRecognizer(EntityRecognizer, IdContext):
    """Every match of every id pattern (`guideminer.ingest.pii_ids`), as ``ID_CANDIDATE`` tagged
    with the pattern's name; `context_near` decides, per conversation, whether it is an id."""

    def __init__(self, patterns: Iterable[IdPattern]) -> None:
        IdContext.__init__(self, patterns)
        EntityRecognizer.__init__(self, supported_entities=[ID_CANDIDATE], name="IdPatternRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        # one result per span, naming every pattern that matched it (Presidio keeps one of
        # several equal results, which would lose the other patterns' context words)
        names: dict[tuple[int, int], list[str]] = {}
        for pattern in self.patterns:
            for match in pattern.compiled.finditer(text):
                names.setdefault((match.start(), match.end()), []).append(pattern.name)
        return [RecognizerResult(ID_CANDIDATE, start, end, 0.6, recognition_metadata={"id_patterns": found})
                for (start, end), found in names.items()]
