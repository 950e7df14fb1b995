"""The ingest workspace on disk, and the read API every later stage uses.

Layout (names from `guideminer.ingest.schema.WORKSPACE_FILES`):

    WORKSPACE/conversations.parquet/part-<run>.parquet   one row per conversation
    WORKSPACE/turns.parquet/part-<run>.parquet           one row per turn
    WORKSPACE/quarantine.jsonl                           every rejected record, appended
    WORKSPACE/ingest_report.json                         the latest run's IngestReport

Each table is a directory of Parquet parts, one part per ingest run: incremental runs append a
part instead of rewriting everything. A part is written under a hidden temporary name and
renamed when the run finishes (turns first, then conversations), so a crashed run leaves no
half-written part that readers would pick up. Always read through `scan_*` / `read_*` below:
they return one table regardless of how many parts there are.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from guideminer.ingest.report import IngestReport
from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, ROLES, TURNS_SCHEMA, WORKSPACE_FILES

LOCK_NAME = ".ingest.lock"


def table_dir(workspace: Path | str, table: str) -> Path:
    """Directory holding the parts of `table` ("conversations" or "turns")."""
    return Path(workspace) / WORKSPACE_FILES[table]


def part_files(workspace: Path | str, table: str) -> list[Path]:
    """Committed parts of a table, oldest first; raises if the workspace was never ingested."""
    directory = table_dir(workspace, table)
    if not directory.is_dir():
        raise FileNotFoundError(f"no ingested workspace at {workspace} (missing {directory}); run `guideminer ingest` first")
    return sorted(p for p in directory.glob("part-*.parquet") if p.is_file())


def _scan(workspace: Path | str, table: str, schema: pa.Schema) -> pl.LazyFrame:
    parts = part_files(workspace, table)
    if not parts:
        return pl.from_arrow(schema.empty_table()).lazy()  # type: ignore[union-attr]
    return pl.scan_parquet(parts)


def scan_conversations(workspace: Path | str) -> pl.LazyFrame:
    """All conversations (CONVERSATIONS_SCHEMA); `metadata` is a JSON object string."""
    return _scan(workspace, "conversations", CONVERSATIONS_SCHEMA)


def read_conversations(workspace: Path | str) -> pl.DataFrame:
    """`scan_conversations(...).collect()`."""
    return scan_conversations(workspace).collect()


def scan_turns(workspace: Path | str) -> pl.LazyFrame:
    """All turns (TURNS_SCHEMA) with `role` as `pl.Enum(ROLES)`, so every part compares and
    groups alike; decode metadata with `pl.col("metadata").str.json_decode()` when needed."""
    return _scan(workspace, "turns", TURNS_SCHEMA).with_columns(pl.col("role").cast(pl.Enum(list(ROLES))))


def read_turns(workspace: Path | str) -> pl.DataFrame:
    """`scan_turns(...).collect()`."""
    return scan_turns(workspace).collect()


def conversation_hashes(workspace: Path | str) -> dict[str, str]:
    """conversation_id -> content_hash of everything already stored (empty for a new one)."""
    if not table_dir(workspace, "conversations").is_dir():
        return {}
    frame = scan_conversations(workspace).select("conversation_id", "content_hash").collect()
    return dict(zip(frame["conversation_id"].to_list(), frame["content_hash"].to_list()))


def iter_quarantine(workspace: Path | str) -> Iterator[dict[str, Any]]:
    """Every quarantine entry written so far, in order."""
    path = Path(workspace) / WORKSPACE_FILES["quarantine"]
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_ingest_report(workspace: Path | str) -> IngestReport:
    """The report of the latest ingest run."""
    path = Path(workspace) / WORKSPACE_FILES["ingest_report"]
    return IngestReport.model_validate_json(path.read_text(encoding="utf-8"))


def write_ingest_report(workspace: Path | str, report: IngestReport) -> None:
    path = Path(workspace) / WORKSPACE_FILES["ingest_report"]
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


class PartWriter:
    """Streams record batches of one table into a hidden file; `commit` makes it a part."""

    def __init__(self, workspace: Path, table: str, schema: pa.Schema, run_id: str) -> None:
        self.directory = table_dir(workspace, table)
        self.schema = schema
        self.final = self.directory / f"part-{run_id}.parquet"
        self.temporary = self.directory / f".part-{run_id}.parquet.tmp"
        self._writer: pq.ParquetWriter | None = None

    def write(self, columns: dict[str, list[Any]]) -> None:
        table = pa.Table.from_pydict(columns, schema=self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.temporary, self.schema, compression="zstd")
        self._writer.write_table(table)

    def commit(self) -> Path | None:
        """Close and publish the part; None when nothing was written (no empty parts)."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        self.temporary.replace(self.final)
        return self.final

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.temporary.unlink(missing_ok=True)


class QuarantineLog:
    """Appends rejected records to quarantine.jsonl, each at most once across runs.

    Every entry carries `key`, a sha256 of its location, reason and raw text (not the detail,
    which may say "first seen at ..." in one run and "already in the workspace" in the next);
    re-ingesting the same bad file counts its records as quarantined again in the report but
    does not append duplicate lines.
    """

    def __init__(self, workspace: Path) -> None:
        self.path = workspace / WORKSPACE_FILES["quarantine"]
        self.known = {entry.get("key") for entry in iter_quarantine(workspace)}
        # backslashreplace: a stray lone surrogate must not lose the entry (or the run).
        self._handle = self.path.open("a", encoding="utf-8", errors="backslashreplace")

    def append(self, entry: dict[str, Any]) -> bool:
        """Write `entry` (with a computed key); False when an identical entry already exists."""
        identity = json.dumps([entry.get(k) for k in ("file", "line", "record", "reason", "raw")], ensure_ascii=False)
        key = hashlib.sha256(identity.encode("utf-8")).hexdigest()
        if key in self.known:
            return False
        self.known.add(key)
        self._handle.write(json.dumps({"key": key, **entry}, ensure_ascii=False) + "\n")
        return True

    def close(self) -> None:
        self._handle.close()


class WorkspaceLock:
    """Refuses a second concurrent ingest into one workspace (parts and ids would race)."""

    def __init__(self, workspace: Path) -> None:
        self.path = workspace / LOCK_NAME

    def __enter__(self) -> WorkspaceLock:
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise RuntimeError(
                f"{self.path} exists: another ingest is running on this workspace, or one crashed "
                "(then delete the lock file and re-run; committed parts are intact)"
            ) from None
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.path.unlink(missing_ok=True)


def prepare_workspace(workspace: Path) -> None:
    """Create the table directories and remove temporaries a crashed run left behind."""
    for table in ("conversations", "turns"):
        directory = table_dir(workspace, table)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob(".part-*.tmp"):
            stale.unlink()
