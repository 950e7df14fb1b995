"""`guideminer eval agent`: held-out replay of an exported agent, scored against gold labels.

FIT is mined and exported (auto-accept; explicit review decisions win); everything the scores
need from labels is learned on FIT only; the agent then replays every TEST conversation with
teacher forcing (`agent_replay`). Gold labels come from a pluggable reader (`agent_gold`).

Scores (all in one JSON object, `AgentEvaluation.summary`):
- routing_accuracy: each exported department is mapped to the gold domain most of the FIT
  conversations the miner put in it carry. A TEST conversation is correct when the first
  department the agent routed it to maps to its gold domain; a conversation never routed, or
  routed to a department no FIT conversation labels, is wrong. Denominator: TEST conversations
  with a gold domain.
- next_action_accuracy: over the TEST answered turns (`agent_peers`), the share where the
  agent's action label equals the gold label of the real answering agent turn. The agent's
  label is the FIT majority gold label of the action cluster of its *first* applied guideline
  the reply says (most important first: the one leading its reply; a guideline withheld because
  its reply claims what no tool did or misses a field is not said). No applied guideline
  (clarify, nothing held), applied but not said (`applied_unsaid`: the fallback hand-off went
  out), or a guideline whose action cluster no FIT turn labels, is wrong. (Before 2026-12-02,
  fifth session, a withheld guideline's label counted: superseded figures were inflated.)
- knn_next_action_accuracy, majority_next_action_accuracy: the two peers on the same turns.
- fallback_rate, clarify_rate: share of answered turns whose reply was the spec's fallback
  message / the receptionist's clarify message. fallback_after_move_rate: the part of
  fallback_rate where a guideline was applied but nothing approved could be said (its canned
  template needs a fact no tool or session variable supplied): a missing tool, not a missing rule.
- multi_topic_coverage: over TEST customer turns whose gold label set has two or more condition
  labels (`n_multi_topic_turns`; answered or not), the share where every gold label is the FIT
  majority condition label of at least one guideline the agent applied and said at that turn (status
  applied; the condition label of a guideline is the `eval proposals` one: the majority gold
  label of the FIT customer turns its condition matches). None when there is no such turn.
- p50_ms / p95_ms: wall time of `Engine.respond` per TEST customer turn.
- n_conversations (replayed), n_turns (answered turns scored); `breakdown` splits the answered
  turns into exclusive outcomes (correct, clarify, no_guideline, unmapped, wrong_guideline) and
  `diagnostics` says, for the wrong ones, whether the conversation was misrouted and whether a
  guideline with the gold label was in reach.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from guideminer.engine import AgentSpec, Engine
from guideminer.evaluation.agent_gold import AgentGold, GoldReader
from guideminer.evaluation.agent_peers import answered_turns, knn_labels, majority_label
from guideminer.evaluation.agent_replay import AgentTurn, ConversationReplay, replay_teacher_forced
from guideminer.evaluation.proposals import (
    cluster_majority, mined_open_need, proposal_condition_key, proposal_conditions,
)
from guideminer.ingest.workspace import read_turns
from guideminer.mining.embed import embed_texts, workspace_embeddings_dir
from guideminer.mining.export_spec import mined_proposal_id
from guideminer.mining.etiquette import etiquette_clusters
from guideminer.mining.proposals import read_proposals
from guideminer.mining.review import review_workspace
from guideminer.mining.schema import MINING_FILES
from guideminer.models.embedder import TextEmbedder

OUTCOMES = ("correct", "clarify", "no_guideline", "applied_unsaid", "unmapped", "wrong_guideline")


@dataclass(frozen=True)
class FitLabels:
    """What the scores learn from FIT: gold labels of departments and guidelines."""

    department_labels: dict[str, str]  # exported department id -> majority gold domain
    action_labels: dict[str, str]  # guideline id -> majority gold label of its action cluster
    condition_labels: dict[str, str]  # guideline id -> majority gold label of its condition's turns


def majority(votes: dict[str, Counter]) -> dict[str, str]:
    return {k: sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for k, v in votes.items() if v}


def learn_fit_labels(fit: Path, spec: AgentSpec, gold: AgentGold) -> FitLabels:
    """FitLabels of the spec's guidelines and departments from the mined FIT workspace."""
    fit = Path(fit)
    assignments = pl.read_parquet(fit / MINING_FILES["turn_assignments"])
    routed = pl.read_parquet(fit / MINING_FILES["conversation_departments"])
    labels = gold.turns.select("conversation_id", "turn_index", "label")
    actions = cluster_majority(assignments, labels)
    etiquette = etiquette_clusters(pl.read_parquet(fit / MINING_FILES["clusters"]))
    mined = read_proposals(fit)[0]
    conditions = proposal_conditions(assignments, labels, routed, etiquette, mined_open_need(mined))
    proposals = {p.guideline_id: p for p in mined.proposals}
    action_labels, condition_labels = {}, {}
    for guideline in (g for d in spec.guideline_sets for g in d.guidelines):
        proposal = proposals.get(mined_proposal_id(guideline) or "")
        if proposal is None:
            continue
        if (action := actions.get(proposal.action.cluster_id)) is not None:
            action_labels[guideline.id] = action
        if (condition := conditions.get(proposal_condition_key(proposal))) is not None:
            condition_labels[guideline.id] = condition
    merged_into = review_workspace(fit).department_of
    votes: dict[str, Counter] = defaultdict(Counter)
    for conversation_id, department_id in routed.select("conversation_id", "department_id").iter_rows():
        if conversation_id in gold.domains and department_id is not None:
            votes[str(merged_into(department_id))][gold.domains[conversation_id]] += 1
    return FitLabels(majority(votes), action_labels, condition_labels)


