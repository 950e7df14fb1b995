"""The records and shared patterns of the PII modules (kept free of Presidio imports, so
importing the ingest pipeline or the CLI does not load Presidio or spaCy)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DATE_CANDIDATE = "DATE_CANDIDATE"
ID_CANDIDATE = "ID_CANDIDATE"

# A capitalised word that does not open the text, a sentence or a quoted utterance: where names
# are for the NER (a sentence-initial capital says nothing). "→" separates turns in the report.
# "I'll" is not a candidate; "O'Brien" is (through "Brien").
_UPPER, _LOWER, _LETTER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ", "A-Za-zÀ-ÖØ-öø-ÿ'-"
_NOT_AFTER = r"(?<![.!?:;\n→“\"(\[]\s)(?<![.!?:;\n→“\"(\[])(?<!^)"
_CAPITALISED = rf"\b[{_UPPER}](?!')[{_LETTER}]*[{_LOWER}][{_LETTER}]*"
INNER_CAPITAL_RE = re.compile(_NOT_AFTER + _CAPITALISED)
# A run of capitalised words ("Amber Run Brooklyn", "San Francisco"), for allowed phrases.
CAPITAL_RUN_RE = re.compile(rf"{_CAPITALISED}(?:[ ]{_CAPITALISED})*")


@dataclass(frozen=True)
class Found:
    """One raw detection: [start, end) of an entity type, with its recogniser's metadata."""

    start: int
    end: int
    entity: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


def capital_runs(text: str) -> list[tuple[int, int]]:
    """[start, end) of each run of capitalised words, without a first word that is capitalised
    only because it opens a sentence ("Call Diego" -> "Diego", "in San Diego" -> "San Diego")."""
    runs = []
    for match in CAPITAL_RUN_RE.finditer(text):
        start = match.start()
        if not INNER_CAPITAL_RE.match(text, start):
            space = text.find(" ", start, match.end())
            if space < 0:
                continue
            start = space + 1
        runs.append((start, match.end()))
    return runs
