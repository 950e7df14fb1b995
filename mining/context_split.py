"""Split a cluster whose textual halves occur in different contexts: agent moves by the need
they answer, customer needs by the move that answers them.

Why: turns are clustered on their words, with a `min_cluster_size` that scales with the number
of turns. On calls, where etiquette (holds, thanks, "anything else?") more than doubles the agent
turns per conversation, rare need moves fall below that size and merge into mixed clusters:
"I've refunded the duplicate charge" sits with "our return window is 30 days" and "I can offer
store credit" (call-style demo: 17 gold moves had no guideline of their own). Customer needs
merge the same way ("my card was declined" with "I was charged twice"). A guideline mined from
such a cluster has one condition or one action for several habits. Lowering `min_cluster_size`
instead splits paraphrases too, and moves everything clustered after it (measured: calls
routing 0.787 -> 0.703).

What tells two habits from two phrasings of one is the context: what the customer needed when
the agent said it, what the agent did when the customer said it. For each cluster:
1. bisect its distinct texts with 2-means (weighted by turns, seeded);
2. keep the split only if both halves have at least `min_turns` turns, the total variation
   distance between the halves' context distributions is at least `min_tv`, and a seeded
   permutation test of that distance (contexts shuffled across the halves) gives p <= `max_p`;
3. recurse into each half, at most `max_depth` levels;
4. repeat agent then customer splits for up to `rounds` rounds: each side's parts sharpen the
   other side's contexts.
Paraphrases of one habit occur in the same contexts (distance small, or not significant on few
turns); two habits do not. No word list; the same on any corpus.

Contexts: an agent move's is its *open need* (mining/open_need.py: the latest customer need
cluster before it, answers and etiquette skipped); a customer need's is the next non-etiquette
agent move (after the agent split). Answer clusters are not split by what follows them: that
depends on the need they answer, which the need view already supplies. Etiquette is not split.
The largest part keeps the cluster's id; the others get new ids after the largest id in use.
Measured in docs/results.md "Clusters split by their context".
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sklearn.cluster import KMeans

from guideminer.mining.cluster_assign import unit_rows
from guideminer.mining.labels import label_clusters
from guideminer.mining.open_need import answer_clusters


class ContextSplitParams(BaseModel):
    """How clusters are split by their context (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agents: bool = True  # split agent moves by the open need before them
    customers: bool = True  # split customer needs by the agent move after them
    # effect-size floor of the halves' context distance: on large clusters any difference is
    # significant; below it the permutation test decides (0.2-0.3 split alike, 0.5 missed splits)
    min_tv: float = Field(0.2, gt=0, le=1)
    min_turns: int = Field(5, ge=1)  # turns in each half
    max_p: float = Field(0.01, gt=0, le=1)  # permutation-test p-value of that distance
    permutations: int = Field(200, ge=20)
    max_depth: int = Field(4, ge=1)  # at most 2**max_depth parts per cluster
    fit_texts: int = Field(5000, ge=10)  # distinct texts 2-means is fitted on (seeded sample)
    test_turns: int = Field(5000, ge=10)  # turns the permutation test draws from (seeded sample)
    rounds: int = Field(3, ge=1)  # agent then customer splits, repeated while either finds one
    seed: int = 0


def not_needs(assignments: pl.DataFrame, etiquette: set[int], spread: set[int]) -> set[int]:
    """Customer clusters that are no need: etiquette, spread, or answers (mining/open_need.py)."""
    customers = assignments.filter((pl.col("role") == "customer") & ~pl.col("is_noise")
                                   & ~pl.col("cluster_id").is_in(sorted(etiquette | spread)))
    return etiquette | spread | answer_clusters(customers.select("conversation_id", "turn_index", "cluster_id"))


def agent_open_needs(assignments: pl.DataFrame, etiquette: set[int], spread: set[int]) -> pl.DataFrame:
    """The non-etiquette agent rows of `assignments` (conversation_id, turn_index, role,
    cluster_id, is_noise) with `context`: the conversation's latest customer need cluster
    before the turn (`not_needs` skipped); null before any."""
    is_need = (pl.col("role") == "customer") & ~pl.col("cluster_id").is_in(sorted(not_needs(assignments, etiquette, spread)))
    return (assignments.sort("conversation_id", "turn_index")
            .with_columns(pl.when(is_need).then(pl.col("cluster_id")).otherwise(None)
                          .forward_fill().over("conversation_id").alias("context"))
            .filter((pl.col("role") == "agent") & ~pl.col("cluster_id").is_in(sorted(etiquette))))


def customer_next_moves(assignments: pl.DataFrame, etiquette: set[int], skipped: set[int]) -> pl.DataFrame:
    """The customer rows of need clusters (not in `skipped`: `not_needs`) with `context`: the next
    non-etiquette agent move of the conversation; null when none follows."""
    is_move = (pl.col("role") == "agent") & ~pl.col("cluster_id").is_in(sorted(etiquette))
    return (assignments.sort("conversation_id", "turn_index")
            .with_columns(pl.when(is_move).then(pl.col("cluster_id")).otherwise(None)
                          .backward_fill().over("conversation_id").alias("context"))
            .filter((pl.col("role") == "customer") & ~pl.col("cluster_id").is_in(sorted(skipped))))


def context_distance(codes: np.ndarray, in_first: np.ndarray, n_codes: int) -> float:
    """Total variation distance between the context distributions of the two halves."""
    first = np.bincount(codes[in_first], minlength=n_codes) / max(1, int(in_first.sum()))
    second = np.bincount(codes[~in_first], minlength=n_codes) / max(1, int((~in_first).sum()))
    return 0.5 * float(np.abs(first - second).sum())


def permutation_p(codes: np.ndarray, in_first: np.ndarray, observed: float, params: ContextSplitParams) -> float:
    """Share of context shuffles (plus the observed one) at least as far apart as `observed`;
    on at most `test_turns` turns; stops once the p-value can no longer reach `max_p`."""
    rng = np.random.default_rng(params.seed)
    if len(codes) > params.test_turns:
        sample = rng.choice(len(codes), params.test_turns, replace=False)
        codes, in_first = codes[sample], in_first[sample]
    n_codes, hits = int(codes.max()) + 1, 0
    limit = params.max_p * (params.permutations + 1) - 1  # hits allowed for p <= max_p
    for _ in range(params.permutations):
        if context_distance(rng.permutation(codes), in_first, n_codes) >= observed - 1e-12:
            hits += 1
            if hits > limit:
                break
    return (hits + 1) / (params.permutations + 1)


def bisect_texts(vectors: np.ndarray, weights: np.ndarray, params: ContextSplitParams) -> np.ndarray:
    """0/1 side of each distinct text by weighted 2-means on unit vectors (fitted on a seeded sample)."""
    unit_vectors = unit_rows(np.asarray(vectors, dtype=np.float32))
    fit = np.arange(len(weights))
    if len(fit) > params.fit_texts:
        fit = np.sort(np.random.default_rng(params.seed).choice(len(fit), params.fit_texts, replace=False))
    model = KMeans(2, n_init=4, random_state=params.seed).fit(unit_vectors[fit], sample_weight=weights[fit])
    return model.predict(unit_vectors).astype(np.int64)


def split_cluster(vector_rows: np.ndarray, context_codes: np.ndarray, vectors: np.ndarray,
                  params: ContextSplitParams, depth: int = 0) -> list[np.ndarray]:
    """Row index arrays of the parts of one cluster (`vector_rows`, `context_codes`: per turn;
    `vectors`: a row for every vector row); one part when no split passes the tests."""
    every = np.arange(len(vector_rows))
    distinct, inverse, counts = np.unique(vector_rows, return_inverse=True, return_counts=True)
    if depth >= params.max_depth or len(distinct) < 2 or len(vector_rows) < 2 * params.min_turns:
        return [every]
    in_first = bisect_texts(vectors[distinct], counts.astype(np.float64), params)[inverse] == 0
    if min(int(in_first.sum()), int((~in_first).sum())) < params.min_turns:
        return [every]
    observed = context_distance(context_codes, in_first, int(context_codes.max()) + 1)
    if observed < params.min_tv or permutation_p(context_codes, in_first, observed, params) > params.max_p:
        return [every]
    parts = []
    for half in (np.flatnonzero(in_first), np.flatnonzero(~in_first)):
        parts += [half[p] for p in split_cluster(vector_rows[half], context_codes[half], vectors, params, depth + 1)]
    return parts


def split_clusters(rows: pl.DataFrame, vectors: np.ndarray, params: ContextSplitParams,
                   first_new_id: int) -> tuple[pl.DataFrame, dict[int, int]]:
    """`rows` (conversation_id, turn_index, cluster_id, vector_row, context) -> (conversation_id,
    turn_index, cluster_id) of every turn whose cluster was split, and {new cluster id: parent id}."""
    codes = rows.select(pl.col("context").fill_null(-1).rank("dense").cast(pl.Int64) - 1)["context"].to_numpy()
    frame = rows.with_columns(pl.Series("code", codes)).sort("cluster_id", "conversation_id", "turn_index")
    moved, parents, next_id = [], {}, first_new_id
    for (cluster,), group in frame.group_by("cluster_id", maintain_order=True):
        parts = split_cluster(group["vector_row"].to_numpy(), group["code"].to_numpy(), vectors, params)
        if len(parts) < 2:
            continue
        parts.sort(key=lambda part: (-len(part), int(part.min())))
        ids = np.full(group.height, int(cluster), dtype=np.int64)
        for part in parts[1:]:
            ids[part] = next_id
            parents[next_id] = int(cluster)
            next_id += 1
        moved.append(group.select("conversation_id", "turn_index").with_columns(pl.Series("cluster_id", ids)))
    empty = pl.DataFrame(schema={"conversation_id": pl.String, "turn_index": pl.Int32, "cluster_id": pl.Int64})
    return (pl.concat(moved) if moved else empty), parents


def split_by_context(assignments: pl.DataFrame, etiquette: set[int], spread: set[int],
                     spaces: dict[str, tuple[np.ndarray, pl.DataFrame]], params: ContextSplitParams,
                     first_new_id: int) -> tuple[pl.DataFrame, dict[str, dict[int, int]]]:
    """`assignments` with split clusters' turns moved to their parts, and per role {part id: the
    coarse cluster it came from}. `spaces[role]`: (vectors, conversation_id/turn_index/vector_row).
    Rounds, because each side's parts sharpen the other's contexts: a return-policy move that
    also holds the duplicate-charge refund follows one mixed need until that need is split by
    its next moves, and splits in the next round."""
    parents: dict[str, dict[int, int]] = {"agent": {}, "customer": {}}
    next_id = first_new_id
    for _ in range(params.rounds):
        found = 0
        for role, enabled in (("agent", params.agents), ("customer", params.customers)):
            if not enabled:
                continue
            rows = (agent_open_needs(assignments, etiquette, spread) if role == "agent"
                    else customer_next_moves(assignments, etiquette, not_needs(assignments, etiquette, spread)))
            rows = rows.join(spaces[role][1], on=["conversation_id", "turn_index"], how="left")
            moved, split = split_clusters(rows, spaces[role][0], params, next_id)
            for part, parent in split.items():
                parents[role][part] = parents[role].get(parent, parent)
            next_id += len(split)
            found += len(split)
            assignments = with_parts(assignments, moved)
        if not found:
            break
    return assignments, {role: split for role, split in parents.items() if split}


def with_parts(assignments: pl.DataFrame, moved: pl.DataFrame) -> pl.DataFrame:
    """`assignments` with the cluster ids of the `moved` turns replaced by their parts'."""
    return (assignments.join(moved.rename({"cluster_id": "part"}), on=["conversation_id", "turn_index"],
                             how="left", maintain_order="left")
            .with_columns(pl.coalesce("part", "cluster_id").cast(assignments.schema["cluster_id"]).alias("cluster_id"))
            .drop("part"))


def relabel_role(clusters: pl.DataFrame, role: str, members: pl.DataFrame, texts_of: list[str],
                 vectors: np.ndarray, parents: dict[int, int], *, top_keywords: int, representatives: int,
                 space_rows: np.ndarray | None = None) -> pl.DataFrame:
    """The clusters table after a split of `role`'s clusters: each of them relabelled over its
    final turns (`members`: cluster_id, text_row; keywords relative to the role's clusters, as in
    the label step), centroids recomputed for split clusters and their parts (member vectors:
    `vectors[space_rows[text_row]]`, or `vectors[text_row]`), each part carrying its parent's flags."""
    changed = set(parents) | set(parents.values())
    pairs = members.group_by("text_row", "cluster_id").agg(pl.len().alias("turns")).sort("cluster_id", "text_row")
    ids = sorted(set(clusters.filter(pl.col("role") == role)["cluster_id"].to_list()) | set(parents))
    local = {cluster: i for i, cluster in enumerate(ids)}
    text_rows, labels = pairs["text_row"].to_numpy(), pairs["cluster_id"].replace_strict(local).to_numpy()
    weights = pairs["turns"].to_numpy()
    space = text_rows if space_rows is None else space_rows[text_rows]
    member_vectors = unit_rows(np.asarray(vectors[space], dtype=np.float32))
    coarse = {row["cluster_id"]: row for row in clusters.iter_rows(named=True)}
    centroids = np.zeros((len(ids), member_vectors.shape[1]), dtype=np.float32)
    for cluster, i in local.items():
        if cluster in changed:
            mean = (member_vectors[labels == i] * weights[labels == i, None]).sum(0, keepdims=True)
            centroids[i] = unit_rows(mean)[0]
        else:
            centroids[i] = coarse[cluster]["centroid"]
    rows = [row for row in clusters.iter_rows(named=True) if row["role"] != role]
    for lab in label_clusters([texts_of[t] for t in text_rows], member_vectors, labels, centroids,
                              top_keywords=top_keywords, representatives=representatives, weights=weights):
        cluster = ids[lab.cluster]
        base = coarse[parents.get(cluster, cluster)]
        row = {**base, "cluster_id": cluster, "size": lab.size, "keywords": lab.keywords,
               "representative_texts": lab.representative_texts, "centroid": centroids[lab.cluster].tolist(),
               "name": base["name"] if cluster in coarse else None}
        if "split_from" in clusters.columns:
            row["split_from"] = parents.get(cluster, base["split_from"])
        rows.append(row)
    return pl.DataFrame(rows, schema=clusters.schema).sort("cluster_id")


__all__ = ["ContextSplitParams", "agent_open_needs", "customer_next_moves", "not_needs", "relabel_role",
           "split_by_context", "split_cluster", "split_clusters", "with_parts"]
