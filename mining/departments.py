"""Propose receptionist departments: a few areas a conversation is routed to once, at its start.

Departments are formed from *need* situations only, and each conversation is routed on its first
substantive customer turn: conversation etiquette (greetings, pleasantries, thanks, holds,
spelling, "anything else?"; `clusters.is_etiquette`, decided by mining/etiquette.py) says
nothing about where a conversation belongs, and real calls open with it.

Method (plain numpy/scikit-learn over the mining tables):
1. Opening of a conversation = its first customer turn whose cluster is neither etiquette nor
   spread evenly over every kind of conversation (`clusters.is_spread`: answers any need gets,
   such as a phone number; a noise turn counts with its nearest cluster and its low
   confidence: skipping it would route by a later reply). A conversation with no such turn
   opens with its first non-etiquette turn, else its first customer turn; it is routed
   (step 4) but that cluster never becomes a situation.
2. Situations = need clusters that open at least `min_openings` conversations. Their affinity
   is `embedding_weight` x cosine(centroids centred on their traffic-weighted mean; see
   `centred_cosine`) + (1 - weight) x co-occurrence, where
   co-occurrence is the larger of the direct overlap (|conversations with both| / min(|with a|,
   |with b|)) and the cosine of the situations' conversation contexts (tf-idf of the need
   clusters, customer and agent, of the conversations they occur in; etiquette and spread
   clusters left out, since they are in every context): similar situations, and situations
   the agents handle the same way, belong to one department so that routing once rarely needs
   a transfer.
3. Average-linkage agglomerative clustering on 1 - affinity for every k in k_min..k_max; the
   chosen k is the first peak of the opening-traffic-weighted silhouette on that distance,
   scanning k upward (see `choose_partition`). Transfer rate per k is recorded next to it for
   the reviewer.
4. Each conversation goes to its opening's department; an opening too rare to be a situation
   (or an etiquette one) goes to the department it has the highest mean affinity with.
   Confidence = the opening turn's assignment confidence x the share of the conversation's
   situation turns in that department. A conversation with no customer turn at all is
   `UNROUTED` with confidence 0.
5. Names: each department's keywords ranked by traffic within it x how few departments share
   them (a product named in every department's openings names none of them).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import silhouette_samples

from guideminer.mining.guidelines import cluster_refs
from guideminer.mining.etiquette import spread_clusters
from guideminer.mining.phrasing import clean_keywords, looks_like_injection
from guideminer.mining.proposals_schema import ClusterRef, Department, DepartmentSet, KCandidate
from guideminer.mining.schema import CONVERSATION_DEPARTMENTS_SCHEMA, UNROUTED

K_MIN, K_MAX = 3, 12
EMBEDDING_WEIGHT = 0.5
MIN_OPENINGS = 2
CRITERION = ("first peak of the opening-traffic-weighted silhouette (average-linkage clusters on 1 - combined "
             "affinity), scanning k upward: the smallest k whose silhouette is at least its neighbours' "
             "(k_min: at least k_min + 1's and above 0.25)")


class DepartmentParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k_min: int = Field(K_MIN, ge=1)
    k_max: int = Field(K_MAX, ge=1)
    embedding_weight: float = Field(EMBEDDING_WEIGHT, ge=0.0, le=1.0)
    min_openings: int = Field(MIN_OPENINGS, ge=1)
    example_openings: int = Field(3, ge=0)


def _customer_turns(assignments: pl.DataFrame) -> pl.DataFrame:
    return (assignments.with_columns(pl.col("role").cast(pl.String))
            .filter(pl.col("role") == "customer").sort("conversation_id", "turn_index"))


def conversation_openings(customers: pl.DataFrame, etiquette: set[int], spread: set[int] = frozenset()) -> pl.DataFrame:
    """Per conversation: opening cluster, its turn index and confidence, and whether it is a need
    (rule 1 of the module docstring): the first customer turn whose cluster is neither etiquette
    nor `spread` evenly over every kind of conversation (`clusters.is_spread`), else the first
    that is not etiquette, else the first.

    Why spread clusters are passed over: a need is concentrated in the conversations about it
    (mining/etiquette.py); a cluster spread over all of them is an answer every need gets (a
    phone number, a name). When one comes first in the need view, the need itself sat where it
    could not be read (in an etiquette cluster, with an angry or chatty wording), and a
    phone-number "department" formed from such conversations drew every caller who later gave
    their number (call-style demo: five phone clusters, concentration <= 0.002; every need
    situation of the demo, call-style demo and SGD >= 0.23)."""
    ranked = customers.with_columns(
        pl.when(pl.col("cluster_id").is_in(list(etiquette))).then(2)
        .when(pl.col("cluster_id").is_in(sorted(spread))).then(1).otherwise(0).alias("rank"))
    return (ranked.sort("conversation_id", "rank", "turn_index")
            .group_by("conversation_id", maintain_order=True)
            .agg(pl.col("cluster_id").first().alias("opening"), pl.col("turn_index").first(),
                 pl.col("confidence").first(), (pl.col("rank").first() == 0).alias("is_need")))


def context_profiles(ids: list[int], assignments: pl.DataFrame, left_out: set[int] = frozenset()) -> np.ndarray:
    """Per situation: tf-idf weighted counts of every other need cluster (customer and agent, not
    noise, none of `left_out`: etiquette and spread clusters) in the conversations it occurs in,
    L2-normalised. Situations of one department share their context (the same detail requests,
    the same agent moves), even when they never co-occur. Spread clusters are left out like
    etiquette: an answer every need gets (a phone number read out, a spelled name) is in every
    department's context and made all call-style situations alike (call-style demo: NMI 0.60 with
    them, 0.66 without; the demo, demo 11 and SGD have none in their contexts)."""
    present = (assignments.filter(~pl.col("is_noise") & ~pl.col("cluster_id").is_in(sorted(left_out)))
               .select("conversation_id", "cluster_id").unique())
    n_conv = max(present["conversation_id"].n_unique(), 1)
    idf = {c: np.log(n_conv / n) for c, n in present.group_by("cluster_id").len().iter_rows()}
    columns = {c: k for k, c in enumerate(sorted(idf))}
    profiles = np.zeros((len(ids), len(columns)))
    index = {c: k for k, c in enumerate(ids)}
    hosts = present.filter(pl.col("cluster_id").is_in(ids)).rename({"cluster_id": "situation"})
    counts = hosts.join(present, on="conversation_id").filter(pl.col("situation") != pl.col("cluster_id"))
    for situation, cluster, n in counts.group_by("situation", "cluster_id").len().iter_rows():
        profiles[index[situation], columns[cluster]] = n * idf[cluster]
    return profiles / np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-12)


def centred_cosine(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cosine of the unit `vectors` after subtracting their `weights`-weighted mean (the first
    `len(weights)` rows are the ones weighed), clipped to [0, 1].

    Why centred: sentence embeddings share a large common direction (every customer turn is a
    support request, and openings share their greetings and phrasing), so raw cosines of need
    centroids sit in a narrow band near their mean and average linkage merges by that band's
    noise. Relative to the mean opening, two needs of one area point the same way. Measured on the
    demo corpora and SGD (docs/results.md, "Departments from centred need centroids")."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centred = unit - np.average(unit[: len(weights)], axis=0, weights=weights)
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    return np.clip(centred @ centred.T, 0.0, 1.0)


def affinity_matrix(ids: list[int], refs: dict[int, np.ndarray], assignments: pl.DataFrame,
                    weight: float, left_out: set[int] = frozenset(), traffic: np.ndarray | None = None) -> np.ndarray:
    """weight x centred centroid cosine (`centred_cosine`, the first `len(traffic)` ids weighed by
    their opening traffic; every id equally without it) + (1 - weight) x co-occurrence, where
    co-occurrence is the larger of the direct overlap coefficient (|conversations with both| /
    min(|with a|, |with b|)) and the cosine of the situations' conversation-context profiles."""
    centroids = np.stack([refs[i] for i in ids]).astype(np.float64)
    cosine = centred_cosine(centroids, np.ones(len(ids)) if traffic is None else traffic)
    present = (assignments.filter(~pl.col("is_noise") & (pl.col("role").cast(pl.String) == "customer"))
               .select("conversation_id", "cluster_id").unique())
    index = {c: k for k, c in enumerate(ids)}
    members = present.filter(pl.col("cluster_id").is_in(ids))
    conv_index = {c: k for k, c in enumerate(members["conversation_id"].unique().sort().to_list())}
    incidence = np.zeros((len(ids), max(len(conv_index), 1)))
    for conv, cluster in members.iter_rows():
        incidence[index[cluster], conv_index[conv]] = 1.0
    both = incidence @ incidence.T
    sizes = np.diag(both)
    overlap = both / np.maximum(np.minimum.outer(sizes, sizes), 1.0)
    profiles = context_profiles(ids, assignments, left_out)
    context = np.maximum(overlap, np.clip(profiles @ profiles.T, 0.0, 1.0))
    affinity = weight * cosine + (1.0 - weight) * context
    np.fill_diagonal(affinity, 1.0)
    return affinity


