"""What every reader yields, and the small parsing helpers several readers share.

Readers are plain generator functions `read(path, options) -> Iterator[RawConversation |
Rejection]`. They only translate one export shape into the canonical dict shape (role names
mapped, HTML turned into text); validation, limits, redaction, hashing and de-duplication happen
once, centrally, in `guideminer.ingest.normalize` and `guideminer.ingest.pipeline`, so every
format gets the same checks and the same quarantine reasons.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

# Raw source of a record for the quarantine: a decoded line, undecodable bytes, or a parsed
# JSON value / list of CSV rows (re-serialised as JSON when quarantined).
RawSource = str | bytes | Any


@dataclass(frozen=True)
class Location:
    """Where a record came from: `line` for line-based files (1-based), `record` for the index
    of an element in a JSON document array or a row in a Parquet file (0-based)."""

    file: str
    line: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.record is not None:
            return f"{self.file} record #{self.record}"
        return self.file


@dataclass
class RawConversation:
    """A conversation in canonical dict shape, not yet validated.

    `payload` has the keys of `guideminer.ingest.schema.Conversation` (conversation_id, turns,
    metadata); `excluded` counts parts the format says are not conversation turns (internal
    notes, assignment events) so the report can show them instead of dropping them silently.
    """

    location: Location
    payload: dict[str, Any]
    source: RawSource
    excluded: Counter[str] = field(default_factory=Counter)


@dataclass
class Rejection:
    """A record the reader could not even shape (bad JSON, bad bytes, missing structure).

    `reason` is a short stable category (the report counts by it); `detail` says exactly what
    is wrong with this record.
    """

    location: Location
    reason: str
    source: RawSource
    detail: str = ""


ReaderItem = RawConversation | Rejection


class NotConversationFile(Exception):
    """Raised by a reader (before yielding anything) for a file that legitimately holds no
    conversations, e.g. SGD's schema.json; the pipeline lists it under skipped files."""


@dataclass(frozen=True)
class ColumnMapping:
    """Column names and role values for one-row-per-turn tables (CSV / Parquet).

    Columns not named here become turn metadata, except `conversation_columns`, which are lifted
    (from the first row of each conversation) into conversation metadata.
    """

    conversation_id: str = "conversation_id"
    role: str = "role"
    text: str = "text"
    timestamp: str | None = "timestamp"
    turn_order: str | None = None
    conversation_columns: tuple[str, ...] = ()
    role_values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderOptions:
    """Options a reader may need; most readers need none."""

    columns: ColumnMapping = field(default_factory=ColumnMapping)


DEFAULT_OPTIONS = ReaderOptions()

# Role spellings seen across exports; anything else is kept verbatim so validation rejects it
# with the original value in the reason.
COMMON_ROLE_ALIASES: dict[str, str] = {
    "customer": "customer",
    "user": "customer",
    "client": "customer",
    "end-user": "customer",
    "agent": "agent",
    "assistant": "agent",
    "system": "system",
}


def map_role(value: Any, extra: Mapping[str, str] | None = None) -> Any:
    """Map a source role to a canonical one; unknown values pass through unchanged (and fail
    validation later, naming the value) rather than being guessed."""
    if not isinstance(value, str):
        return value
    key = value.strip()
    if extra and key in extra:
        return extra[key]
    return COMMON_ROLE_ALIASES.get(key.lower(), value)


def decode_line(raw: bytes) -> str | None:
    """UTF-8 decode one line; None when the bytes are not UTF-8 (the caller rejects it)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def iter_jsonl(path: Path) -> Iterator[tuple[Location, Any] | Rejection]:
    """Yield (location, parsed value) per non-blank line, or a Rejection for bad bytes/JSON.

    Reads bytes so one badly encoded line is quarantined instead of failing the whole file.
    """
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            location = Location(str(path), line=line_no)
            text = decode_line(raw)
            if text is None:
                yield Rejection(location, "not valid UTF-8", raw, "line is not valid UTF-8")
                continue
            if not text.strip():
                continue
            try:
                yield location, json.loads(text)
            except json.JSONDecodeError as exc:
                yield Rejection(location, "bad JSON", text, f"{exc.msg} at column {exc.colno}")


def load_json_document(path: Path) -> Any | Rejection:
    """Parse a whole JSON file (SGD, ABCD, Zendesk, Intercom exports are JSON documents)."""
    location = Location(str(path))
    raw = path.read_bytes()
    text = decode_line(raw)
    if text is None:
        return Rejection(location, "not valid UTF-8", raw, "file is not valid UTF-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(location, "bad JSON", text, f"{exc.msg} at line {exc.lineno} column {exc.colno}")


def iter_json_records(path: Path, list_keys: tuple[str, ...]) -> Iterator[tuple[Location, Any] | Rejection]:
    """Yield the records of a JSON export: a `.jsonl` file (one record per line), a JSON array,
    an object wrapping the array under one of `list_keys`, or a single record object."""
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        yield from iter_jsonl(path)
        return
    document = load_json_document(path)
    if isinstance(document, Rejection):
        yield document
        return
    records = document
    if isinstance(document, dict):
        key = next((k for k in list_keys if isinstance(document.get(k), list)), None)
        records = document[key] if key else [document]
    if not isinstance(records, list):
        yield Rejection(Location(str(path)), "unrecognised record shape", document, "expected a JSON array or object of records")
        return
    for index, record in enumerate(records):
        yield Location(str(path), record=index), record


class _TextExtractor(HTMLParser):
    """Collects text, turning block-level tags and <br> into line breaks."""

    BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"})
    SKIP_TAGS = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP_TAGS:
            self._skipping += 1
        elif tag in self.BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML message body (stdlib only): tags dropped, entities decoded, block
    elements as line breaks, runs of spaces and blank lines collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)


def records_with_key(records: Iterable, key: str, what: str) -> Iterator[tuple[Location, dict] | Rejection]:
    """(location, record) for every JSON object carrying `key`; rejections pass through, and any
    other record becomes a Rejection naming what was expected (`what`, e.g. "an SGD dialogue")."""
    for item in records:
        if isinstance(item, Rejection):
            yield item
            continue
        location, record = item
        if not isinstance(record, dict) or key not in record:
            yield Rejection(location, "unrecognised record shape", record, f"not {what} (no {key!r})")
            continue
        yield location, record

