"""`guideminer chat | serve` (and `distill`): thin typer wrappers over offline_runtime."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from guideminer.offline_runtime import distill_cli

SpecArgument = Annotated[Path, typer.Argument(help="Agent spec written by `guideminer export` (agent.yaml).")]
ConfigOption = Annotated[Optional[Path], typer.Option("--runtime-config", help="Which model does which task (YAML/JSON); default: embedding router + scorer, no verifier, template composer.")]
ToolsOption = Annotated[Optional[Path], typer.Option("--tools", help="Tools file (YAML) binding the spec's tool names to Python callables or localhost HTTP endpoints; see docs/runtime-serve.md.")]


def _engine(spec_path: Path, runtime_config: Path | None, embedder=None, tools: Path | None = None):
    from guideminer.engine import SpecLoadError, load_agent_spec
    from guideminer.offline_runtime.assemble import build_engine
    from guideminer.offline_runtime.config import load_runtime_config
    from guideminer.offline_runtime.tools_file import engine_with_tools, load_tools_file

    try:
        spec = load_agent_spec(spec_path)
    except SpecLoadError as error:  # a clear message naming the file and field, not a traceback
        raise typer.BadParameter(f"{spec_path}: " + "; ".join(error.problems), param_hint="SPEC") from None
    try:
        bound = load_tools_file(tools, spec)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--tools") from None
    if bound.unbound:
        typer.echo(f"warning: guidelines use tool(s) {', '.join(bound.unbound)} that no tools file binds; "
                   "their calls are reported as not_registered in the trace (pass --tools tools.yaml)", err=True)
    for tool, guideline_ids in bound.attached.items():
        typer.echo(f"tools: {tool} serves {len(guideline_ids)} guideline(s): {', '.join(guideline_ids)}", err=True)
    engine = build_engine(bound.spec, load_runtime_config(runtime_config), embedder=embedder)
    return engine_with_tools(engine, bound)


def _variables(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise typer.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="--var")
        variables[name] = value
    return variables


def chat_command(spec: SpecArgument, runtime_config: ConfigOption = None, tools: ToolsOption = None,
                 var: Annotated[Optional[list[str]], typer.Option("--var", help="Session variable NAME=VALUE (tool arguments, template fields); repeatable.")] = None,
                 trace: Annotated[bool, typer.Option("--trace", help="Show department, guidelines and timings per turn.")] = False) -> None:
    """Chat with an agent in the terminal (one message per line; /quit to leave).

    Example: guideminer chat demo-workspace/agent.yaml --trace --tools tools.yaml --var order_id=1001
    """
    from rich.console import Console

    from guideminer.engine import Session
    from guideminer.offline_runtime.chat import run_chat

    session = Session(session_id="chat", variables=_variables(var or []))
    run_chat(_engine(spec, runtime_config, tools=tools), sys.stdin, Console(), show_trace=trace, session=session)


def serve_command(
    spec: SpecArgument, runtime_config: ConfigOption = None, tools: ToolsOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback unless --allow-remote).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback --host.")] = False,
    api_key: Annotated[Optional[str], typer.Option(envvar="GUIDEMINER_API_KEY", help="Require 'Authorization: Bearer KEY'.")] = None,
    max_request_bytes: Annotated[int, typer.Option(help="Reject larger request bodies (413).")] = 64 * 1024,
) -> None:
    """Serve an agent over HTTP: sessions, traces and an OpenAI-compatible /v1/chat/completions.

    Sessions are named by the client (X-Session-Id header, session_id or user) or issued by
    POST /v1/sessions; a request without one is answered statelessly from the history it sends.

    Example: guideminer serve agent.yaml --port 8080 --tools tools.yaml, then
    curl -s localhost:8080/v1/chat/completions -H 'X-Session-Id: abc123' -d '{"messages":[{"role":"user","content":"my parcel is late"}]}'
    """
    from guideminer.offline_runtime.serve import check_bind_host, serve

    check_bind_host(host, allow_remote)
    serve(_engine(spec, runtime_config, tools=tools), host=host, port=port, allow_remote=allow_remote,
          api_key=api_key, max_request_bytes=max_request_bytes)


def register(app: typer.Typer) -> None:
    app.command("chat")(chat_command)
    app.command("serve")(serve_command)
    distill_cli.register(app)
