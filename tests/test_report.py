"""report.html is self-contained (no network), escapes conversation text and shows the tables;
the proposal steps write every contract file and are skipped when nothing changed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from proposals_world import AGENT, CUSTOMER, clusters_table, guideline_world

from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, TURNS_SCHEMA
from guideminer.mining.pipeline import MineConfig, MineContext, Step, run_steps
from guideminer.mining.proposals import (
    build_proposals, proposal_steps, read_proposals, write_proposals, write_workspace_report,
)
from guideminer.mining.proposals_schema import PROPOSALS_SCHEMA_VERSION
from guideminer.mining.report import render_report
from guideminer.mining.schema import CONVERSATION_DEPARTMENTS_SCHEMA, MINING_FILES

REMOTE = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def world() -> dict:
    customer = dict(CUSTOMER)
    customer[1] = (["refund", "money back"], ["<script>alert('x')</script> where is my refund", "money back"])
    world = guideline_world()
    world["clusters"] = clusters_table(customer, AGENT)
    return world


@pytest.fixture(scope="module")
def html(world) -> str:
    guidelines, departments, _ = build_proposals(world["assignments"], world["clusters"], world["conversations"])
    return render_report(guidelines, departments, world["clusters"], world["turns"])


def test_report_has_no_remote_references(html):
    assert not REMOTE.search(html)
    outside_bundle = html.replace(get_plotlyjs(), "")  # the bundle only names URLs as option defaults
    assert "http://" not in outside_bundle and "https://" not in outside_bundle
    assert html.count("<script type=\"text/javascript\">") == 1  # plotly.js inlined once, in the head


def test_report_shows_map_table_outcomes_and_escapes_text(world, html):
    guidelines, _, _ = build_proposals(world["assignments"], world["clusters"], world["conversations"])
    assert "id='guidelines'" in html and "id='departments'" in html
    assert 'id="department-map"' in html and 'id="outcomes"' in html and 'id="cluster-sizes"' in html
    for proposal in guidelines.proposals:
        assert proposal.guideline_id in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)" in html


def test_report_is_deterministic(world, html):
    guidelines, departments, _ = build_proposals(world["assignments"], world["clusters"], world["conversations"])
    assert render_report(guidelines, departments, world["clusters"], world["turns"]) == html


def _ingested_workspace(tmp_path: Path, world: dict) -> Path:
    """The ingest layout (tables as directories of parts) with the world's tables."""
    for name, frame, schema in (("conversations", world["conversations"], CONVERSATIONS_SCHEMA),
                                ("turns", world["turns"].with_columns(pl.lit(None).alias("timestamp")), TURNS_SCHEMA)):
        (tmp_path / f"{name}.parquet").mkdir()
        pq.write_table(frame.select(schema.names).to_arrow().cast(schema), tmp_path / f"{name}.parquet" / "part-1.parquet")
    return tmp_path


class _Embedder:
    model_id = "fake"


def test_proposal_steps_write_contract_files_and_resume(tmp_path, world):
    from guideminer.ingest.workspace import read_conversations, read_turns

    workspace = _ingested_workspace(tmp_path, world)

    def tables(ctx):
        (ctx.workspace / "mining").mkdir(exist_ok=True)
        world["assignments"].write_parquet(ctx.path(MINING_FILES["turn_assignments"]))
        world["clusters"].write_parquet(ctx.path(MINING_FILES["clusters"]))

    steps = [Step("tables", ("turns",), (MINING_FILES["turn_assignments"], MINING_FILES["clusters"]),
                  lambda ctx: {}, tables), *proposal_steps()]
    ctx = MineContext(workspace, MineConfig(), _Embedder(), read_turns, read_conversations)
    first = run_steps(ctx, steps)
    assert [r.skipped for r in first] == [False, False, False]
    assert [r.skipped for r in run_steps(ctx, steps)] == [True, True, True]
    guidelines, departments = read_proposals(workspace)
    assert guidelines.schema_version == departments.schema_version == PROPOSALS_SCHEMA_VERSION
    assert guidelines.ranked_by == "expected_impact" and guidelines.proposals
    raw = json.loads((workspace / MINING_FILES["guidelines"]).read_text())
    assert raw["thresholds"]["min_lift"] == guidelines.thresholds["min_lift"]
    routed = pq.read_table(workspace / MINING_FILES["conversation_departments"])
    assert routed.schema.equals(CONVERSATION_DEPARTMENTS_SCHEMA) and routed.num_rows == 68
    assert all(p.department_id for p in guidelines.proposals)
    html = (workspace / MINING_FILES["report"]).read_text()
    assert "My package" not in html or "&" in html  # evidence texts come through escaped
    assert guidelines.proposals[0].guideline_id in html


def test_write_functions_without_the_step_runner(tmp_path, world):
    (tmp_path / "mining").mkdir()
    world["clusters"].write_parquet(tmp_path / MINING_FILES["clusters"])
    guidelines, _ = write_proposals(tmp_path, world["assignments"], world["clusters"])
    assert guidelines.ranked_by == "support"
    report = write_workspace_report(tmp_path)
    assert report.is_file() and not REMOTE.search(report.read_text())


def test_an_etiquette_rule_is_shown_as_applying_in_every_department(world):
    from guideminer.mining.report import guideline_table

    guidelines, _, _ = build_proposals(world["assignments"], world["clusters"], world["conversations"])
    rule = guidelines.proposals[0]
    as_etiquette = rule.model_copy(update={"is_etiquette": True})
    assert "every department (etiquette)" in guideline_table(guidelines, {}, [as_etiquette], "etiquette")
    shown = guideline_table(guidelines, {}, [rule.model_copy(update={"is_etiquette": False})])
    assert f"dept {rule.department_id or '-'}" in shown and "every department" not in shown
