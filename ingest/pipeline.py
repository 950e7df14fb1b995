"""`ingest_paths`: read exports, quarantine what is bad, write the workspace tables.

Streaming by design: readers are generators, accepted conversations are buffered only up to
`batch_size` and then written as a row group, so memory stays flat whatever the input size
(the per-run id -> hash map is the one thing that grows, by ~100 bytes per conversation).
Every record read ends in exactly one of: written, quarantined, skipped as identical.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

import pyarrow as pa

from guideminer.ingest.normalize import (
    DEFAULT_MAX_TURN_CHARS,
    NormalConversation,
    RecordError,
    Redactor,
    cached_redactor,
    canonical_json,
    normalize,
)
from guideminer.ingest.pii_redactor import ConversationRedactor, PlainScopes, read_ahead
from guideminer.ingest.pii_settings import PiiSettings, save_settings
from guideminer.ingest.readers import ColumnMapping, NotConversationFile, ReaderOptions, get_reader, sniff_format
from guideminer.ingest.readers.base import Location, RawConversation, ReaderItem, RawSource, Rejection
from guideminer.ingest.report import IngestReport, SkippedFile
from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, TURNS_SCHEMA, WORKSPACE_FILES
from guideminer.ingest.workspace import (
    PartWriter,
    QuarantineLog,
    WorkspaceLock,
    conversation_hashes,
    prepare_workspace,
    write_ingest_report,
)

DEFAULT_BATCH_SIZE = 5_000
UNREADABLE_FILE_ERRORS: tuple[type[Exception], ...] = (OSError, csv.Error, pa.ArrowException, UnicodeError)


class IngestProgress(Protocol):
    """Where a long run reports progress (the CLI draws a rich bar; tests pass nothing)."""

    def file_started(self, path: Path, index: int, total: int) -> None: ...

    def records_read(self, count: int) -> None: ...


def discover_files(paths: Iterable[Path | str], workspace: Path) -> tuple[list[Path], list[SkippedFile]]:
    """(input files, files left out with why). A file named explicitly is always read;
    directories are walked recursively in sorted order, leaving out hidden files and files
    inside the workspace (re-reading our own output would be nonsense), which are reported."""
    found: list[Path] = []
    left_out: list[SkippedFile] = []
    workspace = workspace.resolve()
    for given in paths:
        path = Path(given).resolve()
        if not path.exists():
            raise FileNotFoundError(f"input not found: {given}")
        if path.is_file():
            found.append(path)
            continue
        for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in candidate.relative_to(path.parent).parts):
                continue  # hidden files (.git, editor swap files) are never data
            if workspace in candidate.parents:
                left_out.append(SkippedFile(file=str(candidate), reason="inside the output workspace"))
            else:
                found.append(candidate)
    return list(dict.fromkeys(found)), left_out


def raw_text(source: RawSource) -> tuple[str, str]:
    """The quarantined record as text plus how it was rendered: the line as read, undecodable
    bytes with \\xNN escapes, or the parsed record re-serialised as JSON."""
    if isinstance(source, str):
        return source.rstrip("\r\n"), "text"
    if isinstance(source, bytes):
        return source.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace"), "bytes (invalid UTF-8 as \\xNN)"
    return canonical_json(source), "json"


@dataclass
class _Run:
    """Mutable state of one ingest run."""

    workspace: Path
    max_turn_chars: int
    redactor: ConversationRedactor | None
    batch_size: int
    conversations: PartWriter
    turns: PartWriter
    quarantine: QuarantineLog
    known_hashes: dict[str, str]
    first_seen: dict[str, Location] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    conversation_rows: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n in CONVERSATIONS_SCHEMA.names})
    turn_rows: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n in TURNS_SCHEMA.names})
    started: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def reject(self, location: Location, reason: str, detail: str, source: RawSource, conversation_id: Any = None) -> None:
        text, kind = raw_text(source)
        if self.redactor is not None:
            text, found = self.redactor(text)
            self.redactions.update(found)
        entry = {
            "ingested_at": self.started,
            "file": location.file,
            "line": location.line,
            "record": location.record,
            "conversation_id": conversation_id if isinstance(conversation_id, (str, int)) else None,
            "reason": reason,
            "detail": detail,
            "raw_kind": kind,
            "raw": text,
        }
        self.quarantine.append(entry)
        self.counts["quarantined"] += 1
        self.quarantined_by_reason[reason] += 1

    def accept(self, raw: RawConversation, conversation: NormalConversation) -> None:
        conversation_id = conversation.conversation_id
        if conversation_id in self.known_hashes:
            if self.known_hashes[conversation_id] == conversation.content_hash:
                self.counts["skipped_identical"] += 1
                return
            where = f"first seen at {self.first_seen[conversation_id]}" if conversation_id in self.first_seen else "already in the workspace"
            detail = f"conversation_id {conversation_id!r} {where} with different content"
            self.reject(raw.location, "duplicate conversation_id", detail, raw.source, conversation_id)
            return
        self.known_hashes[conversation_id] = conversation.content_hash
        self.first_seen[conversation_id] = raw.location
        self.redactions.update(conversation.redactions)
        self.excluded.update(raw.excluded)
        self._buffer(raw.location, conversation)
        if len(self.conversation_rows["conversation_id"]) >= self.batch_size:
            self.flush()

    def _buffer(self, location: Location, conversation: NormalConversation) -> None:
        rows = self.conversation_rows
        rows["conversation_id"].append(conversation.conversation_id)
        rows["n_turns"].append(len(conversation.turns))
        rows["metadata"].append(canonical_json(conversation.metadata))
        rows["content_hash"].append(conversation.content_hash)
        rows["source_file"].append(location.file)
        rows["source_line"].append(location.line)
        turns = self.turn_rows
        for index, turn in enumerate(conversation.turns):
            turns["conversation_id"].append(conversation.conversation_id)
            turns["turn_index"].append(index)
            turns["role"].append(turn.role)
            turns["text"].append(turn.text)
            turns["timestamp"].append(turn.timestamp)
            turns["metadata"].append(canonical_json(turn.metadata))
        self.counts["conversations_written"] += 1
        self.counts["turns_written"] += len(conversation.turns)

    def flush(self) -> None:
        """Write the buffered batch as one row group per table."""
        if not self.conversation_rows["conversation_id"]:
            return
        self.turns.write(self.turn_rows)
        self.conversations.write(self.conversation_rows)
        self.conversation_rows = {n: [] for n in CONVERSATIONS_SCHEMA.names}
        self.turn_rows = {n: [] for n in TURNS_SCHEMA.names}

    def _scoped_redactor(self, item: RawConversation) -> Redactor | None:
        """The redactor for one conversation: its turns analysed together, one numbering."""
        return None if self.redactor is None else self.redactor.scope(_turn_texts(item))

    def handle(self, item: ReaderItem) -> None:
        """Route one reader record to exactly one outcome."""
        self.counts["records_read"] += 1
        if isinstance(item, Rejection):
            self.reject(item.location, item.reason, item.detail, item.source)
            return
        try:
            conversation = normalize(item, self.max_turn_chars, self._scoped_redactor(item))
        except RecordError as error:
            self.reject(item.location, error.reason, error.detail, item.source, item.payload.get("conversation_id"))
            return
        self.accept(item, conversation)


def _turn_texts(item: ReaderItem) -> list[str]:
    """The strings of a record to analyse in its read-ahead window: the turn texts in order (the
    redactor takes each previous turn as context), then every other string of the record (turn and
    conversation metadata are redacted too; analysed one by one, their NER would not be batched)."""
    if not isinstance(item, RawConversation):
        return []
    turns = item.payload.get("turns")
    texts = [t.get("text") for t in turns if isinstance(t, dict)] if isinstance(turns, list) else []
    texts = [text for text in texts if isinstance(text, str)]
    seen = set(texts)
    # a value a turn says verbatim is judged from that turn (PiiRedactor's _as_said), not analysed
    return texts + [value for value in _strings(item.payload) if value not in seen and not any(value in t for t in texts)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _default_redactor(settings: PiiSettings | None, processes: int) -> ConversationRedactor:
    from guideminer.ingest.pii_redactor import default_pii_redactor

    return default_pii_redactor(settings, processes)


def _conversation_redactor(redactor: Redactor | ConversationRedactor | None, settings: PiiSettings | None,
                           processes: int = 1) -> ConversationRedactor:
    """A given per-string redactor (tests' fakes, the regex-only `redact_text`) is memoised and
    used for every conversation alike; a `ConversationRedactor` numbers per conversation."""
    if redactor is None:
        return _default_redactor(settings, processes)
    if isinstance(redactor, ConversationRedactor):
        return redactor
    return PlainScopes(cached_redactor(redactor))


def _file_items(path: Path, fmt: str, options: ReaderOptions) -> tuple[str | None, Iterator[ReaderItem] | None, str | None]:
    """(format, records, None) for a readable file or (format, None, skip reason) otherwise."""
    name = sniff_format(path) if fmt == "auto" else fmt
    if name is None:
        return None, None, "format not recognised from extension and keys; pass --format"
    return name, get_reader(name)(path, options), None


def _read_files(run: _Run, files: list[Path], fmt: str, options: ReaderOptions, progress: IngestProgress | None) -> tuple[Counter[str], list[SkippedFile]]:
    by_format: Counter[str] = Counter()
    skipped: list[SkippedFile] = []
    for index, path in enumerate(files):
        if progress is not None:
            progress.file_started(path, index, len(files))
        name, items, why = _file_items(path, fmt, options)
        if items is None:
            skipped.append(SkippedFile(file=str(path), reason=why or "unreadable"))
            continue
        read_before = run.counts["records_read"]
        try:
            if run.redactor is not None:
                items = read_ahead(items, run.redactor, _turn_texts)
            for item in items:
                run.handle(item)
                if progress is not None and run.counts["records_read"] % 1000 == 0:
                    progress.records_read(run.counts["records_read"])
        except NotConversationFile as exc:
            skipped.append(SkippedFile(file=str(path), reason=str(exc)))
            continue
        except UNREADABLE_FILE_ERRORS as exc:
            # A corrupt file is one quarantined record, not a crash of the whole run.
            done = run.counts["records_read"] - read_before
            detail = f"{type(exc).__name__}: {exc} (after {done} records of this file)"
            run.handle(Rejection(Location(str(path)), "unreadable file", "", detail))
        by_format[name or fmt] += 1
    return by_format, skipped


def ingest_paths(
    paths: Iterable[Path | str],
    workspace: Path | str,
    fmt: str = "auto",
    redact: bool = True,
    *,
    columns: ColumnMapping | None = None,
    max_turn_chars: int = DEFAULT_MAX_TURN_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    redactor: Redactor | ConversationRedactor | None = None,
    pii: PiiSettings | None = None,
    redact_processes: int = 1,
    progress: IngestProgress | None = None,
) -> IngestReport:
    """Ingest files/directories into `workspace`; returns (and writes) the run's report.

    `redact=False` stores text as given; otherwise `redactor` (default: Presidio with the packaged
    spaCy NER and the call recognisers, `guideminer.ingest.pii_redactor`) is applied to turn text, to every string in turn
    and conversation metadata, and to quarantined raw records before anything is written.
    `pii`: the deployment's extra id patterns and allowed terms for the default redactor; they
    are kept in WORKSPACE/pii_settings.json so later audits judge with the same recognisers.
    `redact_processes` > 1 runs the default redactor's analysis on a pool of worker processes.
    """
    if fmt != "auto":
        get_reader(fmt)  # fail on a bad format name before touching the workspace
    started = time.perf_counter()
    paths = list(paths)
    workspace = Path(workspace)
    files, left_out = discover_files(paths, workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    active_redactor = _conversation_redactor(redactor, pii, redact_processes) if redact else None
    with WorkspaceLock(workspace):
        prepare_workspace(workspace)
        if redact and redactor is None:
            save_settings(workspace, pii or PiiSettings())
        run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid4().hex[:8]
        run = _Run(
            workspace=workspace,
            max_turn_chars=max_turn_chars,
            redactor=active_redactor,
            batch_size=batch_size,
            conversations=PartWriter(workspace, "conversations", CONVERSATIONS_SCHEMA, run_id),
            turns=PartWriter(workspace, "turns", TURNS_SCHEMA, run_id),
            quarantine=QuarantineLog(workspace),
            known_hashes=conversation_hashes(workspace),
        )
        try:
            by_format, skipped = _read_files(run, files, fmt, ReaderOptions(columns=columns or ColumnMapping()), progress)
            run.flush()
        except BaseException:
            run.turns.abort()
            run.conversations.abort()
            raise
        finally:
            run.quarantine.close()
        run.turns.commit()
        run.conversations.commit()
        report = _report(run, files, paths, fmt, by_format, left_out + skipped, time.perf_counter() - started)
        write_ingest_report(workspace, report)
    return report


def _report(run: _Run, files: list[Path], paths: Iterable[Path | str], fmt: str, by_format: Counter[str], skipped: list[SkippedFile], seconds: float) -> IngestReport:
    return IngestReport(
        workspace=str(run.workspace),
        inputs=[str(p) for p in paths],
        format=fmt,
        redacted=run.redactor is not None,
        started_at=run.started,
        seconds=round(seconds, 3),
        files_read=sum(by_format.values()),
        files_by_format=dict(by_format),
        files_skipped=skipped,
        records_read=run.counts["records_read"],
        conversations_written=run.counts["conversations_written"],
        turns_written=run.counts["turns_written"],
        quarantined=run.counts["quarantined"],
        quarantined_by_reason=dict(run.quarantined_by_reason),
        skipped_identical=run.counts["skipped_identical"],
        excluded_turns_by_reason=dict(run.excluded),
        redactions_by_type=dict(run.redactions),
        max_turn_chars=run.max_turn_chars,
    )


__all__ = ["DEFAULT_BATCH_SIZE", "IngestProgress", "discover_files", "ingest_paths", "WORKSPACE_FILES"]
