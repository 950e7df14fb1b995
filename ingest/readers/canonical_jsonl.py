"""Canonical JSONL: one `guideminer.ingest.schema.Conversation` per line.

The reader only checks that a line is a JSON object; field-level validation (roles, missing
fields, extra keys) is done centrally so the reasons read the same for every format.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    iter_jsonl,
)


def read_canonical_jsonl(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per JSON-object line, Rejections for anything else."""
    for item in iter_jsonl(path):
        if isinstance(item, Rejection):
            yield item
            continue
        location, value = item
        if not isinstance(value, dict):
            yield Rejection(location, "unrecognised record shape", value, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield RawConversation(location, value, source=value)
