"""`guideminer mine`: a thin typer wrapper over `mine_workspace`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

EmbedderOption = Annotated[
    Optional[str], typer.Option(help="Local sentence-transformers model name or directory (default all-MiniLM-L6-v2).")
]
BackendOption = Annotated[str, typer.Option(help="Embedding backend: auto | torch | onnx | onnx-int8.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the UMAP reduction; same input + seed = same clusters.")]


def _load_embedder(embedder: str | None, backend: str):
    from guideminer.models import load_embedder

    return load_embedder(embedder, backend)  # type: ignore[arg-type]


def mine_command(
    workspace: Annotated[Path, typer.Argument(help="Workspace folder written by `guideminer ingest`.")],
    embedder: EmbedderOption = None,
    backend: BackendOption = "auto",
    seed: SeedOption = 0,
    force: Annotated[bool, typer.Option(help="Re-run every step even if its inputs are unchanged.")] = False,
    engine: Annotated[str, typer.Option(help="local | ray: run the embedding stage on Ray Data workers (RAY_ADDRESS=ray://head:10001 for an existing cluster, else a local Ray).")] = "local",
    slots: Annotated[bool, typer.Option(help="Cluster customer turns with slot fillers (products, plans, cities the agents answer alike) replaced by 'item' (mining/slots.py); --no-slots clusters the raw text.")] = True,
    context_split: Annotated[bool, typer.Option(help="Split clusters whose halves occur in different contexts: moves by the need they answer, needs by the move answering them (mining/context_split.py); --no-context-split keeps the clusters as clustered.")] = True,
    agent_facts_masked: Annotated[bool, typer.Option(help="Cluster agent turns with their instance facts (names, dates, times, references, redacted values) masked, so that offering one event or another is one move (mine_steps._agent_space); --no-agent-facts-masked clusters the raw text.")] = True,
) -> None:
    """Mine a workspace: cluster situations and moves, propose guidelines and departments, report.

    Reads WORKSPACE/turns.parquet and conversations.parquet; writes under WORKSPACE/mining/:
    turn_assignments.parquet, clusters.parquet, conversation_departments.parquet,
    proposals/guidelines.json, proposals/departments.json, report.html (self-contained, offline)
    and run_manifest.json. Resumable: steps whose inputs and parameters are unchanged since the
    last run (or a killed run) are skipped.

    Example: guideminer mine ./ws
    """
    from rich.console import Console

    from guideminer.mining.cluster import ClusterParams
    from guideminer.mining.context_split import ContextSplitParams
    from guideminer.mining.pipeline import MineConfig, mine_workspace
    from guideminer.mining.slots import SlotParams

    console = Console(stderr=True)
    params = ClusterParams(seed=seed)
    from functools import partial

    from guideminer.models import load_embedder

    config = MineConfig(customer_params=params, agent_params=params, engine=engine,  # type: ignore[arg-type]
                        slots=SlotParams(enabled=slots), agent_facts_masked=agent_facts_masked,
                        context_split=ContextSplitParams(agents=context_split, customers=context_split))
    reports = mine_workspace(workspace, _load_embedder(embedder, backend), config, force=force, log=console.print,
                             embedder_factory=partial(load_embedder, embedder, backend))
    ran = [r.name for r in reports if not r.skipped]
    console.print(f"mined {workspace}: ran {ran or 'nothing (all up to date)'}")
    from guideminer.ingest.audit_cli import report_hits, run_audit

    hits = run_audit(workspace, under="mining")
    report_hits(hits, console, f"{workspace}/mining")
    if hits:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_command)
