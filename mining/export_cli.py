"""`guideminer export`: thin typer wrapper over `guideminer.mining.export_spec.export_workspace`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def export_command(
    workspace: Annotated[Path, typer.Argument(help="A mined workspace (`guideminer mine` done).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the agent spec (YAML), or the Parlant module (.py).")],
    format_: Annotated[str, typer.Option("--format", help="guideminer: agent.yaml for `guideminer chat/serve/replay`; parlant: a Python module building the same agent with the Parlant SDK (`pip install 'guideminer[parlant]'`).")] = "guideminer",
    auto_accept: Annotated[bool, typer.Option(help="Accept every pending proposal above the documented score thresholds (unattended pipelines, the demo).")] = False,
    mode: Annotated[str, typer.Option(help="Composition mode: fluid | canned_strict | canned_fluid.")] = "canned_fluid",
    name: Annotated[Optional[str], typer.Option(help="Agent name (default: from the workspace folder).")] = None,
    match_examples: Annotated[int, typer.Option(help="Customer turns the agent answered with each guideline's move, added to its matching examples (0: condition medoids only).")] = 50,
) -> None:
    """Export the reviewed proposals of a workspace as an approved agent spec.

    Reads WORKSPACE/mining/proposals/{guidelines,departments}.json and the review log
    WORKSPACE/review/decisions.jsonl; writes OUT (agent.yaml, loadable by `guideminer chat`,
    `serve` and `replay`) and prints what changed since the previous OUT. Refuses without any
    review decision unless --auto-accept. With --format parlant, OUT is one Python module for the
    Parlant SDK (an agent per department, the same guideline texts, canned responses, the
    etiquette set, provenance comments); importing it calls no model, `python OUT` runs it.

    Examples:
      guideminer export ./ws --out agent.yaml --auto-accept
      guideminer export ./ws --format parlant --out parlant_agent.py
    """
    from rich.console import Console

    from guideminer.mining.closings import CLOSING_ID, CLOSING_PROVENANCE
    from guideminer.mining.export_spec import ExportError, export_workspace
    from guideminer.engine.spec import CompositionMode
    from guideminer.mining.review import ReviewError

    console = Console()
    if format_ not in ("guideminer", "parlant"):
        raise typer.BadParameter(f"--format {format_!r}: use guideminer or parlant")
    try:
        if format_ == "parlant":
            from guideminer.mining.export_parlant import export_parlant_workspace

            path, result = export_parlant_workspace(workspace, out, auto_accept=auto_accept,
                                                    mode=CompositionMode(mode), name=name)
            n_guidelines = sum(len(d.guidelines) for d in result.spec.departments)
            console.print(f"wrote {path}: Parlant module, {len(result.spec.departments)} agents, {n_guidelines} "
                          f"guidelines ({result.auto_accepted} auto-accepted), {len(result.skipped)} proposals not exported")
            return
        result = export_workspace(workspace, out, auto_accept=auto_accept, mode=CompositionMode(mode), name=name,
                                  match_examples=match_examples)
    except (ExportError, ReviewError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from error
    n_guidelines = sum(len(d.guidelines) for d in result.spec.departments)
    console.print(f"wrote {result.path}: {len(result.spec.departments)} departments, {n_guidelines} guidelines "
                  f"({result.auto_accepted} auto-accepted), {len(result.skipped)} proposals not exported")
    for line in result.diff.lines():
        console.print(f"  {line}")
    etiquette = result.spec.etiquette
    closing = next((g for g in etiquette.guidelines if g.id == CLOSING_ID), None) if etiquette is not None else None
    if closing is not None and closing.provenance == CLOSING_PROVENANCE:
        reply = next(c.template for c in etiquette.canned_responses if CLOSING_ID in c.guideline_ids)
        console.print(f"  closing: the customer's last words ({len(closing.examples)} examples) get the default "
                      f"goodbye \u201c{reply}\u201d (edit or remove {CLOSING_ID} in the spec)")
    from guideminer.ingest.audit_cli import report_hits, run_audit

    hits = run_audit(workspace, specs=[result.path], under="review")
    report_hits(hits, console, f"{result.path} and {workspace}/review")
    if hits:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from guideminer.mining.review_cli import register as register_review

    register_review(app)
    app.command("export")(export_command)
