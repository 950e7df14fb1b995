"""Fuzz the accounting invariant: records read = written + quarantined + skipped_identical.

Hypothesis draws a mix of good and bad records (bad JSON, non-UTF-8 bytes, missing fields,
unknown roles, empty conversations, a 10 MB turn, duplicate ids with same and different
content) spread over several files; the expected outcome of each record is computed
independently and compared with the report, the tables and the quarantine, then the same files
are ingested again to check that nothing is added.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guideminer.ingest.pipeline import ingest_paths
from guideminer.ingest.workspace import iter_quarantine, read_conversations, read_turns

from ingest_helpers import conversation, no_redaction

HUGE_TURN = "x" * 10_000_000
KINDS = ("good", "good", "good", "bad_json", "bad_bytes", "missing_id", "missing_text", "unknown_role",
         "empty", "huge", "dup_same", "dup_diff", "not_object")


def _make(kind: str, index: int, good_so_far: list[dict]) -> tuple[bytes, str]:
    """(line bytes, expected outcome) for one drawn record kind."""
    if kind in ("dup_same", "dup_diff") and good_so_far:
        original = good_so_far[index % len(good_so_far)]
        if kind == "dup_same":
            return json.dumps(original).encode(), "identical"
        changed = {**original, "turns": original["turns"] + [{"role": "agent", "text": "extra"}]}
        return json.dumps(changed).encode(), "duplicate conversation_id"
    if kind in ("good", "dup_same", "dup_diff"):
        record = conversation(f"conv-{index}", f"question {index}", f"answer {index}", n=index)
        good_so_far.append(record)
        return json.dumps(record).encode(), "written"
    bad = {
        "bad_json": (b'{"conversation_id": "b", "turns": [', "bad JSON"),
        "bad_bytes": (b'{"conversation_id": "\xff\xfe", "turns": []}', "not valid UTF-8"),
        "missing_id": (json.dumps({"turns": [{"role": "agent", "text": "x"}]}).encode(), "missing field"),
        "missing_text": (json.dumps({"conversation_id": f"m{index}", "turns": [{"role": "agent"}]}).encode(), "missing field"),
        "unknown_role": (json.dumps(conversation(f"r{index}", "x") | {"turns": [{"role": "robot", "text": "x"}]}).encode(), "unknown role"),
        "empty": (json.dumps({"conversation_id": f"e{index}", "turns": []}).encode(), "empty conversation"),
        "huge": (json.dumps({"conversation_id": f"h{index}", "turns": [{"role": "customer", "text": HUGE_TURN}]}).encode(), "turn too long"),
        "not_object": (b'"just a string"', "unrecognised record shape"),
    }
    return bad[kind]


def _write_files(root: Path, kinds: list[str], n_files: int) -> tuple[list[Path], Counter[str]]:
    expected: Counter[str] = Counter()
    good: list[dict] = []
    lines_per_file: list[list[bytes]] = [[] for _ in range(n_files)]
    for index, kind in enumerate(kinds):
        line, outcome = _make(kind, index, good)
        expected[outcome] += 1
        # Contiguous chunks, so the ingest order of files equals the draw order and the first
        # copy of a duplicated id is the one that is written.
        lines_per_file[index * n_files // len(kinds)].append(line)
    paths = []
    for number, lines in enumerate(lines_per_file):
        path = root / f"part{number}.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        paths.append(path)
    return paths, expected


def _check(report, expected: Counter[str], ws: Path) -> None:
    assert report.balanced
    assert report.records_read == sum(expected.values())
    assert report.conversations_written == expected["written"]
    assert report.skipped_identical == expected["identical"]
    quarantine_expected = {k: v for k, v in expected.items() if k not in ("written", "identical")}
    assert report.quarantined_by_reason == quarantine_expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=40), n_files=st.integers(1, 3))
def test_every_record_is_accounted_for(kinds: list[str], n_files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths, expected = _write_files(root, kinds, n_files)
        ws = root / "ws"
        report = ingest_paths(paths, ws, redactor=no_redaction)
        _check(report, expected, ws)
        assert read_conversations(ws).height == expected["written"]
        assert read_turns(ws).height == report.turns_written
        quarantined = list(iter_quarantine(ws))
        assert len(quarantined) == report.quarantined
        assert all(entry["file"] and entry["line"] for entry in quarantined)

        again = ingest_paths(paths, ws, redactor=no_redaction)
        assert again.balanced and again.conversations_written == 0
        assert again.skipped_identical == expected["written"] + expected["identical"]
        assert len(list(iter_quarantine(ws))) == report.quarantined


def test_seeded_mix_with_every_kind_at_least_once(tmp_path: Path) -> None:
    kinds = list(KINDS) * 3
    paths, expected = _write_files(tmp_path, kinds, 2)
    report = ingest_paths(paths, tmp_path / "ws", redactor=no_redaction)
    _check(report, expected, tmp_path / "ws")
    assert report.quarantined_by_reason["turn too long"] == 3
