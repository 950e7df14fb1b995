"""Per-turn matching latency with 100 guidelines: cascade vs SLM-only, in the same run.

- cascade: a cheap scorer decides every guideline it is sure about (score >= accept or
  <= reject) and the Gemma 3 270M verifier (scored yes/no, calibrated; the conversation is a
  shared KV prefix, each condition adds only its own tokens) is called for the unsure ones:
  all of them ("unbounded"), or at most K per turn, least certain first (`--max-verifier-calls`,
  the runtime config's `verifier.max_calls`). Cheap scorers: the distilled classifiers
  (`guideminer distill`, trained here on the workspace: the default for a mined agent) and
  plain embedding cosine (unbounded only). A bounded cascade's decisions are compared with the
  unbounded one's on the same turns (what the bound costs).
- SLM-only, Parlant-style: Gemma judges every guideline, 5 per call (Parlant's batch size for
  more than 30 guidelines), so 20 calls per turn; each call is one prompt listing its 5
  conditions and a scored yes/no answer sheet (cheaper than sampling JSON under a grammar).
- SLM-only, scored: one scored yes/no verification per guideline (100 per turn, shared prefix).

Every side is warmed up on a turn outside the timed set and timed on the same `--turns` turns.
Guidelines: the mined proposals of a demo workspace (built here unless --workspace is given),
all in one department so every turn evaluates 100 of them; customer turns from the same
workspace. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_cascade.py --workspace WS [--turns 30]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from guideminer.engine import AgentSpec, Department, EmbeddingConditionScorer, Guideline, MatchingPolicy
from guideminer.engine.matching import evaluate_conditions
from guideminer.engine.session import Message
from guideminer.ingest.workspace import read_turns
from guideminer.mining.proposals import read_proposals
from guideminer.models import load_embedder
from guideminer.models.gguf import load_gguf
from guideminer.offline_runtime.distill import distill, load_distilled
from guideminer.offline_runtime.llama_backend import (
    PARLANT_BATCH_SIZE, LlamaBatchJudge, LlamaConditionScorer, LlamaConditionVerifier,
)


class CountingVerifier:
    def __init__(self, inner: LlamaConditionVerifier) -> None:
        self.inner, self.model_id, self.calls = inner, inner.model_id, 0

    def verify(self, conversation, guideline) -> bool:
        self.calls += 1
        return self.inner.verify(conversation, guideline)


def mined_guidelines(workspace: Path, n: int) -> list[Guideline]:
    proposals = read_proposals(workspace)[0].proposals
    if len(proposals) < n:
        raise SystemExit(f"{workspace} has {len(proposals)} proposals; need {n} (use a bigger workspace)")
    return [Guideline(id=p.guideline_id, condition=p.condition_text, action=p.action_text,
                      examples=tuple(p.condition.representative_texts[:5]), provenance=f"mined:{p.guideline_id}")
            for p in proposals[:n]]


def timed(fn: Callable, warmup: list[Message], conversations: list[list[Message]]) -> tuple[np.ndarray, list]:
    """Wall and process-CPU ms of `fn` per conversation (rows), after one untimed warm-up call;
    and its outputs. CPU time is reported because a shared machine inflates wall time."""
    fn(warmup)
    latencies, outputs = [], []
    for conversation in conversations:
        started, cpu = time.perf_counter(), time.process_time()
        outputs.append(fn(conversation))
        latencies.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
    return np.asarray(latencies), outputs


def percentiles(latencies: np.ndarray) -> dict:
    wall, cpu = latencies[:, 0], latencies[:, 1]
    return {"p50_ms": round(float(np.percentile(wall, 50)), 1), "p95_ms": round(float(np.percentile(wall, 95)), 1),
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 1), "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 1),
            "turns": len(latencies)}


def holds(decisions) -> dict[str, bool]:
    return {d.guideline_id: d.condition_holds for d in decisions}


def cascade_row(scorer, model, guidelines, warmup, conversations, max_calls: int | None) -> tuple[dict, list]:
    verifier = CountingVerifier(LlamaConditionVerifier(model))
    policy = MatchingPolicy(max_verifier_calls=max_calls)

    def run(conversation):
        return holds(evaluate_conditions(conversation, guidelines, scorer, verifier, policy))

    def run_counted(conversation):
        if conversation is warmup:
            result = run(conversation)
            verifier.calls = 0  # the warm-up's calls are not counted
            return result
        return run(conversation)

    latencies, outputs = timed(run_counted, warmup, conversations)
    return percentiles(latencies) | {"verifier_calls_per_turn": round(verifier.calls / len(conversations), 2)}, outputs


def agreement(a: list[dict[str, bool]], b: list[dict[str, bool]]) -> float:
    same = sum(x[g] == y[g] for x, y in zip(a, b) for g in x)
    return round(same / sum(len(x) for x in a), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--guidelines", type=int, default=100)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--max-verifier-calls", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--skip-scored-slm", action="store_true", help="skip the 100-calls-per-turn baseline")
    parser.add_argument("--skip-cosine", action="store_true", help="skip the cosine-scorer cascade")
    args = parser.parse_args()
    embedder = load_embedder()
    workspace = args.workspace
    if workspace is None:
        from guideminer.evaluation.demo import run_demo

        workspace = Path(tempfile.mkdtemp()) / "demo"
        run_demo(workspace, embedder=embedder, n_conversations=3000)
    guidelines = mined_guidelines(workspace, args.guidelines)
    spec = AgentSpec(name="bench", departments=(Department(id="all", name="All", description="all", guidelines=tuple(guidelines)),))
    texts = (read_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer")
             .unique("text", maintain_order=True).head(args.turns + 1)["text"].to_list())
    warmup_conversation = [Message(role="customer", text=texts[0], turn=1)]
    conversations = [[Message(role="customer", text=t, turn=1)] for t in texts[1:]]
    model = load_gguf()
    cosine = EmbeddingConditionScorer(embedder, spec)
    models_dir = Path(tempfile.mkdtemp()) / "distilled"
    distill(spec, models_dir, embedder, workspace=workspace)
    classifier = load_distilled(models_dir, embedder, cosine).scorer
    result: dict = {"guidelines": len(guidelines), "model": model.model_id, "embedder": embedder.model_id,
                    "parlant_batch_size": PARLANT_BATCH_SIZE}
    rows: dict[str, dict] = {}
    variants = [("cascade", classifier, None), *[(f"cascade_max{k}", classifier, k) for k in args.max_verifier_calls]]
    for name, scorer, bound in variants + ([] if args.skip_cosine else [("cascade_cosine", cosine, None)]):
        rows[name], outputs = cascade_row(scorer, model, guidelines, warmup_conversation, conversations, bound)
        if name == "cascade":
            unbounded = outputs
        elif bound is not None:
            rows[name]["agreement_with_unbounded"] = agreement(outputs, unbounded)
        print(f"{name} done: {rows[name]}", flush=True)
    judge = LlamaBatchJudge(model)
    rows["slm_only_parlant"] = percentiles(timed(lambda c: judge.score(c, guidelines), warmup_conversation, conversations)[0])
    rows["slm_only_parlant"]["calls_per_turn"] = -(-len(guidelines) // PARLANT_BATCH_SIZE)
    if not args.skip_scored_slm:
        scored = LlamaConditionScorer(model)
        rows["slm_only_scored"] = percentiles(timed(lambda c: scored.score(c, guidelines), warmup_conversation, conversations)[0])
        rows["slm_only_scored"]["calls_per_turn"] = len(guidelines)
    base = rows["slm_only_parlant"]
    for name, row in rows.items():
        if name.startswith("cascade"):
            row["ratio_p50_vs_parlant"] = round(base["p50_ms"] / row["p50_ms"], 1)
            row["ratio_p95_vs_parlant"] = round(base["p95_ms"] / row["p95_ms"], 1)
        extra = {k: v for k, v in row.items() if k not in ("p50_ms", "p95_ms")}
        print(f"{name:<18} p50 {row['p50_ms']:>8} ms  p95 {row['p95_ms']:>8} ms  {extra}")
    result["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(f"load average (1 min) at the end: {result['load_average_1m_at_end']} on {os.cpu_count()} CPUs")
    print(json.dumps(result | {"rows": rows}))


if __name__ == "__main__":
    main()
