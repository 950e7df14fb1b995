"""`guideminer chat`: talk to an agent in the terminal, optionally with each turn's trace.

Reads one customer message per input line (so it is scriptable and testable: pipe a file in),
prints the reply, and with `--trace` the department, how it was chosen, the guidelines that
applied (with the set they belong to, the sentence they answer, their scores and which model
decided), the tool calls (arguments, result or error) and per-stage timings.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from guideminer.engine import Engine, GuidelineStatus, Reply, Session

EXIT_WORDS = {"/quit", "/exit"}


def trace_table(reply: Reply) -> Table:
    trace = reply.trace
    table = Table(title=f"turn {trace.turn}: department {trace.routing.department_id} ({trace.routing.method})",
                  show_lines=False)
    for column in ("guideline", "set", "status", "score", "decided by", "sentence"):
        table.add_column(column)
    for decision in trace.guidelines:
        if decision.status is GuidelineStatus.inactive:
            continue
        score = "-" if decision.score is None else f"{decision.score:.2f}"
        table.add_row(decision.guideline_id, decision.department_id or "-", decision.status.value, score,
                      f"{decision.decided_by} ({decision.model_id})", decision.segment or "")
    for call in trace.tool_calls:
        outcome = f"error {call.error.kind}: {call.error.message}" if call.error else f"-> {call.result}"
        table.add_row(f"tool {call.tool}", "", "", "", f"{call.arguments}", outcome)
    timings = ", ".join(f"{stage} {ms:.1f} ms" for stage, ms in trace.timings_ms.items())
    notes = "".join(f"\n{note}" for note in (trace.composition.notes if trace.composition else []))
    table.caption = (f"{trace.routing.reason}\n{timings}; "
                     f"reply from {trace.composition.source if trace.composition else '-'}{notes}")
    return table


def run_chat(engine: Engine, lines: Iterable[str], console: Console, *, show_trace: bool = False,
             session: Session | None = None) -> Session:
    session = session or Session(session_id="chat")
    console.print(f"[bold]{engine.spec.name}[/bold]: type a message, /quit to leave.")
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text in EXIT_WORDS:
            break
        reply = engine.respond(session, text)
        console.print(f"[green]agent>[/green] {reply.text}")
        if show_trace:
            console.print(trace_table(reply))
    return session
