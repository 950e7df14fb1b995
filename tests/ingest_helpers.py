"""Shared helpers for the ingest tests (not a test module)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def no_redaction(text: str) -> tuple[str, Counter[str]]:
    """Identity redactor: keeps tests independent of the real redactor's speed and rules."""
    return text, Counter()


def tagging_redactor(text: str) -> tuple[str, Counter[str]]:
    """Fake redactor replacing the word SECRET, to check redaction reaches every field."""
    count = text.count("SECRET")
    return text.replace("SECRET", "<X>"), Counter({"X": count} if count else {})


def conversation(conversation_id: str, *texts: str, **metadata: Any) -> dict[str, Any]:
    roles = ("customer", "agent")
    turns = [{"role": roles[i % 2], "text": text} for i, text in enumerate(texts)]
    return {"conversation_id": conversation_id, "turns": turns, "metadata": metadata}


def write_jsonl(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, (str, bytes)) else json.dumps(r) for r in records]
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines) + b"\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