def routing_score(first_departments: dict[str, str | None], domains: dict[str, str],
                  department_labels: dict[str, str]) -> tuple[float | None, int, int]:
    """(accuracy, gold-labelled conversations, of them never routed): unrouted = wrong."""
    labelled = [(c, d) for c, d in first_departments.items() if c in domains]
    correct = sum(d is not None and department_labels.get(d) == domains[c] for c, d in labelled)
    unrouted = sum(d is None for _, d in labelled)
    return (correct / len(labelled) if labelled else None), len(labelled), unrouted


def turn_outcome(turn: AgentTurn, gold_action: str, fit: FitLabels) -> str:
    """One of OUTCOMES for an answered turn (module docstring)."""
    if turn.source == "clarify":
        return "clarify"
    if not turn.applied:
        return "no_guideline"
    if not turn.spoken or turn.source == "fallback":
        return "applied_unsaid"  # a move was chosen, but the customer got the hand-off (or nothing of it)
    label = fit.action_labels.get(turn.spoken[0])
    if label is None:
        return "unmapped"
    return "correct" if label == gold_action else "wrong_guideline"


def covers_every_label(turn: AgentTurn, gold_labels: list[str], fit: FitLabels) -> bool:
    handled = {fit.condition_labels.get(g) for g in turn.spoken}
    return set(gold_labels) <= handled


def _diagnostics(scored: list[tuple[AgentTurn, str, str]], fit: FitLabels, spec: AgentSpec,
                 misrouted: set[str]) -> dict[str, Any]:
    """For wrong turns: misrouted conversation; gold label reachable in the handling department;
    gold label held by a later applied guideline (the first-applied choice was the miss)."""
    by_department = {d.id: {fit.action_labels.get(g.id) for g in d.guidelines} for d in spec.departments}
    wrong = [(t, g, o) for t, g, o in scored if o != "correct"]
    reachable = sum(t.department_id is not None and g in by_department.get(t.department_id, set()) for t, g, _ in wrong)
    later = sum(any(fit.action_labels.get(x) == g for x in t.spoken[1:]) for t, g, o in wrong if o == "wrong_guideline")
    return {
        "wrong_turns": len(wrong),
        "wrong_in_misrouted_conversations": sum(t.conversation_id in misrouted for t, _, _ in wrong),
        "wrong_with_gold_label_in_department": reachable,
        "wrong_guideline_gold_label_applied_later": later,
        "gold_labels_without_any_guideline": sorted({g for _, g, _ in wrong} - set(fit.action_labels.values()))[:30],
    }


