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
    engine: Annotated[str, typer.Option(help="local | ray: run the embedding stage on Ray Data workers (RAY_ADDRESS=ray://head:10001 for an existing cluster, else a local Ray).")] = "local",
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
    from guideminer.mining.pipeline import MineConfig, mine_workspace

    console = Console(stderr=True)
    params = ClusterParams(seed=seed)
    from functools import partial

    from guideminer.models import load_embedder

    config = MineConfig(customer_params=params, agent_params=params, engine=engine)  # type: ignore[arg-type]
    reports = mine_workspace(workspace, _load_embedder(embedder, backend), config, force=force, log=console.print,
                             embedder_factory=partial(load_embedder, embedder, backend))
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


@eval_app.command("proposals")
def eval_proposals_command(
    workspace: Annotated[Path, typer.Argument(help="A mined workspace (`guideminer mine` done).")],
    gold: Annotated[str, typer.Option(help="sgd (turn metadata: intents, system acts; conversation domain) | demo (hidden truth of the demo corpus).")],
    truth: Annotated[Optional[Path], typer.Option(help="demo: truth.json or its folder (default: WORKSPACE).")] = None,
    granularity: Annotated[str, typer.Option(help="sgd: gold action label = act set (act) or act(slot) set (act_slot).")] = "act",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
) -> None:
    """Score mined departments (NMI vs gold) and guidelines (precision/recall vs gold pairs).

    Gold pairs: SGD = user intent -> next system acts (habits seen in >= 10 conversations and
    >= 10% of the intent's answered turns); demo = the hidden ground-truth guidelines.

    Example: guideminer eval proposals /tmp/ws_sgd --gold sgd --json
    """
    from guideminer.mining.eval_proposals import evaluate_proposals

    result = evaluate_proposals(workspace, gold, truth=truth, granularity=granularity)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(format_proposal_scores(result))


def format_proposal_scores(result: dict) -> str:
    departments, guidelines = result["departments"], result["guidelines"]
    return "\n".join([
        f"departments: {departments.get('n_departments')} found vs {departments.get('n_gold')} gold, "
        f"NMI {departments.get('nmi', 0.0):.3f}, ACC {departments.get('acc', 0.0):.3f} "
        f"over {departments.get('n_conversations')} conversations",
        f"guidelines:  {guidelines['n_proposals']} proposed vs {guidelines['n_gold_pairs']} gold pairs, "
        f"precision {guidelines['precision']:.3f}, recall {guidelines['recall']:.3f}",
    ])


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_command)
    app.add_typer(eval_app, name="eval")
