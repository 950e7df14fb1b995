"""Conversation etiquette: clusters that manage the conversation rather than serve a need.

Why: real service calls open with greetings in their own turns ("hello, is this customer
service?", "I'm fine, how are you doing today?") and carry spelled names, holds, confirmations
and "anything else?". A miner that takes those for needs forms departments named "customer
service" and "fine / doing today" and routes by them. Etiquette instead becomes one global
guideline set (every department), and departments are formed and routed on needs only.

Criterion (no word list; one rule for customer and agent clusters): a need is concentrated in
the conversations about it, etiquette is spread over every kind of conversation in proportion
to how common that kind is.
1. Provisional need topics: each conversation is a tf-idf vector over the clusters present in
   its non-noise turns (both roles), leaving out the clusters currently judged etiquette; a
   seeded KMeans cuts the conversations into `topics` groups (24: deliberately finer than the
   most departments the miner proposes, 12, so that a need whose conversations span several
   topics still sits in few of them while a spread cluster sits in all).
2. Concentration of a cluster: the total variation distance between the topic mix of the
   conversations it occurs in and the topic mix of all conversations, rescaled so that 0 is
   what a random set of as many conversations shows (sampling noise, simulated) and 1 is all
   of its conversations in one topic: (TV - TV_random) / (1 - TV_random).
3. Etiquette: concentration <= `max_concentration` in at least `topics` conversations (fewer
   cannot show a spread over `topics` topics) - and, for a customer cluster, at least
   `min_answered_share` of its turns answered by an etiquette agent move (the next agent turn,
   or the previous one when none follows). A turn that manages the conversation is answered by
   conversation management ("hello?" -> the greeting, "I'm fine, how are you?" -> the
   pleasantry, a spelled name -> reading it back); a need that happens to be spread evenly (a
   product named in every kind of request: turns clustered by product) is answered by the
   need's own moves.
4. Steps 1-3 repeat with the new etiquette clusters left out of the topic vectors (they blur
   the topics) until no flag changes, at most `rounds` times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

from guideminer.mining.schema import CLUSTERS_SCHEMA


class EtiquetteParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: int = Field(24, ge=2)
    max_concentration: float = Field(0.25, ge=0.0, le=1.0)
    min_answered_share: float = Field(0.5, ge=0.0, le=1.0)
    rounds: int = Field(3, ge=1)
    fit_conversations: int = Field(50_000, ge=100)  # KMeans fitted on a seeded sample above this
    null_draws: int = Field(200, ge=10)
    seed: int = 0


@dataclass(frozen=True)
class EtiquetteResult:
    """Per cluster id: etiquette flag, concentration and conversations it occurs in."""

    flags: dict[int, bool]
    concentration: dict[int, float]
    spread: dict[int, bool]  # step 3's first test alone (no answered-by-etiquette clause)
    conversations: dict[int, int]
    rounds: int
    topics: int

    def summary(self) -> dict:
        flagged = [c for c, f in self.flags.items() if f]
        return {"etiquette_clusters": len(flagged), "clusters": len(self.flags), "rounds": self.rounds,
                "topics": self.topics}


def presence_matrix(assignments: pl.DataFrame) -> tuple[list[str], np.ndarray, sparse.csr_matrix]:
    """(conversation ids, cluster ids, binary conversation x cluster matrix of non-noise turns)."""
    present = assignments.filter(~pl.col("is_noise")).select("conversation_id", "cluster_id").unique()
    conversations = assignments["conversation_id"].unique().sort().to_list()
    clusters = np.sort(present["cluster_id"].unique().to_numpy())
    row = {c: i for i, c in enumerate(conversations)}
    rows = np.fromiter((row[c] for c in present["conversation_id"].to_list()), dtype=np.int64, count=present.height)
    cols = np.searchsorted(clusters, present["cluster_id"].to_numpy())
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(conversations), len(clusters)))
    return conversations, clusters, matrix


def conversation_topics(presence: sparse.csr_matrix, keep: np.ndarray, params: EtiquetteParams) -> np.ndarray:
    """KMeans topic of every conversation on tf-idf vectors over the `keep` columns."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    features = normalize(TfidfTransformer(sublinear_tf=True).fit_transform(presence[:, keep]))
    n = features.shape[0]
    k = min(params.topics, n)
    rng = np.random.default_rng(params.seed)
    sample = rng.choice(n, size=params.fit_conversations, replace=False) if n > params.fit_conversations else None
    model = KMeans(n_clusters=k, n_init=3, random_state=params.seed)
    model.fit(features[np.sort(sample)] if sample is not None else features)
    return model.predict(features)