def choose_partition(distance: np.ndarray, traffic: np.ndarray, params: DepartmentParams,
                     transfer_of: Callable[[np.ndarray], float]) -> tuple[np.ndarray, list[KCandidate]]:
    """Labels for the chosen k, and every candidate's numbers.

    Chosen: the first peak scanning k upward (`first_peak`), the smallest k whose weighted
    silhouette is at least that of k - 1 and k + 1; the best k when the curve has no peak.
    Why not the best silhouette: on a few dozen situations it keeps rising towards k_max as
    pairs of near-identical needs split off as departments of their own
    (demo corpora: the best was at k_max = 12 for 6 true departments, NMI 0.67-0.73; the first
    peak is at 7-10, NMI 0.67-0.81), while the department level only has to be the coarsest
    well-separated one: the situations below it already tell the needs apart.
    """
    n = len(traffic)
    candidates, partitions = [], {}
    for k in range(params.k_min, min(params.k_max, n - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average").fit_predict(distance)
        silhouette = float(np.average(silhouette_samples(distance, labels, metric="precomputed"), weights=traffic))
        candidates.append(KCandidate(k=k, silhouette=round(silhouette, 6), transfer_rate=round(transfer_of(labels), 6)))
        partitions[k] = (silhouette, labels)
    if not partitions:  # too few situations to choose: each is its own department
        labels = np.arange(n)
        candidates.append(KCandidate(k=n, silhouette=0.0, transfer_rate=round(transfer_of(labels), 6)))
        return labels, candidates
    return partitions[first_peak({k: s for k, (s, _) in partitions.items()})][1], candidates


BOUNDARY_STRUCTURE = 0.25  # Kaufman & Rousseeuw: a silhouette above 0.25 shows (weak) structure


def first_peak(silhouettes: dict[int, float]) -> int:
    """The smallest k whose score is >= both neighbours' (ties go to the smaller k), else the k with
    the best score (the smallest of equals). The smallest k has one neighbour: it is a peak when
    >= that neighbour and its silhouette shows structure (> BOUNDARY_STRUCTURE), since the curve
    left of it is unseen (KVRET: k = 3 scores 0.286 > 0.279 at k = 4 and is its 3 domains, NMI
    1.0 vs 0.836 at the interior peak k = 6; the call-style demo 11's 0.095 > 0.087 at k = 3 is
    no structure, and its interior peak is kept)."""
    ks = sorted(silhouettes)
    if len(ks) >= 2 and silhouettes[ks[0]] >= silhouettes[ks[1]] and silhouettes[ks[0]] > BOUNDARY_STRUCTURE:
        return ks[0]
    for previous, k, following in zip(ks, ks[1:], ks[2:]):
        if silhouettes[k] >= silhouettes[previous] and silhouettes[k] >= silhouettes[following]:
            return k
    return min(ks, key=lambda k: (-silhouettes[k], k))


def _transfers(present: pl.DataFrame, openings: pl.DataFrame, dept_of: dict[int, int]) -> pl.DataFrame:
    """Per conversation: routed department, transferred flag, share of situation turns in it."""
    mapping = pl.DataFrame({"cluster_id": list(dept_of), "dept": list(dept_of.values())},
                           schema={"cluster_id": pl.Int32, "dept": pl.Int64})
    routed = openings.join(mapping.rename({"cluster_id": "opening"}), on="opening", how="left")
    turns = present.join(mapping, on="cluster_id").join(
        routed.select("conversation_id", pl.col("dept").alias("routed")), on="conversation_id")
    stats = turns.group_by("conversation_id").agg(
        (pl.col("dept") != pl.col("routed")).any().alias("transferred"),
        (pl.col("dept") == pl.col("routed")).mean().alias("in_share"))
    return routed.join(stats, on="conversation_id", how="left").with_columns(
        pl.col("transferred").fill_null(False), pl.col("in_share").fill_null(1.0))


def _keyword_scores(situations: list[ClusterRef], traffic: Counter) -> Counter:
    scores: Counter = Counter()
    for ref in situations:
        for rank, keyword in enumerate(clean_keywords(ref.keywords, limit=5)):
            scores[keyword] += traffic[ref.cluster_id] / (rank + 1)
    return scores


def department_keywords(groups: list[list[ClusterRef]], traffic: Counter) -> list[list[str]]:
    """Per department: its top keywords by traffic within it x log(1 + departments / departments
    naming it) (rule 5 of the module docstring), at most five."""
    scores = [_keyword_scores(members, traffic) for members in groups]
    spread = Counter(k for s in scores for k in s)
    ranked = []
    for s in scores:
        weighted = {k: v * np.log1p(len(groups) / spread[k]) for k, v in s.items()}
        ranked.append([k for k, _ in sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))][:5])
    return ranked


