"""`mine --engine ray` embeds on a local 2-CPU Ray instance and writes the same tables as the
local engine."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from engine_fakes import HashedBagOfWordsEmbedder
from runtime_world import ingested_workspace

from guideminer.mining.cluster import ClusterParams
from guideminer.mining.pipeline import MineConfig, mine_workspace
from guideminer.mining.schema import MINING_FILES

ray = pytest.importorskip("ray")
LOCAL = MineConfig(customer_params=ClusterParams(reduction="pca", n_components=5),
                   agent_params=ClusterParams(reduction="pca", n_components=5))


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_ray_engine_equals_local_engine(tmp_path: Path) -> None:
    local, _ = ingested_workspace(tmp_path / "local")
    mine_workspace(local, HashedBagOfWordsEmbedder(), LOCAL)
    on_ray, _ = ingested_workspace(tmp_path / "ray")
    tests = str(Path(__file__).resolve().parent)  # workers import the fake embedder from here
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": tests}})
    try:
        reports = mine_workspace(on_ray, HashedBagOfWordsEmbedder(), LOCAL.model_copy(update={"engine": "ray"}),
                                 embedder_factory=HashedBagOfWordsEmbedder)
    finally:
        ray.shutdown()
    assert reports[0].name == "embed" and reports[0].info["embedded"] > 0
    for name in ("turn_assignments", "clusters"):
        assert pq.read_table(on_ray / MINING_FILES[name]).equals(pq.read_table(local / MINING_FILES[name])), name


def test_ray_engine_needs_a_factory(tmp_path: Path) -> None:
    workspace, _ = ingested_workspace(tmp_path / "ws")
    with pytest.raises(ValueError, match="embedder_factory"):
        mine_workspace(workspace, HashedBagOfWordsEmbedder(), LOCAL.model_copy(update={"engine": "ray"}))
