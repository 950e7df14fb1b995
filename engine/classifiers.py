"""Distilled narrow models: linear classifiers on sentence embeddings, behind the engine Protocols.

Why: "is this condition true?" and "which department?" are narrow questions with plenty of
labelled examples once a workspace is mined (the customer turns of each situation cluster). A
logistic regression on the embedding answers them in one matrix product, more accurately than
cosine to a short rule text and orders of magnitude faster than an SLM call, so the cascade
calls the SLM verifier only where these are unsure. Training lives in
`guideminer.offline_runtime.distill`; this module only evaluates and loads.

Files in a distilled directory: `distilled.npz` (weights) and `distilled.json` (ids, the
embedder's model_id, held-out scores). Loading with a different embedder is an error: weights
are meaningless in another embedding space.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guideminer.engine.embedding import MemoizingEmbedder, customer_messages
from guideminer.engine.protocols import ConditionScore, RouteDecision
from guideminer.engine.session import Message
from guideminer.engine.spec import Department, Guideline
from guideminer.models.embedder import TextEmbedder

WEIGHTS_FILE, META_FILE = "distilled.npz", "distilled.json"


class DistilledModelError(ValueError):
    pass


@dataclass(frozen=True)
class LinearHeads:
    """Rows of `weights` / `bias` are the classes named by `ids`."""

    ids: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self.weights.T + self.bias


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ClassifierConditionScorer:
    """ConditionScorer: one binary logistic head per guideline; like the embedding scorer,
    score = max(fresh, window_weight x windowed) over the last customer messages.

    Guidelines without a head (too few training turns, or written after distillation) go to the
    explicitly given `fallback` scorer; without one they are an error. `model_id` names both.
    """

    def __init__(self, heads: LinearHeads, embedder: TextEmbedder, *, window_messages: int = 3,
                 window_weight: float = 0.85, fallback=None) -> None:
        self.heads = heads
        self.index = {g: i for i, g in enumerate(heads.ids)}
        self.embedder = embedder if isinstance(embedder, MemoizingEmbedder) else MemoizingEmbedder(embedder)
        self.window_messages, self.window_weight = window_messages, window_weight
        self.fallback = fallback
        self.model_id = f"classifier-scorer:{embedder.model_id}" + (f"+{fallback.model_id}" if fallback else "")

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]) -> Mapping[str, ConditionScore]:
        missing = [g for g in guidelines if g.id not in self.index]
        if missing and self.fallback is None:
            raise DistilledModelError(f"no distilled classifier for guideline(s) {[g.id for g in missing]}: "
                                      "re-run `guideminer distill` or configure a fallback scorer")
        scores = dict(self.fallback.score(conversation, missing)) if missing else {}
        guidelines = [g for g in guidelines if g.id in self.index]
        if not guidelines:
            return scores
        vectors = self.embedder.embed(customer_messages(conversation, self.window_messages))
        window = vectors.mean(axis=0)
        window /= max(float(np.linalg.norm(window)), 1e-12)
        rows = [self.index[g.id] for g in guidelines]
        probabilities = _sigmoid(np.stack([vectors[-1], window]) @ self.heads.weights[rows].T + self.heads.bias[rows])
        fresh, windowed = probabilities[0], probabilities[1] * self.window_weight
        scores.update({g.id: ConditionScore(float(max(fresh[i], windowed[i])), float(fresh[i]))
                       for i, g in enumerate(guidelines)})
        return scores


class ClassifierRouter:
    """DepartmentRouter: multinomial logistic regression over the customer's first messages."""

    def __init__(self, heads: LinearHeads, embedder: TextEmbedder) -> None:
        self.heads = heads
        self.row = {department: i for i, department in enumerate(heads.ids)}
        self.embedder = embedder if isinstance(embedder, MemoizingEmbedder) else MemoizingEmbedder(embedder)
        self.model_id = f"classifier-router:{embedder.model_id}"

    def route(self, conversation: Sequence[Message], departments: Sequence[Department]) -> RouteDecision:
        allowed = [d.id for d in departments if d.id in self.row]
        if not allowed:
            raise DistilledModelError("the distilled router knows none of these departments: re-run `guideminer distill`")
        vector = self.embedder.embed(customer_messages(conversation, 1))[0]
        rows = [self.row[d] for d in allowed]
        logits = self.heads.logits(vector[None, :])[0, rows]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        scores = dict(zip(allowed, map(float, probabilities), strict=True))
        best = max(allowed, key=scores.__getitem__)
        return RouteDecision(department_id=best, confidence=scores[best], scores=scores)


def save_heads(directory: Path, heads: dict[str, LinearHeads], meta: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {f"{name}_{part}": getattr(h, part) for name, h in heads.items() for part in ("weights", "bias")}
    np.savez(directory / WEIGHTS_FILE, **arrays)
    meta = {**meta, "heads": {name: list(h.ids) for name, h in heads.items()}}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))


def load_heads(directory: Path, embedder: TextEmbedder) -> tuple[dict[str, LinearHeads], dict]:
    directory = Path(directory)
    if not (directory / META_FILE).is_file():
        raise DistilledModelError(f"{directory} holds no distilled models ({META_FILE} missing): run `guideminer distill`")
    meta = json.loads((directory / META_FILE).read_text())
    if meta.get("embedder") != embedder.model_id:
        raise DistilledModelError(f"{directory} was distilled with embedder {meta.get('embedder')!r} but the runtime "
                                  f"uses {embedder.model_id!r}: use the same embedder or re-run `guideminer distill`")
    with np.load(directory / WEIGHTS_FILE) as arrays:
        heads = {name: LinearHeads(tuple(ids), arrays[f"{name}_weights"], arrays[f"{name}_bias"])
                 for name, ids in meta["heads"].items()}
    return heads, meta
