"""`guideminer chat | serve` (and `distill`): thin typer wrappers over offline_runtime."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from guideminer.offline_runtime import distill_cli

SpecArgument = Annotated[Path, typer.Argument(help="Agent spec written by `guideminer export` (agent.yaml).")]
ConfigOption = Annotated[Optional[Path], typer.Option("--runtime-config", help="Which model does which task (YAML/JSON); default: embedding router + scorer, no verifier, template composer.")]


def _engine(spec_path: Path, runtime_config: Path | None, embedder=None):
    from guideminer.engine import load_agent_spec
    from guideminer.offline_runtime.assemble import build_engine
    from guideminer.offline_runtime.config import load_runtime_config

    return build_engine(load_agent_spec(spec_path), load_runtime_config(runtime_config), embedder=embedder)


def chat_command(spec: SpecArgument, runtime_config: ConfigOption = None,
                 trace: Annotated[bool, typer.Option("--trace", help="Show department, guidelines and timings per turn.")] = False) -> None:
    """Chat with an agent in the terminal (one message per line; /quit to leave).

    Example: guideminer chat demo-workspace/agent.yaml --trace
    """
    from rich.console import Console

    from guideminer.offline_runtime.chat import run_chat

    run_chat(_engine(spec, runtime_config), sys.stdin, Console(), show_trace=trace)


def serve_command(
    spec: SpecArgument, runtime_config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback unless --allow-remote).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback --host.")] = False,
    api_key: Annotated[Optional[str], typer.Option(envvar="GUIDEMINER_API_KEY", help="Require 'Authorization: Bearer KEY'.")] = None,
    max_request_bytes: Annotated[int, typer.Option(help="Reject larger request bodies (413).")] = 64 * 1024,
) -> None:
    """Serve an agent over HTTP: sessions, traces and an OpenAI-compatible /v1/chat/completions.

    Example: guideminer serve agent.yaml --port 8080, then
    curl -s localhost:8080/v1/chat/completions -d '{"messages":[{"role":"user","content":"my parcel is late"}]}'
    """
    from guideminer.offline_runtime.serve import check_bind_host, serve

    check_bind_host(host, allow_remote)
    serve(_engine(spec, runtime_config), host=host, port=port, allow_remote=allow_remote, api_key=api_key,
          max_request_bytes=max_request_bytes)


def register(app: typer.Typer) -> None:
    app.command("chat")(chat_command)
    app.command("serve")(serve_command)
    distill_cli.register(app)
