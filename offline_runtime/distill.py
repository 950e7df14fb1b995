"""`guideminer distill`: train the narrow classifiers the cascade uses before any SLM call.

Training data
- From a mined workspace plus the agent spec exported from it (the usual case): a guideline's
  positives are the customer turns of its condition cluster (found through the guideline's
  provenance "mined:<proposal id>"), its negatives a seeded sample of every other clustered
  customer turn (up to `negatives_per_positive` x positives). The router learns each
  conversation's first customer turn labelled with the department mining assigned it to.
- From an agent spec alone (no workspace): positives are a guideline's condition and examples,
  negatives the other guidelines' texts; the router learns every department's texts. Small, but
  it still beats cosine to a rule text when examples exist.

Held-out scores (workspace): the conversations are split (seeded, `test_share` held out); every
head is fitted on the fit conversations only and scored on every customer turn of the held-out
ones, then refitted on all conversations for the shipped weights. The reference is
- gold labels, when given (`gold`: SGD intents, turn metadata keys, the demo truth): a guideline
  stands for the majority gold label of its condition cluster's *fit* turns, and a held-out turn
  is positive when it carries that label; the router's mined departments stand for their
  majority gold department over the fit conversations. Peers in the same run: the clustering
  itself (turn in the condition cluster; mined routing), which saw the held-out conversations
  when it was fitted, and for the router the majority department;
- otherwise agreement with the clustering (turn in the condition cluster; the mined department),
  which only says how well a logistic head reproduces HDBSCAN membership in the same embedding
  space, not whether the condition holds; the report says which one it is (`evaluation.reference`).
From a spec alone the split is over the spec's texts (there are no conversations).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

from guideminer.engine import AgentSpec
from guideminer.engine.classifiers import (
    ClassifierConditionScorer, ClassifierRouter, LinearHeads, load_heads, save_heads,
)
from guideminer.ingest.gold_labels import GoldLabels
from guideminer.ingest.workspace import read_turns
from guideminer.mining.export_spec import mined_proposal_id
from guideminer.mining.proposals import read_proposals
from guideminer.mining.schema import MINING_FILES
from guideminer.models.embedder import TextEmbedder

MIN_POSITIVES = 3  # distinct texts; fewer cannot be split into train and held-out
AGREEMENT = "agreement with the clustering (no gold labels given): how well a head reproduces cluster membership"


@dataclass
class DistilledModels:
    router: ClassifierRouter | None
    scorer: ClassifierConditionScorer | None
    report: dict


@dataclass
class DistillConfig:
    negatives_per_positive: int = 10
    max_positives: int = 2000
    test_share: float = 0.2  # of the conversations (spec alone: of the texts) held out for scoring
    seed: int = 0


@dataclass(frozen=True)
class Split:
    """Customer turns of the fit and held-out conversations: conversation_id, turn_index, text,
    cluster_id (null: noise), gold (null: unlabelled or no gold)."""

    fit: pl.DataFrame
    held: pl.DataFrame


def _logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(max_iter=2000, class_weight="balanced").fit(x, y)


class _Vectors:
    """Embeds each distinct text once."""

    def __init__(self, embedder: TextEmbedder, texts: list[str]) -> None:
        distinct = list(dict.fromkeys(texts))
        self.index = {t: i for i, t in enumerate(distinct)}
        self.matrix = np.asarray(embedder.embed(distinct), dtype=np.float32) if distinct else np.zeros((0, 1))

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.matrix[[self.index[t] for t in texts]]


def binary_scores(truth: np.ndarray, predicted: np.ndarray) -> dict:
    precision, recall, f1, _ = precision_recall_fscore_support(truth, predicted, average="binary", pos_label=1,
                                                               zero_division=0)
    return {"precision": round(float(precision), 4), "recall": round(float(recall), 4), "f1": round(float(f1), 4),
            "accuracy": round(float(accuracy_score(truth, predicted)), 4), "positives": int(truth.sum())}


def majority(keys: list, values: list) -> dict:
    """key -> its most frequent value (ties: smallest), ignoring null values."""
    counts: dict = {}
    for k, v in zip(keys, values, strict=True):
        if v is not None:
            counts.setdefault(k, {}).setdefault(v, 0)
            counts[k][v] += 1
    return {k: sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0] for k, c in counts.items()}


def split_workspace(workspace: Path, gold: GoldLabels | None, config: DistillConfig) -> Split:
    """Customer turns with cluster and gold label, split by conversation (seeded)."""
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"]).select(
        "conversation_id", "turn_index", pl.when(pl.col("is_noise")).then(None).otherwise(pl.col("cluster_id"))
        .alias("cluster_id"))
    turns = (read_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer")
             .select("conversation_id", pl.col("turn_index").cast(pl.Int32), "text")
             .join(assignments.with_columns(pl.col("turn_index").cast(pl.Int32)), on=["conversation_id", "turn_index"],
                   how="left"))
    labels = (gold.labels.select("conversation_id", pl.col("turn_index").cast(pl.Int32), pl.col("label").alias("gold"))
              if gold is not None else turns.select("conversation_id", "turn_index").with_columns(
                  pl.lit(None, pl.String).alias("gold")))
    turns = turns.join(labels, on=["conversation_id", "turn_index"], how="left").sort("conversation_id", "turn_index")
    ids = sorted(turns["conversation_id"].unique().to_list())
    order = np.random.default_rng(config.seed).permutation(len(ids))
    held_ids = {ids[i] for i in order[: int(round(config.test_share * len(ids)))]}
    in_held = pl.col("conversation_id").is_in(list(held_ids))
    return Split(turns.filter(~in_held), turns.filter(in_held))


def _condition_clusters(spec: AgentSpec, workspace: Path) -> dict[str, tuple[tuple[int, ...], list[str]]]:
    """guideline id -> (condition clusters, the guideline's own texts) for mined guidelines. A
    habit merged from several variants (mining/habits.py) holds in every variant's condition
    cluster, its own first: learning only the first would teach the head that the others are
    negatives."""
    proposals = {p.guideline_id: p for p in read_proposals(workspace)[0].proposals}
    out = {}
    for guideline in (g for d in spec.departments for g in d.guidelines):
        proposal = proposals.get(mined_proposal_id(guideline) or "")
        if proposal is not None:
            clusters = dict.fromkeys([proposal.condition.cluster_id, *(v.condition_cluster_id for v in proposal.scopes)])
            out[guideline.id] = (tuple(clusters), [guideline.condition, *guideline.examples])
    return out


def _training_set(turns: pl.DataFrame, clusters: tuple[int, ...], own: list[str], rng: np.random.Generator,
                  config: DistillConfig) -> tuple[list[str], list[str]]:
    """(positives, negatives): distinct texts of the cluster (+ the guideline's own texts) and a
    seeded sample of the other clusters' texts."""
    clustered = turns.drop_nulls("cluster_id")
    inside = pl.col("cluster_id").is_in(list(clusters))
    positives = list(dict.fromkeys(clustered.filter(inside)["text"].to_list() + own))
    positives = positives[: config.max_positives]
    pool = list(dict.fromkeys(clustered.filter(~inside)["text"].to_list()))
    taken = rng.choice(len(pool), size=min(len(pool), config.negatives_per_positive * len(positives)), replace=False)
    known = set(positives)
    return positives, [pool[i] for i in taken if pool[i] not in known]


def _fit_head(vectors: _Vectors, positives: list[str], negatives: list[str]) -> LogisticRegression:
    y = np.array([1] * len(positives) + [0] * len(negatives))
    return _logistic(vectors(positives + negatives), y)


def _heldout_condition(model, vectors: _Vectors, split: Split, clusters: tuple[int, ...], has_gold: bool) -> dict:
    """Scores of a head fitted on the fit conversations, over every held-out customer turn."""
    held = split.held
    predicted = model.predict(vectors(held["text"].to_list()))
    in_cluster = held["cluster_id"].is_in(list(clusters)).fill_null(False).to_numpy().astype(int)
    report = {"n_heldout": held.height, "agreement": binary_scores(in_cluster, predicted)}
    if has_gold:
        label = majority(split.fit["cluster_id"].to_list(), split.fit["gold"].to_list()).get(clusters[0])
        report["gold_label"] = label
        if label is not None:
            truth = (held["gold"] == label).fill_null(False).to_numpy().astype(int)
            report["gold"] = binary_scores(truth, predicted)
            report["clustering_vs_gold"] = binary_scores(truth, in_cluster)
    return report


def _train_conditions(spec: AgentSpec, workspace: Path, split: Split, embedder: TextEmbedder, config: DistillConfig,
                      has_gold: bool) -> tuple[LinearHeads | None, dict]:
    clusters = _condition_clusters(spec, workspace)
    everything = pl.concat([split.fit, split.held])
    own_texts = [t for _, own in clusters.values() for t in own]
    vectors = _Vectors(embedder, everything["text"].to_list() + own_texts)
    held_texts = set(split.held["text"].to_list())
    rng = np.random.default_rng(config.seed)
    ids, weights, bias, report = [], [], [], {}
    for guideline_id, (cluster, own) in sorted(clusters.items()):
        fit_own = [t for t in own if t not in held_texts]  # a spec example taken from a held-out turn would leak it
        positives, negatives = _training_set(split.fit, cluster, fit_own, rng, config)
        if len(positives) < MIN_POSITIVES or not negatives:
            report[guideline_id] = {"skipped": f"{len(positives)} positive texts in the fit conversations "
                                               f"(< {MIN_POSITIVES}) or no negatives"}
            continue
        held_model = _fit_head(vectors, positives, negatives)
        report[guideline_id] = {"n_fit": len(positives) + len(negatives),
                                **_heldout_condition(held_model, vectors, split, cluster, has_gold)}
        positives, negatives = _training_set(everything, cluster, own, rng, config)
        model = _fit_head(vectors, positives, negatives)
        ids.append(guideline_id)
        weights.append(model.coef_[0])
        bias.append(model.intercept_[0])
    heads = LinearHeads(tuple(ids), np.asarray(weights, np.float32), np.asarray(bias, np.float32)) if ids else None
    return heads, report


def _first_turns(turns: pl.DataFrame, routed: pl.DataFrame, known: set[str]) -> pl.DataFrame:
    first = turns.sort("turn_index").group_by("conversation_id").agg(pl.col("text").first()).sort("conversation_id")
    return first.join(routed, on="conversation_id").filter(pl.col("department_id").is_in(list(known)))


def _heads_from(model: LogisticRegression) -> LinearHeads:
    classes = [str(c) for c in model.classes_]
    if len(classes) == 2:  # sklearn keeps one row for two classes: expand to one row per class
        weights = np.stack([-model.coef_[0], model.coef_[0]]) / 2
        bias = np.array([-model.intercept_[0], model.intercept_[0]]) / 2
    else:
        weights, bias = model.coef_, model.intercept_
    return LinearHeads(tuple(classes), weights.astype(np.float32), bias.astype(np.float32))


def _heldout_router(model, vectors: _Vectors, fit: pl.DataFrame, held: pl.DataFrame,
                    gold: pl.DataFrame | None) -> dict:
    predicted = model.predict(vectors(held["text"].to_list())).tolist()
    mined = held["department_id"].to_list()
    report = {"n_fit": fit.height, "n_heldout": held.height,
              "agreement_accuracy": round(float(accuracy_score(mined, predicted)), 4)}
    if gold is not None:
        fit_gold, held_gold = fit.join(gold, on="conversation_id", how="left"), held.join(gold, on="conversation_id",
                                                                                           how="left")
        standing = majority(fit_gold["department_id"].to_list(), fit_gold["gold"].to_list())
        truth = held_gold["gold"].to_list()
        common = majority([0] * fit_gold.height, fit_gold["gold"].to_list()).get(0)

        def accuracy(guesses: list) -> float:
            pairs = [(g, t) for g, t in zip(guesses, truth, strict=True) if t is not None]
            return round(sum(g == t for g, t in pairs) / len(pairs), 4) if pairs else 0.0

        report.update({"gold_accuracy": accuracy([standing.get(p) for p in predicted]),
                       "mined_routing_gold_accuracy": accuracy([standing.get(m) for m in mined]),
                       "majority_gold_accuracy": accuracy([common] * len(truth))})
    return report


def _train_router(spec: AgentSpec, workspace: Path, split: Split, embedder: TextEmbedder,
                  gold: GoldLabels | None) -> tuple[LinearHeads | None, dict]:
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"]).select("conversation_id",
                                                                                        "department_id")
    known = {d.id for d in spec.departments}
    fit, held = _first_turns(split.fit, routed, known), _first_turns(split.held, routed, known)
    everything = pl.concat([fit, held])
    if everything["department_id"].n_unique() < 2:
        return None, {"skipped": "fewer than two departments with training texts"}
    vectors = _Vectors(embedder, everything["text"].to_list())
    report: dict = {}
    if fit["department_id"].n_unique() >= 2 and held.height:
        held_model = _logistic(vectors(fit["text"].to_list()), fit["department_id"].to_numpy())
        report = _heldout_router(held_model, vectors, fit, held, None if gold is None else gold.departments)
    else:
        report["heldout"] = "too few conversations per department for a held-out split"
    model = _logistic(vectors(everything["text"].to_list()), everything["department_id"].to_numpy())
    return _heads_from(model), report


def _spec_fit(x: np.ndarray, y: np.ndarray, config: DistillConfig) -> tuple[LogisticRegression, dict]:
    """Spec alone: held-out scores on a stratified split of the spec's texts, then refitted on all."""
    report: dict = {"n": int(len(y)), "classes": int(len(set(y.tolist())))}
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() >= 2 and len(y) * config.test_share >= len(counts):
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=config.test_share, stratify=y,
                                                            random_state=config.seed)
        predicted = _logistic(x_train, y_train).predict(x_test)
        report["heldout_accuracy"] = round(float(accuracy_score(y_test, predicted)), 4)
        if report["classes"] == 2:
            report["heldout_f1"] = round(float(f1_score(y_test, predicted, pos_label=1)), 4)
    else:
        report["heldout"] = "too few examples per class for a held-out split"
    return _logistic(x, y), report


