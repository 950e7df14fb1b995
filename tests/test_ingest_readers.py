"""Each reader turns its export shape into canonical dicts or named rejections."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guideminer.ingest.readers import READERS, ColumnMapping, NotConversationFile, RawConversation, ReaderOptions, Rejection, sniff_format
from guideminer.ingest.readers.base import html_to_text

from ingest_helpers import FIXTURES, conversation, write_jsonl


def _read(fmt: str, path: Path, **columns: object) -> list[RawConversation | Rejection]:
    return list(READERS[fmt](path, ReaderOptions(columns=ColumnMapping(**columns))))  # type: ignore[arg-type]


def test_canonical_jsonl_yields_records_and_line_numbered_rejections(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [conversation("a", "hi", "hello"), "{not json", b"\xff\xfe bad", "[1, 2]"])
    items = _read("jsonl", path)
    assert isinstance(items[0], RawConversation) and items[0].payload["conversation_id"] == "a"
    assert [(i.location.line, i.reason) for i in items[1:]] == [(2, "bad JSON"), (3, "not valid UTF-8"), (4, "unrecognised record shape")]


def test_openai_reader_maps_roles_and_derives_stable_ids(tmp_path: Path) -> None:
    record = {"messages": [
        {"role": "system", "content": "Be nice."},
        {"role": "user", "content": [{"type": "text", "text": "Where is my order?"}]},
        {"role": "assistant", "content": "On its way."},
    ]}
    path = write_jsonl(tmp_path / "chat.jsonl", [record, {"id": "x1", **record}, {"prompt": "no messages"}])
    first, second, bad = _read("openai", path)
    assert first.payload["conversation_id"] == "chat-L1" and second.payload["conversation_id"] == "x1"
    assert [t["role"] for t in first.payload["turns"]] == ["system", "customer", "agent"]
    assert first.payload["turns"][1]["text"] == "Where is my order?"
    assert isinstance(bad, Rejection) and bad.location.line == 3


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_groups_contiguous_rows_with_column_and_role_mapping(tmp_path: Path) -> None:
    rows = [
        {"chat": "1", "who": "user", "msg": "hi", "seq": "2", "queue": "billing", "lang": "en"},
        {"chat": "1", "who": "bot", "msg": "first", "seq": "1", "queue": "billing", "lang": "en"},
        {"chat": "2", "who": "user", "msg": "yo", "seq": "1", "queue": "tech", "lang": "de"},
    ]
    path = _write_csv(tmp_path / "t.csv", rows)
    items = _read("csv", path, conversation_id="chat", role="who", text="msg", timestamp=None, turn_order="seq",
                  conversation_columns=("queue",), role_values={"bot": "agent"})
    assert [i.payload["conversation_id"] for i in items] == ["1", "2"]
    first = items[0].payload
    assert [t["text"] for t in first["turns"]] == ["first", "hi"]
    assert [t["role"] for t in first["turns"]] == ["agent", "customer"]
    assert first["metadata"] == {"queue": "billing"} and first["turns"][0]["metadata"] == {"lang": "en"}
    assert items[0].location.line == 2 and items[1].location.line == 4


def test_csv_rejects_non_contiguous_ids_bad_bytes_and_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"conversation_id,role,text\n1,customer,hi\n2,customer,yo\n1,agent,late\n3,customer,caf\xe9\n")
    reasons = [(i.reason, i.location.line) for i in _read("csv", path) if isinstance(i, Rejection)]
    assert reasons == [("rows not contiguous", 4), ("not valid UTF-8", 5)]
    missing = _write_csv(tmp_path / "m.csv", [{"id": "1", "text": "x"}])
    (only,) = _read("csv", missing)
    assert isinstance(only, Rejection) and only.reason == "missing columns" and "'conversation_id'" in only.detail


def test_parquet_long_table(tmp_path: Path) -> None:
    table = pa.table({"conversation_id": [7, 7], "role": ["customer", "agent"], "text": ["a", "b"], "channel": ["chat", "chat"]})
    pq.write_table(table, tmp_path / "t.parquet")
    (item,) = _read("parquet", tmp_path / "t.parquet")
    assert item.payload["conversation_id"] == 7 and item.payload["turns"][1]["metadata"] == {"channel": "chat"}
    assert item.location.record == 0


def test_zendesk_fixture_roles_notes_and_html() -> None:
    items = _read("zendesk", FIXTURES / "zendesk_tickets.json")
    first, second, unknown = items
    assert [t["role"] for t in first.payload["turns"]] == ["customer", "agent", "customer"]
    assert first.excluded == {"zendesk internal note (public=false)": 1}
    assert "previous refunds" not in json.dumps(first.payload)
    assert first.payload["turns"][1]["text"] == "Sorry about that!\nI have issued a full refund & it should arrive in 3\u20135 days."
    assert second.payload["turns"][1]["role"] == "agent"  # admin
    assert isinstance(unknown, Rejection) and unknown.reason == "unknown role" and "555" in unknown.detail


def test_intercom_fixture_source_parts_and_exclusions() -> None:
    first, second = _read("intercom", FIXTURES / "intercom_conversations.json")
    turns = first.payload["turns"]
    assert [(t["role"], t["text"]) for t in turns] == [
        ("customer", "Hello, do you ship to Canada?"),
        ("agent", "Yes! We ship to Canada.\nDelivery takes 5\u20137 business days."),
        ("customer", "Great, thanks"),
    ]
    assert turns[0]["timestamp"] == "2024-03-02T09:00:00+00:00"
    assert first.excluded == {"intercom internal note": 1, "intercom assignment event (no body)": 1, "intercom close event (no body)": 1}
    assert second.payload["turns"][0]["role"] == "customer"  # lead
    assert second.payload["turns"][1]["role"] == "agent"  # bot


def test_sniffing_by_extension_and_keys(tmp_path: Path) -> None:
    assert sniff_format(FIXTURES / "zendesk_tickets.json") == "zendesk"
    assert sniff_format(FIXTURES / "intercom_conversations.json") == "intercom"
    assert sniff_format(write_jsonl(tmp_path / "a.jsonl", [conversation("a", "x")])) == "jsonl"
    assert sniff_format(write_jsonl(tmp_path / "b.jsonl", [{"messages": []}])) == "openai"
    assert sniff_format(tmp_path / "x.csv") == "csv"
    (tmp_path / "notes.txt").write_text("hello")
    assert sniff_format(tmp_path / "notes.txt") is None


def test_html_to_text_blocks_entities_and_scripts() -> None:
    html = "<div><p>Hi&nbsp;there,</p><script>x()</script><ul><li>one</li><li>two &amp; three</li></ul>bye<br>now</div>"
    assert html_to_text(html) == "Hi there,\none\ntwo & three\nbye\nnow"


def test_sgd_reader_on_shared_data(shared_data: Path) -> None:
    train = shared_data / "sgd" / "train"
    first = next(iter(_read("sgd", train / "dialogues_001.json")))
    assert first.payload["metadata"]["domain"] == first.payload["metadata"]["services"][0]
    assert first.payload["turns"][0]["role"] == "customer" and first.payload["turns"][1]["role"] == "agent"
    assert "active_intents" in first.payload["turns"][0]["metadata"]
    assert {"act", "slot", "service"} <= set(first.payload["turns"][1]["metadata"]["actions"][0])
    with pytest.raises(NotConversationFile):
        _read("sgd", train / "schema.json")


def test_abcd_reader_on_shared_data(shared_data: Path) -> None:
    items = _read("abcd", shared_data / "abcd" / "abcd_sample.json")
    assert len(items) == 3
    first = items[0].payload
    assert first["metadata"]["flow"] == "product_defect" and first["metadata"]["subflow"] == "return_size"
    actions = [t for t in first["turns"] if t["role"] == "system"]
    assert actions and actions[0]["metadata"] == {"action": "pull-up-account"}
    assert "personal" not in json.dumps(first["metadata"])
