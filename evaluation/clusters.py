"""Score the mining clusterer on labelled utterances (DSTC11, CLINC150, Banking77, any CSV).

Why: the number of clusters is never given to `mine`, so the only honest check is to run the
*same* embedder, reduction, HDBSCAN and noise assignment on data with gold intents and compare.
Turns still flagged as noise after assignment are scored as one extra cluster "-1" (they are
not silently dropped, and they cannot inflate precision by hiding hard items).
CLINC150: the `test` split holds 150 in-scope intents; `oos_test` (out-of-scope) is excluded by
default, as in the published intent-discovery baselines that this table is compared with.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from guideminer.mining.cluster import ClusterParams, cluster_embeddings
from guideminer.mining.cluster_tree import parent_level
from guideminer.mining.embed import embed_texts
from guideminer.evaluation.metrics import clustering_scores
from guideminer.models.embedder import TextEmbedder

EvalFormat = Literal["dstc11", "clinc", "banking77", "csv"]
NOISE_LABEL = "-1"


def _read_dstc11(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                texts.append(str(record["utterance"]))
                labels.append(str(record["intent"]))
            except (json.JSONDecodeError, KeyError) as error:
                raise ValueError(f"{path}:{line_no}: not a DSTC11 utterance record ({error})") from error
    return texts, labels


def _read_clinc(path: Path, split: str, include_oos: bool) -> tuple[list[str], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if split not in data:
        raise ValueError(f"{path} has no split {split!r}; it has {sorted(data)}")
    rows = list(data[split])
    if include_oos:
        rows += data.get(f"oos_{split}", [])
    return [str(r[0]) for r in rows], [str(r[1]) for r in rows]


def _read_csv(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (text_col, label_col) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks column(s) {missing}; it has {reader.fieldnames}")
        rows = list(reader)
    return [r[text_col] for r in rows], [r[label_col] for r in rows]


def load_labelled(
    path: Path, fmt: EvalFormat, *, text_col: str | None = None, label_col: str | None = None,
    split: str = "test", include_oos: bool = False,
) -> tuple[list[str], list[str]]:
    """(texts, gold labels) of one labelled file in a known format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labelled data file {path} not found")
    if fmt == "dstc11":
        return _read_dstc11(path)
    if fmt == "clinc":
        return _read_clinc(path, split, include_oos)
    if fmt == "banking77":
        return _read_csv(path, text_col or "text", label_col or "category")
    if fmt == "csv":
        if not text_col or not label_col:
            raise ValueError("--format csv needs --text-col and --label-col")
        return _read_csv(path, text_col, label_col)
    raise ValueError(f"unknown format {fmt!r}; choose dstc11, clinc, banking77 or csv")


def scored_labels(labels: np.ndarray, is_noise: np.ndarray) -> np.ndarray:
    """Final labels as strings, flagged noise as NOISE_LABEL (see module docstring)."""
    return np.where(is_noise, NOISE_LABEL, labels.astype(str))


def clinc_domains(path: Path, intents: Sequence[str]) -> list[str]:
    """Gold department of each CLINC150 intent, from domains.json next to data_full.json."""
    domains_file = Path(path).with_name("domains.json")
    if not domains_file.is_file():
        raise FileNotFoundError(f"{domains_file} not found (CLINC150 intent -> domain map)")
    domain_of = {intent: domain for domain, members in json.loads(domains_file.read_text(encoding="utf-8")).items()
                 for intent in members}
    missing = sorted(set(intents) - set(domain_of))
    if missing:
        raise ValueError(f"{domains_file} has no domain for intent(s) {missing[:5]}")
    return [domain_of[intent] for intent in intents]


def kmeans_peer(vectors: np.ndarray, gold: Sequence[str], seed: int = 0) -> dict:
    """The honest peer: KMeans *told* the gold K on the same vectors (what guideminer never gets)."""
    from sklearn.cluster import KMeans

    started = time.perf_counter()
    labels = KMeans(n_clusters=len(set(gold)), n_init=3, random_state=seed).fit_predict(vectors)
    scores = clustering_scores(labels.astype(str), gold)
    return {**{name: round(value, 4) for name, value in scores.items()}, "k": len(set(gold)),
            "seconds": round(time.perf_counter() - started, 2)}


def evaluate_clustering(
    texts: Sequence[str], gold: Sequence[str], embedder: TextEmbedder,
    params: ClusterParams | None = None, *, vectors: np.ndarray | None = None,
    gold_parents: Sequence[str] | None = None, peer: bool = True,
) -> dict:
    """Embed (unless `vectors` is given), cluster and score; one flat JSON-able dict.

    Also the parent (department) level of `cluster_tree.parent_level`, scored against
    `gold_parents` when given (CLINC150 domains), and the KMeans-told-K peer (`peer`)."""
    if len(texts) != len(gold) or not texts:
        raise ValueError(f"need equally many texts and labels (got {len(texts)} and {len(gold)})")
    started = time.perf_counter()
    embed_seconds = 0.0
    if vectors is None:
        vectors, stats = embed_texts(texts, embedder, None, progress=False)
        embed_seconds = stats.seconds
    result = cluster_embeddings(vectors, params)
    scores = clustering_scores(scored_labels(result.labels, result.is_noise), gold)
    seconds = round(time.perf_counter() - started, 2)
    parents = parent_level(vectors, result.labels, result.centroids, seed=result.params.seed)
    parent_block: dict = {"k": parents.n_parents, "silhouette": round(parents.silhouette, 4)}
    if gold_parents is not None:
        parent_scores = clustering_scores(parents.parent_of[result.labels].astype(str), gold_parents)
        parent_block |= {**{name: round(value, 4) for name, value in parent_scores.items()},
                         "gold_k": len(set(gold_parents))}
    report = {
        **{name: round(value, 4) for name, value in scores.items()},
        "k": result.k, "gold_k": len(set(gold)), "n": len(texts),
        "noise_share": round(result.noise_share, 4),
        "hdbscan_noise_share": round(result.hdbscan_noise_share, 4),
        "seconds": seconds, "embed_seconds": round(embed_seconds, 2),
        "model_id": embedder.model_id, "params": result.params.as_dict(), "parents": parent_block,
    }
    if peer:
        report["kmeans_gold_k"] = kmeans_peer(vectors, gold, result.params.seed)
    return report