def _build_department(members: list[ClusterRef], keywords: list[str], traffic: Counter, routed: pl.DataFrame,
                      n_conv: int, params: DepartmentParams) -> Department:
    members = sorted(members, key=lambda r: (-traffic[r.cluster_id], r.cluster_id))
    name = " / ".join(keywords[:3]) if keywords else f"department of {members[0].cluster_id}"
    digest = hashlib.sha256("|".join(sorted(r.signature for r in members)).encode()).hexdigest()[:10]
    examples = [t for r in members for t in r.representative_texts[:1] if not looks_like_injection(t)]
    return Department(
        department_id=f"d-{digest}", name=name, keywords=keywords,
        situation_cluster_ids=[r.cluster_id for r in members], situations=members,
        n_conversations=routed.height, traffic_share=round(routed.height / max(n_conv, 1), 6),
        example_openings=examples[: params.example_openings], guideline_ids=[],
        transfer_rate=round(float(routed["transferred"].mean()) if routed.height else 0.0, 6))


def etiquette_of(clusters: pl.DataFrame, assignments: pl.DataFrame) -> set[int]:
    """Etiquette cluster ids from `clusters.is_etiquette`; a table the etiquette step never
    flagged (every value null: an older workspace or a hand-built table) is judged here with
    the same detector, so departments are never formed from unjudged clusters."""
    if clusters.height and clusters["is_etiquette"].null_count() == clusters.height:
        from guideminer.mining.etiquette import detect_etiquette

        return {c for c, flag in detect_etiquette(assignments).flags.items() if flag}
    return set(clusters.filter(pl.col("is_etiquette").fill_null(False))["cluster_id"].to_list())


