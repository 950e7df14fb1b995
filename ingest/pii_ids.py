"""Configurable identifier patterns (member, policy, provider, claim ids...) from YAML.

The Presidio recogniser over them is `guideminer.ingest.pii_recognizers.IdPatternRecognizer`.

Ids have no checksum and look like order numbers, so each pattern carries context words; a match
becomes ``<ID>`` only when one of them is near (same turn before it, or the previous turn).
The defaults ship as package data (`pii_id_patterns.yaml`); a deployment adds its own file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


DEFAULT_ID_PATTERNS = "pii_id_patterns.yaml"


class IdPattern(BaseModel):
    """One identifier shape and the words that must be near it."""

    model_config = ConfigDict(frozen=True)

    name: str
    regex: str
    context: tuple[str, ...]

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    @field_validator("context")
    @classmethod
    def _has_context(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("an id pattern needs at least one context word (ids look like order numbers)")
        return tuple(word.lower() for word in value)

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex, re.IGNORECASE)

    @cached_property
    def context_re(self) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in self.context) + r")", re.IGNORECASE)


class IdPatternError(ValueError):
    """An id-patterns file that cannot be used; the message names the file and the entry."""


def load_id_patterns(path: Path | None = None) -> tuple[IdPattern, ...]:
    """The patterns of one YAML file (default: the shipped one)."""
    if path is None:
        text = resources.files("guideminer.ingest").joinpath(DEFAULT_ID_PATTERNS).read_text(encoding="utf-8")
        where = f"package data {DEFAULT_ID_PATTERNS}"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("patterns"), list):
        raise IdPatternError(f"{where}: expected a mapping with a 'patterns' list")
    patterns = []
    for index, entry in enumerate(document["patterns"]):
        try:
            patterns.append(IdPattern.model_validate(entry))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "entry"
            raise IdPatternError(f"{where}: patterns[{index}].{field}: {first['msg']}") from None
    return tuple(patterns)


def id_patterns(extra: Sequence[Path | IdPattern] = ()) -> tuple[IdPattern, ...]:
    """The shipped patterns followed by every pattern of the `extra` files (or given patterns)."""
    patterns = list(load_id_patterns())
    for item in extra:
        patterns.extend([item] if isinstance(item, IdPattern) else load_id_patterns(Path(item)))
    return tuple(patterns)


class IdContext:
    """Whether an id candidate's context words are near (kept free of Presidio: the main process
    of a redaction pool needs it without loading Presidio)."""

    def __init__(self, patterns: Iterable[IdPattern]) -> None:
        self.patterns = tuple(patterns)

    def context_near(self, pattern_names: Sequence[str], before: str) -> bool:
        """True when the text before the match (previous turn + this turn's start) has a cue
        of one of the patterns that matched it."""
        return any(p.context_re.search(before) for p in self.patterns if p.name in pattern_names)
