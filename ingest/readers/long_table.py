"""One-row-per-turn tables (CSV and Parquet): conversation_id, role, text, timestamp, ...

Rows are streamed and grouped into conversations by runs of the same conversation id, so a
file of any size is read in bounded memory. This needs the rows of one conversation to be
contiguous (as every export we know writes them); an id that comes back after other ids is
quarantined with a reason telling the user to sort the file, never merged or dropped silently.
A bad row (undecodable bytes, bad turn order) rejects its whole conversation: writing the
conversation without that turn would silently change what was said.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    ColumnMapping,
    Location,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    map_role,
)

Row = tuple[Location, dict[str, Any]]


def jsonable(value: Any) -> Any:
    """Values from Parquet/CSV in a JSON-serialisable form (dates as ISO-8601; bytes that were
    not UTF-8, kept by surrogateescape, shown as \\xNN so the quarantine can be written)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _has_bad_bytes(row: dict[str, Any]) -> bool:
    """True when a CSV row read with surrogateescape held bytes that are not UTF-8."""
    return any(isinstance(v, str) and any("\udc80" <= ch <= "\udcff" for ch in v) for v in row.values())


def _turn(row: dict[str, Any], columns: ColumnMapping, skip: set[str]) -> dict[str, Any]:
    timestamp = row.get(columns.timestamp) if columns.timestamp else None
    return {
        "role": map_role(row.get(columns.role), columns.role_values),
        "text": row.get(columns.text),
        "timestamp": jsonable(timestamp) if timestamp not in ("", None) else None,
        "metadata": {k: jsonable(v) for k, v in row.items() if k not in skip and v is not None},
    }


def _order_key(row: dict[str, Any], column: str) -> float:
    return float(row[column])


def group_to_item(rows: list[Row], columns: ColumnMapping) -> ReaderItem:
    """One conversation from its contiguous rows, or a Rejection naming the bad row."""
    location = rows[0][0]
    source = [jsonable(row) for _, row in rows]
    for row_location, row in rows:
        if _has_bad_bytes(row):
            return Rejection(location, "not valid UTF-8", source, f"row at {row_location} is not valid UTF-8")
    dicts = [row for _, row in rows]
    if columns.turn_order:
        try:
            dicts.sort(key=lambda row: _order_key(row, columns.turn_order))  # type: ignore[arg-type]
        except (TypeError, ValueError, KeyError):
            return Rejection(location, "invalid turn order", source, f"turn order column {columns.turn_order!r} is not numeric in every row")
    named = {columns.conversation_id, columns.role, columns.text, columns.timestamp, columns.turn_order}
    skip = {c for c in named if c} | set(columns.conversation_columns)
    metadata = {c: jsonable(dicts[0].get(c)) for c in columns.conversation_columns}
    payload = {
        "conversation_id": dicts[0].get(columns.conversation_id),
        "turns": [_turn(row, columns, skip) for row in dicts],
        "metadata": metadata,
    }
    return RawConversation(location, payload, source=source)


def group_rows(rows: Iterable[Row | Rejection], columns: ColumnMapping) -> Iterator[ReaderItem]:
    """Group contiguous rows by conversation id; quarantine ids that reappear later."""
    current: list[Row] = []
    seen: dict[Any, Location] = {}
    for item in rows:
        if isinstance(item, Rejection):
            yield item
            continue
        location, row = item
        conversation_id = row.get(columns.conversation_id)
        if conversation_id in (None, ""):
            yield Rejection(location, "missing field", jsonable(row), f"row has no {columns.conversation_id!r} value")
            continue
        if current and current[0][1].get(columns.conversation_id) != conversation_id:
            yield group_to_item(current, columns)
            current = []
        if not current and conversation_id in seen:
            first = seen[conversation_id]
            yield Rejection(location, "rows not contiguous", jsonable(row), f"rows of conversation {conversation_id!r} come back after other conversations (its first block starts at {first}); sort the file by conversation id")
            continue
        if not current:
            seen[conversation_id] = location
        current.append((location, row))
    if current:
        yield group_to_item(current, columns)


def _missing_columns(found: Iterable[str], columns: ColumnMapping) -> list[str]:
    required = [columns.conversation_id, columns.role, columns.text]
    return [c for c in required if c not in set(found)]


def _csv_rows(path: Path, columns: ColumnMapping) -> Iterator[Row | Rejection]:
    # surrogateescape: undecodable bytes survive as markers so only their rows are rejected.
    with io.open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        missing = _missing_columns(reader.fieldnames or [], columns)
        if missing:
            yield Rejection(Location(str(path), line=1), "missing columns", reader.fieldnames, f"missing column(s) {missing}; found {reader.fieldnames}; see the column-mapping options")
            return
        start = 2
        for row in reader:
            location = Location(str(path), line=start)
            start = reader.line_num + 1
            if None in row:  # more fields than the header
                yield Rejection(location, "malformed row", jsonable(row), "row has more fields than the header")
                continue
            yield location, row


def read_csv(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per run of rows with the same conversation id."""
    yield from group_rows(_csv_rows(path, options.columns), options.columns)


def _parquet_rows(path: Path, columns: ColumnMapping) -> Iterator[Row | Rejection]:
    parquet = pq.ParquetFile(path)
    missing = _missing_columns(parquet.schema_arrow.names, columns)
    if missing:
        yield Rejection(Location(str(path)), "missing columns", parquet.schema_arrow.names, f"missing column(s) {missing}; found {parquet.schema_arrow.names}; see the column-mapping options")
        return
    index = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            yield Location(str(path), record=index), row
            index += 1


def read_parquet(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per run of rows with the same conversation id."""
    yield from group_rows(_parquet_rows(path, options.columns), options.columns)
