"""`guideminer review`: the review notebook's queue and decisions from a terminal.

Thin typer wrapper over `guideminer.mining.review` (the same append-only decisions log the
notebook writes) and `guideminer.mining.review_queue` (the same filters and order).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Optional

import typer

_ACTIONS = ("list", "accept", "reject", "defer", "edit", "accept_where")


def _print_queue(reviewed, department: str | None, status: str | None, sort: str, limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from guideminer.mining.review_queue import (
        SORT_KEYS,
        QueueFilter,
        department_label,
        expected_impact,
        progress,
        queue,
    )

    if department is not None and department not in reviewed.department_names:
        names = ", ".join(f"{d} ({n})" for d, n in reviewed.department_names.items())
        raise typer.BadParameter(f"no department {department!r}; the workspace has: {names}")
    if status not in (None, "pending", "accepted", "rejected", "deferred"):
        raise typer.BadParameter(f"--status {status!r}: use pending, accepted, rejected or deferred")
    if sort not in SORT_KEYS:
        raise typer.BadParameter(f"--sort {sort!r}: use one of {', '.join(SORT_KEYS)}")
    rows = queue(reviewed, QueueFilter(department_id=department, status=status, sort=sort))
    shown_rows = rows[:limit] if limit else rows
    table = Table(show_lines=False)
    id_width = max((len(g.guideline_id) for g in shown_rows), default=2)
    table.add_column("id", no_wrap=True, min_width=id_width)  # never truncated: it is what you type next
    for name in ("status", "rank", "support", "conf.", "impact"):
        table.add_column(name, no_wrap=True)
    table.add_column("department", max_width=24)
    table.add_column("rule", ratio=1)
    for g in shown_rows:
        impact = expected_impact(g)
        table.add_row(g.guideline_id, g.status, str(g.proposal.rank), str(g.proposal.scores.support),
                      f"{g.proposal.scores.confidence:.2f}", "-" if impact is None else f"{impact:+.1f}",
                      department_label(reviewed, g), f"When {g.condition_text}, {g.action_text}")
    console = Console()
    console.print(table)
    shown = min(limit, len(rows)) if limit else len(rows)
    console.print(f"{shown} of {len(rows)} matching proposals shown; {progress(reviewed).line()}")


def review_command(
    workspace: Annotated[Path, typer.Argument(help="A mined workspace (`guideminer mine` done).")],
    ids: Annotated[Optional[list[str]], typer.Argument(help="Proposal ids for --accept / --reject / --defer / --edit.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the proposals (filtered, sorted) and the progress.")] = False,
    department: Annotated[Optional[str], typer.Option(help="--list: only this department id.")] = None,
    status: Annotated[Optional[str], typer.Option(help="--list: pending | accepted | rejected | deferred.")] = None,
    sort: Annotated[str, typer.Option(help="--list order: impact | rank | support | confidence | lift.")] = "impact",
    limit: Annotated[int, typer.Option(help="--list: at most this many rows (0: all).")] = 50,
    accept: Annotated[bool, typer.Option("--accept", help="Accept the given ids.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the given ids (needs --reason).")] = False,
    defer: Annotated[bool, typer.Option("--defer", help="Defer the given ids (look again later; not exported).")] = False,
    edit: Annotated[bool, typer.Option("--edit", help="Edit one id: --condition, --action and/or --template.")] = False,
    accept_where: Annotated[Optional[str], typer.Option(help="Accept every pending proposal whose scores satisfy e.g. 'support>=20 and precision>=0.8' (precision = confidence; also lift, consistency, impact, rank).")] = None,
    reason: Annotated[str, typer.Option(help="Why (required with --reject; recorded with every decision).")] = "",
    condition: Annotated[Optional[str], typer.Option(help="--edit: the new condition text.")] = None,
    action: Annotated[Optional[str], typer.Option(help="--edit: the new action text.")] = None,
    template: Annotated[Optional[str], typer.Option(help="--edit: the new canned template ({field} placeholders).")] = None,
    who: Annotated[Optional[str], typer.Option(help="Reviewer name recorded with each decision (default: your login).")] = None,
) -> None:
    """Review mined guideline proposals: list them, or record decisions.

    Reads WORKSPACE/mining/proposals/guidelines.json and appends to WORKSPACE/review/decisions.jsonl
    (the log the review notebook writes; `guideminer export` reads it). One action per call.

    Examples:
      guideminer review ./ws --list --department d1 --status pending
      guideminer review ./ws --accept g-1a2b g-3c4d
      guideminer review ./ws --reject g-5e6f --reason "too generic"
      guideminer review ./ws --edit g-1a2b --action "ask for the order number"
      guideminer review ./ws --accept-where "support>=20 and precision>=0.8"
    """
    from rich.console import Console

    from guideminer.mining.review import ReviewError, new_decision, record_decisions, review_workspace
    from guideminer.mining.review_queue import matching

    chosen = [name for name, on in zip(_ACTIONS, (list_, accept, reject, defer, edit, accept_where is not None),
                                       strict=True) if on]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --list, --accept, --reject, --defer, --edit, --accept-where")
    ids = ids or []
    console, signer = Console(), who or getpass.getuser()
    try:
        reviewed = review_workspace(workspace)
        if list_:
            _print_queue(reviewed, department, status, sort, limit)
            return
        if accept_where is not None:
            ids = [g.guideline_id for g in matching(reviewed, accept_where)]
            console.print(f"{len(ids)} pending proposals satisfy {accept_where!r}")
        elif not ids:
            raise typer.BadParameter(f"--{chosen[0]} needs at least one proposal id")
        elif edit and len(ids) != 1:
            raise typer.BadParameter("--edit takes exactly one proposal id")
        unknown = [i for i in ids if i not in reviewed.guidelines]
        if unknown:
            raise ReviewError(f"no such proposal in {workspace}: {', '.join(unknown)} (see --list)")
        kind = {"accept": "accept", "accept_where": "accept", "reject": "reject", "defer": "defer", "edit": "edit"}[chosen[0]]
        fields = {"condition_text": condition, "action_text": action, "canned_template": template} if edit else {}
        why = reason or (f"accept-where {accept_where}" if accept_where else "")
        decisions = [new_decision(kind, signer, why, guideline_id=i, **fields) for i in ids]
        for decision in record_decisions(workspace, decisions):
            console.print(f"recorded: {decision.describe()}")
    except (ReviewError, ValueError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from error


def register(app: typer.Typer) -> None:
    app.command("review")(review_command)
