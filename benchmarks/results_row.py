"""One row of the issue-16 results table (docs/results.md) for a mined workspace.

Usage:
    .venv/bin/python benchmarks/results_row.py WORKSPACE --gold sgd|demo|labels
        [--condition-key acts --action-key acts] [--json]

Prints: departments found / gold and NMI, one-to-one precision / recall / redundancy
(`guideminer eval proposals`' code; "-" when the gold has no pairs, e.g. KVRET whose system
turns carry no acts), and K vs gold K: customer clusters found (all, and need situations =
not etiquette) against the distinct gold customer-turn labels seen in at least
GOLD_MIN_CONVERSATIONS conversations (the support floor of a gold pair).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import typer

from guideminer.evaluation.gold import GOLD_MIN_CONVERSATIONS, load_gold
from guideminer.evaluation.proposals import evaluate_proposals
from guideminer.mining.schema import MINING_FILES


def gold_k(workspace: Path, gold: str, condition_key: str | None, action_key: str | None) -> int:
    golden = load_gold(workspace, gold, condition_key=condition_key, action_key=action_key)  # type: ignore[arg-type]
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"], columns=["conversation_id", "turn_index", "role"])
    customer = assignments.filter(pl.col("role").cast(pl.String) == "customer").select("conversation_id", "turn_index")
    labelled = golden.labels.drop_nulls("label").join(customer, on=["conversation_id", "turn_index"])
    counts = labelled.group_by("label").agg(pl.col("conversation_id").n_unique().alias("n"))
    return counts.filter(pl.col("n") >= GOLD_MIN_CONVERSATIONS).height


def found_k(workspace: Path) -> tuple[int, int]:
    clusters = pl.read_parquet(workspace / MINING_FILES["clusters"], columns=["role", "is_etiquette"])
    customer = clusters.filter(pl.col("role") == "customer")
    return customer.height, customer.filter(~pl.col("is_etiquette").fill_null(False)).height


def main(workspace: Path, gold: str = typer.Option(...), condition_key: str = typer.Option(None),
         action_key: str = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
    scores = evaluate_proposals(workspace, gold, condition_key=condition_key, action_key=action_key)  # type: ignore[arg-type]
    departments, guidelines = scores["departments"], scores["guidelines"]
    k_all, k_need = found_k(workspace)
    row = {"departments": departments["n_departments"], "gold_departments": departments["n_gold"],
           "nmi": round(departments.get("nmi", 0.0), 3), "proposals": guidelines["n_proposals"],
           "gold_pairs": guidelines["n_gold_pairs"], "k_customer": k_all, "k_need": k_need,
           "gold_k": gold_k(workspace, gold, condition_key, action_key)}
    if guidelines["n_gold_pairs"]:
        redundancy = guidelines["redundancy"]
        row |= {"precision": round(guidelines["precision"], 3), "recall": round(guidelines["recall"], 3),
                "redundancy": None if redundancy is None else round(redundancy, 2)}
    if as_json:
        print(json.dumps(row))
        return
    one_to_one = (f"{row['precision']} / {row['recall']} / {row['redundancy']}" if "precision" in row
                  else "- (no gold pairs)")
    print(f"| {row['departments']} / {row['gold_departments']}, {row['nmi']} | {row['proposals']} ({row['gold_pairs']} gold) "
          f"| {one_to_one} | {row['k_customer']} ({row['k_need']} need) / {row['gold_k']} |")


if __name__ == "__main__":
    typer.run(main)
