"""`--format auto`: recognise an export by its extension and the keys it starts with.

JSONL files are recognised by the top-level keys of their first parseable record; a JSONL
file where no line parses goes to the canonical reader, which quarantines each line;
JSON documents by the keys found in their first 64 KiB, since parsing a whole multi-megabyte
document twice just to name it would double the read cost; zip files by a ConvLab-3
`dialogues.json` member (the zip's table of contents only). Unrecognised files return None and
the pipeline lists them as skipped with a reason, so nothing disappears quietly.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from guideminer.ingest.readers.convlab import dialogues_member

SNIFF_BYTES = 64 * 1024

# First match wins; each entry is (format, keys that must all appear). The canonical format
# comes last and needs only one of its keys, so a canonical file whose first record is broken
# still reaches the canonical reader and is quarantined record by record, not skipped.
_RECORD_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("convlab", ("dialogue_id", "utt_idx")),  # before sgd: both name dialogues "dialogue_id"
    ("sgd", ("dialogue_id",)),
    ("abcd", ("convo_id", "original")),
    ("intercom", ("conversation_parts",)),
    ("zendesk", ("comments",)),
    ("zendesk", ("ticket",)),
    ("openai", ("messages",)),
    ("jsonl", ("conversation_id",)),
    ("jsonl", ("turns",)),
)


SNIFF_LINES = 100


def _first_record_keys(path: Path) -> set[str] | None:
    """Keys of the first JSON object among the first lines; None when no line parses."""
    with path.open("rb") as handle:
        for _, raw in zip(range(SNIFF_LINES), handle):
            try:
                value = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a bad line is the reader's to quarantine, not a reason to skip the file
            if isinstance(value, dict):
                return set(value)
    return None


def _prefix_keys(path: Path) -> set[str]:
    with path.open("rb") as handle:
        prefix = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    return set(re.findall(r'"([A-Za-z_]+)"\s*:', prefix))


def _zip_format(path: Path) -> str | None:
    """"convlab" for a zip holding a ConvLab-3 unified `dialogues.json`; other zips are no format."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "convlab" if dialogues_member(archive) is not None else None
    except (zipfile.BadZipFile, OSError):
        return "convlab"  # a broken zip: the reader quarantines it with the reason, not a silent skip


def sniff_format(path: Path) -> str | None:
    """The reader name for `path`, or None when neither extension nor keys identify it."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip_format(path)
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        found = _first_record_keys(path)
        if found is None:
            return "jsonl"  # nothing parses: canonical reader quarantines every line with its reason
        keys = found
    elif suffix == ".json":
        if path.name == "schema.json":
            return "sgd"  # the SGD reader knows to skip its service definitions
        keys = _prefix_keys(path)
    else:
        return None
    return next((name for name, needed in _RECORD_KEYS if all(k in keys for k in needed)), None)
