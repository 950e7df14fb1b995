"""`guideminer audit-pii`: a thin typer wrapper over `guideminer.ingest.audit.audit_workspace`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Optional, Sequence

import typer

MAX_SHOWN = 50


def report_hits(hits: Sequence, console, what: str) -> None:
    """Print the hits (first MAX_SHOWN) and a count by type; nothing when clean."""
    if not hits:
        console.print(f"audit-pii: no personal data found in {what}")
        return
    console.print(f"[red]audit-pii: {len(hits)} possible personal data hit(s) in {what}[/red] "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(Counter(h.entity for h in hits).items()))})")
    for hit in hits[:MAX_SHOWN]:
        console.print(f"  {hit.file} :: {hit.field} :: {hit.entity} :: {hit.snippet}", markup=False, highlight=False)
    if len(hits) > MAX_SHOWN:
        console.print(f"  ... and {len(hits) - MAX_SHOWN} more")


def run_audit(workspace: Path, specs: Sequence[Path] = (), under: Optional[str] = None) -> list:
    """Audit with the recognisers, id patterns and allowed terms the workspace was ingested with."""
    from guideminer.ingest.audit import audit_workspace
    from guideminer.ingest.pii_redactor import default_pii_redactor
    from guideminer.ingest.pii_settings import workspace_settings

    return audit_workspace(workspace, default_pii_redactor(workspace_settings(workspace)), specs=specs, under=under)


def audit_command(
    workspace: Annotated[Path, typer.Argument(help="A workspace (ingested, mined, exported).")],
    spec: Annotated[list[Path], typer.Option("--spec", help="Also audit this agent spec (repeatable).")] = [],  # noqa: B006
) -> None:
    """Scan every output of a workspace (turns, proposals, report, review log, traces) and any
    given agent spec for personal data, with the recognisers ingest redacts with.

    Prints file :: field :: type :: snippet for each hit and exits 1 if there is any (0 when
    clean). Inputs kept inside the workspace (the demo's demo_corpus/) are not outputs and are
    skipped. The id patterns and allowed terms given to `guideminer ingest` (kept in
    WORKSPACE/pii_settings.json) are used here too. `guideminer mine` audits WS/mining and `guideminer export` its spec at the end.

    Example: guideminer audit-pii ./ws --spec agent.yaml
    """
    from rich.console import Console

    console = Console()
    if not workspace.is_dir():
        console.print(f"[red]error:[/red] workspace {workspace} does not exist")
        raise typer.Exit(2)
    hits = run_audit(workspace, specs=spec)
    report_hits(hits, console, str(workspace))
    if hits:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit-pii")(audit_command)
