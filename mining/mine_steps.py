"""The clustering steps of `guideminer mine`: embed, cluster each role, label, write tables.

Intermediate files live in `<workspace>/mining/work/` (plain .npy/.parquet, rewritten only when
their step re-runs); the contract tables are `MINING_FILES["clusters"]` and
`MINING_FILES["turn_assignments"]`. Customer turns are clustered into "situations" and agent
turns into "moves" separately because they answer different questions (what customers need vs
what agents do); cluster ids are customer 0..kc-1 then agent kc..kc+ka-1, unique across roles.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from guideminer.mining.cluster import ClusterParams, ClusterResult
from guideminer.mining.cluster_sample import cluster_rows
from guideminer.mining.embed import embed_turns_distinct, workspace_embeddings_dir
from guideminer.mining.labels import label_clusters
from guideminer.mining.pipeline import (
    TURNS_INPUT, MineContext, Step, atomic_path, commit_atomic,
)
from guideminer.mining.schema import CLUSTERS_SCHEMA, MINING_FILES, TURN_ASSIGNMENTS_SCHEMA

ROLES = ("customer", "agent")  # clustering order = id order
RAY_CHUNK = 65_536  # texts per Ray job: amortises worker start-up; each job's vectors are persisted
WORK = "mining/work"
VECTORS = f"{WORK}/text_vectors.npy"  # one row per distinct text; KEYS' `text_row` points into it
KEYS = f"{WORK}/turn_keys.parquet"
LEGACY_ROW_VECTORS = f"{WORK}/turn_vectors.npy"
LABELS = f"{WORK}/cluster_labels.parquet"  # the clusters table before the etiquette step flags it
COARSE_ASSIGNMENTS = f"{WORK}/turn_assignments_coarse.parquet"  # before agent moves are split by need
COARSE_CLUSTERS = f"{WORK}/clusters_coarse.parquet"  # LABELS flagged by the etiquette step, before the split
SLOTS = MINING_FILES["slots"]  # mining/slots.py: what customer turns are clustered on
CUSTOMER_VECTORS = f"{WORK}/customer_vectors.npy"  # one row per distinct canonical customer text
CUSTOMER_ROWS = f"{WORK}/customer_text_rows.npy"  # per customer row of KEYS: its CUSTOMER_VECTORS row
AGENT_VECTORS = f"{WORK}/agent_vectors.npy"  # one row per distinct fact-masked agent text
AGENT_ROWS = f"{WORK}/agent_text_rows.npy"  # per agent row of KEYS: its AGENT_VECTORS row


def cluster_rows_file(role: str) -> str:
    return f"{WORK}/cluster_{role}.parquet"


def centroids_file(role: str) -> str:
    return f"{WORK}/centroids_{role}.npy"


def _save_npy(ctx: MineContext, relative: str, array: np.ndarray) -> None:
    target = ctx.path(relative)
    temporary = atomic_path(target)
    with temporary.open("wb") as handle:
        np.save(handle, array)
    commit_atomic(temporary, target)


def _save_parquet(ctx: MineContext, relative: str, table: pa.Table) -> None:
    target = ctx.path(relative)
    temporary = atomic_path(target)
    pq.write_table(table, temporary, compression="zstd")
    commit_atomic(temporary, target)


def _embed(ctx: MineContext) -> dict:
    remote, chunk = None, ctx.config.embed_chunk_size
    if ctx.config.engine == "ray":
        from functools import partial

        from guideminer.mining.ray_engine import ray_embed

        remote, chunk = partial(ray_embed, factory=ctx.embedder_factory), max(chunk, RAY_CHUNK)
    keys, matrix, stats = embed_turns_distinct(ctx.turns, ctx.embedder, workspace_embeddings_dir(ctx.workspace),
                                               roles=list(ROLES), chunk_size=chunk, remote=remote)
    texts = ctx.turns.with_columns(pl.col("role").cast(pl.String)).filter(pl.col("role").is_in(ROLES))
    keys = keys.with_columns(texts.get_column("text"))
    _save_parquet(ctx, KEYS, keys.to_arrow())
    _save_npy(ctx, VECTORS, matrix)
    ctx.release_turns()  # later steps read what they need from KEYS; propose re-reads turns
    ctx.path(LEGACY_ROW_VECTORS).unlink(missing_ok=True)  # per-row matrix of workspaces mined before v5
    return stats.model_dump()


def _role_rows(ctx: MineContext, role: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows of `role` in KEYS, their vector rows in VECTORS)."""
    keys = pq.read_table(ctx.path(KEYS), columns=["role", "text_row"])
    rows = np.flatnonzero(keys.column("role").to_numpy(zero_copy_only=False) == role)
    return rows, keys.column("text_row").to_numpy()[rows]


