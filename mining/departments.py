"""Propose receptionist departments: a few areas a conversation is routed to once, at its start.

Method (plain numpy/scikit-learn over the mining tables):
1. Opening of a conversation = its first non-noise customer turn whose cluster is not generic
   (else its most specific non-noise turn, else its first customer turn). A customer cluster is
   generic (greetings, thanks, "yes") when it is in at least `generic_min_share` of conversations
   and co-occurs with no other cluster (seen together in >= `generic_min_joint` conversations)
   more than `generic_max_lift` times chance: it says nothing about where the conversation
   belongs. Clusters whose representative texts have a median of <= `generic_max_words` words
   ("hi there", "ok thanks") are generic too: small talk splits into many small clusters whose
   co-occurrence is too noisy to judge.
2. Situations = clusters that open at least `min_openings` conversations. Their affinity is
   `embedding_weight` x cosine(centroids) + (1 - weight) x co-occurrence overlap
   (|conversations with both| / min(|with a|, |with b|)): similar situations, and situations that
   show up in the same conversation, belong to one department so that routing once rarely needs
   a transfer.
3. Average-linkage agglomerative clustering on 1 - affinity for every k in k_min..k_max; the
   chosen k is the largest whose opening-traffic-weighted silhouette on that distance is within
   `silhouette_tolerance` of the best (see `choose_partition`). Transfer rate per k is
   recorded next to it for the reviewer.
4. Each conversation goes to its opening's department; an opening too rare to be a situation
   goes to the department it has the highest mean affinity with. Confidence = the opening turn's
   assignment confidence x the share of the conversation's situation turns in that department.
   A conversation with no customer turn at all is `UNROUTED` with confidence 0.
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
from guideminer.mining.phrasing import clean_keywords, looks_like_injection
from guideminer.mining.proposals_schema import ClusterRef, Department, DepartmentSet, KCandidate
from guideminer.mining.schema import CONVERSATION_DEPARTMENTS_SCHEMA, UNROUTED

K_MIN, K_MAX = 3, 12
EMBEDDING_WEIGHT = 0.5
GENERIC_MIN_SHARE = 0.05
GENERIC_MIN_JOINT = 3
GENERIC_MAX_WORDS = 4
GENERIC_MAX_LIFT = 1.5
MIN_OPENINGS = 2
SILHOUETTE_TOLERANCE = 0.02
CRITERION = ("largest k whose opening-traffic-weighted silhouette (average-linkage clusters on 1 - combined "
             "affinity) is within 0.02 of the best")


class DepartmentParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k_min: int = Field(K_MIN, ge=1)
    k_max: int = Field(K_MAX, ge=1)
    embedding_weight: float = Field(EMBEDDING_WEIGHT, ge=0.0, le=1.0)
    generic_min_share: float = Field(GENERIC_MIN_SHARE, ge=0.0, le=1.0)
    generic_max_lift: float = Field(GENERIC_MAX_LIFT, ge=1.0)
    generic_min_joint: int = Field(GENERIC_MIN_JOINT, ge=1)
    generic_max_words: int = Field(GENERIC_MAX_WORDS, ge=0)  # 0 turns the length rule off
    min_openings: int = Field(MIN_OPENINGS, ge=1)
    silhouette_tolerance: float = Field(SILHOUETTE_TOLERANCE, ge=0.0)
    example_openings: int = Field(3, ge=0)


def _customer_turns(assignments: pl.DataFrame) -> pl.DataFrame:
    return (assignments.with_columns(pl.col("role").cast(pl.String))
            .filter(pl.col("role") == "customer").sort("conversation_id", "turn_index"))


def cluster_specificity(customers: pl.DataFrame, min_joint: int) -> dict[int, float]:
    """Per customer cluster: its highest co-occurrence lift P(other | it) / P(other) over partners
    seen together in at least `min_joint` conversations (1.0 when it has none): how much it says
    about the rest of the conversation."""
    present = customers.filter(~pl.col("is_noise")).select("conversation_id", "cluster_id").unique()
    n_conv = max(customers["conversation_id"].n_unique(), 1)
    df = dict(present.group_by("cluster_id").len().iter_rows())
    together = (present.join(present, on="conversation_id").filter(pl.col("cluster_id") != pl.col("cluster_id_right"))
                .group_by("cluster_id", "cluster_id_right").len().filter(pl.col("len") >= min_joint))
    specificity = {cluster: 1.0 for cluster in df}
    for cluster, other, joint in together.iter_rows():
        specificity[cluster] = max(specificity[cluster], (joint / df[cluster]) / (df[other] / n_conv))
    return specificity


def generic_clusters(customers: pl.DataFrame, clusters: pl.DataFrame, params: DepartmentParams) -> tuple[set[int], dict[int, float]]:
    """(generic clusters, specificity): common clusters that predict nothing about the rest."""
    specificity = cluster_specificity(customers, params.generic_min_joint)
    n_conv = max(customers["conversation_id"].n_unique(), 1)
    share = dict(customers.filter(~pl.col("is_noise")).group_by("cluster_id")
                 .agg(pl.col("conversation_id").n_unique()).iter_rows())
    generic = {c for c, lift in specificity.items()
               if share[c] / n_conv >= params.generic_min_share and lift < params.generic_max_lift}
    return generic | short_clusters(clusters, params.generic_max_words), specificity


def short_clusters(clusters: pl.DataFrame, max_words: int) -> set[int]:
    """Customer clusters whose typical turn is too short to state a need ("hi", "ok thanks").

    Why a length rule next to co-occurrence: small talk fragments into many small clusters
    (by style: "hey!!", "Good morning", ...) whose co-occurrence lifts are too noisy to judge."""
    words = clusters.filter(pl.col("role") == "customer").select(
        "cluster_id", pl.col("representative_texts").list.eval(pl.element().str.split(" ").list.len())
        .list.median().alias("words"))
    return set(words.filter(pl.col("words") <= max_words)["cluster_id"].to_list())


def conversation_openings(customers: pl.DataFrame, generic: set[int], specificity: dict[int, float]) -> pl.DataFrame:
    """Per conversation: opening cluster and its turn confidence (rule 1 of the module docstring):
    the first non-generic turn (a noise turn counts with its nearest cluster and its low
    confidence: skipping it would route by a later reply), else the most specific generic one."""
    spec = pl.DataFrame({"cluster_id": list(specificity), "specificity": list(specificity.values())},
                        schema={"cluster_id": pl.Int32, "specificity": pl.Float64})
    ranked = customers.join(spec, on="cluster_id", how="left").with_columns(
        pl.when(~pl.col("cluster_id").is_in(list(generic))).then(0)
        .when(~pl.col("is_noise")).then(1).otherwise(2).alias("preference"),
        pl.when(pl.col("cluster_id").is_in(list(generic)) & ~pl.col("is_noise"))
        .then(-pl.col("specificity")).otherwise(0.0).alias("order"))
    return (ranked.sort("conversation_id", "preference", "order", "turn_index")
            .group_by("conversation_id", maintain_order=True)
            .agg(pl.col("cluster_id").first().alias("opening"), pl.col("confidence").first()))


def context_profiles(ids: list[int], assignments: pl.DataFrame) -> np.ndarray:
    """Per situation: tf-idf weighted counts of every other cluster (customer and agent, not noise)
    in the conversations it occurs in, L2-normalised. Situations of one department share their
    context (the same detail requests, verification moves), even when they never co-occur."""
    present = assignments.filter(~pl.col("is_noise")).select("conversation_id", "cluster_id").unique()
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


def affinity_matrix(ids: list[int], refs: dict[int, np.ndarray], assignments: pl.DataFrame,
                    weight: float) -> np.ndarray:
    """weight x clipped centroid cosine + (1 - weight) x co-occurrence, where co-occurrence is
    the larger of the direct overlap coefficient (|conversations with both| / min(|with a|,
    |with b|)) and the cosine of the situations' conversation-context profiles."""
    centroids = np.stack([refs[i] for i in ids]).astype(np.float64)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    cosine = np.clip(centroids @ centroids.T, 0.0, 1.0)
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
    profiles = context_profiles(ids, assignments)
    context = np.maximum(overlap, np.clip(profiles @ profiles.T, 0.0, 1.0))
    affinity = weight * cosine + (1.0 - weight) * context
    np.fill_diagonal(affinity, 1.0)
    return affinity


