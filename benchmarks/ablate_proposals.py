"""Guideline precision / recall per proposal-method ablation, on already mined workspaces.

Usage (after `guideminer mine` on each):
    .venv/bin/python benchmarks/ablate_proposals.py --sgd /tmp/ws_sgd --demo /tmp/demo

Re-proposes from the same clusters and departments with each setting (no re-clustering), then
scores with the `guideminer eval proposals` rules, so rows differ only by the proposal method.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from guideminer.ingest.workspace import read_conversations, read_turns
from guideminer.evaluation import proposals as ev
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
    if gold == "sgd":
        labels, _, pairs, generic, situations = ev.sgd_gold(read_turns(workspace), read_conversations(workspace))
    else:
        labels, _, pairs, generic, situations = ev.demo_gold(workspace)
    a, routed = tables["turn_assignments"], tables["conversation_departments"]
    conditions = {**ev.condition_majority(a, labels, None), **ev.condition_majority(a, labels, routed)}
    return {**tables, "majority": ev.cluster_majority(a, labels), "pairs": pairs, "generic": generic,
            "situations": situations, "conditions": conditions}


def score(data: dict, params: GuidelineParams) -> str:
    routed = data["conversation_departments"] if params.per_department else None
    proposals = propose_guidelines(data["turn_assignments"], data["clusters"], params, routed=routed)
    scores = ev.guideline_scores(GuidelineSet(thresholds={}, ranked_by="support", n_conversations=0,
                                              proposals=proposals),
                                 data["majority"], data["pairs"], data["generic"], data["situations"],
                                 data["conditions"])
    return f"{scores['n_proposals']} / {scores['precision']:.3f} / {scores['recall']:.3f}"


def main(sgd: Path = typer.Option(None, help="mined SGD workspace"),
         demo: Path = typer.Option(None, help="mined demo workspace (guideminer demo --out)")) -> None:
    sets = {name: load(path, name) for name, path in (("sgd", sgd), ("demo", demo)) if path is not None}
    print("| setting | " + " | ".join(f"{n} proposals / P / R" for n in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for label, params in SETTINGS.items():
        print(f"| {label} | " + " | ".join(score(d, params) for d in sets.values()) + " |", flush=True)


if __name__ == "__main__":
    typer.run(main)
