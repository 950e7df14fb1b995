"""The records the PII modules pass between them (kept free of Presidio imports, so importing
the ingest pipeline or the CLI does not load Presidio or spaCy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATE_CANDIDATE = "DATE_CANDIDATE"
ID_CANDIDATE = "ID_CANDIDATE"


@dataclass(frozen=True)
class Found:
    """One raw detection: [start, end) of an entity type, with its recogniser's metadata."""

    start: int
    end: int
    entity: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
