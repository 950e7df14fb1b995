"""The canonical records and the one Arrow schema per workspace table.

Every stage reads and writes workspace tables through these schemas so a column can change in
exactly one place. Free-form metadata is stored as a JSON string column: exports differ wildly
in what they carry, and a JSON column keeps every key without schema drift between files.
"""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["customer", "agent", "system"]
ROLES: tuple[str, ...] = ("customer", "agent", "system")


class Turn(BaseModel):
    """One message of a conversation in the canonical format."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    text: str
    timestamp: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Conversation(BaseModel):
    """One conversation in the canonical format (one JSONL line)."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1)
    turns: list[Turn] = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("conversation_id", mode="before")
    @classmethod
    def _id_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


CONVERSATIONS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("n_turns", pa.int32(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),  # JSON object
        pa.field("content_hash", pa.string(), nullable=False),  # sha256 of canonical JSON
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=True),
    ]
)

TURNS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("turn_index", pa.int32(), nullable=False),
        pa.field("role", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=True),
        pa.field("metadata", pa.string(), nullable=False),  # JSON object
    ]
)

WORKSPACE_FILES = {
    "conversations": "conversations.parquet",
    "turns": "turns.parquet",
    "quarantine": "quarantine.jsonl",
    "ingest_report": "ingest_report.json",
}
