"""Screenshot the review notebook's widgets in headless Chromium, offline, as a reviewer sees them.

Usage:
    python benchmarks/screenshot_notebook.py WORKSPACE --html-manager DIR [--reviewer NAME]
        [--out docs/review_notebook.png] [--width 1400] [--height 2600]

Executes notebooks/02_review_guidelines.ipynb on WORKSPACE (a plain run: no decision is written;
`--reviewer` only enables the buttons), stores the widget state in the executed notebook
(nbclient `store_widget_state`), converts it to HTML with nbconvert, and renders that page in
headless Chromium (benchmarks/screenshot_report.py). The widgets are drawn by the Jupyter
widgets HTML manager: DIR is the `dist/` folder of the npm package `@jupyter-widgets/html-manager`
(1.x for ipywidgets 8; `npm pack @jupyter-widgets/html-manager@1.0.14` and untar), used from
local disk instead of the CDN nbconvert would link, so the page needs no network.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_report import screenshot  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_review_guidelines.ipynb"


def executed_notebook(workspace: Path, reviewer: str, scratch: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(
        f"workspace = {str(workspace)!r}\nreviewer = {reviewer!r}"))
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(scratch / "kernel"))
    NotebookClient(notebook, km=kernel, timeout=300, store_widget_state=True,
                   resources={"metadata": {"path": str(scratch)}}).execute()
    return notebook


def offline_html(notebook: nbformat.NotebookNode, html_manager: Path, target: Path) -> Path:
    """nbconvert HTML whose widget renderer is the local html-manager bundle, no CDN script."""
    exporter = HTMLExporter(template_name="lab", widget_renderer_url="embed.js")
    body, _ = exporter.from_notebook_node(notebook)
    body = re.sub(r'<script[^>]+src="https://[^"]+"[^>]*></script>', "", body)  # require.js, mathjax
    if "https://" in re.sub(r"<a [^>]*>|xmlns[^ >]*", "", body).split("<body", 1)[0]:
        print("note: the page head still links https resources (they fail offline)", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    for item in html_manager.iterdir():
        if item.suffix != ".map":
            shutil.copy(item, target.parent / item.name)
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--html-manager", type=Path, required=True, help="dist/ of @jupyter-widgets/html-manager")
    parser.add_argument("--reviewer", default="reviewer")
    parser.add_argument("--out", type=Path, default=Path("docs/review_notebook.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args(argv)
    if not (args.html_manager / "embed.js").is_file():
        raise SystemExit(f"{args.html_manager}/embed.js missing: untar `npm pack @jupyter-widgets/html-manager@1.0.14`")
    with tempfile.TemporaryDirectory(prefix="gm-review-shot-") as scratch:
        notebook = executed_notebook(args.workspace.resolve(), args.reviewer, Path(scratch))
        page = offline_html(notebook, args.html_manager, Path(scratch) / "page" / "review.html")
        print(screenshot(page, args.out, args.width, args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