def role_vectors(ctx: MineContext, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows of `role` in KEYS, their rows in the role's vectors, those vectors memory-mapped):
    agent turns on their fact-masked texts (agent_space step), customer turns on their canonical
    texts (slots step)."""
    rows, _ = _role_rows(ctx, role)
    if role == "customer":
        return rows, np.load(ctx.path(CUSTOMER_ROWS)), np.load(ctx.path(CUSTOMER_VECTORS), mmap_mode="r")
    return rows, np.load(ctx.path(AGENT_ROWS)), np.load(ctx.path(AGENT_VECTORS), mmap_mode="r")


def _agent_space(ctx: MineContext) -> dict:
    """Embed every agent turn with its instance facts masked (`engine.instances.fact_masked`).

    Why: agents who offer "Huskies Vs Cougars at Husky Stadium" and "Amber Run at Warsaw" make
    one move (offer the event found); embedded raw, each entity a catalogue repeats forms its own
    move cluster, its name then reads as the habit's fixed wording (a template that tells every
    customer about the same event) and the customer turns answered by it split by city as well.
    With `agent_facts_masked` off the agent space is the raw text vectors."""
    from guideminer.mining.embed import embed_distinct
    from guideminer.engine.instances import fact_masked

    keys = pl.read_parquet(ctx.path(KEYS), columns=["role", "text"]).filter(pl.col("role") == "agent")
    texts = keys["text"]
    if ctx.config.agent_facts_masked:
        distinct = keys.select("text").unique().with_columns(
            pl.col("text").map_elements(fact_masked, return_dtype=pl.String).alias("masked"))
        texts = keys.select("text").join(distinct, on="text", how="left", maintain_order="left")["masked"]
    matrix, index, stats = embed_distinct(texts, ctx.embedder, workspace_embeddings_dir(ctx.workspace))
    _save_npy(ctx, AGENT_VECTORS, matrix)
    _save_npy(ctx, AGENT_ROWS, index.astype(np.int64))
    return {"agent_texts": int(keys.height), "distinct_spaces": int(matrix.shape[0]), "embedded": stats.embedded}


def later_agent_moves(keys: pl.DataFrame, agent_rows: pa.Table) -> list[list[int]]:
    """Per customer row of `keys` (in KEYS order): the non-noise agent clusters after it in its
    conversation (mining/slots.py rule 3)."""
    moves = pl.DataFrame({"row": agent_rows.column("row").to_numpy().astype(np.int64),
                          "move": agent_rows.column("label").to_numpy(),
                          "noise": agent_rows.column("is_noise").to_numpy()})
    frame = (keys.select("conversation_id", "turn_index", "role").with_row_index("row")
             .with_columns(pl.col("row").cast(pl.Int64))
             .join(moves, on="row", how="left")
             .with_columns(pl.when(~pl.col("noise").fill_null(True)).then(pl.col("move")).alias("move"))
             .sort("conversation_id", "turn_index", descending=[False, True]))
    later: dict[int, list[int]] = {}
    current, seen = None, set()
    for row, conversation, role, move in frame.select("row", "conversation_id", "role", "move").iter_rows():
        if conversation != current:
            current, seen = conversation, set()
        if role == "customer":
            later[row] = sorted(seen)
        elif move is not None:
            seen.add(int(move))
    return [later[r] for r in sorted(later)]


def _slots(ctx: MineContext) -> dict:
    """Learn slot classes from customer turns and the agent moves answering them, then embed
    every customer turn's canonical text (mining/slots.py); unchanged texts come from the cache."""
    import json

    from guideminer.mining.embed import embed_distinct
    from guideminer.mining.slots import SlotRewriter, class_targets, learn_slot_classes

    params = ctx.config.slots
    keys = pl.read_parquet(ctx.path(KEYS), columns=["conversation_id", "turn_index", "role", "text"])
    customers = keys.with_row_index("row").filter(pl.col("role") == "customer")
    answers = later_agent_moves(keys, pq.read_table(ctx.path(cluster_rows_file("agent"))))
    sample = np.arange(customers.height)
    if customers.height > params.fit_turns:
        sample = np.sort(np.random.default_rng(params.seed).choice(customers.height, params.fit_turns, replace=False))
    classes = learn_slot_classes(customers["text"].gather(sample).to_list(), [answers[i] for i in sample],
                                 customers["conversation_id"].gather(sample).to_list(), params,
                                 ctx.noun_tagger() if params.nouns_only else None)
    rewriter = SlotRewriter(classes, params.placeholder)
    distinct = customers.select("text").unique()
    canonical = distinct.with_columns(pl.col("text").map_elements(rewriter.rewrite, return_dtype=pl.String)
                                      .alias("canonical"))
    texts = customers.select("text").join(canonical, on="text", how="left", maintain_order="left")["canonical"]
    matrix, index, stats = embed_distinct(texts, ctx.embedder, workspace_embeddings_dir(ctx.workspace))
    _save_npy(ctx, CUSTOMER_VECTORS, matrix)
    _save_npy(ctx, CUSTOMER_ROWS, index.astype(np.int64))
    changed = int((canonical["text"] != canonical["canonical"]).sum())
    target = ctx.path(SLOTS)
    temporary = atomic_path(target)
    read_as = [{**c.as_dict(), "read_as": class_targets(c, params.placeholder)[c.canonical]} for c in classes]
    temporary.write_text(json.dumps({"classes": read_as, "params": params.model_dump(),
                                     "fitted_on_turns": int(len(sample)), "distinct_texts_rewritten": changed},
                                    indent=1), encoding="utf-8")
    commit_atomic(temporary, target)
    return {"slot_classes": len(classes), "slot_members": sum(len(c.members) for c in classes),
            "distinct_texts_rewritten": changed, "embedded": stats.embedded}


