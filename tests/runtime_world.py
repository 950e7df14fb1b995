"""A small mined + exported workspace for runtime tests (no models: tables from proposals_world)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from engine_fakes import HashedBagOfWordsEmbedder
from proposals_world import guideline_world

from guideminer.mining.export_spec import export_workspace
from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, TURNS_SCHEMA
from guideminer.mining.proposals import write_proposals
from guideminer.mining.schema import MINING_FILES


VARIANTS = ["please", "today", "right now", "again", "asap", "thanks in advance", "urgently", "if possible"]


def ingested_workspace(root: Path) -> tuple[Path, dict]:
    """The ingest layout (conversations, turns as part directories) of the planted world."""
    world = guideline_world()
    # vary the wording per conversation so classifiers have more than two distinct texts per cluster
    suffix = pl.col("conversation_id").hash(seed=0) % len(VARIANTS)
    world["turns"] = world["turns"].with_columns(
        (pl.col("text") + pl.lit(" ") + pl.lit(pl.Series(VARIANTS)).get(suffix)).alias("text"))
    root.mkdir(parents=True, exist_ok=True)
    tables = (("conversations", world["conversations"], CONVERSATIONS_SCHEMA),
              ("turns", world["turns"].with_columns(pl.lit(None).alias("timestamp")), TURNS_SCHEMA))
    for name, frame, schema in tables:
        (root / f"{name}.parquet").mkdir()
        pq.write_table(frame.select(schema.names).to_arrow().cast(schema), root / f"{name}.parquet" / "part-1.parquet")
    return root, world


def mined_workspace(root: Path) -> Path:
    """Ingest layout + mining tables + proposals + agent.yaml (auto-accepted) under `root`."""
    root, world = ingested_workspace(root)
    (root / "mining").mkdir()
    world["assignments"].write_parquet(root / MINING_FILES["turn_assignments"])
    world["clusters"].write_parquet(root / MINING_FILES["clusters"])
    write_proposals(root, world["assignments"], world["clusters"], world["conversations"])
    export_workspace(root, root / "agent.yaml", auto_accept=True, name="test agent")
    return root


def embedder() -> HashedBagOfWordsEmbedder:
    return HashedBagOfWordsEmbedder()