def choose_partition(distance: np.ndarray, traffic: np.ndarray, params: DepartmentParams,
                     transfer_of: Callable[[np.ndarray], float]) -> tuple[np.ndarray, list[KCandidate]]:
    """Labels for the chosen k, and every candidate's numbers.

    Chosen: the largest k whose weighted silhouette is within `silhouette_tolerance` of the best.
    Why not the plain maximum: silhouette differences of a hundredth are noise at this scale,
    and among equally well separated partitions the finer one routes more specifically (SGD:
    k = 3 and 4 score 0.589 / 0.580; the 4-way split separates two services the 3-way merges).
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
    best = max(s for s, _ in partitions.values())
    chosen = max(k for k, (s, _) in partitions.items() if s >= best - params.silhouette_tolerance)
    return partitions[chosen][1], candidates


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


def _department_name(situations: list[ClusterRef], traffic: Counter) -> tuple[str, list[str]]:
    scores: Counter = Counter()
    for ref in situations:
        for rank, keyword in enumerate(clean_keywords(ref.keywords, limit=5)):
            scores[keyword] += traffic[ref.cluster_id] / (rank + 1)
    keywords = [k for k, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))][:5]
    return (" / ".join(keywords[:3]) if keywords else f"department of {situations[0].cluster_id}"), keywords


def _build_department(members: list[ClusterRef], traffic: Counter, routed: pl.DataFrame,
                      n_conv: int, params: DepartmentParams) -> Department:
    members = sorted(members, key=lambda r: (-traffic[r.cluster_id], r.cluster_id))
    name, keywords = _department_name(members, traffic)
    digest = hashlib.sha256("|".join(sorted(r.signature for r in members)).encode()).hexdigest()[:10]
    examples = [t for r in members for t in r.representative_texts[:1] if not looks_like_injection(t)]
    return Department(
        department_id=f"d-{digest}", name=name, keywords=keywords,
        situation_cluster_ids=[r.cluster_id for r in members], situations=members,
        n_conversations=routed.height, traffic_share=round(routed.height / max(n_conv, 1), 6),
        example_openings=examples[: params.example_openings], guideline_ids=[],
        transfer_rate=round(float(routed["transferred"].mean()) if routed.height else 0.0, 6))


def propose_departments(assignments: pl.DataFrame, clusters: pl.DataFrame,
                        params: DepartmentParams | None = None) -> tuple[DepartmentSet, pl.DataFrame]:
    """(departments, conversation_departments table in CONVERSATION_DEPARTMENTS_SCHEMA)."""
    params = params or DepartmentParams()
    refs = cluster_refs(clusters)
    centroids = {r["cluster_id"]: np.asarray(r["centroid"]) for r in clusters.iter_rows(named=True)}
    customers = _customer_turns(assignments)
    conversations = assignments.select("conversation_id").unique().sort("conversation_id")
    present = customers.filter(~pl.col("is_noise")).select("conversation_id", "cluster_id").unique()
    openings = conversation_openings(customers, *generic_clusters(customers, clusters, params))
    traffic = Counter(dict(openings.group_by("opening").len().iter_rows()))
    situations = sorted(c for c, n in traffic.items() if n >= params.min_openings) or sorted(traffic)
    rare = sorted(set(traffic) - set(situations))
    all_ids = situations + rare
    affinity = affinity_matrix(all_ids, centroids, assignments, params.embedding_weight)
    n_sit = len(situations)
    weights = np.array([traffic[c] for c in situations], dtype=float)

    def dept_map(labels: np.ndarray) -> dict[int, int]:
        mapping = {c: int(labels[i]) for i, c in enumerate(situations)}
        for j, c in enumerate(rare, start=n_sit):
            means = [affinity[j, :n_sit][labels == d].mean() for d in range(labels.max() + 1)]
            mapping[c] = int(np.argmax(means))
        return mapping

    def transfer_of(labels: np.ndarray) -> float:
        return float(_transfers(present, openings, dept_map(labels))["transferred"].mean())

    distance = np.clip(1.0 - affinity[:n_sit, :n_sit], 0.0, None)
    labels, candidates = choose_partition(distance, weights, params, transfer_of)
    dept_of = dept_map(labels)
    routed = _transfers(present, openings, dept_of)
    built = [(d, _build_department([refs[c] for c in all_ids if dept_of[c] == d], traffic,
                                   routed.filter(pl.col("dept") == d), conversations.height, params))
             for d in range(int(labels.max()) + 1)]
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
