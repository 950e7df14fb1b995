"""Guideline scores per proposal-method ablation, on already mined workspaces.

Usage (after `guideminer mine` on each):
    .venv/bin/python benchmarks/ablate_proposals.py --sgd /tmp/ws_sgd --demo /tmp/demo

Re-proposes from the same clusters and departments with each setting (no re-clustering), then
scores with the `guideminer eval proposals` rules, so rows differ only by the proposal method.
Each cell: proposals / one-to-one precision / recall / redundancy / lenient precision (the
pre-2026-12-01 figure, which counted duplicates as correct); the last row is the chance
baseline (every frequent customer cluster -> next agent cluster pair).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from guideminer.evaluation import proposals as ev
from guideminer.evaluation.gold import load_gold
from guideminer.mining.etiquette import etiquette_clusters
from guideminer.mining.guidelines import GuidelineParams, propose_guidelines
from guideminer.mining.proposals_schema import GuidelineSet
from guideminer.mining.schema import MINING_FILES

SETTINGS = {
    "over all conversations, no 'after', min_support 5": GuidelineParams(per_department=False, after_states=False,
                                                                         min_support=5),
    "+ per department": GuidelineParams(after_states=False, min_support=5),
    "+ 'after' states": GuidelineParams(min_support=5),
    "+ min_support 3 (default)": GuidelineParams(),
}


def load(workspace: Path, gold: str) -> dict:
    tables = {name: pl.read_parquet(workspace / MINING_FILES[name])
              for name in ("turn_assignments", "clusters", "conversation_departments")}
    golden = load_gold(workspace, gold)  # type: ignore[arg-type]
    a, routed = tables["turn_assignments"], tables["conversation_departments"]
    conditions = ev.proposal_conditions(a, golden.labels, routed, etiquette_clusters(tables["clusters"]))
    return {**tables, "majority": ev.cluster_majority(a, golden.labels), "gold": golden, "conditions": conditions}


def cell(scores: dict) -> str:
    redundancy = "-" if scores["redundancy"] is None else f"{scores['redundancy']:.2f}"
    return (f"{scores['n_proposals']} / {scores['precision']:.3f} / {scores['recall']:.3f} / {redundancy} / "
            f"{scores['lenient_precision']:.3f}")


def score(data: dict, params: GuidelineParams) -> str:
    routed = data["conversation_departments"] if params.per_department else None
    proposals = propose_guidelines(data["turn_assignments"], data["clusters"], params, routed=routed)
    guideline_set = GuidelineSet(thresholds={}, ranked_by="support", n_conversations=0, proposals=proposals)
    return cell(ev.guideline_scores(guideline_set, data["gold"], data["majority"], data["conditions"]))


def chance(data: dict) -> str:
    baseline = ev.chance_baseline(data["turn_assignments"], data["majority"], data["conditions"],
                                  etiquette=etiquette_clusters(data["clusters"]))
    return cell(ev.one_to_one_scores(baseline, data["gold"]))


def main(sgd: Path = typer.Option(None, help="mined SGD workspace"),
         demo: Path = typer.Option(None, help="mined demo workspace (guideminer demo --out)")) -> None:
    sets = {name: load(path, name) for name, path in (("sgd", sgd), ("demo", demo)) if path is not None}
    print("| setting | " + " | ".join(f"{n} proposals / P (1:1) / R / redundancy / lenient P" for n in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for label, params in SETTINGS.items():
        print(f"| {label} | " + " | ".join(score(d, params) for d in sets.values()) + " |", flush=True)
    print("| chance baseline (frequent cluster -> next agent cluster) | "
          + " | ".join(chance(d) for d in sets.values()) + " |")


if __name__ == "__main__":
    typer.run(main)
