"""`guideminer replay`: run an agent over recorded conversations and score it against them.

In-sample: the reference is the mined clusters and routing accuracy's department -> label
mapping is learned from the replayed conversations themselves, so on the mined workspace these
figures flatter the agent. For a held-out score against gold labels, with the retrieval and
majority peers, use `guideminer eval agent --fit FIT --test TEST` (evaluation/agent.py).

Every conversation of an ingested workspace is replayed turn by turn: its customer turns go to
the engine in order (a fresh session per conversation), and what the real agents did next is
the reference. Held-out data is normally not mined, so the reference is expressed in the
clusters of the *mined* workspace the agent was exported from (`--mined`, default: the replayed
workspace itself): turns of the replayed workspace take their own mined cluster when the two
workspaces are the same, else the nearest centroid of the mined workspace's clusters of their
role (cosine, same embedder the miner used).

Metrics
- routing_accuracy: each department is mapped to the gold label (conversation metadata key
  `gold_key`, default "domain") that most of the conversations routed to it carry; accuracy =
  share of gold-labelled conversations routed to a department whose label is their gold label.
  A conversation's department is the first one the receptionist routed it to; a conversation
  never routed (the receptionist only asked to clarify) counts as wrong and votes for nothing.
- guideline precision: over (customer turn, guideline applied at it), the share where an agent
  turn in the action window after that customer turn (up to `window` agent turns before the
  next customer turn) falls in the guideline's action cluster.
- guideline recall: an *event* is (customer turn, exported guideline) where the customer turn
  is in the guideline's condition cluster and the window holds its action cluster, i.e. the
  mined rule visibly held (for a rule mined within a department: only in conversations the
  miner's routing puts in that department; held-out conversations by their first customer
  turn's nearest opening situation); recall = share of events where the engine applied the guideline at
  that turn (status applied, or already_applied: it was given earlier in the same conversation).
- p50_ms / p95_ms: wall time of `Engine.respond` per customer turn.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel

from guideminer.engine import Engine, GuidelineStatus, Session
from guideminer.mining.export_spec import mined_proposal_id
from guideminer.ingest.workspace import read_conversations, read_turns
from guideminer.mining.proposals import read_proposals
from guideminer.mining.schema import MINING_FILES
from guideminer.models.embedder import TextEmbedder

ACTION_WINDOW = 2
FIRED = {GuidelineStatus.applied, GuidelineStatus.already_applied}


class ReplayReport(BaseModel):
    conversations: int
    turns: int
    routing_accuracy: float | None
    routing_gold_conversations: int
    department_labels: dict[str, str]
    guideline_precision: float | None
    guideline_recall: float | None
    applied: int
    applied_correct: int
    events: int
    events_hit: int
    p50_ms: float
    p95_ms: float
    reference: str

    def summary(self) -> dict:
        return {"routing_accuracy": self.routing_accuracy, "guideline_precision": self.guideline_precision,
                "guideline_recall": self.guideline_recall, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms,
                "turns": self.turns}


def _rules(engine: Engine, mined: Path) -> dict[str, tuple[int, set[int], str | None]]:
    """guideline id -> (condition cluster, action clusters, department the rule was mined in or
    None when mined over all conversations) for guidelines mined in `mined`."""
    guidelines, _ = read_proposals(mined)
    by_id = {p.guideline_id: p for p in guidelines.proposals}
    rules = {}
    for department in engine.spec.departments:
        for guideline in department.guidelines:
            proposal = by_id.get(mined_proposal_id(guideline) or "")
            if proposal is not None:
                actions = set(getattr(proposal, "action_cluster_ids", None) or [proposal.action.cluster_id])
                scope = proposal.department_id if proposal.condition_scope == "department" else None
                rules[guideline.id] = (proposal.condition.cluster_id, actions, scope)
    return rules


def reference_clusters(turns: pl.DataFrame, workspace: Path, mined: Path,
                       embedder: TextEmbedder | None) -> dict[tuple[str, int], int]:
    """(conversation_id, turn_index) -> cluster of the mined workspace (module docstring)."""
    if Path(workspace).resolve() == Path(mined).resolve():
        table = pl.read_parquet(Path(mined) / MINING_FILES["turn_assignments"])
        return {(c, t): k for c, t, k in table.select("conversation_id", "turn_index", "cluster_id").iter_rows()}
    if embedder is None:
        raise ValueError("replaying a workspace other than the mined one needs an embedder to assign its turns")
    clusters = pl.read_parquet(Path(mined) / MINING_FILES["clusters"])
    found: dict[tuple[str, int], int] = {}
    for role in ("customer", "agent"):
        rows = turns.filter(pl.col("role").cast(pl.String) == role)
        of_role = clusters.filter(pl.col("role") == role)
        if rows.height == 0 or of_role.height == 0:
            continue
        centroids = np.asarray(of_role["centroid"].to_list(), dtype=np.float32)
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        vectors = embedder.embed(rows["text"].to_list())
        nearest = of_role["cluster_id"].to_numpy()[np.argmax(vectors @ centroids.T, axis=1)]
        found.update(zip(zip(rows["conversation_id"].to_list(), rows["turn_index"].to_list()), nearest.tolist()))
    return found


def reference_departments(turns: pl.DataFrame, workspace: Path, mined: Path,
                          clusters: dict[tuple[str, int], int]) -> dict[str, str]:
    """conversation_id -> mined department: the miner's own routing for the mined workspace,
    else the department whose opening situations hold the first customer turn's cluster."""
    if Path(workspace).resolve() == Path(mined).resolve():
        routed = pl.read_parquet(Path(mined) / MINING_FILES["conversation_departments"])
        return dict(routed.select("conversation_id", "department_id").iter_rows())
    _, departments = read_proposals(mined)
    of_situation = {c: d.department_id for d in departments.departments for c in d.situation_cluster_ids}
    first = (turns.filter(pl.col("role").cast(pl.String) == "customer").sort("turn_index")
             .group_by("conversation_id").agg(pl.col("turn_index").first()))
    return {c: of_situation[k] for c, t in first.iter_rows()
            if (k := clusters.get((c, t))) is not None and k in of_situation}


