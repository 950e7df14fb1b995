"""`guideminer eval clusters | proposals` and `guideminer replay`: thin typer wrappers over the
evaluation functions. Evaluation imports the stages; no stage imports evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from guideminer.mining.cli import BackendOption, EmbedderOption, SeedOption, _load_embedder
from guideminer.offline_runtime.cli import ConfigOption, SpecArgument, _engine

eval_app = typer.Typer(help="Measure mining and agent quality on labelled data.", no_args_is_help=True)


@eval_app.command("clusters")
def eval_clusters_command(
    input: Annotated[Path, typer.Option("--input", help="Labelled utterances file.")],
    format: Annotated[str, typer.Option("--format", help="dstc11 | clinc | banking77 | csv")],
    text_col: Annotated[Optional[str], typer.Option(help="Text column (csv; banking77 default 'text').")] = None,
    label_col: Annotated[Optional[str], typer.Option(help="Gold label column (csv; banking77 default 'category').")] = None,
    split: Annotated[str, typer.Option(help="Split of a clinc data_full.json file.")] = "test",
    include_oos: Annotated[bool, typer.Option(help="clinc: add the out-of-scope items of the split.")] = False,
    embedder: EmbedderOption = None,
    backend: BackendOption = "auto",
    seed: SeedOption = 0,
    peer: Annotated[bool, typer.Option(help="Also run KMeans told the gold K on the same vectors (kmeans_gold_k).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
) -> None:
    """Cluster labelled utterances with the `mine` clusterer and score it against the gold labels.

    Prints acc (Hungarian 1:1), nmi, ari, many-to-one precision/recall/f1 (DSTC11 Track 2
    definitions), k found, n, noise_share and seconds (embedding included).

    Example: guideminer eval clusters --input ../shared/data/dstc11-insurance/test-utterances.jsonl --format dstc11 --json
    """
    from guideminer.mining.cluster import ClusterParams
    from guideminer.evaluation.clusters import clinc_domains, evaluate_clustering, load_labelled

    texts, gold = load_labelled(input, format, text_col=text_col, label_col=label_col,  # type: ignore[arg-type]
                                split=split, include_oos=include_oos)
    domains_file = input.with_name("domains.json")  # CLINC150's intent -> domain map, if shipped
    gold_parents = clinc_domains(input, gold) if format == "clinc" and domains_file.is_file() else None
    result = evaluate_clustering(texts, gold, _load_embedder(embedder, backend), ClusterParams(seed=seed),
                                 gold_parents=gold_parents, peer=peer)
    result["input"] = str(input)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key in ("acc", "nmi", "ari", "precision", "recall", "f1"):
        typer.echo(f"{key:>10}: {100 * result[key]:.1f}")
    for key in ("k", "gold_k", "n", "noise_share", "seconds"):
        typer.echo(f"{key:>10}: {result[key]}")
    parents = result["parents"]
    typer.echo(f"   parents: {parents['k']} (silhouette {parents['silhouette']})"
               + (f", vs {parents['gold_k']} gold domains: acc {100 * parents['acc']:.1f} nmi {100 * parents['nmi']:.1f}"
                  if "gold_k" in parents else ""))
    if "kmeans_gold_k" in result:
        peer_scores = result["kmeans_gold_k"]
        typer.echo(f"    kmeans told K={peer_scores['k']}: acc {100 * peer_scores['acc']:.1f} nmi {100 * peer_scores['nmi']:.1f}")


@eval_app.command("proposals")
def eval_proposals_command(
    workspace: Annotated[Path, typer.Argument(help="A mined workspace (`guideminer mine` done).")],
    gold: Annotated[str, typer.Option(help="sgd (turn metadata: intents, system acts; conversation domain) | demo (hidden truth of the demo corpus) | labels (turn metadata keys, see --condition-key).")],
    truth: Annotated[Optional[Path], typer.Option(help="demo: truth.json or its folder (default: WORKSPACE).")] = None,
    granularity: Annotated[str, typer.Option(help="sgd: gold action label = act set (act) or act(slot) set (act_slot).")] = "act",
    condition_key: Annotated[Optional[str], typer.Option(help="labels: turn metadata key of the customer turns' gold label (a string or a list of strings = one label set).")] = None,
    action_key: Annotated[Optional[str], typer.Option(help="labels: turn metadata key of the agent turns' gold label.")] = None,
    domain_key: Annotated[str, typer.Option(help="labels: conversation metadata key of the gold department.")] = "domain",
    sgd_level: Annotated[str, typer.Option(help="sgd: gold department = the first service (Events_2) or its SGD domain (Events).")] = "service",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
) -> None:
    """Score mined departments (NMI vs gold) and guidelines (one-to-one precision/recall vs gold pairs).

    Gold pairs: sgd / labels = customer label -> label of the next agent turn, kept above a
    support and a share floor (the rule: evaluation/gold.py, docs/evaluation.md); demo = the
    hidden ground-truth guidelines. Each gold pair counts once: further proposals mapped to it are
    duplicates (false positives); lenient_precision counts them as correct. A chance baseline
    (every frequent customer cluster -> next agent cluster pair) is scored the same way.

    Example: guideminer eval proposals /tmp/ws_camrest --gold labels --condition-key acts --action-key acts --json
    """
    from guideminer.evaluation.proposals import evaluate_proposals

    try:
        result = evaluate_proposals(workspace, gold, truth=truth, granularity=granularity,  # type: ignore[arg-type]
                                    condition_key=condition_key, action_key=action_key, domain_key=domain_key,
                                    sgd_level=sgd_level)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(format_proposal_scores(result))


def _guideline_line(name: str, scores: dict) -> str:
    redundancy = scores["redundancy"]
    return (f"{name}{scores['n_proposals']} proposed vs {scores['n_gold_pairs']} gold pairs, one-to-one "
            f"precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, f1 {scores['f1']:.3f}, "
            f"redundancy {'-' if redundancy is None else f'{redundancy:.2f}'}, "
            f"lenient precision {scores['lenient_precision']:.3f}")


def _peer_lines(peers: dict) -> list[str]:
    """One line per department peer (evaluation/department_peer.py), or why there is none."""
    if "unavailable" in peers:
        return [f"  peers: unavailable ({peers['unavailable']})"]
    return [f"  peer {name}: told K={scores['k']}, NMI {scores.get('nmi', 0.0):.3f}, ACC {scores.get('acc', 0.0):.3f}"
            + (f" ({scores['skipped']})" if "skipped" in scores else "")
            for name, scores in peers.items()]


def format_proposal_scores(result: dict) -> str:
    departments, guidelines = result["departments"], result["guidelines"]
    lines = [
        f"departments: {departments.get('n_departments')} found vs {departments.get('n_gold')} gold, "
        f"NMI {departments.get('nmi', 0.0):.3f}, ACC {departments.get('acc', 0.0):.3f} "
        f"over {departments.get('n_conversations')} conversations",
        *_peer_lines(departments.get("peers", {})),
        _guideline_line("guidelines:  ", guidelines),
        f"             {guidelines['n_matched']} gold targets matched, {guidelines['n_duplicates']} duplicates, "
        f"{guidelines['n_unmatched']} unmatched",
    ]
    if "chance_baseline" in guidelines:
        lines.append(_guideline_line("chance:      ", guidelines["chance_baseline"]))
    lines += [f"warning: {w}" for w in result.get("warnings", [])]
    return "\n".join(lines)


def replay_command(
    spec: SpecArgument,
    workspace: Annotated[Path, typer.Argument(help="Any ingested workspace (mined or not).")],
    mined: Annotated[Optional[Path], typer.Option(help="The mined workspace the agent was exported from (default: WORKSPACE).")] = None,
    gold_key: Annotated[str, typer.Option(help="Conversation metadata key holding the gold department label.")] = "domain",
    limit: Annotated[Optional[int], typer.Option(help="Replay only the first N conversations (by id).")] = None,
    runtime_config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Last line: one JSON object of the metrics.")] = False,
) -> None:
    """Replay recorded conversations through the agent and score routing, guidelines and latency.

    Prints routing accuracy (vs metadata --gold-key), guideline precision/recall against what the
    real agents did next (in the mined clusters), and per-turn latency p50/p95. With --json the
    last line is {"routing_accuracy", "guideline_precision", "guideline_recall", "p50_ms",
    "p95_ms", "turns"}.

    Example: guideminer replay demo-workspace/agent.yaml demo-workspace --gold-key department --json
    """
    from guideminer.models import load_embedder
    from guideminer.offline_runtime.config import load_runtime_config
    from guideminer.evaluation.replay import replay_workspace

    config = load_runtime_config(runtime_config)
    embedder = load_embedder(config.embedder, config.embedder_backend)  # type: ignore[arg-type]
    engine = _engine(spec, runtime_config, embedder)
    report = replay_workspace(engine, workspace, mined=mined, gold_key=gold_key, limit=limit, embedder=embedder)
    if not as_json:
        for key, value in report.model_dump().items():
            typer.echo(f"{key:>28}: {value}")
    typer.echo(json.dumps(report.summary()))


def register(app: typer.Typer) -> None:
    from guideminer.evaluation import agent_cli

    agent_cli.register(eval_app)
    app.add_typer(eval_app, name="eval")
    app.command("replay")(replay_command)