def _cluster_customers(ctx: MineContext, vectors: np.ndarray, text_rows: np.ndarray) -> tuple[ClusterResult, dict]:
    """Customer turns cluster on their embedding joined with the agents' next need move
    (mining/customer_space.py)."""
    from guideminer.mining.customer_space import cluster_customers

    keys = pl.read_parquet(ctx.path(KEYS), columns=["conversation_id", "turn_index", "role"])
    agent = pq.read_table(ctx.path(cluster_rows_file("agent")))
    moves = pl.DataFrame({"row": agent.column("row").to_numpy().astype(np.int64),
                          "move": agent.column("label").to_numpy().astype(np.int64),
                          "noise": agent.column("is_noise").to_numpy()})
    return cluster_customers(vectors, text_rows, keys, moves, ctx.config.customer_params, ctx.config.customer_space,
                             ctx.config.etiquette, ctx.config.fit_rows)


def _cluster_role(role: str):
    def run(ctx: MineContext) -> dict:
        rows, text_rows, vectors = role_vectors(ctx, role)
        params: ClusterParams = getattr(ctx.config, f"{role}_params")
        space: dict = {}
        if role == "customer":
            result, space = _cluster_customers(ctx, vectors, text_rows)
        else:
            result = cluster_rows(vectors, params, fit_rows=ctx.config.fit_rows, index=text_rows)
        table = pa.table({
            "row": pa.array(rows, pa.int64()), "label": pa.array(result.labels, pa.int32()),
            "hdbscan_noise": pa.array(result.hdbscan_noise), "is_noise": pa.array(result.is_noise),
            "confidence": pa.array(result.confidence, pa.float32()),
        })
        _save_parquet(ctx, cluster_rows_file(role), table)
        _save_npy(ctx, centroids_file(role), result.centroids.astype(np.float32))
        return {"n": len(rows), "k": result.k, "hdbscan_noise_share": round(result.hdbscan_noise_share, 4),
                "noise_share": round(result.noise_share, 4), "resolved": result.params.as_dict(),
                "seconds": result.seconds, **space}
    return run


