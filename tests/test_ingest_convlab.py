"""ConvLab-3 unified-format reader: a tiny hand-made data.zip, sniffing, quarantine reasons."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from ingest_helpers import read_jsonl

from guideminer.ingest.pipeline import ingest_paths
from guideminer.ingest.readers import NotConversationFile, RawConversation, Rejection, sniff_format
from guideminer.ingest.readers.convlab import read_convlab
from guideminer.ingest.workspace import read_conversations, read_turns


def act(intent: str, slot: str = "", value: str | None = None) -> dict:
    out = {"intent": intent, "domain": "restaurant", "slot": slot}
    return out if value is None else {**out, "value": value}


def dialogue(did: str, **overrides) -> dict:
    turns = [
        {"speaker": "user", "utterance": "cheap food in the north please", "utt_idx": 0,
         "dialogue_acts": {"binary": [], "categorical": [act("inform", "area", "north"), act("inform", "price range", "cheap")],
                           "non-categorical": []},
         "state": {"restaurant": {"area": "north"}}},
        {"speaker": "system", "utterance": "What kind of food would you like?", "utt_idx": 1,
         "dialogue_acts": {"binary": [act("request", "food")], "categorical": [act("inform", "area", "north")],
                           "non-categorical": []}},
        {"speaker": "user", "utterance": "thanks, bye", "utt_idx": 2,
         "dialogue_acts": {"binary": [act("thank"), act("bye")], "categorical": [], "non-categorical": []}},
        {"speaker": "system", "utterance": "Goodbye.", "utt_idx": 3},  # not annotated (WOZ 2.0 style)
        {"speaker": "system", "utterance": "Anything else?", "utt_idx": 4,
         "dialogue_acts": {"binary": [], "categorical": [], "non-categorical": []}},
    ]
    record = {"dataset": "tiny", "data_split": "train", "dialogue_id": did, "original_id": 0,
              "domains": ["restaurant", "hotel"], "goal": {"description": "secret goal"}, "turns": turns}
    return {**record, **overrides}


def write_zip(path: Path, dialogues, member: str = "data/dialogues.json") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, dialogues if isinstance(dialogues, str) else json.dumps(dialogues))
        archive.writestr("data/ontology.json", "{}")
    return path


def test_reader_maps_speakers_domains_and_acts(tmp_path: Path) -> None:
    items = list(read_convlab(write_zip(tmp_path / "data.zip", [dialogue("tiny-train-0")])))
    assert len(items) == 1 and isinstance(items[0], RawConversation)
    payload = items[0].payload
    assert payload["conversation_id"] == "tiny-train-0"
    assert payload["metadata"] == {"domain": "restaurant", "domains": ["restaurant", "hotel"], "dataset": "tiny",
                                   "split": "train", "source_format": "convlab"}
    turns = payload["turns"]
    assert [t["role"] for t in turns] == ["customer", "agent", "customer", "agent", "agent"]
    assert turns[0]["metadata"] == {"acts": ["inform(area)", "inform(price range)"], "intents": ["inform"]}
    assert turns[1]["metadata"] == {"acts": ["inform(area)", "request(food)"], "intents": ["inform", "request"]}
    assert turns[2]["metadata"] == {"acts": ["bye", "thank"], "intents": ["bye", "thank"]}
    assert turns[3]["metadata"] == {} and turns[4]["metadata"] == {"acts": [], "intents": []}
    assert "north" not in json.dumps([t["metadata"] for t in turns]) and "secret" not in json.dumps(payload)
    assert items[0].location.file.endswith("data.zip!data/dialogues.json") and items[0].location.record == 0


def test_bad_dialogues_are_rejected_with_reasons(tmp_path: Path) -> None:
    broken_acts = dialogue("d-acts")
    broken_acts["turns"][1]["dialogue_acts"]["binary"] = [{"slot": "food"}]
    out_of_order = dialogue("d-order")
    out_of_order["turns"][2]["utt_idx"] = 1
    records = [dialogue("d-ok"), broken_acts, out_of_order, {"no": "id"}, dialogue("d-dom", domains="restaurant"),
               dialogue("d-turns", turns=None)]
    items = list(read_convlab(write_zip(tmp_path / "data.zip", records)))
    assert isinstance(items[0], RawConversation)
    reasons = [(i.reason, i.detail) for i in items[1:]]
    assert all(isinstance(i, Rejection) for i in items[1:])
    assert reasons[0] == ("bad dialogue acts", "dialogue d-acts: turn 1 (utt_idx 1): dialogue_acts.binary holds "
                                               "{'slot': 'food'}, expected an object with an 'intent'")
    assert reasons[1] == ("invalid turn order", "dialogue d-order: turn 2: utt_idx 1 is not after the previous turn's (1)")
    assert reasons[2][0] == "unrecognised record shape" and "no 'dialogue_id'" in reasons[2][1]
    assert reasons[3][0] == "unrecognised record shape" and "domains" in reasons[3][1]
    assert reasons[4] == ("unrecognised record shape", "dialogue d-turns: no 'turns' list")
    assert [i.location.record for i in items] == [0, 1, 2, 3, 4, 5]


def test_broken_zips_and_json(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    [bad] = list(read_convlab(tmp_path / "bad.zip"))
    assert isinstance(bad, Rejection) and bad.reason == "unreadable file" and "not a readable zip" in bad.detail
    [bad_json] = list(read_convlab(write_zip(tmp_path / "j.zip", "[{")))
    assert bad_json.reason == "bad JSON"
    [not_list] = list(read_convlab(write_zip(tmp_path / "o.zip", {"dialogue_id": "x"})))
    assert not_list.reason == "unrecognised record shape"
    with pytest.raises(NotConversationFile, match="no dialogues.json"):
        list(read_convlab(write_zip(tmp_path / "other.zip", [], member="data/other.json")))


def test_sniffing_zip_and_unpacked_dialogues(tmp_path: Path) -> None:
    assert sniff_format(write_zip(tmp_path / "data.zip", [dialogue("a")])) == "convlab"
    assert sniff_format(write_zip(tmp_path / "other.zip", [], member="x/readme.json")) is None
    (tmp_path / "bad.zip").write_bytes(b"oops")
    assert sniff_format(tmp_path / "bad.zip") == "convlab"  # the reader quarantines it with its reason
    (tmp_path / "dialogues.json").write_text(json.dumps([dialogue("a")]))
    assert sniff_format(tmp_path / "dialogues.json") == "convlab"
    assert [i.payload["conversation_id"] for i in read_convlab(tmp_path / "dialogues.json")] == ["a"]
    sgd = [{"dialogue_id": "1_0", "services": ["X"], "turns": [{"speaker": "USER", "utterance": "hi", "frames": []}]}]
    (tmp_path / "dialogues_001.json").write_text(json.dumps(sgd))
    assert sniff_format(tmp_path / "dialogues_001.json") == "sgd"


def test_ingest_auto_writes_metadata_and_quarantines(tmp_path: Path) -> None:
    broken = dialogue("d-bad")
    broken["turns"][0]["dialogue_acts"] = "inform"
    source = write_zip(tmp_path / "data.zip", [dialogue("d-0"), dialogue("d-1"), broken])
    report = ingest_paths([source], tmp_path / "ws", redact=False)
    assert report.conversations_written == 2 and report.quarantined == 1
    [entry] = read_jsonl(tmp_path / "ws" / "quarantine.jsonl")
    assert entry["reason"] == "bad dialogue acts" and "d-bad" in entry["detail"]
    turns = read_turns(tmp_path / "ws").filter(pl.col("conversation_id") == "d-0").sort("turn_index")
    assert json.loads(turns["metadata"][1])["acts"] == ["inform(area)", "request(food)"]
    conversation = read_conversations(tmp_path / "ws").filter(pl.col("conversation_id") == "d-0")
    assert json.loads(conversation["metadata"][0])["domain"] == "restaurant"


@pytest.mark.parametrize("name,dialogues", [("camrest", 676), ("woz", 1200), ("kvret", 3030)])
def test_reader_on_shared_data(shared_data: Path, name: str, dialogues: int) -> None:
    items = list(read_convlab(shared_data / "convlab" / name / "data.zip"))
    assert len(items) == dialogues and all(isinstance(i, RawConversation) for i in items)
    annotated = [t for i in items for t in i.payload["turns"] if t["metadata"].get("acts")]
    assert annotated and all(i.payload["metadata"]["domain"] for i in items)
