"""Scan a workspace's outputs (and agent specs) for personal data the redaction should have removed.

Why a separate pass: redaction happens once, at ingest, and everything downstream (proposals,
the report, the agent spec, traces) must be built from redacted text only. This audit is the
check of that promise: it reads every text-bearing output with the same recognisers ingest
used and lists each hit with file, field and a snippet. Placeholders (``<PERSON_1>``) are not
hits. Raw inputs stored inside a workspace (the demo writes its corpus into ``demo_corpus/``)
are inputs, not outputs, and are left out; so are binary caches (vectors, models) and the
redaction settings (`pii_settings.json`, configuration the audit itself is run with).

Each string is audited on its own, without the previous turn, so context-only types (a date
of birth answered in the next turn) are judged more strictly at ingest than here; the audit
can under-report those, never invent them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from guideminer.ingest.pii_settings import SETTINGS_FILE

TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".yaml", ".yml", ".html", ".htm", ".txt", ".md", ".csv"})
_TAG_RE = re.compile(r"<(?:script|style)\b.*?</(?:script|style)>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_BATCH = 512


@dataclass(frozen=True)
class AuditHit:
    """One detection in an output: where (file, field) and what (type, snippet)."""

    file: str
    field: str
    entity: str
    snippet: str


class SpanDetector(Protocol):
    """(start, end, type) of what would be redacted, per text (`PiiRedactor.detect`)."""

    def detect(self, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]: ...


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def html_text(document: str) -> str:
    """Visible text of an HTML page; entities are unescaped after tags are dropped, so an
    escaped placeholder (&lt;PERSON_1&gt;) stays a placeholder, not a tag."""
    return html.unescape(_TAG_RE.sub("\n", document))


def strings_of_file(path: Path) -> Iterator[tuple[str, str]]:
    """(field, text) of every string in one output file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for name in table.column_names:
            column = table.column(name)
            if not (str(column.type) in ("string", "large_string")):
                continue
            for row, value in enumerate(column.to_pylist()):
                if value:
                    yield f"{name}[{row}]", value
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if suffix == ".json":
        yield from _walk(json.loads(text), "")
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield from _walk(json.loads(line), f"line {number}")
    elif suffix in (".yaml", ".yml"):
        yield from _walk(yaml.safe_load(text), "")
    elif suffix in (".html", ".htm"):
        for number, line in enumerate(html_text(text).splitlines(), 1):
            if line.strip():
                yield f"text line {number}", line
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"line {number}", line


def workspace_outputs(workspace: Path) -> list[Path]:
    """Every output file of a workspace, leaving out the inputs its ingest report names."""
    workspace = Path(workspace).resolve()
    inputs: list[Path] = []
    report = workspace / "ingest_report.json"
    if report.is_file():
        inputs = [Path(p).resolve() for p in json.loads(report.read_text(encoding="utf-8")).get("inputs", [])]
    files = []
    for path in sorted(workspace.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(workspace).parts):
            continue
        if path.suffix.lower() not in TEXT_SUFFIXES | {".parquet"} or path == workspace / SETTINGS_FILE:
            continue
        if any(path == given or given in path.parents for given in inputs):
            continue
        files.append(path)
    return files


def _snippet(text: str, start: int, end: int, width: int = 40) -> str:
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return f"{'...' if start > width else ''}{before}[{text[start:end]}]{after}{'...' if end + width < len(text) else ''}"


def audit_files(files: Iterable[Path], detector: SpanDetector, root: Path | None = None) -> list[AuditHit]:
    """Every detection in `files`, batched through the detector."""
    hits: list[AuditHit] = []
    for path in files:
        name = str(path.relative_to(root)) if root is not None and root in path.parents else str(path)
        batch: list[tuple[str, str]] = []
        for item in strings_of_file(path):
            batch.append(item)
            if len(batch) >= _BATCH:
                hits.extend(_audit_batch(name, batch, detector))
                batch = []
        hits.extend(_audit_batch(name, batch, detector))
    return hits


def _audit_batch(name: str, batch: list[tuple[str, str]], detector: SpanDetector) -> list[AuditHit]:
    if not batch:
        return []
    found = detector.detect([text for _, text in batch])
    return [AuditHit(name, field, kind, _snippet(text, start, end))
            for (field, text), spans in zip(batch, found) for start, end, kind in spans]


def audit_workspace(workspace: Path, detector: SpanDetector, specs: Sequence[Path] = (), under: str | None = None) -> list[AuditHit]:
    """Audit the workspace's outputs (only those below `under`, e.g. "mining", if given) and specs."""
    workspace = Path(workspace).resolve()
    files = workspace_outputs(workspace)
    if under is not None:
        files = [f for f in files if (workspace / under) in f.parents]
    return audit_files(files + [Path(s).resolve() for s in specs], detector, root=workspace)
