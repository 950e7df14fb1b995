"""CI executes every review notebook top to bottom against a small demo workspace.

The demo workspace is built with the real default embedder (local ONNX MiniLM, no network) so
the notebooks see real clusters and proposals. Kernels talk to the client over IPC sockets
(files), not TCP, so the suite's network block stays on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from guideminer.engine import load_agent_spec
from guideminer.mining.closings import CLOSING_ID, CLOSING_PROVENANCE
from guideminer.mining.review import read_decisions, review_workspace

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


# Importing parlant.sdk creates $PARLANT_HOME (default ./parlant-data) with a log file: keep it out of the repo.
os.environ.setdefault("PARLANT_HOME", str(Path(tempfile.gettempdir()) / "guideminer-tests-parlant-home"))

# `demo_workspace` (a 300-conversation demo run, shared with test_demo_pii.py) is in conftest.py.

def with_parameters(notebook: nbformat.NotebookNode, **values) -> nbformat.NotebookNode:
    """papermill-style: a cell after the `parameters` cell overrides its values."""
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


def run_notebook(path: Path, tmp_path: Path, **values) -> nbformat.NotebookNode:
    notebook = with_parameters(nbformat.read(path, as_version=4), **values)
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / f"kernel-{path.stem}"))
    NotebookClient(notebook, km=kernel, timeout=180, resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors}"
    return notebook


def test_notebooks_are_stored_without_outputs_and_take_a_workspace_parameter() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_explore_clusters.ipynb", "02_review_guidelines.ipynb",
                                           "03_export_agent.ipynb"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert "parameters" in code[0].metadata.get("tags", []) and "workspace =" in code[0].source
    review_parameters = [c for c in nbformat.read(NOTEBOOKS[1], as_version=4).cells if c.cell_type == "code"][0].source
    assert "reviewer = \"\"" in review_parameters and "decisions = []" in review_parameters


def injected_decisions(workspace: Path) -> list[dict]:
    """What a reviewer would click: accept two, reword one, merge one into another, reject, defer."""
    ids = [g.guideline_id for g in sorted(review_workspace(workspace).guidelines.values(),
                                         key=lambda g: g.proposal.rank)]
    assert len(ids) >= 7, "the demo workspace must yield at least seven proposals"
    return [{"kind": "accept", "guideline_id": ids[0]}, {"kind": "accept", "guideline_id": ids[1], "why": "clear"},
            {"kind": "edit", "guideline_id": ids[2], "action_text": "Confirm the details before booking."},
            {"kind": "merge", "guideline_id": ids[3], "other_ids": [ids[4]]},
            {"kind": "reject", "guideline_id": ids[5], "why": "too generic"},
            {"kind": "defer", "guideline_id": ids[6], "why": "ask the team lead"}]


def test_a_plain_run_of_the_review_notebook_writes_no_decision(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"  # a copy: the other tests record decisions in the shared one
    shutil.copytree(demo_workspace, workspace)
    assert read_decisions(workspace) == []
    notebook = run_notebook(NOTEBOOKS[1], tmp_path, workspace=str(workspace))
    assert read_decisions(workspace) == [] and not (workspace / "review").exists()
    shown = "".join(str(o.get("data", "")) + o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                    for o in c.outputs)
    assert "application/vnd.jupyter.widget-view+json" in shown and "0 / " in shown


def test_notebooks_run_top_to_bottom_with_injected_decisions(demo_workspace: Path, tmp_path: Path) -> None:
    decisions = injected_decisions(demo_workspace)
    for path in NOTEBOOKS:  # in order: 02 records the injected decisions, 03 exports them
        values = {"workspace": str(demo_workspace)}
        if path.name.startswith("02"):
            values |= {"reviewer": "ci-reviewer", "decisions": decisions}
        notebook = run_notebook(path, tmp_path, **values)
    assert "cdn.plot.ly" not in nbformat.writes(notebook)  # as before: 03's output (01 embeds plotly.js itself)
    log = read_decisions(demo_workspace)
    assert [d.kind for d in log] == [d["kind"] for d in decisions] and {d.who for d in log} == {"ci-reviewer"}
    spec = load_agent_spec(demo_workspace / "agent.yaml")
    exported = {g.id: g for d in spec.departments for g in d.guidelines}
    if spec.etiquette is not None:
        exported |= {g.id: g for g in spec.etiquette.guidelines}
    accepted = {decisions[i]["guideline_id"] for i in (0, 1, 2, 3)}
    defaults = {g for g, guideline in exported.items() if guideline.provenance == CLOSING_PROVENANCE}
    assert set(exported) - defaults == accepted and defaults <= {CLOSING_ID}  # mined: only what was accepted
    assert exported[decisions[2]["guideline_id"]].action == "Confirm the details before booking."
    assert "merged:" + decisions[3]["other_ids"][0] in exported[decisions[3]["guideline_id"]].tags


def test_the_demo_parlant_module_fits_the_installed_sdk(demo_workspace: Path, tmp_path: Path) -> None:
    """The Parlant module of the demo workspace's reviewed agent, checked call by call."""
    pytest.importorskip("parlant.sdk", reason="the parlant extra: pip install 'guideminer[parlant]'")
    from parlant_check import check_module

    from guideminer.mining.export_parlant import export_parlant_workspace

    out, result = export_parlant_workspace(demo_workspace, tmp_path / "demo_parlant.py", auto_accept=True)
    calls = check_module(out)
    made = sorted((c.keywords["condition"], c.keywords["action"]) for c in calls if c.method == "create_guideline")
    rules = [(g.condition, g.action) for d in result.spec.departments for g in d.guidelines]
    rules += [(g.condition, g.action) for g in (result.spec.etiquette.guidelines if result.spec.etiquette else ())]
    assert made == sorted(rules) and len(made) >= 1
