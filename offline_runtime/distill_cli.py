"""`guideminer distill`: thin typer wrapper over `guideminer.offline_runtime.distill.distill`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def _score(scores: dict, key: str) -> str:
    part = scores.get(key)
    return f"{part['f1']:.3f} (P {part['precision']:.2f} R {part['recall']:.2f})" if part else "-"


def print_report(report: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    evaluation = report["evaluation"]
    console.print(f"held-out split: {evaluation['split']}"
                  + (f" ({evaluation['fit_conversations']} fit, {evaluation['heldout_conversations']} held out; "
                     "shipped heads refitted on all)" if "fit_conversations" in evaluation else ""))
    console.print(f"scored against: {evaluation['reference']}")
    gold = bool(evaluation.get("against_gold"))
    table = Table(title=f"distilled into {out}")
    columns = ["task", "n fit", "held-out F1 vs gold", "clustering F1 vs gold", "F1 vs clustering"] if gold else \
        ["task", "n fit", "held-out F1 vs clustering (not gold)"]
    if "fit_conversations" not in evaluation:
        columns = ["task", "n", "held-out accuracy", "held-out F1"]
    for column in columns:
        table.add_column(column)
    for guideline_id, scores in sorted(report["conditions"].items()):
        if "skipped" in scores:
            table.add_row(guideline_id, "-", scores["skipped"], *["-"] * (len(columns) - 3))
        elif "fit_conversations" not in evaluation:
            table.add_row(guideline_id, str(scores["n"]), str(scores.get("heldout_accuracy", "-")),
                          str(scores.get("heldout_f1", "-")))
        elif gold:
            table.add_row(guideline_id, str(scores["n_fit"]), _score(scores, "gold"),
                          _score(scores, "clustering_vs_gold"), _score(scores, "agreement"))
        else:
            table.add_row(guideline_id, str(scores["n_fit"]), _score(scores, "agreement"))
    console.print(table)
    console.print("router: " + ", ".join(f"{k} {v}" for k, v in report["router"].items()))
    console.print("summary: " + ", ".join(f"{k} {v}" for k, v in evaluation.items()
                                          if k not in ("split", "reference", "against_gold",
                                                       "fit_conversations", "heldout_conversations")))


def distill_command(
    source: Annotated[Path, typer.Argument(help="A mined workspace (uses WORKSPACE/agent.yaml or --spec) or an agent.yaml alone.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the distilled models (distilled.npz/json).")],
    spec: Annotated[Optional[Path], typer.Option(help="Agent spec exported from the workspace (default WORKSPACE/agent.yaml).")] = None,
    embedder: Annotated[Optional[str], typer.Option(help="Embedder (must match the runtime's).")] = None,
    backend: Annotated[str, typer.Option(help="Embedding backend: auto | torch | onnx | onnx-int8.")] = "auto",
    gold: Annotated[Optional[str], typer.Option(help="Score held-out against gold labels: sgd | demo | labels (default: none, agreement with the clustering).")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="demo: truth.json or its folder (default: WORKSPACE).")] = None,
    condition_key: Annotated[Optional[str], typer.Option(help="labels: turn metadata key of the customer turns' gold label.")] = None,
    domain_key: Annotated[str, typer.Option(help="labels: conversation metadata key of the gold department.")] = "domain",
    test_share: Annotated[float, typer.Option(help="Share of the conversations held out for scoring.")] = 0.2,
) -> None:
    """Train the router and per-guideline condition classifiers (embedding + logistic regression).

    From a mined workspace: positives are the customer turns of each guideline's condition
    cluster; the router learns first customer turns by mined department. Every head is first
    fitted on 80% of the conversations and scored on every customer turn of the other 20%, then
    refitted on all. With --gold the held-out score is against gold labels (and the clustering
    itself is scored beside it); without, it is only agreement with the clustering, and the
    output says so. Use with `distilled_dir` and kind `classifier` in a runtime config.

    Example: guideminer distill demo-workspace --out demo-workspace/distilled --gold demo
    """
    from guideminer.engine import load_agent_spec
    from guideminer.ingest.gold_labels import load_gold_labels
    from guideminer.models import load_embedder
    from guideminer.offline_runtime.distill import DistillConfig, distill

    workspace = source if source.is_dir() else None
    if gold is not None and workspace is None:
        raise typer.BadParameter("--gold needs a mined workspace, not an agent spec alone", param_hint="--gold")
    try:
        labels = None if gold is None else load_gold_labels(workspace, gold, truth=truth,  # type: ignore[arg-type]
                                                            condition_key=condition_key, domain_key=domain_key,
                                                            need_actions=False)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--gold") from error
    spec_path = spec or (source / "agent.yaml" if workspace else source)
    report = distill(load_agent_spec(spec_path), out, load_embedder(embedder, backend),  # type: ignore[arg-type]
                     workspace=workspace, gold=labels, config=DistillConfig(test_share=test_share))
    print_report(report, out)


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_command)
