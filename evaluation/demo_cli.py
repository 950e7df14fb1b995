"""`guideminer demo`: thin typer wrapper over `guideminer.evaluation.demo.run_demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from guideminer.evaluation.demo import DEFAULT_DEMO_DIR, DemoResult


def print_demo_result(result: DemoResult) -> None:
    from rich.console import Console
    from rich.table import Table

    recovery = result.recovery
    departments, guidelines = recovery["departments"], recovery["guidelines"]
    table = Table(title=f"hidden truth recovered ({result.workspace})")
    table.add_column("what")
    table.add_column("measured", justify="right")
    table.add_row("departments found / gold", f"{departments.get('n_departments')} / {departments.get('n_gold')}")
    table.add_row("departments NMI", f"{departments.get('nmi', 0.0):.3f}")
    table.add_row("guidelines proposed", str(guidelines["n_proposals"]))
    table.add_row("guideline precision (one-to-one)", f"{guidelines['precision']:.3f}")
    table.add_row("guideline recall", f"{guidelines['recall']:.3f} (of {guidelines['n_gold_pairs']} gold)")
    redundancy = guidelines["redundancy"]
    table.add_row("redundancy (proposals per matched gold)", "-" if redundancy is None else f"{redundancy:.2f}")
    table.add_row("lenient precision (duplicates counted)", f"{guidelines['lenient_precision']:.3f}")
    chance = guidelines.get("chance_baseline")
    if chance:
        table.add_row("chance baseline: proposals / P / R",
                      f"{chance['n_proposals']} / {chance['precision']:.3f} / {chance['recall']:.3f}")
    for stage, seconds in result.seconds.items():
        table.add_row(f"{stage} seconds", f"{seconds:.1f}")
    console = Console()
    console.print(table)
    console.print(f"report: {result.workspace / 'mining' / 'report.html'}")
    replay = result.replay
    if replay:
        console.print("replay of the exported agent (first conversations, default runtime): "
                      + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in replay.items()))
    console.print(f"agent spec: {result.agent_spec} ({result.exported_guidelines} guidelines, auto-accepted; "
                  "review them with notebooks/02_review_guidelines.ipynb)")
    console.print(f"kept as vocabulary, not redacted as names: {', '.join(result.allow_terms) or 'nothing'} "
                  f"({result.workspace / 'pii_allow_terms.yaml'})")


def finish_demo(result: DemoResult) -> None:
    """Print the result, then the personal-data audit; a hit fails the demo (exit 1), because
    'the demo outputs hold no personal data' is one of the things it shows."""
    from rich.console import Console

    from guideminer.ingest.audit_cli import report_hits

    print_demo_result(result)
    report_hits(result.pii_hits, Console(), f"{result.workspace} and {result.agent_spec}")
    if result.pii_hits:
        raise typer.Exit(1)


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the demo workspace (created; a normal workspace).")] = DEFAULT_DEMO_DIR,
    conversations: Annotated[int, typer.Option(help="Number of generated conversations.")] = 1500,
    seed: Annotated[int, typer.Option(help="Seed of the corpus generator.")] = 7,
    embedder: Annotated[Optional[str], typer.Option(help="Local sentence-transformers model (default all-MiniLM-L6-v2).")] = None,
    backend: Annotated[str, typer.Option(help="Embedding backend: auto | torch | onnx | onnx-int8.")] = "auto",
    call_style: Annotated[bool, typer.Option("--call-style", help="Generate transcribed phone calls: greeting-only "
                                             "openings, small talk, spelled names, holds, 'anything else?'.")] = False,
) -> None:
    """Run the whole pipeline on the embedded demo corpus and print how much hidden truth it recovers.

    Writes OUT/demo_corpus/ (conversations.jsonl, truth.json), then ingests it into OUT, mines
    OUT (clusters, guideline and department proposals, OUT/mining/report.html) and scores the
    proposals against the hidden truth (departments NMI, one-to-one guideline precision/recall, redundancy) and exports
    OUT/agent.yaml with every proposal above the auto-accept thresholds, then replays that agent
    over the corpus (routing accuracy vs the hidden departments, guideline precision/recall,
    latency). Finally it audits every output (turns, mining outputs, report, agent spec) for
    personal data like `guideminer audit-pii OUT --spec OUT/agent.yaml` and exits 1 on any hit.
    The company vocabulary the redaction keeps is learned from the corpus first (as `guideminer
    pii-terms` does) and written to OUT/pii_allow_terms.yaml. Re-running reuses everything
    already done.

    Example: guideminer demo --out ./demo-workspace   (or --call-style --out ./demo-calls)
    """
    from rich.console import Console

    from guideminer.models import load_embedder
    from guideminer.evaluation.demo import run_demo

    console = Console(stderr=True)
    result = run_demo(out, embedder=load_embedder(embedder, backend),  # type: ignore[arg-type]
                      n_conversations=conversations, seed=seed, log=console.print, call_style=call_style)
    finish_demo(result)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
