"""Format readers and the registry mapping `--format` names to them.

Each reader is a plain generator function `read(path, options) -> Iterator[RawConversation |
Rejection]` in its own module; adding a format means adding a module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from guideminer.ingest.readers.abcd import read_abcd
from guideminer.ingest.readers.base import (
    ColumnMapping,
    Location,
    NotConversationFile,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
)
from guideminer.ingest.readers.canonical_jsonl import read_canonical_jsonl
from guideminer.ingest.readers.convlab import read_convlab
from guideminer.ingest.readers.intercom import read_intercom
from guideminer.ingest.readers.long_table import read_csv, read_parquet
from guideminer.ingest.readers.openai_messages import read_openai_messages
from guideminer.ingest.readers.sgd import read_sgd
from guideminer.ingest.readers.sniff import sniff_format
from guideminer.ingest.readers.zendesk import read_zendesk

Reader = Callable[[Path, ReaderOptions], Iterator[ReaderItem]]

READERS: dict[str, Reader] = {
    "jsonl": read_canonical_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "openai": read_openai_messages,
    "sgd": read_sgd,
    "abcd": read_abcd,
    "zendesk": read_zendesk,
    "intercom": read_intercom,
    "convlab": read_convlab,
}
FORMATS: tuple[str, ...] = ("auto", *READERS)


def get_reader(fmt: str) -> Reader:
    """The reader for a format name; a clear error lists the known ones."""
    try:
        return READERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


__all__ = [
    "FORMATS",
    "READERS",
    "ColumnMapping",
    "Location",
    "NotConversationFile",
    "RawConversation",
    "Reader",
    "ReaderItem",
    "ReaderOptions",
    "Rejection",
    "get_reader",
    "sniff_format",
]
