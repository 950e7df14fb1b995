"""`mine` clustering steps end to end on a tiny workspace with a fake embedder (offline, fast)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from guideminer.mining.cluster import ClusterParams
from guideminer.mining.pipeline import MineConfig, mine_workspace
from guideminer.mining.schema import CLUSTERS_SCHEMA, MINING_FILES, TURN_ASSIGNMENTS_SCHEMA

TOPICS = ["refund", "password", "delivery", "invoice"]
MOVES = ["apologise", "verify", "transfer"]


class TopicEmbedder:
    """Fake TextEmbedder: a fixed direction per topic word in the text + small per-text jitter."""

    model_id = "fake-topic@1"
    dimension = 16

    def __init__(self) -> None:
        self.calls = 0
        self._centres = np.random.default_rng(0).normal(size=(len(TOPICS) + len(MOVES), self.dimension))

    def embed(self, texts):
        self.calls += 1
        rows = []
        for text in texts:
            words = TOPICS + MOVES
            topic = next((i for i, w in enumerate(words) if w in text), 0)
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            rows.append(self._centres[topic] + 0.1 * np.random.default_rng(seed).normal(size=self.dimension))
        matrix = np.asarray(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def write_workspace(root: Path, conversations: int = 48) -> Path:
    rows = []
    for c in range(conversations):
        # the agent's move depends on the topic (refund and invoice both apologised for): were it
        # independent of it, the topic words would be slot fillers (mining/slots.py) and be merged
        topic = TOPICS[c % len(TOPICS)]
        move = MOVES[TOPICS.index(topic) % len(MOVES)]
        turns = [("customer", f"my {topic} question number {c}"), ("agent", f"I will {move} that for you ({c})"),
                 ("customer", f"thanks about the {topic} {c}"), ("system", "call ended")]
        for index, (role, text) in enumerate(turns):
            rows.append({"conversation_id": f"c{c}", "turn_index": index, "role": role, "text": text,
                         "timestamp": None, "metadata": "{}"})
    root.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).with_columns(pl.col("turn_index").cast(pl.Int32)).write_parquet(root / "turns.parquet")
    return root


def read_turns(workspace: Path) -> pl.DataFrame:
    return pl.read_parquet(workspace / "turns.parquet")


def no_conversations(workspace: Path) -> None:
    """These hand-made workspaces have no conversations table (so no outcome fields)."""
    return None


CONFIG = MineConfig(customer_params=ClusterParams(reduction="pca", n_components=5),
                    agent_params=ClusterParams(reduction="pca", n_components=5))


def test_mine_writes_both_tables_with_their_schemas(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws")
    reports = mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert [r.name for r in reports] == ["embed", "agent_space", "cluster_agent", "slots", "cluster_customer", "label", "assignments", "etiquette", "split_by_context", "propose", "report"]
    assignments = pq.read_table(ws / MINING_FILES["turn_assignments"])
    clusters = pq.read_table(ws / MINING_FILES["clusters"])
    assert assignments.schema.equals(TURN_ASSIGNMENTS_SCHEMA)
    assert clusters.schema.equals(CLUSTERS_SCHEMA)
    assert assignments.num_rows == 48 * 3  # customer + agent turns, system turns not clustered
    frame = pl.from_arrow(clusters)
    assert frame.get_column("cluster_id").is_unique().all()
    assert set(frame.filter(pl.col("role") == "customer").get_column("size").to_list()) == {24}
    assert frame.filter(pl.col("role") == "agent").height == 3
    assert set(pl.from_arrow(assignments).get_column("cluster_id")) == set(frame.get_column("cluster_id"))
    keywords = frame.filter(pl.col("role") == "customer").get_column("keywords").to_list()
    assert {kw[0] for kw in keywords} == set(TOPICS)
    assert all(1 <= len(r) <= 5 for r in frame.get_column("representative_texts").to_list())


def test_rerun_skips_every_step_and_changed_params_rerun_downstream_only(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws")
    embedder = TopicEmbedder()
    mine_workspace(ws, embedder, CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    before = (ws / MINING_FILES["turn_assignments"]).read_bytes()
    again = mine_workspace(ws, embedder, CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert all(r.skipped for r in again) and embedder.calls == 1
    assert (ws / MINING_FILES["turn_assignments"]).read_bytes() == before
    changed = CONFIG.model_copy(update={"agent_params": ClusterParams(reduction="none")})
    third = mine_workspace(ws, embedder, changed, read_turns=read_turns, read_conversations=no_conversations)
    ran = {r.name for r in third if not r.skipped}
    # customer turns cluster on the agents' next move too (mining/customer_space.py): downstream
    assert {"cluster_agent", "slots", "cluster_customer", "label", "assignments"} <= ran <= {
        "cluster_agent", "slots", "cluster_customer", "label", "assignments", "etiquette", "split_by_context", "propose", "report"}
    assert {r.name for r in third if r.skipped} == {"embed", "agent_space"}
    manifest = json.loads((ws / MINING_FILES["manifest"]).read_text())
    assert manifest["input_hash"] and manifest["model_id"] == "fake-topic@1"
    assert set(manifest["steps"]) == {"embed", "agent_space", "cluster_agent", "slots", "cluster_customer", "label", "assignments", "etiquette", "split_by_context", "propose", "report"}
    assert all("seconds" in step and "params" in step for step in manifest["steps"].values())


def test_changed_code_reruns_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs of older code are never kept: the step key holds a hash of the mining source."""
    from guideminer.mining import pipeline

    ws = write_workspace(tmp_path / "ws")
    mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert len(pipeline.code_hash()) == 64 and pipeline.code_hash() == pipeline.code_hash()
    monkeypatch.setattr(pipeline, "code_hash", lambda: "0" * 64)  # as after an upgrade or an edit
    rerun = mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert not any(r.skipped for r in rerun)


