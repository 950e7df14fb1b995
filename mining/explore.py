"""Read-only views of a mined workspace for the review notebooks (tables and offline charts).

Why a module: notebooks must stay thin (a support lead runs them top to bottom; logic that lives
in cells is untested and drifts). Charts reuse the report's figure builders so the notebook and
report.html show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from guideminer.mining.proposals import read_proposals
from guideminer.mining.proposals_schema import DepartmentSet, GuidelineSet
from guideminer.mining.report import cluster_sizes, department_map
from guideminer.mining.schema import MINING_FILES


@dataclass(frozen=True)
class MinedWorkspace:
    path: Path
    clusters: pl.DataFrame
    assignments: pl.DataFrame
    guidelines: GuidelineSet
    departments: DepartmentSet


def open_mined_workspace(workspace: Path | str) -> MinedWorkspace:
    """The mining tables and proposals; a clear error when `guideminer mine` has not run."""
    path = Path(workspace)
    clusters_file = path / MINING_FILES["clusters"]
    if not clusters_file.is_file():
        raise FileNotFoundError(f"{path} is not mined ({clusters_file} missing): run `guideminer mine {path}`")
    guidelines, departments = read_proposals(path)
    return MinedWorkspace(path, pl.read_parquet(clusters_file),
                          pl.read_parquet(path / MINING_FILES["turn_assignments"]), guidelines, departments)


def overview(mined: MinedWorkspace) -> pl.DataFrame:
    """Per role: turns, clusters, share flagged noise, share HDBSCAN left out before assignment."""
    roles = mined.assignments.with_columns(pl.col("role").cast(pl.String)).group_by("role").agg(
        pl.len().alias("turns"), pl.col("cluster_id").n_unique().alias("clusters"),
        pl.col("is_noise").mean().round(4).alias("noise_share"),
        (pl.col("confidence") < 0.5).mean().round(4).alias("low_confidence_share"))
    return roles.sort("role")


def cluster_table(mined: MinedWorkspace, role: str, limit: int = 30) -> pl.DataFrame:
    """The largest clusters of a role with keywords and their most representative turn."""
    return (mined.clusters.filter(pl.col("role") == role).sort("size", descending=True).head(limit)
            .select("cluster_id", "size", pl.col("keywords").list.head(5).list.join(", ").alias("keywords"),
                    pl.col("representative_texts").list.first().alias("representative")))


def department_table(mined: MinedWorkspace) -> pl.DataFrame:
    return pl.DataFrame([{"department_id": d.department_id, "name": d.name, "traffic_share": round(d.traffic_share, 3),
                          "situations": len(d.situation_cluster_ids), "guidelines": len(d.guideline_ids),
                          "transfer_rate": round(d.transfer_rate, 3)} for d in mined.departments.departments])


def cluster_size_figure(mined: MinedWorkspace) -> go.Figure:
    return cluster_sizes(mined.clusters)


def department_map_figure(mined: MinedWorkspace) -> go.Figure | None:
    return department_map(mined.departments, mined.clusters)


def use_offline_plotly() -> None:
    """Notebook charts with plotly.js embedded in the notebook, never fetched from a CDN."""
    import plotly.io as pio

    pio.renderers.default = "notebook"  # injects the bundled plotly.js once (no network)
