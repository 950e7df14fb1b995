"""Human-readable handles for clusters: c-TF-IDF keywords, representative turns, optional name.

Why c-TF-IDF (BERTopic's class-based TF-IDF): treating each cluster's concatenated turns as one
document makes a word score high when it is frequent in *this* cluster and rare across clusters,
which names a situation far better than raw frequency ("refund", "cancel" instead of "please").
Representatives are the distinct member texts closest to the centroid, so a reviewer reads the
most typical phrasings, not outliers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from guideminer.mining.cluster_assign import unit_rows


@runtime_checkable
class ClusterNamer(Protocol):
    """Hook for an optional short name per cluster (e.g. a local GGUF model); off by default."""

    def name(self, keywords: Sequence[str], representative_texts: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class ClusterLabel:
    cluster: int  # 0..k-1 within one clustering
    size: int
    keywords: list[str]
    representative_texts: list[str]
    name: str | None = None


def ctfidf_keywords(
    texts: Sequence[str], labels: np.ndarray, k: int, top_n: int = 8, weights: np.ndarray | None = None
) -> list[list[str]]:
    """Top `top_n` c-TF-IDF terms (unigrams + bigrams, English stop words) of clusters 0..k-1.

    Weight of term t in class c: tf(t, c) / |c| * log(1 + A / f(t)), A = mean words per class,
    f(t) = frequency of t over all classes (BERTopic's formulation). Each text is counted on its
    own (no bigram spans two texts) `weights[i]` times (default once): distinct texts with their
    multiplicity give the same keywords as every repeated turn.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    weights = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not any(str(t).strip() for t in texts):
        return [[] for _ in range(k)]
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1)
    try:
        per_text = vectorizer.fit_transform(texts).astype(np.float64)
    except ValueError:  # only stop words / no tokens at all
        return [[] for _ in range(k)]
    kept = (labels >= 0) & (labels < k)
    membership = sparse.csr_matrix((weights[kept], (labels[kept], np.flatnonzero(kept))), shape=(k, len(texts)))
    counts = (membership @ per_text).tocsr()
    terms = vectorizer.get_feature_names_out()
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_frequency = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1.0 + words_per_class.mean() / np.maximum(term_frequency, 1.0))
    tf = counts.multiply(1.0 / np.maximum(words_per_class, 1.0)[:, None]).tocsr()
    scores = tf.multiply(idf[None, :]).tocsr()
    keywords: list[list[str]] = []
    for c in range(k):
        row = scores.getrow(c)
        order = np.lexsort((terms[row.indices], -row.data))  # score desc, then term: deterministic
        keywords.append([str(terms[row.indices[i]]) for i in order[:top_n]])
    return keywords


def representative_texts(
    texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, centroid: np.ndarray,
    cluster: int, count: int = 5,
) -> list[str]:
    """Up to `count` distinct member texts (case/space-insensitive) nearest the centroid."""
    members = np.flatnonzero(labels == cluster)
    if members.size == 0:
        return []
    sims = unit_rows(vectors[members]) @ centroid
    order = members[np.lexsort((members, -sims))]
    chosen: list[str] = []
    seen: set[str] = set()
    for row in order:
        key = " ".join(texts[row].lower().split())
        if key and key not in seen:
            seen.add(key)
            chosen.append(texts[row])
            if len(chosen) == count:
                break
    return chosen


def label_clusters(
    texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray,
    *, top_keywords: int = 8, representatives: int = 5, namer: ClusterNamer | None = None,
    weights: np.ndarray | None = None,
) -> list[ClusterLabel]:
    """Keywords, representatives, size (and a name if a namer is given) for clusters 0..k-1.

    `labels` should be the final per-point clusters (noise already assigned), so sizes add up
    to n and every turn counts towards the words of its cluster. With `weights`, point i stands
    for weights[i] turns (distinct texts with their counts: the same labels, far less memory).
    """
    k = len(centroids)
    weights = np.ones(len(labels), dtype=np.int64) if weights is None else np.asarray(weights)
    keywords = ctfidf_keywords(texts, labels, k, top_keywords, weights)
    result = []
    for c in range(k):
        reps = representative_texts(texts, vectors, labels, centroids[c], c, representatives)
        name = namer.name(keywords[c], reps) if namer is not None else None
        result.append(ClusterLabel(c, int(weights[labels == c].sum()), keywords[c], reps, name))
    return result
