"""`guideminer distill`: thin typer wrapper over `guideminer.offline_runtime.distill.distill`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def distill_command(
    source: Annotated[Path, typer.Argument(help="A mined workspace (uses WORKSPACE/agent.yaml or --spec) or an agent.yaml alone.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the distilled models (distilled.npz/json).")],
    spec: Annotated[Optional[Path], typer.Option(help="Agent spec exported from the workspace (default WORKSPACE/agent.yaml).")] = None,
    embedder: Annotated[Optional[str], typer.Option(help="Embedder (must match the runtime's).")] = None,
    backend: Annotated[str, typer.Option(help="Embedding backend: auto | torch | onnx | onnx-int8.")] = "auto",
) -> None:
    """Train the router and per-guideline condition classifiers (embedding + logistic regression).

    From a mined workspace: positives are the customer turns of each guideline's condition
    cluster; the router learns first customer turns by mined department. Prints held-out
    accuracy per task; use with `distilled_dir` and kind `classifier` in a runtime config.

    Example: guideminer distill demo-workspace --out demo-workspace/distilled
    """
    from rich.console import Console
    from rich.table import Table

    from guideminer.engine import load_agent_spec
    from guideminer.models import load_embedder
    from guideminer.offline_runtime.distill import distill

    workspace = source if source.is_dir() else None
    spec_path = spec or (source / "agent.yaml" if workspace else source)
    report = distill(load_agent_spec(spec_path), out, load_embedder(embedder, backend),  # type: ignore[arg-type]
                     workspace=workspace)
    table = Table(title=f"distilled into {out} (held-out split)")
    for column in ("task", "n", "accuracy", "F1 (condition holds)"):
        table.add_column(column)
    table.add_row("router", str(report["router"].get("n", "-")), str(report["router"].get("heldout_accuracy", "-")), "-")
    for guideline_id, scores in sorted(report["conditions"].items()):
        table.add_row(guideline_id, str(scores.get("n", "-")), str(scores.get("heldout_accuracy", scores.get("skipped", "-"))),
                      str(scores.get("heldout_f1", "-")))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_command)
