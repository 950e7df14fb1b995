"""The records and shared patterns of the PII modules (kept free of Presidio imports, so
importing the ingest pipeline or the CLI does not load Presidio or spaCy)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DATE_CANDIDATE = "DATE_CANDIDATE"
ID_CANDIDATE = "ID_CANDIDATE"
PHONE_CANDIDATE = "PHONE_CANDIDATE"

# A capitalised word that does not open the text, a sentence or a quoted utterance: where names
# are for the NER (a sentence-initial capital says nothing). "→" separates turns in the report.
# "I'll" is not a candidate; "O'Brien" is (through "Brien"). Within one sentence of
# `pii_engine.sentences` (which does not end at "Ms." or "J."), SENTENCE_INNER_CAPITAL_RE.
_UPPER, _LOWER, _LETTER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ", "A-Za-zÀ-ÖØ-öø-ÿ'-"
_CAPITALISED = rf"\b[{_UPPER}](?!')[{_LETTER}]*[{_LOWER}][{_LETTER}]*"
INNER_CAPITAL_RE = re.compile(r"(?<![.!?:;\n→“\"(\[]\s)(?<![.!?:;\n→“\"(\[])(?<!^)" + _CAPITALISED)
SENTENCE_INNER_CAPITAL_RE = re.compile(r"(?<![!?:;\n→“\"(\[]\s)(?<![!?:;\n→“\"(\[])(?<!^)" + _CAPITALISED)
# A capitalised first word followed by a comma that is not a discourse opener: a vocative
# ("Janet, can I speak to your boss?"), which no later capital reveals.
OPENING_NAME_RE = re.compile(r"^\W*(" + _CAPITALISED + r"),")
OPENERS = frozenset(
    "yes yeah yep no nope ok okay sure thanks thank hi hello hey dear well so oh ah um uh hmm great perfect "
    "sorry unfortunately alright right fine good also however actually basically honestly please now then "
    "again anyway first second third finally otherwise meanwhile besides still yet sadly luckily hopefully "
    "ideally personally obviously apparently instead overall sometimes today yesterday tomorrow currently "
    "recently lately here there wow cool awesome excellent lovely brilliant cheers regards best sincerely "
    "morning afternoon evening understood noted got true indeed absolutely certainly definitely exactly "
    "correct agreed anything everything nothing something".split()
)

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


@contextmanager
def modules_hidden(*names: str) -> Iterator[None]:
    """Imports inside the block see `names` as not installed (unless already imported). Presidio
    imports torch and transformers when they are installed, for NLP engines we do not use,
    costing ~10 s and ~350 MiB; it handles their absence. Afterwards they import normally (the
    embedder may need torch later in the same process)."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
