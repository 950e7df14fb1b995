"""`guideminer mine` and `guideminer eval clusters`: thin typer wrappers over plain functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

eval_app = typer.Typer(help="Measure mining quality on labelled public data.", no_args_is_help=True)

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
) -> None:
    """Cluster customer turns ("situations") and agent turns ("moves") of a workspace.

    Reads WORKSPACE/turns.parquet; writes WORKSPACE/mining/turn_assignments.parquet,
    WORKSPACE/mining/clusters.parquet and WORKSPACE/mining/run_manifest.json. Steps whose
    inputs and parameters are unchanged since the last run are skipped.

    Example: guideminer mine ./ws
    """
    from rich.console import Console

    from guideminer.mining.cluster import ClusterParams
    from guideminer.mining.pipeline import MineConfig, mine_workspace

    console = Console(stderr=True)
    params = ClusterParams(seed=seed)
    config = MineConfig(customer_params=params, agent_params=params)
    reports = mine_workspace(workspace, _load_embedder(embedder, backend), config, force=force,
                             log=console.print)
    ran = [r.name for r in reports if not r.skipped]
    console.print(f"mined {workspace}: ran {ran or 'nothing (all up to date)'}")


@eval_app.command("clusters")
def eval_clusters_command(
    input: Annotated[Path, typer.Option("--input", help="Labelled utterances file.")],
    format: Annotated[str, typer.Option("--format", help="dstc11 | clinc | banking77 | csv")],
    text_col: Annotated[Optional[str], typer.Option(help="Text column (csv; banking77 default 'text').")] = None,
    label_col: Annotated[Optional[str], typer.Option(help="Gold label column (csv; banking77 default 'category').")] = None,
    split: Annotated[str, typer.Option(help="Split of a clinc data_full.json file.")] = "test",
    include_oos: Annotated[bool, typer.Option(help="clinc: add the out-of-scope items of the split.")] = False,
    embedder: EmbedderOption = None,
    backend: BackendOption = "auto",
    seed: SeedOption = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
) -> None:
    """Cluster labelled utterances with the `mine` clusterer and score it against the gold labels.

    Prints acc (Hungarian 1:1), nmi, ari, many-to-one precision/recall/f1 (DSTC11 Track 2
    definitions), k found, n, noise_share and seconds (embedding included).

    Example: guideminer eval clusters --input ../shared/data/dstc11-insurance/test-utterances.jsonl --format dstc11 --json
    """
    from guideminer.mining.cluster import ClusterParams
    from guideminer.mining.eval_clusters import evaluate_clustering, load_labelled

    texts, gold = load_labelled(input, format, text_col=text_col, label_col=label_col,  # type: ignore[arg-type]
                                split=split, include_oos=include_oos)
    result = evaluate_clustering(texts, gold, _load_embedder(embedder, backend), ClusterParams(seed=seed))
    result["input"] = str(input)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key in ("acc", "nmi", "ari", "precision", "recall", "f1"):
        typer.echo(f"{key:>10}: {100 * result[key]:.1f}")
    for key in ("k", "gold_k", "n", "noise_share", "seconds"):
        typer.echo(f"{key:>10}: {result[key]}")


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_command)
    app.add_typer(eval_app, name="eval")
