"""The `guideminer ingest` command is a thin wrapper: help text, options, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from guideminer.cli import app
from guideminer.ingest.workspace import read_ingest_report, read_turns

from ingest_helpers import conversation, write_jsonl

runner = CliRunner()


def test_help_explains_inputs_outputs_and_example() -> None:
    result = runner.invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    for needle in ("INPUT", "quarantine.jsonl", "ingest_report.json", "Example", "--no-redact", "--role-map"):
        assert needle in result.output


def test_csv_with_column_options(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("chat,who,msg\n1,user,hi\n1,bot,hello\n")
    args = ["ingest", str(tmp_path / "t.csv"), "--out", str(tmp_path / "ws"), "--id-column", "chat",
            "--role-column", "who", "--text-column", "msg", "--timestamp-column", "", "--role-map", "bot=agent"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_turns(tmp_path / "ws")["role"].to_list() == ["customer", "agent"]


def test_no_redact_is_explicit(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [conversation("a", "write to jane.doe@example.com")])
    result = runner.invoke(app, ["ingest", str(path), "--out", str(tmp_path / "ws"), "--no-redact"])
    assert result.exit_code == 0, result.output
    assert "jane.doe@example.com" in read_turns(tmp_path / "ws")["text"][0]
    assert json.loads((tmp_path / "ws" / "ingest_report.json").read_text())["redacted"] is False
    assert read_ingest_report(tmp_path / "ws").redacted is False


def test_bad_format_and_bad_role_map_fail_clearly(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [conversation("a", "x")])
    result = runner.invoke(app, ["ingest", str(path), "--out", str(tmp_path / "ws"), "--format", "xml"])
    assert result.exit_code != 0 and "unknown format" in result.output
    result = runner.invoke(app, ["ingest", str(path), "--out", str(tmp_path / "ws"), "--role-map", "bot"])
    assert result.exit_code != 0 and "SOURCE=customer" in result.output


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "input not found" in result.output