def _distill_spec_only(spec: AgentSpec, embedder: TextEmbedder, config: DistillConfig) -> tuple[dict, dict, dict]:
    own = {g.id: [g.condition, *g.examples] for d in spec.departments for g in d.guidelines}
    pairs = [(t, d.id) for d in spec.departments for g in d.guidelines for t in (g.condition, *g.examples)]
    vectors = _Vectors(embedder, [t for t, _ in pairs])
    ids, weights, bias, report = [], [], [], {}
    for guideline_id, texts in sorted(own.items()):
        positives = list(dict.fromkeys(texts))
        negatives = list(dict.fromkeys(t for other, ts in own.items() if other != guideline_id for t in ts
                                       if t not in set(positives)))
        if len(positives) < MIN_POSITIVES or not negatives:
            report[guideline_id] = {"skipped": f"{len(positives)} positive texts (< {MIN_POSITIVES}) or no negatives"}
            continue
        y = np.array([1] * len(positives) + [0] * len(negatives))
        model, report[guideline_id] = _spec_fit(vectors(positives + negatives), y, config)
        ids.append(guideline_id)
        weights.append(model.coef_[0])
        bias.append(model.intercept_[0])
    heads = {"conditions": LinearHeads(tuple(ids), np.asarray(weights, np.float32), np.asarray(bias, np.float32))
             } if ids else {}
    labels = [d for _, d in pairs]
    router_report: dict = {"skipped": "fewer than two departments with training texts"}
    if len(set(labels)) >= 2:
        model, router_report = _spec_fit(vectors([t for t, _ in pairs]), np.asarray(labels), config)
        heads["router"] = _heads_from(model)
    return heads, router_report, report


