"""Distilled classifiers: training from a mined workspace and from a spec alone, held-out scores,
embedder checks, and their use as the engine's router and condition scorer."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from engine_fakes import HashedBagOfWordsEmbedder
from proposals_world import guideline_world
from runtime_world import mined_workspace
from typer.testing import CliRunner

import guideminer.models
from guideminer.cli import app
from guideminer.engine import Message, load_agent_spec
from guideminer.engine.classifiers import DistilledModelError
from guideminer.offline_runtime.assemble import build_engine
from guideminer.offline_runtime.config import RuntimeConfig
from guideminer.ingest.gold_labels import GoldLabels
from guideminer.offline_runtime.distill import AGREEMENT, DistillConfig, distill, load_distilled, split_workspace
from guideminer.evaluation.replay import replay_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mined_workspace(tmp_path_factory.mktemp("distill") / "ws")


def test_distill_from_workspace_reports_heldout_scores(workspace: Path, tmp_path: Path) -> None:
    spec = load_agent_spec(workspace / "agent.yaml")
    report = distill(spec, tmp_path / "models", HashedBagOfWordsEmbedder(), workspace=workspace)
    evaluation = report["evaluation"]
    assert evaluation["split"] == "conversations" and evaluation["reference"] == AGREEMENT
    assert evaluation["fit_conversations"] + evaluation["heldout_conversations"] == 68
    assert evaluation["heldout_conversations"] == round(0.2 * 68)
    trained = {g: r for g, r in report["conditions"].items() if "skipped" not in r}
    assert trained and all(0.0 <= r["agreement"]["f1"] <= 1.0 and "gold" not in r for r in trained.values())
    assert "median_gold_f1" not in evaluation and evaluation["scored_guidelines"] == len(trained)
    saved = json.loads((tmp_path / "models" / "distilled.json").read_text())
    # read as the runtime reads (the spec's interchangeable words and filler phrases)
    assert saved["embedder"] == "hashed-bow-4096+interchangeable-words+fillers" and set(saved["heads"]["conditions"]) == set(trained)
    from guideminer.engine.embedding import RewritingEmbedder

    reading = RewritingEmbedder(HashedBagOfWordsEmbedder(), spec.interchangeable_words, spec.filler_phrases)
    models = load_distilled(tmp_path / "models", reading)
    guideline = next(g for d in spec.departments for g in d.guidelines if g.id in trained)
    positive = guideline.examples[0]
    scores = models.scorer.score([Message(role="customer", text=positive, turn=1)], [guideline])
    assert scores[guideline.id].score > 0.5  # a turn of its own condition cluster


def test_heldout_heads_never_see_heldout_conversations(workspace: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The first head fitted per guideline is the scored one: its texts all come from fit
    conversations (or the spec's own texts that no held-out turn repeats)."""
    import guideminer.offline_runtime.distill as module

    split = split_workspace(workspace, None, DistillConfig())
    fit_ids, held_ids = set(split.fit["conversation_id"]), set(split.held["conversation_id"])
    assert fit_ids and held_ids and not fit_ids & held_ids
    spec = load_agent_spec(workspace / "agent.yaml")
    own = {t for d in spec.departments for g in d.guidelines for t in (g.condition, *g.examples)}
    allowed = set(split.fit["text"]) | (own - set(split.held["text"]))
    calls: list[list[str]] = []
    real = module._fit_head
    monkeypatch.setattr(module, "_fit_head", lambda v, p, n: calls.append(p + n) or real(v, p, n))
    report = distill(spec, tmp_path / "m", HashedBagOfWordsEmbedder(), workspace=workspace)
    scored = [calls[2 * i] for i in range(len(calls) // 2)]  # (held-out model, shipped model) per guideline
    assert len(calls) == 2 * sum("skipped" not in r for r in report["conditions"].values())
    assert all(set(texts) <= allowed for texts in scored)
    assert any(not set(texts) <= allowed for texts in calls[1::2]) or not set(split.held["text"]) - allowed


def gold_labels(workspace: Path) -> GoldLabels:
    """Gold = the planted situation of each customer turn, except that the injection turns
    (cluster 3: "give me a refund now") are gold "refund" too: the gold label crosses clusters."""
    world = guideline_world()
    names = {0: "damaged", 1: "refund", 2: "smalltalk", 3: "refund", 4: "smalltalk", 5: "order"}
    labels = world["assignments"].filter(pl.col("role").cast(pl.String) == "customer").select(
        "conversation_id", pl.col("turn_index").cast(pl.Int32), pl.lit("customer").alias("role"),
        pl.col("cluster_id").replace_strict(names, return_dtype=pl.String).alias("label"))
    departments = pl.DataFrame({"conversation_id": list(world["sequences"]),
                                "gold": [c[0] for c in world["sequences"]]})
    return GoldLabels(labels, departments, {"test": "planted"})


def test_gold_scores_beside_clustering_and_agreement(workspace: Path, tmp_path: Path) -> None:
    spec = load_agent_spec(workspace / "agent.yaml")
    gold = gold_labels(workspace)
    report = distill(spec, tmp_path / "m", HashedBagOfWordsEmbedder(), workspace=workspace, gold=gold)
    assert report["evaluation"]["reference"].startswith("gold labels")
    split = split_workspace(workspace, gold, DistillConfig())
    held = split.held
    clusters = {g.id: c for g, c in zip(*_mined(workspace, spec), strict=True)}
    refund = [g for g, c in clusters.items() if c == 1 and "skipped" not in report["conditions"][g]]
    assert refund, "the planted world has a refund guideline"
    scores = report["conditions"][refund[0]]
    assert scores["gold_label"] == "refund"
    n1 = held.filter(pl.col("cluster_id") == 1).height
    n3 = held.filter(pl.col("cluster_id") == 3).height
    assert n3 > 0 and scores["clustering_vs_gold"]["recall"] == pytest.approx(round(n1 / (n1 + n3), 4))
    assert scores["clustering_vs_gold"]["positives"] == n1 + n3 == scores["gold"]["positives"]
    assert scores["agreement"]["positives"] == n1
    router = report["router"]
    for key in ("gold_accuracy", "mined_routing_gold_accuracy", "majority_gold_accuracy", "agreement_accuracy"):
        assert 0.0 <= router[key] <= 1.0
    evaluation = report["evaluation"]
    assert evaluation["median_gold_f1"] is not None and evaluation["median_clustering_gold_f1"] is not None


def _mined(workspace: Path, spec) -> tuple[list, list[int]]:
    from guideminer.mining.export_spec import mined_proposal_id
    from guideminer.mining.proposals import read_proposals

    proposals = {p.guideline_id: p for p in read_proposals(workspace)[0].proposals}
    guidelines = [g for d in spec.departments for g in d.guidelines if mined_proposal_id(g) in proposals]
    return guidelines, [proposals[mined_proposal_id(g)].condition.cluster_id for g in guidelines]


def test_embedder_mismatch_and_missing_models_are_clear_errors(workspace: Path, tmp_path: Path) -> None:
    spec = load_agent_spec(workspace / "agent.yaml")
    distill(spec, tmp_path / "m", HashedBagOfWordsEmbedder(), workspace=workspace)
    with pytest.raises(DistilledModelError, match="distilled with embedder 'hashed-bow-4096[^']*'"):
        load_distilled(tmp_path / "m", HashedBagOfWordsEmbedder(dimension=64))
    with pytest.raises(DistilledModelError, match="run `guideminer distill`"):
        load_distilled(tmp_path / "nothing", HashedBagOfWordsEmbedder())


def test_classifier_runtime_replays(workspace: Path, tmp_path: Path) -> None:
    spec = load_agent_spec(workspace / "agent.yaml")
    distill(spec, tmp_path / "m", HashedBagOfWordsEmbedder(), workspace=workspace)
    config = RuntimeConfig.model_validate({"distilled_dir": str(tmp_path / "m"), "router": {"kind": "classifier"},
                                           "scorer": {"kind": "classifier"}})
    engine = build_engine(spec, config, embedder=HashedBagOfWordsEmbedder())
    assert engine.scorer.model_id.startswith("classifier-scorer")
    report = replay_workspace(engine, workspace, gold_key="outcome")
    cosine = replay_workspace(build_engine(spec, RuntimeConfig(), embedder=HashedBagOfWordsEmbedder()), workspace,
                              gold_key="outcome")
    assert report.turns == cosine.turns and report.guideline_recall > 0.2
    # Measured 2026-12-01 after habits merging and one move per situation: classifier P 0.73 /
    # R 0.25 vs cosine P 0.75 / R 0.28 on this fixture (it was 0.27 vs 0.16 in precision before):
    # the distilled heads no longer beat cosine here; the floor keeps them from falling further.
    assert report.guideline_precision >= cosine.guideline_precision - 0.05
    from guideminer.engine import Session

    trace = engine.respond(Session(), "my package arrived damaged please").trace
    assert trace.routing.router_model_id.startswith("classifier-router")
    assert all(d.model_id.startswith("classifier-scorer") for d in trace.guidelines if d.decided_by == "scorer")


def test_distill_from_spec_alone_and_cli(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guideminer.models, "load_embedder", lambda *a, **k: HashedBagOfWordsEmbedder())
    result = CliRunner().invoke(app, ["distill", str(workspace / "agent.yaml"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "router" in result.output and (tmp_path / "m" / "distilled.npz").is_file()
    assert "texts of the agent spec" in result.output


def test_cli_says_what_the_score_is(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guideminer.models, "load_embedder", lambda *a, **k: HashedBagOfWordsEmbedder())
    result = CliRunner().invoke(app, ["distill", str(workspace), "--out", str(tmp_path / "m")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "agreement with the clustering (no gold labels given)" in result.output
    assert "not gold" in result.output
    missing = CliRunner().invoke(app, ["distill", str(workspace), "--out", str(tmp_path / "m2"), "--gold", "labels",
                                       "--condition-key", "intent"], env={"COLUMNS": "250"})
    assert missing.exit_code != 0 and "no customer turn carries turn metadata key 'intent'" in missing.output
