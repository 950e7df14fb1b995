"""The suite itself proves the product needs no network: sockets are blocked for every test."""

from __future__ import annotations

import os
import socket

import pytest
from pytest_socket import SocketBlockedError


def test_inet_sockets_are_blocked_during_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_hub_libraries_are_told_to_stay_offline() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_cli_lists_every_stage_command() -> None:
    from typer.testing import CliRunner

    from guideminer.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("ingest", "mine", "eval", "export", "distill", "chat", "serve", "replay", "demo"):
        assert command in result.output, command
    for command in ("ingest", "mine", "export", "distill", "chat", "serve", "replay", "demo"):
        detail = CliRunner().invoke(app, [command, "--help"])
        assert detail.exit_code == 0 and "Example" in detail.output, command
