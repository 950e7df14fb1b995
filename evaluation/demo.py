"""`guideminer demo`: the whole pipeline on the embedded demo corpus, scored against its truth.

Why it exists: a fresh machine has no data. The demo generates a seeded support corpus whose
agents follow hidden ground-truth guidelines, runs every stage on it exactly as a user would on
their own exports, and prints how much of the hidden truth the stages recovered. The demo folder
is a normal workspace, so every other command (`mine`, `eval proposals`, notebooks) works on it.

Stages are plain functions run in order (generate, learn the company vocabulary the redaction
must keep, ingest, mine, score, export with auto-accept, replay the exported agent over the
corpus, audit every output for personal data), and each writes its result into `DemoResult` so
the CLI and tests see one record. The vocabulary step is what a deployment does once with
`guideminer pii-terms` and a review; the demo is unattended, like its auto-accept, so it takes
the learned list as is (OUT/pii_allow_terms.yaml). The audit is the same as `guideminer audit-pii
OUT --spec OUT/agent.yaml`; the CLI exits 1 when it finds anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guideminer.mining.export_spec import export_workspace
from guideminer.engine import AgentSpec
from guideminer.ingest.audit import AuditHit, audit_workspace
from guideminer.ingest.demo_corpus import load_truth, write_demo_corpus
from guideminer.ingest.pii_allow import corpus_turns, learn_allow_terms, write_allow_terms
from guideminer.ingest.pii_redactor import default_pii_redactor
from guideminer.ingest.pii_settings import PiiSettings
from guideminer.ingest.pipeline import ingest_paths
from guideminer.ingest.report import IngestReport
from guideminer.evaluation.proposals import evaluate_proposals
from guideminer.mining.pipeline import MineConfig, StepReport, mine_workspace
from guideminer.models.embedder import TextEmbedder
from guideminer.offline_runtime.assemble import build_engine
from guideminer.offline_runtime.config import RuntimeConfig
from guideminer.evaluation.replay import replay_workspace

DEFAULT_DEMO_DIR = Path("demo-workspace")


@dataclass
class DemoResult:
    workspace: Path
    ingest: IngestReport
    mining: list[StepReport]
    recovery: dict[str, Any]
    agent_spec: Path | None = None
    exported_guidelines: int = 0
    replay: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    allow_terms: tuple[str, ...] = ()
    pii_hits: list[AuditHit] = field(default_factory=list)  # the final audit; empty when clean


def run_demo(
    out: Path = DEFAULT_DEMO_DIR, *, embedder: TextEmbedder, n_conversations: int = 1500, seed: int = 7,
    config: MineConfig | None = None, replay_conversations: int = 300, log: Callable[[str], None] = lambda _: None,
    call_style: bool = False,
) -> DemoResult:
    """Generate (or keep) the demo corpus in `out`, ingest it, mine it, score the recovery.
    `call_style`: transcribed phone calls (greeting-only openings, spelled names, holds)."""
    out = Path(out)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    corpus = write_demo_corpus(out, n_conversations, seed, call_style=call_style)
    seconds["generate"] = time.perf_counter() - started
    log(f"demo corpus: {n_conversations} conversations in {corpus.conversations}")

    learned = learn_allow_terms(corpus_turns([corpus.conversations], "jsonl"))
    write_allow_terms(out / "pii_allow_terms.yaml", learned, str(corpus.conversations))
    pii = PiiSettings(allow_terms=tuple(t.term for t in learned))
    log(f"pii-terms: {', '.join(pii.allow_terms) or 'none'} kept as vocabulary ({out / 'pii_allow_terms.yaml'})")
    started = time.perf_counter()
    ingest = ingest_paths([corpus.conversations], out, fmt="jsonl", pii=pii)
    seconds["ingest"] = time.perf_counter() - started
    log(f"ingest: {ingest.conversations_written} new conversations, {ingest.quarantined} quarantined")

    started = time.perf_counter()
    mining = mine_workspace(out, embedder, config, log=log)
    seconds["mine"] = time.perf_counter() - started

    recovery = evaluate_proposals(out, "demo", truth=corpus.truth)

    started = time.perf_counter()
    export = export_workspace(out, out / "agent.yaml", auto_accept=True, name="demo agent")
    seconds["export"] = time.perf_counter() - started
    log(f"export: {export.path} ({export.auto_accepted} proposals auto-accepted)")

    started = time.perf_counter()
    replay = replay_demo(export.spec, out, corpus.truth, embedder, replay_conversations)
    seconds["replay"] = time.perf_counter() - started

    started = time.perf_counter()
    hits = audit_workspace(out, default_pii_redactor(pii), specs=[export.path])
    seconds["audit"] = time.perf_counter() - started
    log(f"audit-pii: {len(hits)} hit(s) in {out} and {export.path}")
    return DemoResult(out, ingest, mining, recovery, export.path,
                      sum(len(d.guidelines) for d in export.spec.departments), replay,
                      {k: round(v, 2) for k, v in seconds.items()}, pii.allow_terms, hits)


def replay_demo(spec: AgentSpec, workspace: Path, truth: Path, embedder: TextEmbedder, limit: int) -> dict[str, Any]:
    """Run the exported agent over the first `limit` demo conversations (default runtime config:
    embedding router and scorer, template composer); gold departments from the hidden truth."""
    gold = {c.conversation_id: c.department_id for c in load_truth(truth).conversations}
    engine = build_engine(spec, RuntimeConfig(), embedder=embedder)
    report = replay_workspace(engine, workspace, limit=limit, embedder=embedder, gold_labels=gold)
    return report.summary()
