"""`guideminer export`: thin typer wrapper over `guideminer.mining.export_spec.export_workspace`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def export_command(
    workspace: Annotated[Path, typer.Argument(help="A mined workspace (`guideminer mine` done).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the agent spec (YAML).")],
    auto_accept: Annotated[bool, typer.Option(help="Accept every pending proposal above the documented score thresholds (unattended pipelines, the demo).")] = False,
    mode: Annotated[str, typer.Option(help="Composition mode: fluid | canned_strict | canned_fluid.")] = "canned_fluid",
    name: Annotated[Optional[str], typer.Option(help="Agent name (default: from the workspace folder).")] = None,
) -> None:
    """Export the reviewed proposals of a workspace as an approved agent spec.

    Reads WORKSPACE/mining/proposals/{guidelines,departments}.json and the review log
    WORKSPACE/review/decisions.jsonl; writes OUT (agent.yaml, loadable by `guideminer chat`,
    `serve` and `replay`) and prints what changed since the previous OUT. Refuses without any
    review decision unless --auto-accept.

    Example: guideminer export ./ws --out agent.yaml --auto-accept
    """
    from rich.console import Console

    from guideminer.mining.export_spec import ExportError, export_workspace
    from guideminer.engine.spec import CompositionMode
    from guideminer.mining.review import ReviewError

    console = Console()
    try:
        result = export_workspace(workspace, out, auto_accept=auto_accept, mode=CompositionMode(mode), name=name)
    except (ExportError, ReviewError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from error
    n_guidelines = sum(len(d.guidelines) for d in result.spec.departments)
    console.print(f"wrote {result.path}: {len(result.spec.departments)} departments, {n_guidelines} guidelines "
                  f"({result.auto_accepted} auto-accepted), {len(result.skipped)} proposals not exported")
    for line in result.diff.lines():
        console.print(f"  {line}")
    from guideminer.ingest.audit_cli import report_hits, run_audit

    hits = run_audit(workspace, specs=[result.path], under="review")
    report_hits(hits, console, f"{result.path} and {workspace}/review")
    if hits:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
