"""What a deployment adds to the shipped redaction (id patterns, allowed terms), kept with the workspace.

Why stored: redaction happens at ingest, but `mine`, `export`, the demo and `guideminer audit-pii`
judge the outputs later with "the same recognisers". If the audit did not know the deployment's
id patterns it would miss its ids; if it did not know its allowed terms it would flag the
company name in every report line. Ingest writes `WS/pii_settings.json` (the extra id-pattern
entries and allowed terms themselves, not paths that may move); every audit of the workspace
reads it. The shipped defaults are not copied: they are always included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS_FILE = "pii_settings.json"


@dataclass(frozen=True)
class PiiSettings:
    """Hashable (the built redactor is cached per settings)."""

    id_patterns: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (name, regex, context) beyond the shipped ones
    allow_terms: tuple[str, ...] = ()  # beyond the shipped ones

    @classmethod
    def from_files(cls, id_pattern_files: Sequence[Path] = (), allow_term_files: Sequence[Path] = ()) -> PiiSettings:
        """Read the deployment's files now (errors name the file and entry)."""
        from guideminer.ingest.pii_allow import load_allow_terms
        from guideminer.ingest.pii_ids import load_id_patterns

        patterns = [(p.name, p.regex, p.context) for path in id_pattern_files for p in load_id_patterns(Path(path))]
        terms = [t for path in allow_term_files for t in load_allow_terms(Path(path))]
        return cls(tuple(patterns), tuple(dict.fromkeys(terms)))

    def with_terms(self, terms: Sequence[str]) -> PiiSettings:
        return PiiSettings(self.id_patterns, tuple(dict.fromkeys((*self.allow_terms, *terms))))

    def to_json(self) -> dict[str, Any]:
        return {"id_patterns": [{"name": n, "regex": r, "context": list(c)} for n, r, c in self.id_patterns],
                "allow_terms": list(self.allow_terms)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> PiiSettings:
        patterns = tuple((p["name"], p["regex"], tuple(p["context"])) for p in document.get("id_patterns", []))
        return cls(patterns, tuple(document.get("allow_terms", [])))


def save_settings(workspace: Path, settings: PiiSettings) -> Path:
    path = Path(workspace) / SETTINGS_FILE
    path.write_text(json.dumps(settings.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def workspace_settings(workspace: Path) -> PiiSettings:
    """The settings the workspace was ingested with (the shipped defaults alone if none)."""
    path = Path(workspace) / SETTINGS_FILE
    if not path.is_file():
        return PiiSettings()
    return PiiSettings.from_json(json.loads(path.read_text(encoding="utf-8")))
