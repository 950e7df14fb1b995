"""Departments by need: departments found / gold and NMI, the KMeans-told-K peer in the same run,
and etiquette detection precision / recall against the demo truth (turns, and the exported
etiquette set: `evaluation/etiquette.py`).

Usage (fresh workspaces under WORK; each corpus is ingested, mined and scored):
    nice -n 10 .venv/bin/python benchmarks/bench_departments.py --work /tmp/departments-bench \
        --demo --demo-calls --sgd ../shared/data/sgd/train --kvret ../shared/data/convlab/kvret/data.zip

Departments NMI: `conversation_departments.parquet` against each conversation's gold department
(demo: the truth's department_id; SGD / KVRET: conversation metadata `domain`), the definition
of `guideminer eval proposals`. Peer: KMeans (n_init 10, seed 0) told the gold number of
departments, on each conversation's mean turn vector (all turns, and customer turns only) from
the same vectors the miner used (`mining/work/text_vectors.npy`): the miner is not told K.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import typer

from guideminer.evaluation.metrics import clustering_scores
from guideminer.mining.schema import MINING_FILES

WORK_KEYS, WORK_VECTORS = "mining/work/turn_keys.parquet", "mining/work/text_vectors.npy"


def prepare(kind: str, source: Path | None, workspace: Path) -> Path | None:
    """Ingest `source` (or generate the demo corpus) into a fresh `workspace`; truth path for demo."""
    from guideminer.ingest.demo_corpus import write_demo_corpus
    from guideminer.ingest.pipeline import ingest_paths

    if kind.startswith("demo"):
        corpus = write_demo_corpus(workspace, 1500, 7, call_style=kind == "demo-calls")
        ingest_paths([corpus.conversations], workspace, fmt="jsonl")
        return corpus.truth
    ingest_paths([source], workspace, fmt={"sgd": "sgd", "kvret": "convlab"}[kind])
    return None


def gold_departments(workspace: Path, truth: Path | None) -> pl.DataFrame:
    if truth is not None:
        from guideminer.ingest.demo_truth import load_truth

        conversations = load_truth(truth).conversations
        return pl.DataFrame({"conversation_id": [c.conversation_id for c in conversations],
                             "gold": [c.department_id for c in conversations]})
    from guideminer.ingest.workspace import read_conversations

    return read_conversations(workspace).select("conversation_id", pl.col("metadata").map_elements(
        lambda m: json.loads(m).get("domain"), return_dtype=pl.String).alias("gold")).drop_nulls("gold")


def peer_nmi(workspace: Path, gold: pl.DataFrame, roles: tuple[str, ...]) -> float:
    """NMI of KMeans told the gold K on mean turn vectors per conversation (the peer of
    `guideminer eval proposals`, evaluation/department_peer.py, over the turns of `roles`)."""
    from guideminer.evaluation.department_peer import kmeans_departments

    keys = pl.read_parquet(workspace / WORK_KEYS, columns=["conversation_id", "role", "text_row"])
    keys = keys.with_columns(pl.col("role").cast(pl.String)).filter(pl.col("role").is_in(roles))
    return kmeans_departments(keys, np.load(workspace / WORK_VECTORS, mmap_mode="r"), gold)["nmi"]


def score(kind: str, workspace: Path, truth: Path | None) -> dict:
    gold = gold_departments(workspace, truth)
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"]).join(gold, on="conversation_id")
    result = {"corpus": kind, "conversations": routed.height, "departments": routed["department_id"].n_unique(),
              "gold": gold["gold"].n_unique(),
              **{f"miner_{k}": round(v, 4) for k, v in clustering_scores(routed["department_id"].to_list(),
                                                                          routed["gold"].to_list()).items()},
              "kmeans_told_k_nmi_all_turns": round(peer_nmi(workspace, gold, ("customer", "agent")), 4),
              "kmeans_told_k_nmi_customer_turns": round(peer_nmi(workspace, gold, ("customer",)), 4)}
    if truth is not None:
        from guideminer.evaluation.etiquette import etiquette_scores, etiquette_set_scores

        result["etiquette"] = etiquette_scores(workspace, truth)
        result["etiquette_set"] = etiquette_set_scores(workspace, truth)
    return result


def main(work: Path = typer.Option(Path("/tmp/departments-bench"), help="folder for fresh workspaces"),
         demo: bool = typer.Option(False, help="the demo corpus (1,500 conversations, seed 7)"),
         demo_calls: bool = typer.Option(False, help="the demo corpus in call style"),
         sgd: Path = typer.Option(None, help="SGD train folder"),
         kvret: Path = typer.Option(None, help="ConvLab-3 KVRET data.zip"),
         reuse: bool = typer.Option(False, help="score already mined workspaces in WORK (no ingest/mine)")) -> None:
    from guideminer.mining.pipeline import mine_workspace
    from guideminer.models import load_embedder

    corpora = [(k, s) for k, s, on in (("demo", None, demo), ("demo-calls", None, demo_calls),
                                        ("sgd", sgd, sgd is not None), ("kvret", kvret, kvret is not None)) if on]
    embedder = None
    for kind, source in corpora:
        workspace = work / kind
        started = time.perf_counter()
        if reuse:
            truth = workspace / "demo_corpus" / "truth.json" if kind.startswith("demo") else None
        else:
            if workspace.exists():
                raise typer.BadParameter(f"{workspace} exists; remove it or pass --reuse")
            embedder = embedder or load_embedder()
            truth = prepare(kind, source, workspace)
            mine_workspace(workspace, embedder)
        result = score(kind, workspace, truth) | {"seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    typer.run(main)
