"""The ingest report: what one `guideminer ingest` run read, wrote, quarantined and skipped.

Its counts obey `records_read == conversations_written + quarantined + skipped_identical`
(checked by `IngestReport.balanced`), the invariant that proves nothing was dropped silently.
A record is one unit a reader yields: a conversation candidate, or one piece of input it could
not shape (a bad JSONL line, a CSV row without an id, an unreadable file).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SkippedFile(BaseModel):
    """A file found under the inputs that holds no conversations, with why."""

    model_config = ConfigDict(frozen=True)

    file: str
    reason: str


class IngestReport(BaseModel):
    """Counts of one ingest run; written to WORKSPACE/ingest_report.json."""

    model_config = ConfigDict(frozen=True)

    workspace: str
    inputs: list[str]
    format: str
    redacted: bool
    started_at: str
    seconds: float
    files_read: int
    files_by_format: dict[str, int] = Field(default_factory=dict)
    files_skipped: list[SkippedFile] = Field(default_factory=list)
    records_read: int
    conversations_written: int
    turns_written: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_identical: int = Field(description="conversations whose exact content was already in the workspace or earlier in this run")
    excluded_turns_by_reason: dict[str, int] = Field(default_factory=dict, description="source parts that are not turns (internal notes, events)")
    redactions_by_type: dict[str, int] = Field(default_factory=dict, description="placeholders inserted, in stored text, metadata and quarantine")
    max_turn_chars: int

    @property
    def balanced(self) -> bool:
        """True when every record read is accounted for."""
        return self.records_read == self.conversations_written + self.quarantined + self.skipped_identical