def _null_tv(n: int, prior: np.ndarray, draws: int, rng: np.random.Generator) -> float:
    """Expected TV between the topic mix of n random conversations and the prior."""
    counts = rng.multinomial(n, prior, size=draws) / max(n, 1)
    return float(0.5 * np.abs(counts - prior).sum(axis=1).mean())


def concentrations(presence: sparse.csr_matrix, topics: np.ndarray, params: EtiquetteParams) -> np.ndarray:
    """Per column of `presence`: (TV - TV_random) / (1 - TV_random) (module docstring, rule 2)."""
    k = int(topics.max()) + 1
    indicator = sparse.csr_matrix((np.ones(len(topics)), (np.arange(len(topics)), topics)), shape=(len(topics), k))
    per_topic = np.asarray((presence.T @ indicator).todense())  # clusters x topics
    sizes = per_topic.sum(axis=1)
    prior = np.bincount(topics, minlength=k) / len(topics)
    mix = per_topic / np.maximum(sizes[:, None], 1)
    tv = 0.5 * np.abs(mix - prior).sum(axis=1)
    rng = np.random.default_rng(params.seed)
    null = {n: _null_tv(n, prior, params.null_draws, rng) for n in np.unique(sizes.astype(int))}
    baseline = np.array([null[int(n)] for n in sizes])
    return np.clip((tv - baseline) / np.maximum(1.0 - baseline, 1e-9), 0.0, 1.0)


def answering_moves(assignments: pl.DataFrame) -> pl.DataFrame:
    """Per non-noise customer turn: (its cluster, the cluster of the agent turn answering it: the
    next agent turn of the conversation, else the previous one)."""
    turns = assignments.select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "cluster_id",
                               "is_noise").sort("conversation_id", "turn_index")
    agent = pl.when(pl.col("role") == "agent").then(pl.col("cluster_id"))
    turns = turns.with_columns(
        agent.shift(-1).backward_fill().over("conversation_id").alias("next_agent"),
        agent.shift(1).forward_fill().over("conversation_id").alias("previous_agent"))
    return (turns.filter((pl.col("role") == "customer") & ~pl.col("is_noise"))
            .select("cluster_id", pl.coalesce("next_agent", "previous_agent").alias("answer")).drop_nulls("answer"))


def answered_shares(answers: pl.DataFrame, etiquette: set[int]) -> dict[int, float]:
    """Per customer cluster: share of its answered turns whose answer is an etiquette move."""
    return dict(answers.group_by("cluster_id").agg(pl.col("answer").is_in(list(etiquette)).mean()).iter_rows())


def detect_etiquette(assignments: pl.DataFrame, params: EtiquetteParams | None = None) -> EtiquetteResult:
    """Etiquette flags for every cluster of `assignments` (module docstring)."""
    params = params or EtiquetteParams()
    _, clusters, presence = presence_matrix(assignments)
    every = set(assignments["cluster_id"].unique().to_list())
    if presence.shape[0] < 2 * params.topics or len(clusters) < 2:
        return EtiquetteResult({int(c): False for c in every}, {}, {}, {}, 0, 0)
    sizes = np.asarray(presence.sum(axis=0)).ravel()
    roles = dict(assignments.select("cluster_id", pl.col("role").cast(pl.String)).unique("cluster_id").iter_rows())
    customer = np.array([roles[int(c)] == "customer" for c in clusters])
    answers = answering_moves(assignments)
    flags = np.zeros(len(clusters), dtype=bool)
    rounds, score = 0, np.ones(len(clusters))
    for rounds in range(1, params.rounds + 1):
        topics = conversation_topics(presence, np.flatnonzero(~flags), params)
        score = concentrations(presence, topics, params)
        spread = (score <= params.max_concentration) & (sizes >= params.topics)
        moves = {int(c) for c in clusters[spread & ~customer]}
        answered = answered_shares(answers, moves)
        new = spread & (~customer | np.array([answered.get(int(c), 0.0) >= params.min_answered_share
                                              for c in clusters]))
        if np.array_equal(new, flags):
            break
        flags = new
    result = {int(c): bool(f) for c, f in zip(clusters, flags, strict=True)}
    return EtiquetteResult({**{int(c): False for c in every}, **result},
                           {int(c): round(float(s), 4) for c, s in zip(clusters, score, strict=True)},
                           {int(c): bool(s) for c, s in zip(clusters, spread, strict=True)},
                           {int(c): int(n) for c, n in zip(clusters, sizes, strict=True)}, rounds,
                           int(topics.max()) + 1)


