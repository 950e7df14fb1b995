"""Exchange clustering (mining/exchanges.py) against the default miner, one-to-one, same workspace.

Usage:
    nice -n 10 .venv/bin/python benchmarks/bench_exchanges.py WORKSPACE --gold sgd|demo|labels
        [--condition-key acts --action-key acts]

Both sides use the workspace's mined turn vectors, turn clusters and etiquette flags. The
default miner's proposals (guidelines.json) are scored by `guideminer eval proposals`' code.
Each exchange habit maps to (majority gold label of its member customer turns, majority gold
label of its member agent turns) and is scored by the same one-to-one rule (each gold target
claimed once, further claimants are duplicates); its support (conversations) orders claimants.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import typer

from guideminer.evaluation.gold import load_gold
from guideminer.evaluation.proposals import MappedProposal, evaluate_proposals, one_to_one_scores
from guideminer.mining.etiquette import etiquette_clusters
from guideminer.mining.exchanges import cluster_exchanges, exchange_habits, exchange_table, exchange_vectors
from guideminer.mining.schema import MINING_FILES

KEYS, VECTORS = "mining/work/turn_keys.parquet", "mining/work/text_vectors.npy"
SCORES = ("n_proposals", "precision", "recall", "f1", "redundancy", "lenient_precision", "n_matched")


def member_majority(clustered: pl.DataFrame, labels: pl.DataFrame, turn: str) -> dict[int, str]:
    """Majority gold label of the `turn` column's turns per exchange cluster."""
    joined = clustered.join(labels.drop_nulls("label").rename({"turn_index": turn}), on=["conversation_id", turn])
    counts = (joined.group_by("exchange_cluster", "label").len()
              .sort("len", "label", descending=[True, False]).group_by("exchange_cluster", maintain_order=True).first())
    return dict(counts.select("exchange_cluster", "label").iter_rows())


def main(workspace: Path, gold: str = typer.Option(...), condition_key: str = typer.Option(None),
         action_key: str = typer.Option(None)) -> None:
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"])
    etiquette = etiquette_clusters(pl.read_parquet(workspace / MINING_FILES["clusters"]))
    started = time.perf_counter()
    table = exchange_table(assignments, etiquette)
    vectors = exchange_vectors(table, pl.read_parquet(workspace / KEYS), np.load(workspace / VECTORS, mmap_mode="r"))
    clustered = cluster_exchanges(table, vectors)
    habits = exchange_habits(clustered)
    seconds = round(time.perf_counter() - started, 1)
    golden = load_gold(workspace, gold, condition_key=condition_key, action_key=action_key)  # type: ignore[arg-type]
    conditions = member_majority(clustered, golden.labels, "condition_turn")
    actions = member_majority(clustered, golden.labels, "action_turn")
    mapped = [MappedProposal(f"x-{h.exchange_cluster}", (conditions.get(h.exchange_cluster), actions.get(h.exchange_cluster)),
                             h.support) for h in habits]
    exchange = one_to_one_scores(mapped, golden)
    current = evaluate_proposals(workspace, gold, condition_key=condition_key, action_key=action_key)["guidelines"]  # type: ignore[arg-type]
    print(json.dumps({"workspace": str(workspace), "exchanges": table.height,
                      "exchange_clusters": int(clustered["exchange_cluster"].n_unique()),
                      "exchange_habits": len(habits), "etiquette_habits": sum(h.is_etiquette for h in habits),
                      "seconds_exchange_clustering": seconds,
                      "exchange": {k: exchange[k] for k in SCORES}, "default_miner": {k: current[k] for k in SCORES}}))


if __name__ == "__main__":
    typer.run(main)