def propose_departments(assignments: pl.DataFrame, clusters: pl.DataFrame,
                        params: DepartmentParams | None = None) -> tuple[DepartmentSet, pl.DataFrame]:
    """(departments, conversation_departments table in CONVERSATION_DEPARTMENTS_SCHEMA)."""
    params = params or DepartmentParams()
    refs = cluster_refs(clusters)
    centroids = {r["cluster_id"]: np.asarray(r["centroid"]) for r in clusters.iter_rows(named=True)}
    etiquette, spread = etiquette_of(clusters, assignments), spread_clusters(clusters)
    customers = _customer_turns(assignments)
    conversations = assignments.select("conversation_id").unique().sort("conversation_id")
    present = (customers.filter(~pl.col("is_noise") & ~pl.col("cluster_id").is_in(sorted(etiquette | spread)))
               .select("conversation_id", "cluster_id").unique())
    openings = conversation_openings(customers, etiquette, spread)
    traffic = Counter(dict(openings.filter(pl.col("is_need")).group_by("opening").len().iter_rows()))
    fallback = sorted(set(openings["opening"].to_list()) - set(traffic))  # etiquette-only conversations
    situations = sorted(c for c, n in traffic.items() if n >= params.min_openings) or sorted(traffic) or fallback
    rare = sorted(set(traffic) - set(situations))
    outside = [c for c in fallback if c not in situations]
    all_ids = situations + rare + outside
    n_sit = len(situations)
    weights = np.array([max(traffic[c], 1) for c in situations], dtype=float)
    affinity = affinity_matrix(all_ids, centroids, assignments, params.embedding_weight, etiquette | spread, weights)

    def dept_map(labels: np.ndarray) -> dict[int, int]:
        mapping = {c: int(labels[i]) for i, c in enumerate(situations)}
        for j, c in enumerate(rare + outside, start=n_sit):
            means = [affinity[j, :n_sit][labels == d].mean() for d in range(labels.max() + 1)]
            mapping[c] = int(np.argmax(means))
        return mapping

    def transfer_of(labels: np.ndarray) -> float:
        return float(_transfers(present, openings, dept_map(labels))["transferred"].mean())

    distance = np.clip(1.0 - affinity[:n_sit, :n_sit], 0.0, None)
    labels, candidates = choose_partition(distance, weights, params, transfer_of)
    dept_of = dept_map(labels)
    routed = _transfers(present, openings, dept_of)
    groups = [[refs[c] for c in situations + rare if dept_of[c] == d] for d in range(int(labels.max()) + 1)]
    names = department_keywords(groups, traffic)
    built = [(d, _build_department(groups[d], names[d], traffic, routed.filter(pl.col("dept") == d),
                                   conversations.height, params))
             for d in range(len(groups))]
    ids = {d: dep.department_id for d, dep in built}
    departments = sorted((dep for _, dep in built), key=lambda dep: (-dep.n_conversations, dep.department_id))
    table = _conversation_table(conversations, routed, ids)
    dept_set = DepartmentSet(
        criterion=CRITERION if n_sit > params.k_min else "fewer situations than k_min: one department each",
        chosen_k=len(departments), candidates=candidates, embedding_weight=params.embedding_weight,
        n_conversations=conversations.height, overall_transfer_rate=round(float(routed["transferred"].mean()), 6),
        unrouted_conversations=int((table["department_id"] == UNROUTED).sum()), departments=departments)
    return dept_set, table


def _conversation_table(conversations: pl.DataFrame, routed: pl.DataFrame, ids: dict[int, str]) -> pl.DataFrame:
    id_frame = pl.DataFrame({"dept": list(ids), "department_id": list(ids.values())},
                            schema={"dept": pl.Int64, "department_id": pl.String})
    joined = (conversations.join(routed, on="conversation_id", how="left").join(id_frame, on="dept", how="left")
              .select("conversation_id", pl.col("department_id").fill_null(UNROUTED),
                      (pl.col("confidence") * pl.col("in_share")).fill_null(0.0).cast(pl.Float32).alias("confidence")))
    return pl.from_arrow(joined.to_arrow().cast(CONVERSATION_DEPARTMENTS_SCHEMA))