def summary(conditions: dict, router: dict, reference: str) -> dict:
    """Medians over the scored guidelines, so one line tells whether the heads are any good."""
    scored = [r for r in conditions.values() if "agreement" in r]

    def median(key: str) -> float | None:
        values = [r[key]["f1"] for r in scored if key in r]
        return round(statistics.median(values), 4) if values else None

    out = {"reference": reference, "scored_guidelines": len(scored),
           "median_agreement_f1": median("agreement")}
    if reference != AGREEMENT:
        out.update({"median_gold_f1": median("gold"), "median_clustering_gold_f1": median("clustering_vs_gold"),
                    "router_gold_accuracy": router.get("gold_accuracy"),
                    "mined_routing_gold_accuracy": router.get("mined_routing_gold_accuracy"),
                    "majority_gold_accuracy": router.get("majority_gold_accuracy")})
    out["router_agreement_accuracy"] = router.get("agreement_accuracy")
    return out


def distill(spec: AgentSpec, out: Path, embedder: TextEmbedder, *, workspace: Path | None = None,
            config: DistillConfig | None = None, gold: GoldLabels | None = None) -> dict:
    """Train router + condition heads, score them held-out (module docstring), write them to
    `out`, return the report. Texts are read as the runtime reads them (the spec's
    interchangeable words and filler phrases), so the heads see the runtime's vectors."""
    config = config or DistillConfig()
    if spec.interchangeable_words or spec.filler_phrases:
        from guideminer.engine.embedding import RewritingEmbedder

        embedder = RewritingEmbedder(embedder, spec.interchangeable_words, spec.filler_phrases)
    if workspace is None:
        heads, router_report, condition_report = _distill_spec_only(spec, embedder, config)
        evaluation = {"split": "texts of the agent spec", "against_gold": False, "reference": "the spec's own texts"}
    else:
        split = split_workspace(Path(workspace), gold, config)
        conditions, condition_report = _train_conditions(spec, Path(workspace), split, embedder, config,
                                                         gold is not None)
        router, router_report = _train_router(spec, Path(workspace), split, embedder, gold)
        heads = {name: h for name, h in (("conditions", conditions), ("router", router)) if h is not None}
        reference = AGREEMENT if gold is None else f"gold labels ({json.dumps(gold.description)})"
        evaluation = {"split": "conversations", "against_gold": gold is not None,
                      "fit_conversations": split.fit["conversation_id"].n_unique(),
                      "heldout_conversations": split.held["conversation_id"].n_unique(),
                      **summary(condition_report, router_report, reference)}
    report = {"embedder": embedder.model_id, "source": str(workspace) if workspace else "agent spec only",
              "evaluation": evaluation, "router": router_report, "conditions": condition_report,
              "config": config.__dict__}
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
