"""End to end: ingest_paths writes the workspace, quarantines with reasons, is idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from guideminer.ingest.pipeline import ingest_paths
from guideminer.ingest.workspace import (
    iter_quarantine,
    read_conversations,
    read_ingest_report,
    read_turns,
    scan_turns,
)

from ingest_helpers import FIXTURES, conversation, no_redaction, tagging_redactor, write_jsonl


def _ingest(inputs: list[Path], ws: Path, **kwargs: object):
    kwargs.setdefault("redactor", no_redaction)
    return ingest_paths(inputs, ws, **kwargs)  # type: ignore[arg-type]


def test_writes_tables_in_order_with_metadata_and_timestamps(tmp_path: Path) -> None:
    record = conversation("c1", "hello", "hi, how can I help?", "bye", channel="chat")
    record["turns"][0]["timestamp"] = "2024-05-01T10:00:00+02:00"
    record["turns"][1]["metadata"] = {"intent": "greet"}
    report = _ingest([write_jsonl(tmp_path / "in.jsonl", [record])], tmp_path / "ws")
    assert report.conversations_written == 1 and report.turns_written == 3 and report.balanced
    turns = read_turns(tmp_path / "ws")
    assert turns["turn_index"].to_list() == [0, 1, 2] and turns["role"].to_list() == ["customer", "agent", "customer"]
    assert str(turns["timestamp"][0]) == "2024-05-01 08:00:00+00:00"
    assert json.loads(turns["metadata"][1]) == {"intent": "greet"}
    conversations = read_conversations(tmp_path / "ws")
    assert json.loads(conversations["metadata"][0]) == {"channel": "chat"}
    assert conversations["source_line"][0] == 1 and len(conversations["content_hash"][0]) == 64
    assert read_ingest_report(tmp_path / "ws") == report


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("{bad json", "bad JSON"),
        (b'{"conversation_id": "x", "turns": [{"role": "customer", "text": "caf\xe9"}]}', "not valid UTF-8"),
        ({"turns": [{"role": "customer", "text": "x"}]}, "missing field"),
        ({"conversation_id": "x", "turns": [{"role": "customer"}]}, "missing field"),
        ({"conversation_id": "x", "turns": [{"role": "bot", "text": "x"}]}, "unknown role"),
        ({"conversation_id": "x", "turns": []}, "empty conversation"),
        ({"conversation_id": "x", "turns": [{"role": "agent", "text": "  "}]}, "empty conversation"),
        ({"conversation_id": "x", "turns": [{"role": "agent", "text": "x", "timestamp": "noon"}]}, "invalid timestamp"),
        ({"conversation_id": "x", "turns": [{"role": "agent", "text": "x"}], "extra": 1}, "unexpected field"),
        ({"conversation_id": "x", "turns": [{"role": "agent", "text": "x" * 101}]}, "turn too long"),
    ],
)
def test_bad_records_are_quarantined_with_reason_file_and_line(tmp_path: Path, record: object, reason: str) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [conversation("ok", "fine"), record])
    report = _ingest([path], tmp_path / "ws", max_turn_chars=100)
    assert report.quarantined_by_reason == {reason: 1} and report.conversations_written == 1 and report.balanced
    (entry,) = iter_quarantine(tmp_path / "ws")
    assert entry["file"] == str(path.resolve()) and entry["line"] == 2 and entry["reason"] == reason and entry["detail"]
    if isinstance(record, dict):
        assert json.loads(entry["raw"]) == record  # verbatim


def test_reingest_is_idempotent_and_new_files_append(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    first = write_jsonl(tmp_path / "a.jsonl", [conversation("a", "x"), conversation("b", "y"), "{bad"])
    _ingest([first], ws)
    again = _ingest([first], ws)
    assert (again.conversations_written, again.skipped_identical, again.quarantined) == (0, 2, 1)
    assert len(list(iter_quarantine(ws))) == 1  # the bad line is not appended twice
    second = write_jsonl(tmp_path / "b.jsonl", [conversation("c", "z"), conversation("a", "changed")])
    more = _ingest([second], ws)
    assert more.conversations_written == 1 and more.quarantined_by_reason == {"duplicate conversation_id": 1}
    assert "already in the workspace" in list(iter_quarantine(ws))[-1]["detail"]
    assert sorted(read_conversations(ws)["conversation_id"].to_list()) == ["a", "b", "c"]
    assert read_turns(ws).filter(pl.col("conversation_id") == "a")["text"].to_list() == ["x"]  # not overwritten
    assert len(list((ws / "turns.parquet").glob("part-*.parquet"))) == 2


def test_duplicate_ids_within_one_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [conversation("a", "x"), conversation("a", "x"), conversation("a", "other")])
    report = _ingest([path], tmp_path / "ws")
    assert (report.conversations_written, report.skipped_identical, report.quarantined) == (1, 1, 1)
    assert "first seen at" in next(iter_quarantine(tmp_path / "ws"))["detail"]


def test_redaction_reaches_text_metadata_and_quarantine(tmp_path: Path) -> None:
    good = conversation("a", "my SECRET is here", note="SECRET note")
    good["turns"][0]["metadata"] = {"x": ["SECRET"]}
    path = write_jsonl(tmp_path / "a.jsonl", [good, '{"SECRET": bad json'])
    report = _ingest([path], tmp_path / "ws", redactor=tagging_redactor)
    assert report.redactions_by_type == {"X": 4} and report.redacted
    dumped = read_turns(tmp_path / "ws").write_json() + read_conversations(tmp_path / "ws").write_json()
    assert "SECRET" not in dumped + json.dumps(list(iter_quarantine(tmp_path / "ws")))
    plain = _ingest([path], tmp_path / "ws2", redact=False, redactor=tagging_redactor)
    assert not plain.redacted and "SECRET" in read_turns(tmp_path / "ws2")["text"][0]


def test_default_redactor_is_the_project_one(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [conversation("a", "mail me at jane.doe@example.com")])
    report = ingest_paths([path], tmp_path / "ws")
    assert "jane.doe@example.com" not in read_turns(tmp_path / "ws")["text"][0]
    assert sum(report.redactions_by_type.values()) >= 1


def test_directory_walk_mixed_formats_and_skipped_files(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    write_jsonl(inputs / "sub" / "c.jsonl", [conversation("j1", "hi")])
    (inputs / "zendesk.json").write_text((FIXTURES / "zendesk_tickets.json").read_text())
    (inputs / "intercom.json").write_text((FIXTURES / "intercom_conversations.json").read_text())
    (inputs / "README.txt").write_text("not data")
    (inputs / ".hidden.jsonl").write_text("{bad")
    report = _ingest([inputs], tmp_path / "ws")
    assert report.files_by_format == {"jsonl": 1, "zendesk": 1, "intercom": 1}
    assert [Path(s.file).name for s in report.files_skipped] == ["README.txt"]
    assert report.excluded_turns_by_reason["zendesk internal note (public=false)"] == 1
    assert report.quarantined_by_reason == {"unknown role": 1} and report.conversations_written == 5 and report.balanced


def test_unreadable_parquet_is_one_quarantined_record(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    report = _ingest([tmp_path / "broken.parquet"], tmp_path / "ws")
    assert report.quarantined_by_reason == {"unreadable file": 1} and report.balanced


def test_empty_workspace_reads_as_empty_tables(tmp_path: Path) -> None:
    _ingest([write_jsonl(tmp_path / "a.jsonl", ["{bad"])], tmp_path / "ws")
    assert read_turns(tmp_path / "ws").is_empty() and read_conversations(tmp_path / "ws").is_empty()
    assert scan_turns(tmp_path / "ws").collect_schema()["role"] == pl.Enum(["customer", "agent", "system"])
    with pytest.raises(FileNotFoundError, match="guideminer ingest"):
        read_turns(tmp_path / "never")


def test_small_batches_and_concurrent_run_refused(tmp_path: Path) -> None:
    records = [conversation(f"c{i}", "a", "b") for i in range(23)]
    report = _ingest([write_jsonl(tmp_path / "a.jsonl", records)], tmp_path / "ws", batch_size=5)
    assert report.turns_written == 46 and read_turns(tmp_path / "ws").height == 46
    (tmp_path / "ws" / ".ingest.lock").write_text("123")
    with pytest.raises(RuntimeError, match="another ingest"):
        _ingest([tmp_path / "a.jsonl"], tmp_path / "ws")


def test_csv_bad_bytes_quarantined_readably(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"conversation_id,role,text\n1,customer,hi\n2,customer,caf\xe9\n2,agent,ok\n")
    report = _ingest([path], tmp_path / "ws")
    assert report.quarantined_by_reason == {"not valid UTF-8": 1} and report.conversations_written == 1
    (entry,) = iter_quarantine(tmp_path / "ws")
    assert entry["line"] == 3 and entry["raw_kind"] == "json"
    assert json.loads(entry["raw"])[0]["text"] == "caf\\xe9"  # the bad byte, readable


def test_files_inside_the_workspace(tmp_path: Path) -> None:
    """A file named explicitly is read even inside the workspace (the demo keeps its corpus
    there); a directory walk over the workspace leaves its files out and says so."""
    ws = tmp_path / "ws"
    (ws / "corpus").mkdir(parents=True)
    corpus = write_jsonl(ws / "corpus" / "c.jsonl", [conversation("a", "hi")])
    assert _ingest([corpus], ws).conversations_written == 1
    walked = _ingest([ws], ws)
    assert walked.files_read == 0 and walked.records_read == 0
    assert {s.reason for s in walked.files_skipped} == {"inside the output workspace"}
    assert str(corpus.resolve()) in {s.file for s in walked.files_skipped}