@dataclass(frozen=True)
class AgentEvaluation:
    scores: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        return self.scores


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def score_replays(replays: list[ConversationReplay], test_answered: pl.DataFrame, test_gold: AgentGold,
                  fit: FitLabels, knn: list[str], majority_action: str, spec: AgentSpec) -> dict[str, Any]:
    """Every score of the module docstring from replays, TEST answered turns and FIT labels."""
    by_turn = {(t.conversation_id, t.turn_index): t for r in replays for t in r.turns}
    firsts = {r.conversation_id: r.department_id for r in replays}
    routing, n_gold_conversations, n_unrouted = routing_score(firsts, test_gold.domains, fit.department_labels)
    misrouted = {c for c, d in firsts.items() if c in test_gold.domains
                 and (d is None or fit.department_labels.get(d) != test_gold.domains[c])}
    scored = [(by_turn[(c, t)], action, turn_outcome(by_turn[(c, t)], action, fit))
              for c, t, action in test_answered.select("conversation_id", "turn_index", "action").iter_rows()]
    outcomes = Counter(o for _, _, o in scored)
    gold_actions = test_answered["action"].to_list()
    multi = [(by_turn[(c, t)], labels) for c, t, labels in test_gold.turns.filter(pl.col("label_set").list.len() >= 2)
             .select("conversation_id", "turn_index", "label_set").iter_rows() if (c, t) in by_turn]
    latencies = np.asarray([t.ms for t in by_turn.values()] or [0.0])
    n = len(scored)
    return {
        "routing_accuracy": routing,
        "next_action_accuracy": _share(outcomes["correct"], n),
        "knn_next_action_accuracy": _share(sum(p == g for p, g in zip(knn, gold_actions, strict=True)), n),
        "majority_next_action_accuracy": _share(sum(g == majority_action for g in gold_actions), n),
        "fallback_rate": _share(sum(t.source == "fallback" for t, _, _ in scored), n),
        "fallback_after_move_rate": _share(sum(t.source == "fallback" and bool(t.applied) for t, _, _ in scored), n),
        "clarify_rate": _share(sum(t.source == "clarify" for t, _, _ in scored), n),
        "multi_topic_coverage": _share(sum(covers_every_label(t, labels, fit) for t, labels in multi), len(multi)),
        "n_multi_topic_turns": len(multi),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "n_conversations": len(replays), "n_turns": n, "n_customer_turns": len(by_turn),
        "n_routing_gold_conversations": n_gold_conversations, "n_unrouted_conversations": n_unrouted,
        "majority_label": majority_action,
        "breakdown": {o: outcomes[o] for o in OUTCOMES},
        "diagnostics": _diagnostics(scored, fit, spec, misrouted),
    }


def evaluate_agent(fit: Path, test: Path, engine: Engine, embedder: TextEmbedder, read_gold: GoldReader, *,
                   limit: int | None = None, progress=lambda _: None, before_turn=None) -> AgentEvaluation:
    """Score `engine` (exported from the mined `fit`) on `test` (module docstring). `embedder`
    is the agent's own, used by the retrieval peer (FIT vectors come from FIT's mining cache when
    mined with the same embedder; TEST is never written to); `limit` replays the first N TEST
    conversations; `before_turn` as in `replay_teacher_forced`."""
    fit, test = Path(fit), Path(test)
    fit_gold, test_gold = read_gold(fit), read_gold(test)
    fit_answered, _ = answered_turns(read_turns(fit), fit_gold.turns)
    test_turns = read_turns(test).sort("conversation_id", "turn_index")
    if limit is not None:
        keep = sorted(set(test_turns["conversation_id"].to_list()))[:limit]
        test_turns = test_turns.filter(pl.col("conversation_id").is_in(keep))
    test_answered, unlabelled = answered_turns(test_turns, test_gold.turns)
    labels = learn_fit_labels(fit, engine.spec, fit_gold)
    fit_actions = fit_answered["action"].to_list()
    knn = knn_labels(embed_texts(fit_answered["text"].to_list(), embedder, workspace_embeddings_dir(fit), progress=False)[0],
                     fit_actions, embed_texts(test_answered["text"].to_list(), embedder, None, progress=False)[0])
    replays = replay_teacher_forced(engine, test_turns, progress, before_turn)
    test_gold = AgentGold(test_gold.turns, {c: d for c, d in test_gold.domains.items()
                                            if c in {r.conversation_id for r in replays}})
    scores = score_replays(replays, test_answered, test_gold, labels, knn, majority_label(fit_actions), engine.spec)
    scores.update(n_unlabelled_answers=unlabelled, n_fit_answered_turns=len(fit_actions),
                  n_guidelines=sum(len(d.guidelines) for d in engine.spec.departments),
                  n_guidelines_with_action_label=len(labels.action_labels), fit=str(fit), test=str(test))
    return AgentEvaluation(scores)


def mine_and_export(fit: Path, embedder: TextEmbedder, *, embedder_factory=None, log=lambda _: None,
                    match_examples: int | None = None):
    """Mine FIT (resumable: steps already up to date are skipped) and export its agent spec with
    auto-accept (explicit review decisions in FIT win); the spec is kept in memory, FIT gets no
    agent.yaml."""
    from guideminer.mining.export_spec import export_workspace
    from guideminer.mining.pipeline import mine_workspace

    mine_workspace(Path(fit), embedder, embedder_factory=embedder_factory, log=log)
    extra = {} if match_examples is None else {"match_examples": match_examples}
    result = export_workspace(Path(fit), None, auto_accept=True, name=f"{Path(fit).resolve().name} agent", **extra)
    log(f"exported {sum(len(d.guidelines) for d in result.spec.departments)} guidelines "
        f"({result.auto_accepted} auto-accepted) in {len(result.spec.departments)} departments")
    return result.spec