def _windows(turns: list[dict], window: int) -> dict[int, list[int]]:
    """customer turn_index -> the agent turn indexes answering it (up to `window`)."""
    answers: dict[int, list[int]] = {}
    current = None
    for turn in turns:
        if turn["role"] == "customer":
            current = turn["turn_index"]
            answers[current] = []
        elif turn["role"] == "agent" and current is not None and len(answers[current]) < window:
            answers[current].append(turn["turn_index"])
    return answers


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.routed: dict[str, str | None] = {}
        self.applied = self.applied_correct = self.events = self.events_hit = 0


def _replay_one(engine: Engine, conversation_id: str, turns: list[dict], clusters: dict, rules: dict,
                tally: _Tally, window: int, department: str | None) -> None:
    session = Session(session_id=conversation_id)
    answers = _windows(turns, window)
    for turn in turns:
        if turn["role"] != "customer":
            continue
        started = time.perf_counter()
        reply = engine.respond(session, turn["text"])
        tally.latencies.append((time.perf_counter() - started) * 1000)
        if tally.routed.get(conversation_id) is None:
            tally.routed[conversation_id] = session.department_id
        fired = {d.guideline_id for d in reply.trace.guidelines if d.status in FIRED}
        moves = {clusters.get((conversation_id, i)) for i in answers.get(turn["turn_index"], [])}
        situation = clusters.get((conversation_id, turn["turn_index"]))
        for guideline_id in fired & rules.keys():
            tally.applied += 1
            tally.applied_correct += bool(rules[guideline_id][1] & moves)
        for guideline_id, (condition, actions, scope) in rules.items():
            if condition == situation and actions & moves and scope in (None, department):
                tally.events += 1
                tally.events_hit += guideline_id in fired


def routing_accuracy(routed: dict[str, str | None], gold: dict[str, str]) -> tuple[float | None, dict[str, str], int]:
    """(accuracy, department -> majority gold label, gold-labelled conversations). Only routed
    conversations vote for a department's label; a conversation never routed counts as wrong."""
    from guideminer.evaluation.agent import majority, routing_score

    votes: dict[str, Counter] = defaultdict(Counter)
    for conversation_id, department in routed.items():
        if conversation_id in gold and department is not None:
            votes[department][gold[conversation_id]] += 1
    labels = majority(votes)
    accuracy, n_labelled, _ = routing_score(routed, gold, labels)
    return accuracy, labels, n_labelled


def _metadata_labels(conversations: pl.DataFrame, key: str) -> dict[str, str]:
    labels = {}
    for conversation_id, metadata in conversations.select("conversation_id", "metadata").iter_rows():
        value = json.loads(metadata or "{}").get(key)
        if value is not None:
            labels[conversation_id] = str(value)
    return labels


def replay_workspace(engine: Engine, workspace: Path, *, mined: Path | None = None, gold_key: str = "domain",
                     limit: int | None = None, embedder: TextEmbedder | None = None, window: int = ACTION_WINDOW,
                     gold_labels: dict[str, str] | None = None,
                     progress: Callable[[int], None] = lambda _: None) -> ReplayReport:
    """Replay and score (module docstring); `gold_labels` (conversation id -> label) replaces
    the metadata key when the gold lives elsewhere (the demo's hidden truth)."""
    workspace = Path(workspace)
    mined = Path(mined) if mined is not None else workspace
    conversations = read_conversations(workspace).sort("conversation_id")
    if limit is not None:
        conversations = conversations.head(limit)
    keep = set(conversations["conversation_id"].to_list())
    turns = read_turns(workspace).filter(pl.col("conversation_id").is_in(keep)).sort("conversation_id", "turn_index")
    rules = _rules(engine, mined) if (mined / MINING_FILES["guidelines"]).is_file() else {}
    clusters = reference_clusters(turns, workspace, mined, embedder) if rules else {}
    departments = reference_departments(turns, workspace, mined, clusters) if rules else {}
    tally = _Tally()
    for number, (conversation_id, group) in enumerate(turns.with_columns(pl.col("role").cast(pl.String))
                                                      .group_by("conversation_id", maintain_order=True), start=1):
        _replay_one(engine, conversation_id[0], group.to_dicts(), clusters, rules, tally, window,
                    departments.get(conversation_id[0]))
        progress(number)
    gold = gold_labels if gold_labels is not None else _metadata_labels(conversations, gold_key)
    accuracy, labels, n_gold = routing_accuracy(tally.routed, gold)
    latencies = np.asarray(tally.latencies or [0.0])
    return ReplayReport(
        conversations=len(tally.routed), turns=len(tally.latencies), routing_accuracy=accuracy,
        routing_gold_conversations=n_gold, department_labels=labels,
        guideline_precision=tally.applied_correct / tally.applied if tally.applied else None,
        guideline_recall=tally.events_hit / tally.events if tally.events else None,
        applied=tally.applied, applied_correct=tally.applied_correct, events=tally.events, events_hit=tally.events_hit,
        p50_ms=round(float(np.percentile(latencies, 50)), 2), p95_ms=round(float(np.percentile(latencies, 95)), 2),
        reference=str(mined))
