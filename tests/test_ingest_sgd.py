"""Done-when check: the real SGD train folder ingests completely (skips without shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from guideminer.ingest.pipeline import ingest_paths
from guideminer.ingest.workspace import read_conversations, scan_turns


def test_sgd_folder_ingests_every_dialogue_in_order(shared_data: Path, tmp_path: Path) -> None:
    train = shared_data / "sgd" / "train"
    dialogues = [d for f in sorted(train.glob("dialogues_*.json")) for d in json.loads(f.read_text())]
    report = ingest_paths([train], tmp_path / "ws")
    assert report.quarantined == 0 and report.balanced
    assert report.conversations_written == len(dialogues)
    assert [Path(s.file).name for s in report.files_skipped] == ["schema.json"]

    conversations = read_conversations(tmp_path / "ws")
    metadata = {row["conversation_id"]: json.loads(row["metadata"]) for row in conversations.iter_rows(named=True)}
    sample = dialogues[100]
    assert metadata[sample["dialogue_id"]]["domain"] == sample["services"][0]
    assert metadata[sample["dialogue_id"]]["services"] == sample["services"]

    turns = scan_turns(tmp_path / "ws").filter(pl.col("conversation_id") == sample["dialogue_id"]).sort("turn_index").collect()
    assert turns["turn_index"].to_list() == list(range(len(sample["turns"])))
    expected_roles = ["customer" if t["speaker"] == "USER" else "agent" for t in sample["turns"]]
    assert turns["role"].to_list() == expected_roles
    assert turns.height == len(sample["turns"])


def test_abcd_sample_ingests(shared_data: Path, tmp_path: Path) -> None:
    report = ingest_paths([shared_data / "abcd" / "abcd_sample.json"], tmp_path / "ws")
    assert report.conversations_written == 3 and report.quarantined == 0
    assert report.redactions_by_type  # the sample's names, emails and phone numbers
