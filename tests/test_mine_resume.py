"""Kill `mine` mid-run (SIGKILL while embedding), re-run it: finished embedding chunks are not
redone and the outputs equal those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from engine_fakes import HashedBagOfWordsEmbedder
from runtime_world import ingested_workspace

from guideminer.mining.cluster import ClusterParams
from guideminer.mining.embed import workspace_embeddings_dir
from guideminer.mining.pipeline import MineConfig, mine_workspace
from guideminer.mining.schema import MINING_FILES

TESTS = Path(__file__).resolve().parent
CONFIG = MineConfig(customer_params=ClusterParams(reduction="pca", n_components=5),
                    agent_params=ClusterParams(reduction="pca", n_components=5), embed_chunk_size=8)
SLOW_MINE = f"""
import sys, time
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from engine_fakes import HashedBagOfWordsEmbedder
from test_mine_resume import CONFIG
from guideminer.mining.pipeline import mine_workspace

class Slow(HashedBagOfWordsEmbedder):
    def embed(self, texts):
        time.sleep(0.3)  # long enough for the parent to kill us between chunks
        return super().embed(texts)

mine_workspace(Path(sys.argv[1]), Slow(), CONFIG)
"""


class Counting(HashedBagOfWordsEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def embed(self, texts):
        self.texts += len(texts)
        return super().embed(texts)


def cache_parts(workspace: Path) -> list[Path]:
    return list(workspace_embeddings_dir(workspace).rglob("part-*.parquet"))


def test_killed_mine_resumes_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    whole, _ = ingested_workspace(tmp_path / "whole")
    fresh = Counting()
    mine_workspace(whole, fresh, CONFIG)
    killed, _ = ingested_workspace(tmp_path / "killed")
    process = subprocess.Popen([sys.executable, "-c", SLOW_MINE, str(killed)], env={**os.environ, "PYTHONPATH": ""})
    deadline = time.time() + 60
    while len(cache_parts(killed)) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(cache_parts(killed))
    assert kept >= 2 and not (killed / MINING_FILES["turn_assignments"]).exists(), "killed too late to test resume"
    resumed = Counting()
    reports = mine_workspace(killed, resumed, CONFIG)
    assert not any(r.skipped for r in reports)  # no step had finished before the kill
    assert resumed.texts == fresh.texts - 8 * kept  # every finished chunk came from the cache
    for name in ("turn_assignments", "clusters"):
        assert pq.read_table(killed / MINING_FILES[name]).equals(pq.read_table(whole / MINING_FILES[name])), name
    for name in ("guidelines", "departments"):
        assert json.loads((killed / MINING_FILES[name]).read_text()) == json.loads((whole / MINING_FILES[name]).read_text())