def etiquette_clusters(clusters: pl.DataFrame) -> set[int]:
    """Clusters the etiquette step marked as conversation management (null: unknown = no)."""
    if "is_etiquette" not in clusters.columns:
        return set()
    return set(clusters.filter(pl.col("is_etiquette").fill_null(False))["cluster_id"].to_list())


STANDS_ALONE_SHARE = 0.5  # of a move's turns followed directly by the customer (or the end)


def standalone_moves(assignments: pl.DataFrame, etiquette: set[int], share: float = STANDS_ALONE_SHARE) -> set[int]:
    """Agent etiquette clusters after which the agents wait for the customer: at least `share`
    of their turns are followed directly by a customer turn or end the conversation. A read-back
    ("So that's Smith spelled S M I T H, correct?"), a hold, the phone-number question are said
    alone (call-style demo: >= 0.96 of their turns); "Thank you for holding", an apology or a
    transfer notice lead into the agent's next move (0.00): the data is bimodal, any share in
    between draws the same line."""
    turns = (assignments.with_columns(pl.col("role").cast(pl.String)).sort("conversation_id", "turn_index")
             .with_columns(pl.col("role").shift(-1).over("conversation_id").fill_null("customer").alias("next_role")))
    moves = turns.filter((pl.col("role") == "agent") & ~pl.col("is_noise") & pl.col("cluster_id").is_in(sorted(etiquette)))
    shares = moves.group_by("cluster_id").agg((pl.col("next_role") != "agent").mean().alias("alone"))
    return set(shares.filter(pl.col("alone") >= share)["cluster_id"].to_list())


def etiquette_pair(etiquette: set[int]) -> pl.Expr:
    """True where the row is conversation management answered by conversation management: the
    customer's situation is etiquette (greeting, thanks, hold, spelling, "anything else?") and
    so is the agent's move answering it. The condition decides: a need ("cancel my order")
    answered by a closing move is no etiquette rule (in the need view, where department rules
    are mined, it is answered by the need's own move), nor is an etiquette situation answered by
    a need move; neither belongs in a global set applied in every department."""
    ids = sorted(etiquette)
    return pl.col("condition_cluster").is_in(ids) & pl.col("agent_cluster").is_in(ids)


def with_etiquette(clusters: pl.DataFrame, result: EtiquetteResult) -> pa.Table:
    """The clusters table with `is_etiquette` filled in (every listed cluster gets a flag) and
    `is_spread` (null for a cluster in too few conversations to show a spread)."""
    ids = clusters["cluster_id"].to_list()
    flags = [result.flags.get(int(c), False) for c in ids]
    spread = [result.spread.get(int(c), False) if result.conversations.get(int(c), 0) >= result.topics > 0 else None
              for c in ids]
    return (clusters.with_columns(pl.Series("is_etiquette", flags, dtype=pl.Boolean),
                                  pl.Series("is_spread", spread, dtype=pl.Boolean))
            .to_arrow().cast(CLUSTERS_SCHEMA))


def spread_clusters(clusters: pl.DataFrame) -> set[int]:
    """Clusters the etiquette step found spread evenly over every kind of conversation."""
    if "is_spread" not in clusters.columns:
        return set()
    return set(clusters.filter(pl.col("is_spread").fill_null(False))["cluster_id"].to_list())
