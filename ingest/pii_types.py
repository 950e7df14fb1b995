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
INNER_CAPITAL_RE = re.compile(r"(?<![.!?:;\n→“\"(\[]\s)(?<![.!?:;\n→“\"(\[])(?<!^)\b[A-Z][A-Za-z'-]*[a-z][A-Za-z'-]*")


@dataclass(frozen=True)
class Found:
    """One raw detection: [start, end) of an entity type, with its recogniser's metadata."""

    start: int
    end: int
    entity: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
