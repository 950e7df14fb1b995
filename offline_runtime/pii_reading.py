"""Live text read as mining read it: personal data found by the ingest PII recogniser.

Why: everything the spec holds was mined from redacted transcripts ("yes its <PERSON_3>
<PERSON_3>", "my email is <EMAIL>"), while a live customer types "yes its Smith S M I T H".
Two uses of one recogniser (a spaCy model, about a second to load, then a few milliseconds per
message; loaded on first use):
- `RedactingEmbedder`: the router and the condition scorer embed a message with its personal
  data as placeholders, as the mined examples read (a spelled name matched no read-back rule
  before: the words of the name, not its being a name, dominated the vector);
- `PiiEchoes`: the EchoFinder that tells a read-back template ("So that's {person} spelled
  {person_2}, correct?") what the customer just gave (engine/echoes.py); a spelled name counts
  as a name, as ingest redacts it. Redacted text (replays) keeps its placeholders, found as the
  engine's default finder finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from guideminer.engine.echoes import PLACEHOLDER, PlaceholderEchoes
from guideminer.models.embedder import TextEmbedder

KIND_OF = {"SPELLED": "PERSON", "CUED_PHONE": "PHONE"}  # as ingest's placeholders name them


def _default_redactor() -> Any:
    from guideminer.ingest.pii_redactor import default_pii_redactor

    return default_pii_redactor()


class LazyRedactor:
    """The ingest redactor, built on first use (shared by the reader and the echo finder)."""

    def __init__(self, factory: Callable[[], Any] = _default_redactor) -> None:
        self._factory, self._redactor = factory, None

    def get(self) -> Any:
        if self._redactor is None:
            self._redactor = self._factory()
        return self._redactor


class RedactingEmbedder:
    """TextEmbedder wrapper: personal data as placeholders before embedding. Same `model_id`
    and dimension: the same model's space (distilled heads trained on mined, redacted texts
    stay valid)."""

    def __init__(self, embedder: TextEmbedder, redactor: LazyRedactor | None = None) -> None:
        self.inner, self._redactor = embedder, redactor or LazyRedactor()
        self.model_id, self.dimension = embedder.model_id, embedder.dimension

    def read(self, text: str) -> str:
        return self._redactor.get()(text)[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed([self.read(t) for t in texts])


class PiiEchoes:
    """EchoFinder: placeholders of redacted text, else the PII recogniser's spans, in text order."""

    model_id = "pii-echoes"

    def __init__(self, redactor: LazyRedactor | None = None) -> None:
        self._redactor = redactor or LazyRedactor()
        self._placeholders = PlaceholderEchoes()

    def spans(self, text: str) -> list[tuple[str, str]]:
        if PLACEHOLDER.search(text):  # redacted text: its placeholders are what was said
            return self._placeholders.spans(text)
        redactor = self._redactor.get()
        (spans,) = redactor.detect([text])
        spans = sorted(spans)
        numbered = [m.group(0)[1:-1] for m in PLACEHOLDER.finditer(redactor(text)[0])]
        if len(numbered) == len(spans):  # the redactor's numbering: one entity, one number (a name and its spelling)
            return [(kind, text[start:end]) for (start, end, _), kind in zip(spans, numbered, strict=True)]
        return [(KIND_OF.get(kind, kind), text[start:end]) for start, end, kind in spans]
