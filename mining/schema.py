"""Arrow schemas of the mining tables, declared once.

Cluster ids are unique across roles within one mining run (customer "situation" clusters and
agent "move" clusters share one id space), so assignments join to clusters on `cluster_id` alone.
"""

from __future__ import annotations

import pyarrow as pa

TURN_ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("turn_index", pa.int32(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("cluster_id", pa.int32(), nullable=False),  # nearest cluster, also for noise
        pa.field("is_noise", pa.bool_(), nullable=False),  # HDBSCAN left it unclustered
        pa.field("confidence", pa.float32(), nullable=False),  # 0..1
    ]
)

CLUSTERS_SCHEMA = pa.schema(
    [
        pa.field("cluster_id", pa.int32(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # "customer" (situation) | "agent" (move)
        pa.field("size", pa.int32(), nullable=False),
        pa.field("keywords", pa.list_(pa.string()), nullable=False),
        pa.field("representative_texts", pa.list_(pa.string()), nullable=False),
        pa.field("centroid", pa.list_(pa.float32()), nullable=False),  # L2-normalised
        pa.field("name", pa.string(), nullable=True),  # optional short name (GGUF labeller)
        # conversation management (greetings, thanks, holds, confirmations) rather than a need;
        # null where the etiquette step has not run (mining/etiquette.py decides and documents how)
        pa.field("is_etiquette", pa.bool_(), nullable=True),
        # spread evenly over every kind of conversation (mining/etiquette.py step 3's first test):
        # etiquette is spread, and so are the answers every need gets (a phone number, a name);
        # no need is. Null where not measured (too few conversations to show a spread)
        pa.field("is_spread", pa.bool_(), nullable=True),
        # the cluster this one was split from by its context (mining/context_split.py); null for
        # a cluster as clustered (or the part that kept the cluster's id)
        pa.field("split_from", pa.int32(), nullable=True),
    ]
)

UNROUTED = "unrouted"  # department_id of a conversation with no customer turn to route by
CONVERSATION_DEPARTMENTS_SCHEMA = pa.schema(
    [
        pa.field("conversation_id", pa.string(), nullable=False),
        pa.field("department_id", pa.string(), nullable=False),
        pa.field("confidence", pa.float32(), nullable=False),
    ]
)

MINING_FILES = {
    "turn_assignments": "mining/turn_assignments.parquet",
    "clusters": "mining/clusters.parquet",
    "manifest": "mining/run_manifest.json",
    "conversation_departments": "mining/conversation_departments.parquet",
    "guidelines": "mining/proposals/guidelines.json",
    "departments": "mining/proposals/departments.json",
    "report": "mining/report.html",
    "slots": "mining/slot_classes.json",  # words customers use interchangeably (mining/slots.py)
}
