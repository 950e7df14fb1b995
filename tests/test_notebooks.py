"""CI executes every review notebook top to bottom against a small demo workspace.

The demo workspace is built with the real default embedder (local ONNX MiniLM, no network) so
the notebooks see real clusters and proposals. Kernels talk to the client over IPC sockets
(files), not TCP, so the suite's network block stays on.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from guideminer.engine import load_agent_spec

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from guideminer.models import load_embedder
    from guideminer.evaluation.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out, embedder=load_embedder(), n_conversations=300)
    return out


def with_workspace(notebook: nbformat.NotebookNode, workspace: Path) -> nbformat.NotebookNode:
    """papermill-style: a cell after the `parameters` cell overrides its values."""
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(f"workspace = {str(workspace)!r}"))
    return notebook


def test_notebooks_are_stored_without_outputs_and_take_a_workspace_parameter() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_explore_clusters.ipynb", "02_review_guidelines.ipynb",
                                           "03_export_agent.ipynb"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert "parameters" in code[0].metadata.get("tags", []) and "workspace =" in code[0].source


def test_notebooks_run_top_to_bottom_on_the_demo_workspace(demo_workspace: Path, tmp_path: Path) -> None:
    for path in NOTEBOOKS:  # in order: 02 records decisions, 03 exports them
        notebook = with_workspace(nbformat.read(path, as_version=4), demo_workspace)
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / f"kernel-{path.stem}"))
        NotebookClient(notebook, km=kernel, timeout=180, resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors}"
    assert "cdn.plot.ly" not in nbformat.writes(notebook)
    spec = load_agent_spec(demo_workspace / "agent.yaml")
    assert sum(len(d.guidelines) for d in spec.departments) >= 1