def _id_offsets(ctx: MineContext) -> dict[str, int]:
    offsets, next_id = {}, 0
    for role in ROLES:
        offsets[role] = next_id
        next_id += int(np.load(ctx.path(centroids_file(role))).shape[0])
    return offsets


def _distinct_members(text_rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text row, cluster, turns) of every distinct (text, cluster) pair of one role."""
    pairs, counts = np.unique(np.stack([text_rows.astype(np.int64), labels.astype(np.int64)], axis=1),
                              axis=0, return_counts=True)
    return pairs[:, 0], pairs[:, 1], counts


def _texts_by_row(keys: pl.DataFrame) -> list[str]:
    """One raw text per VECTORS row (its first turn's)."""
    return keys.group_by("text_row", maintain_order=True).agg(pl.col("text").first()).sort("text_row")["text"].to_list()


def _label(ctx: MineContext) -> dict:
    """Keywords from the raw turns, representatives by closeness in the space each role was
    clustered in (a customer cluster's centroid is a canonical-text centroid)."""
    keys = pl.read_parquet(ctx.path(KEYS), columns=["text_row", "text"])
    texts_of = _texts_by_row(keys)
    text_rows_all = keys["text_row"].to_numpy()
    del keys
    offsets = _id_offsets(ctx)
    columns: dict[str, list] = {f.name: [] for f in CLUSTERS_SCHEMA}
    for role in ROLES:
        rows, space_rows, vectors = role_vectors(ctx, role)
        space_of_raw = np.zeros(len(texts_of), dtype=np.int64)
        space_of_raw[text_rows_all[rows]] = space_rows  # a raw text has one canonical text
        rows_table = pq.read_table(ctx.path(cluster_rows_file(role)))
        text_rows, labels, counts = _distinct_members(text_rows_all[rows_table.column("row").to_numpy()],
                                                      rows_table.column("label").to_numpy())
        centroids = np.load(ctx.path(centroids_file(role)))
        member_vectors = np.asarray(vectors[space_of_raw[text_rows]])
        for lab in label_clusters([texts_of[t] for t in text_rows], member_vectors, labels,
                                  centroids, top_keywords=ctx.config.top_keywords,
                                  representatives=ctx.config.representatives, weights=counts):
            columns["cluster_id"].append(offsets[role] + lab.cluster)
            columns["role"].append(role)
            columns["size"].append(lab.size)
            columns["keywords"].append(lab.keywords)
            columns["representative_texts"].append(lab.representative_texts)
            columns["centroid"].append(centroids[lab.cluster].tolist())
            columns["name"].append(lab.name)
            columns["is_etiquette"].append(None)  # decided by the etiquette step
            columns["is_spread"].append(None)  # measured by the etiquette step
            columns["split_from"].append(None)  # set by the split_by_context step
    _save_parquet(ctx, LABELS, pa.table(columns, schema=CLUSTERS_SCHEMA))
    return {"clusters": len(columns["cluster_id"])}


def _assignments(ctx: MineContext) -> dict:
    keys = pq.read_table(ctx.path(KEYS), columns=["conversation_id", "turn_index"])
    offsets = _id_offsets(ctx)
    parts = []
    for role in ROLES:
        rows_table = pq.read_table(ctx.path(cluster_rows_file(role)))
        rows = rows_table.column("row").to_numpy()
        parts.append(pa.table({
            "conversation_id": keys.column("conversation_id").take(rows),
            "turn_index": keys.column("turn_index").take(rows).cast(pa.int32()),
            "role": pa.array([role] * len(rows), pa.string()),
            "cluster_id": pa.array(rows_table.column("label").to_numpy() + offsets[role], pa.int32()),
            "is_noise": rows_table.column("is_noise"),
            "confidence": rows_table.column("confidence"),
        }, schema=TURN_ASSIGNMENTS_SCHEMA))
    table = pa.concat_tables(parts)
    _save_parquet(ctx, COARSE_ASSIGNMENTS, table)
    flagged = pc.sum(table.column("is_noise")).as_py() or 0
    return {"turns": table.num_rows, "noise_share": round(flagged / max(1, table.num_rows), 4)}


def _etiquette(ctx: MineContext) -> dict:
    """The labelled clusters with `is_etiquette` and `is_spread` (mining/etiquette.py)."""
    from guideminer.mining.etiquette import detect_etiquette, with_etiquette

    assignments = pl.read_parquet(ctx.path(COARSE_ASSIGNMENTS),
                                  columns=["conversation_id", "turn_index", "role", "cluster_id", "is_noise"])
    result = detect_etiquette(assignments, ctx.config.etiquette)
    _save_parquet(ctx, COARSE_CLUSTERS, with_etiquette(pl.read_parquet(ctx.path(LABELS)), result))
    return result.summary()


def _split_by_context(ctx: MineContext) -> dict:
    """The contract tables: agent moves split by the needs they answer and customer needs by the
    moves answering them, in rounds (mining/context_split.py)."""
    from guideminer.mining.context_split import relabel_role, split_by_context
    from guideminer.mining.etiquette import etiquette_clusters, spread_clusters

    params, config = ctx.config.context_split, ctx.config
    assignments = pl.read_parquet(ctx.path(COARSE_ASSIGNMENTS))
    clusters = pl.read_parquet(ctx.path(COARSE_CLUSTERS))
    etiquette, spread = etiquette_clusters(clusters), spread_clusters(clusters)
    keys = pl.read_parquet(ctx.path(KEYS), columns=["conversation_id", "turn_index", "role", "text_row", "text"])
    keys = keys.with_columns(pl.col("turn_index").cast(pl.Int32))
    role_rows = {role: keys.filter(pl.col("role") == role).select(
        "conversation_id", "turn_index", pl.Series("vector_row", np.load(ctx.path(rows_file))))
        for role, rows_file in (("customer", CUSTOMER_ROWS), ("agent", AGENT_ROWS))}
    spaces = {"agent": (np.load(ctx.path(AGENT_VECTORS), mmap_mode="r"), role_rows["agent"]),
              "customer": (np.load(ctx.path(CUSTOMER_VECTORS), mmap_mode="r"), role_rows["customer"])}
    assignments, parents = split_by_context(assignments, etiquette, spread, spaces, params,
                                            int(clusters["cluster_id"].max()) + 1)
    texts_of = _texts_by_row(keys) if parents else []  # only split clusters are relabelled
    for role, split in parents.items():
        if not split:
            continue
        members = assignments.filter(pl.col("role") == role).join(
            keys.select("conversation_id", "turn_index", "text_row"), on=["conversation_id", "turn_index"], how="left")
        space_rows = np.zeros(len(texts_of), dtype=np.int64)  # raw text row -> its row in the role's space
        joined = role_rows[role].join(keys.select("conversation_id", "turn_index", "text_row"),
                                      on=["conversation_id", "turn_index"])
        space_rows[joined["text_row"].to_numpy()] = joined["vector_row"].to_numpy()
        clusters = relabel_role(clusters, role, members, texts_of, spaces[role][0], split, space_rows=space_rows,
                                top_keywords=config.top_keywords, representatives=config.representatives)
    _save_parquet(ctx, MINING_FILES["turn_assignments"], assignments.to_arrow().cast(TURN_ASSIGNMENTS_SCHEMA))
    _save_parquet(ctx, MINING_FILES["clusters"], clusters.to_arrow().cast(CLUSTERS_SCHEMA))
    return {f"{role}_clusters_split": len(set(split.values())) for role, split in parents.items()} | {
        f"{role}_parts_added": len(split) for role, split in parents.items()} | {"rounds": params.rounds}


def default_steps() -> list[Step]:
    """Every step of `mine`: embed, cluster each role, label, assignments, etiquette, split by context,
    propose, report."""
    from guideminer.mining.proposals import proposal_steps  # proposals import this module's runner

    def cluster_params(role: str):
        return lambda ctx: {"role": role, **getattr(ctx.config, f"{role}_params").model_dump()}

    customer_space = (CUSTOMER_VECTORS, CUSTOMER_ROWS)
    agent_space = (AGENT_VECTORS, AGENT_ROWS)
    label_inputs = (KEYS, *agent_space, *customer_space,
                    *(f(r) for r in ROLES for f in (cluster_rows_file, centroids_file)))
    return [
        Step("embed", (TURNS_INPUT,), (KEYS, VECTORS),
             lambda ctx: {"model_id": ctx.embedder.model_id, "roles": list(ROLES)}, _embed),
        Step("agent_space", (KEYS,), agent_space,
             lambda ctx: {"model_id": ctx.embedder.model_id, "facts_masked": ctx.config.agent_facts_masked},
             _agent_space),
        # agent moves first: the slots step reads which move answered each customer turn
        Step("cluster_agent", (KEYS, *agent_space), (cluster_rows_file("agent"), centroids_file("agent")),
             cluster_params("agent"), _cluster_role("agent"), version=2),  # 2: fact-masked agent space
        Step("slots", (KEYS, cluster_rows_file("agent")), (SLOTS, *customer_space),
             lambda ctx: {"model_id": ctx.embedder.model_id, **ctx.config.slots.model_dump(),
                          "tagger": ctx.noun_tagger().model_id if ctx.config.slots.nouns_only else None}, _slots,
             version=7),  # 2: misspellings; 3: rule 4 per member; 4: cohesion, nouns; 5: things; 6: read_as; 7: hyphens
        # customer turns after agent moves: they cluster on the agents' next need move too
        Step("cluster_customer", (KEYS, *customer_space, cluster_rows_file("agent")),
             (cluster_rows_file("customer"), centroids_file("customer")),
             lambda ctx: {**cluster_params("customer")(ctx), "space": ctx.config.customer_space.model_dump(),
                          "etiquette": ctx.config.etiquette.model_dump()},
             _cluster_role("customer"), version=2),  # 2: joined with the next need move's discriminant
        Step("label", label_inputs, (LABELS,),
             lambda ctx: {"top_keywords": ctx.config.top_keywords,
                          "representatives": ctx.config.representatives}, _label,
             version=2),  # 2: split_from column
        Step("assignments", (KEYS, *label_inputs[5:]), (COARSE_ASSIGNMENTS,),
             lambda ctx: {}, _assignments, version=2),  # 2: coarse, before split_moves
        Step("etiquette", (LABELS, COARSE_ASSIGNMENTS), (COARSE_CLUSTERS,),
             lambda ctx: ctx.config.etiquette.model_dump(), _etiquette, version=3),  # 2: is_spread; 3: coarse
        Step("split_by_context", (KEYS, *agent_space, *customer_space, COARSE_ASSIGNMENTS, COARSE_CLUSTERS),
             (MINING_FILES["turn_assignments"], MINING_FILES["clusters"]),
             lambda ctx: ctx.config.context_split.model_dump(), _split_by_context, version=2),  # 2: split_from
        *proposal_steps(),
    ]


__all__ = ["ROLES", "default_steps"]