def test_agent_turns_that_differ_only_by_their_facts_share_one_point_of_the_agent_space(tmp_path: Path) -> None:
    from guideminer.mining.mine_steps import AGENT_ROWS, KEYS

    ws = write_workspace(tmp_path / "ws")
    turns = pl.read_parquet(ws / "turns.parquet")
    places = ["Husky Stadium", "Olive Garden", "Larkfield Online"]
    turns = turns.with_columns(pl.when(pl.col("role") == "agent")
                               .then(pl.format("I found it at {} on March {}th", pl.Series([places[i % 3] for i in range(turns.height)]),
                                               (pl.col("turn_index") + 10).cast(pl.String)))
                               .otherwise(pl.col("text")).alias("text"))
    turns.write_parquet(ws / "turns.parquet")
    agent = lambda: pl.read_parquet(ws / KEYS).with_row_index("row").filter(pl.col("role") == "agent")
    mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert agent()["text"].n_unique() == 3 and len(set(np.load(ws / AGENT_ROWS).tolist())) == 1
    raw = CONFIG.model_copy(update={"agent_facts_masked": False})
    mine_workspace(ws, TopicEmbedder(), raw, read_turns=read_turns, read_conversations=no_conversations)
    assert len(set(np.load(ws / AGENT_ROWS).tolist())) == 3


def test_changed_turns_rerun_everything_and_deleted_output_is_rebuilt(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws")
    mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    (ws / MINING_FILES["clusters"]).unlink()
    rebuilt = mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert [r.name for r in rebuilt if not r.skipped] == ["split_by_context"]  # identical bytes: downstream steps stay valid
    write_workspace(ws, conversations=52)
    changed = mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
    assert not any(r.skipped for r in changed)


def test_same_workspace_and_seed_give_identical_tables(tmp_path: Path) -> None:
    tables = []
    for name in ("a", "b"):
        ws = write_workspace(tmp_path / name)
        mine_workspace(ws, TopicEmbedder(), MineConfig(), read_turns=read_turns, read_conversations=no_conversations)  # default: UMAP
        tables.append((pq.read_table(ws / MINING_FILES["turn_assignments"]),
                       pq.read_table(ws / MINING_FILES["clusters"])))
    assert tables[0][0].equals(tables[1][0]) and tables[0][1].equals(tables[1][1])


def test_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="guideminer ingest"):
        mine_workspace(tmp_path / "nope", TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)


def test_empty_workspace_is_a_clear_error(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pl.DataFrame({"conversation_id": [], "turn_index": [], "role": [], "text": []},
                 schema={"conversation_id": pl.String, "turn_index": pl.Int32, "role": pl.String,
                         "text": pl.String}).write_parquet(ws / "turns.parquet")
    with pytest.raises(ValueError, match="holds no turns"):
        mine_workspace(ws, TopicEmbedder(), CONFIG, read_turns=read_turns, read_conversations=no_conversations)
