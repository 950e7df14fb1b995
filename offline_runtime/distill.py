"""`guideminer distill`: train the narrow classifiers the cascade uses before any SLM call.

Training data
- From a mined workspace plus the agent spec exported from it (the usual case): a guideline's
  positives are the customer turns of its condition cluster (found through the guideline's
  provenance "mined:<proposal id>"), its negatives a seeded sample of every other customer turn
  (up to `negatives_per_positive` x positives). The router learns each conversation's first
  customer turn labelled with the department mining assigned the conversation to.
- From an agent spec alone (no workspace): positives are a guideline's condition and examples,
  negatives the other guidelines' texts; the router learns every department's texts. Small, but
  it still beats cosine to a rule text when examples exist.

Every task is scored on a stratified held-out split (`test_share`, seeded) before the final
model is refitted on all data; the report (accuracy, and F1 of the positive class for
conditions) is written beside the weights and printed, so a reviewer sees which conditions
the classifier cannot separate (those go to the SLM verifier at run time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from guideminer.engine import AgentSpec
from guideminer.engine.classifiers import (
    ClassifierConditionScorer, ClassifierRouter, LinearHeads, load_heads, save_heads,
)
from guideminer.mining.export_spec import mined_proposal_id
from guideminer.ingest.workspace import read_turns
from guideminer.mining.proposals import read_proposals
from guideminer.mining.schema import MINING_FILES
from guideminer.models.embedder import TextEmbedder

MIN_POSITIVES = 3  # distinct texts; fewer cannot be split into train and held-out


@dataclass
class DistilledModels:
    router: ClassifierRouter | None
    scorer: ClassifierConditionScorer | None
    report: dict


@dataclass
class DistillConfig:
    negatives_per_positive: int = 10
    max_positives: int = 2000
    test_share: float = 0.2
    seed: int = 0


def _embed(embedder: TextEmbedder, texts: list[str]) -> tuple[dict[str, int], np.ndarray]:
    distinct = list(dict.fromkeys(texts))
    return {t: i for i, t in enumerate(distinct)}, np.asarray(embedder.embed(distinct), dtype=np.float32)


def _fit(x: np.ndarray, y: np.ndarray, config: DistillConfig) -> tuple[LogisticRegression, dict]:
    """Held-out scores on a stratified split, then the model refitted on everything."""
    report: dict = {"n": int(len(y)), "classes": int(len(set(y.tolist())))}
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() >= 2 and len(y) * config.test_share >= len(counts):
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=config.test_share, stratify=y,
                                                            random_state=config.seed)
        held = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train, y_train)
        predicted = held.predict(x_test)
        report["heldout_accuracy"] = round(float(accuracy_score(y_test, predicted)), 4)
        if report["classes"] == 2:
            report["heldout_f1"] = round(float(f1_score(y_test, predicted, pos_label=1)), 4)
    else:
        report["heldout"] = "too few examples per class for a held-out split"
    return LogisticRegression(max_iter=2000, class_weight="balanced").fit(x, y), report


def _condition_data(spec: AgentSpec, workspace: Path | None) -> dict[str, tuple[list[str], list[str]]]:
    """guideline id -> (positive texts, pool of other texts)."""
    guidelines = [g for d in spec.departments for g in d.guidelines]
    if workspace is None:
        own = {g.id: [g.condition, *g.examples] for g in guidelines}
        return {g: (texts, [t for other, ts in own.items() if other != g for t in ts]) for g, texts in own.items()}
    proposals = {p.guideline_id: p for p in read_proposals(workspace)[0].proposals}
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"]).filter(
        (pl.col("role").cast(pl.String) == "customer") & ~pl.col("is_noise"))
    texts = read_turns(workspace).select("conversation_id", "turn_index", "text")
    turns = assignments.join(texts, on=["conversation_id", "turn_index"]).select("cluster_id", "text")
    by_cluster = {c: g["text"].to_list() for (c,), g in turns.group_by("cluster_id")}
    data = {}
    for guideline in guidelines:
        proposal = proposals.get(mined_proposal_id(guideline) or "")
        if proposal is None:
            continue
        cluster = proposal.condition.cluster_id
        data[guideline.id] = (by_cluster.get(cluster, []) + [guideline.condition, *guideline.examples],
                              list(dict.fromkeys(t for c, ts in by_cluster.items() if c != cluster for t in ts)))
    return data


def _router_data(spec: AgentSpec, workspace: Path | None) -> tuple[list[str], list[str]]:
    if workspace is None:
        pairs = [(t, d.id) for d in spec.departments for g in d.guidelines for t in (g.condition, *g.examples)]
        return [t for t, _ in pairs], [d for _, d in pairs]
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"])
    first = (read_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer").sort("turn_index")
             .group_by("conversation_id").agg(pl.col("text").first()))
    known = {d.id for d in spec.departments}
    joined = first.join(routed, on="conversation_id").filter(pl.col("department_id").is_in(known))
    return joined["text"].to_list(), joined["department_id"].to_list()


def _train_conditions(data, embedder, config) -> tuple[LinearHeads | None, dict]:
    rng = np.random.default_rng(config.seed)
    index, matrix = _embed(embedder, [t for pos, pool in data.values() for t in pos + pool])
    ids, weights, bias, report = [], [], [], {}
    for guideline_id, (positives, pool) in sorted(data.items()):
        positives = list(dict.fromkeys(positives))[: config.max_positives]
        if len(positives) < MIN_POSITIVES or not pool:
            report[guideline_id] = {"skipped": f"{len(positives)} positive texts (< {MIN_POSITIVES}) or no negatives"}
            continue
        taken = rng.choice(len(pool), size=min(len(pool), config.negatives_per_positive * len(positives)), replace=False)
        negatives = [pool[i] for i in taken if pool[i] not in set(positives)]
        x = matrix[[index[t] for t in positives + negatives]]
        y = np.array([1] * len(positives) + [0] * len(negatives))
        model, report[guideline_id] = _fit(x, y, config)
        ids.append(guideline_id)
        weights.append(model.coef_[0])
        bias.append(model.intercept_[0])
    heads = LinearHeads(tuple(ids), np.asarray(weights, np.float32), np.asarray(bias, np.float32)) if ids else None
    return heads, report


def _train_router(texts: list[str], labels: list[str], embedder, config) -> tuple[LinearHeads | None, dict]:
    if len(set(labels)) < 2:
        return None, {"skipped": "fewer than two departments with training texts"}
    index, matrix = _embed(embedder, texts)
    x, y = matrix[[index[t] for t in texts]], np.asarray(labels)
    model, report = _fit(x, y, config)
    classes = [str(c) for c in model.classes_]
    if len(classes) == 2:  # sklearn keeps one row for two classes: expand to one row per class
        weights = np.stack([-model.coef_[0], model.coef_[0]]) / 2
        bias = np.array([-model.intercept_[0], model.intercept_[0]]) / 2
    else:
        weights, bias = model.coef_, model.intercept_
    return LinearHeads(tuple(classes), weights.astype(np.float32), bias.astype(np.float32)), report


def distill(spec: AgentSpec, out: Path, embedder: TextEmbedder, *, workspace: Path | None = None,
            config: DistillConfig | None = None) -> dict:
    """Train router + condition heads, write them to `out`, return the report."""
    config = config or DistillConfig()
    conditions, condition_report = _train_conditions(_condition_data(spec, workspace), embedder, config)
    router, router_report = _train_router(*_router_data(spec, workspace), embedder, config)
    heads = {name: h for name, h in (("conditions", conditions), ("router", router)) if h is not None}
    report = {"embedder": embedder.model_id, "source": str(workspace) if workspace else "agent spec only",
              "router": router_report, "conditions": condition_report, "config": config.__dict__}
    save_heads(Path(out), heads, report)
    return report


def load_distilled(models_dir: Path, embedder: TextEmbedder, fallback_scorer=None) -> DistilledModels:
    """The distilled router and condition scorer (either None when not trained); guidelines
    without a head are scored by `fallback_scorer` (see ClassifierConditionScorer)."""
    heads, meta = load_heads(models_dir, embedder)
    router = ClassifierRouter(heads["router"], embedder) if "router" in heads else None
    scorer = (ClassifierConditionScorer(heads["conditions"], embedder, fallback=fallback_scorer)
              if "conditions" in heads else None)
    return DistilledModels(router, scorer, meta)


def report_rows(report: dict) -> list[tuple[str, str]]:
    rows = [("router", json.dumps(report["router"]))]
    rows += [(g, json.dumps(r)) for g, r in sorted(report["conditions"].items())]
    return rows
