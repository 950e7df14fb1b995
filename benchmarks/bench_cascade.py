"""Per-turn matching latency with 100 guidelines: cascade vs SLM-only, in the same run.

- cascade: a cheap scorer decides every guideline it is sure about (score >= accept or
  <= reject) and the Gemma 3 270M verifier (scored yes/no, calibrated) is called only for the
  unsure ones. Two cheap scorers are measured: the distilled classifiers (`guideminer distill`,
  trained here on the workspace: the default for a mined agent) and plain embedding cosine.
- SLM-only (Parlant-style): one Gemma verification call per guideline per turn.

Guidelines: the mined proposals of a demo workspace (built here unless --workspace is given),
all put in one department so every turn evaluates 100 of them; customer turns replayed from the
same workspace. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_cascade.py [--turns 30] [--slm-turns 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from guideminer.engine import AgentSpec, Department, EmbeddingConditionScorer, Guideline, MatchingPolicy, Session
from guideminer.engine.matching import evaluate_conditions
from guideminer.engine.session import Message
from guideminer.ingest.workspace import read_turns
from guideminer.mining.proposals import read_proposals
from guideminer.models import load_embedder
from guideminer.models.gguf import load_gguf
from guideminer.offline_runtime.distill import distill, load_distilled
from guideminer.offline_runtime.llama_backend import LlamaConditionScorer, LlamaConditionVerifier


class CountingVerifier:
    def __init__(self, inner: LlamaConditionVerifier) -> None:
        self.inner, self.model_id, self.calls = inner, inner.model_id, 0

    def verify(self, conversation, guideline) -> bool:
        self.calls += 1
        return self.inner.verify(conversation, guideline)


def hundred_guidelines(workspace: Path, n: int) -> list[Guideline]:
    proposals = read_proposals(workspace)[0].proposals
    if len(proposals) < n:
        raise SystemExit(f"{workspace} has {len(proposals)} proposals; need {n} (use a bigger workspace)")
    return [Guideline(id=p.guideline_id, condition=p.condition_text, action=p.action_text,
                      examples=tuple(p.condition.representative_texts[:5]), provenance=f"mined:{p.guideline_id}")
            for p in proposals[:n]]


def timed(fn, conversations: list[list[Message]]) -> np.ndarray:
    out = []
    for conversation in conversations:
        started = time.perf_counter()
        fn(conversation)
        out.append((time.perf_counter() - started) * 1000)
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--guidelines", type=int, default=100)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--slm-turns", type=int, default=5)
    args = parser.parse_args()
    embedder = load_embedder()
    workspace = args.workspace
    if workspace is None:
        from guideminer.evaluation.demo import run_demo

        workspace = Path(tempfile.mkdtemp()) / "demo"
        run_demo(workspace, embedder=embedder, n_conversations=3000)
    guidelines = hundred_guidelines(workspace, args.guidelines)
    spec = AgentSpec(name="bench", departments=(Department(id="all", name="All", description="all", guidelines=tuple(guidelines)),))
    texts = (read_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer")
             .unique("text", maintain_order=True).head(args.turns)["text"].to_list())
    conversations = [[Message(role="customer", text=t, turn=1)] for t in texts]
    model = load_gguf()
    cosine = EmbeddingConditionScorer(embedder, spec)
    models_dir = Path(tempfile.mkdtemp()) / "distilled"
    distill(spec, models_dir, embedder, workspace=workspace)
    classifier = load_distilled(models_dir, embedder, cosine).scorer
    policy = MatchingPolicy()
    result: dict = {"guidelines": len(guidelines)}
    for name, scorer in (("cascade", classifier), ("cascade_cosine", cosine)):
        verifier = CountingVerifier(LlamaConditionVerifier(model))
        evaluate_conditions(conversations[0], guidelines, scorer, verifier, policy)  # warm caches
        verifier.calls = 0
        latencies = timed(lambda c: evaluate_conditions(c, guidelines, scorer, verifier, policy), conversations)
        result |= {f"{name}_p50_ms": round(float(np.percentile(latencies, 50)), 1),
                   f"{name}_p95_ms": round(float(np.percentile(latencies, 95)), 1),
                   f"{name}_verifier_calls_per_turn": round(verifier.calls / len(latencies), 2)}
    slm = LlamaConditionScorer(model)
    slm_only = timed(lambda c: slm.score(c, guidelines), conversations[: args.slm_turns])
    result |= {
        "cascade_turns": len(conversations), "slm_only_turns": len(slm_only),
        "slm_only_p50_ms": round(float(np.percentile(slm_only, 50)), 1), "slm_only_p95_ms": round(float(np.percentile(slm_only, 95)), 1),
        "model": model.model_id, "embedder": embedder.model_id,
    }
    result["speedup_p50"] = round(result["slm_only_p50_ms"] / result["cascade_p50_ms"], 1)
    result["speedup_p95"] = round(result["slm_only_p95_ms"] / result["cascade_p95_ms"], 1)
    for name in ("cascade", "cascade_cosine"):
        print(f"{name:<15} p50 {result[f'{name}_p50_ms']} ms  p95 {result[f'{name}_p95_ms']} ms  "
              f"({result[f'{name}_verifier_calls_per_turn']} verifier calls/turn)")
    print(f"SLM-only        p50 {result['slm_only_p50_ms']} ms  p95 {result['slm_only_p95_ms']} ms")
    print(f"speedup (distilled cascade vs SLM-only) p50 {result['speedup_p50']}x  p95 {result['speedup_p95']}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
