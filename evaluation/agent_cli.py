"""`guideminer eval agent` and `guideminer eval split`: thin typer wrappers over
`evaluation.agent.evaluate_agent` and `evaluation.split.split_workspace`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from guideminer.offline_runtime.cli import ConfigOption


def eval_agent_command(
    fit: Annotated[Path, typer.Option("--fit", help="Ingested workspace the agent is mined and exported from (mined here if needed).")],
    test: Annotated[Path, typer.Option("--test", help="Ingested held-out workspace the agent is replayed on (never mined).")],
    gold: Annotated[str, typer.Option(help="Label source: sgd (SGD turn metadata) | demo (the demo corpus's hidden truth, --truth) | labels (turn metadata --condition-key / --action-key).")] = "labels",
    gold_key: Annotated[str, typer.Option(help="Conversation metadata key holding the gold department (sgd, labels).")] = "domain",
    sgd_level: Annotated[str, typer.Option(help="sgd: gold department = the first service (Events_2) or its SGD domain (Events).")] = "service",
    condition_key: Annotated[Optional[str], typer.Option(help="labels: customer turn metadata key of the condition label (a list = a label set).")] = None,
    action_key: Annotated[Optional[str], typer.Option(help="labels: agent turn metadata key of the action label.")] = None,
    truth: Annotated[Optional[Path], typer.Option(help="demo: truth.json or the folder holding it.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Replay only the first N TEST conversations (by id).")] = None,
    runtime_config: ConfigOption = None,
    match_examples: Annotated[int, typer.Option(help="Answered customer turns per guideline as matching examples in the exported spec (as `guideminer export`).")] = 50,
    recorded_lookups: Annotated[Optional[Path], typer.Option(help="SGD folder (dialogues_*.json + schema.json): the agent's look-ups are answered from SGD's recorded back end at each turn (evaluation/recorded_lookups.py).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON object (last line either way).")] = False,
) -> None:
    """Held-out agent replay: mine + export FIT (auto-accept), replay TEST with teacher forcing.

    Every TEST customer turn is answered by the agent with the real conversation as history.
    Scores (fitted on FIT only): routing_accuracy (unrouted = wrong), next_action_accuracy (the
    FIT gold label of the action cluster of the first applied guideline vs the real next agent
    turn's label; no guideline or fallback = wrong), the peers knn_next_action_accuracy (nearest
    FIT customer turn -> its answer's label, same embedder) and majority_next_action_accuracy,
    fallback_rate, clarify_rate, multi_topic_coverage / n_multi_topic_turns, p50_ms, p95_ms,
    n_conversations, n_turns, a breakdown of the wrong turns. The last stdout line is one JSON
    object. Split a corpus first with `guideminer eval split`.

    Example: guideminer eval agent --fit /tmp/fit --test /tmp/test --gold sgd --json
    """
    from functools import partial

    from rich.console import Console

    from guideminer.evaluation.agent import evaluate_agent, mine_and_export
    from guideminer.evaluation.agent_gold import gold_reader
    from guideminer.models import load_embedder
    from guideminer.offline_runtime.assemble import build_engine
    from guideminer.offline_runtime.config import load_runtime_config

    try:
        read_gold = gold_reader(gold, truth=truth, gold_key=gold_key, condition_key=condition_key, action_key=action_key,
                                sgd_level=sgd_level)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    console = Console(stderr=True)
    config = load_runtime_config(runtime_config)
    embedder = load_embedder(config.embedder, config.embedder_backend)  # type: ignore[arg-type]
    spec = mine_and_export(fit, embedder, log=console.print, match_examples=match_examples,
                           embedder_factory=partial(load_embedder, config.embedder, config.embedder_backend))
    before_turn = None
    if recorded_lookups is not None:
        spec, engine, before_turn = _with_recorded_lookups(spec, config, embedder, recorded_lookups, test, console)
    else:
        engine = build_engine(spec, config, embedder=embedder)
    report = evaluate_agent(fit, test, engine, embedder, read_gold, limit=limit, before_turn=before_turn,
                            progress=lambda n: n % 100 == 0 and console.print(f"replayed {n} conversations"))
    scores = report.summary()
    if gold == "sgd":
        scores["sgd_level"] = sgd_level
    if not as_json:
        for key, value in scores.items():
            typer.echo(f"{key:>32}: {value}")
    typer.echo(json.dumps(scores))


def _with_recorded_lookups(spec, config, embedder, sgd_dir: Path, test: Path, console):
    """(wired spec, engine calling the recorded back end, the replay's before_turn hook)."""
    from guideminer.engine import Engine
    from guideminer.evaluation.recorded_lookups import wire_recorded_lookups
    from guideminer.ingest.workspace import read_conversations
    from guideminer.offline_runtime.assemble import build_engine

    ids = set(read_conversations(test)["conversation_id"].to_list())
    wired, registry, lookups, attached = wire_recorded_lookups(spec, sgd_dir, ids)
    console.print(f"recorded look-ups: {len(lookups.records)} of {len(ids)} TEST conversations found in {sgd_dir}; "
                  f"the tool serves {sum(len(v) for v in attached.values())} guidelines")
    base = build_engine(wired, config, embedder=embedder)
    engine = Engine(wired, router=base.router, scorer=base.scorer, composer=base.composer, verifier=base.verifier,
                    tools=registry, argument_extractor=base.argument_extractor, echo_finder=base.echo_finder,
                    settings=base.settings)
    return wired, engine, lookups.position


def eval_split_command(
    workspace: Annotated[Path, typer.Argument(help="An ingested workspace.")],
    fit: Annotated[Path, typer.Option("--fit", help="New folder for the FIT workspace.")],
    test: Annotated[Path, typer.Option("--test", help="New folder for the TEST workspace.")],
    test_share: Annotated[float, typer.Option(help="Share of conversations in TEST (0..1).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the permutation of the sorted conversation ids.")] = 0,
) -> None:
    """Split a workspace by conversation into FIT and TEST workspaces, reproducibly.

    The sorted conversation ids are permuted with a seeded generator; the first
    round(n * test_share) go to TEST. Both outputs are normal workspaces with a split.json.

    Example: guideminer eval split ./ws --test-share 0.2 --seed 0 --fit /tmp/fit --test /tmp/test
    """
    from guideminer.evaluation.split import split_workspace

    try:
        report = split_workspace(workspace, fit, test, test_share=test_share, seed=seed)
    except (ValueError, FileExistsError) as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"{report.n_fit} conversations -> {report.fit}, {report.n_test} -> {report.test} "
               f"(seed {report.seed}, test share {report.test_share})")


def register(eval_app: typer.Typer) -> None:
    eval_app.command("agent")(eval_agent_command)
    eval_app.command("split")(eval_split_command)
