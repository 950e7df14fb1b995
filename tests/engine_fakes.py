"""Deterministic fakes behind the engine's protocols, shared by tests/test_engine_*.py.

`HashedBagOfWordsEmbedder` makes similarity tests meaningful without a model: texts sharing
content words get high cosine similarity, unrelated texts get ~0, and nothing is hard-coded per
test. The other fakes are scripted (fixed scores, fixed routes) and record their calls.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guideminer.engine import (
    AgentSpec,
    CompositionRequest,
    ConditionScore,
    Department,
    Guideline,
    LinearCalibration,
    Message,
    RouteDecision,
    ToolSpec,
    load_agent_spec,
)

FIXTURES = Path(__file__).parent / "fixtures" / "engine"
RETAIL_SPEC_PATH = FIXTURES / "retail_agent.yaml"

# Calibration matching the fake embedder: shared content words give cosines of ~0.3-0.8.
FAKE_CALIBRATION = LinearCalibration(low=0.05, high=0.45)

_STOPWORDS = set(
    "a an the i me my we our you your it its is are was be been am do does did to of in on at "
    "for with and or but if so this that these those there here what where when how why which who "
    "can could would should will just please hi hello thanks thank customer asks ask whether "
    "about want wants need needs also too very some any has have had not no yes".split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]


class HashedBagOfWordsEmbedder:
    """TextEmbedder: L2-normalised counts of stemmed content words hashed into `dimension` bins."""

    def __init__(self, dimension: int = 4096) -> None:
        self.dimension = dimension
        self.model_id = f"hashed-bow-{dimension}"
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in content_words(text):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest, "big") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


class FixedScorer:
    """ConditionScorer returning scripted scores; change `scores` between turns. Unlisted: 0."""

    model_id = "fixed-scorer"

    def __init__(self, scores: Mapping[str, float] | None = None, fresh: Mapping[str, float] | None = None):
        self.scores: dict[str, float] = dict(scores or {})
        self.fresh: dict[str, float] = dict(fresh or {})

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]):
        return {
            g.id: ConditionScore(self.scores.get(g.id, 0.0), self.fresh.get(g.id, self.scores.get(g.id, 0.0)))
            for g in guidelines
        }


class FakeVerifier:
    model_id = "fake-slm-verifier"

    def __init__(self, answers: Mapping[str, bool]):
        self.answers = dict(answers)
        self.asked: list[str] = []

    def verify(self, conversation: Sequence[Message], guideline: Guideline) -> bool:
        self.asked.append(guideline.id)
        return self.answers[guideline.id]


class FixedRouter:
    """DepartmentRouter returning a scripted decision; change `decision` between turns."""

    model_id = "fixed-router"

    def __init__(self, department_id: str, confidence: float = 0.9, scores: Mapping[str, float] | None = None):
        self.decision = RouteDecision(department_id, confidence, dict(scores or {department_id: confidence}))
        self.calls = 0

    def set(self, department_id: str, confidence: float, scores: Mapping[str, float]) -> None:
        self.decision = RouteDecision(department_id, confidence, dict(scores))

    def route(self, conversation: Sequence[Message], departments: Sequence[Department]) -> RouteDecision:
        self.calls += 1
        return self.decision


class FreeTextComposer:
    """ReplyComposer that always writes free text naming its instructions, and records requests."""

    model_id = "free-text-composer"
    PREFIX = "FREE TEXT"

    def __init__(self) -> None:
        self.requests: list[CompositionRequest] = []

    def compose(self, request: CompositionRequest) -> str:
        self.requests.append(request)
        ids = ",".join(g.id for g in request.instructions) or "none"
        return f"{self.PREFIX} [{ids}]"


class FixedArguments:
    """ToolArgumentExtractor returning scripted arguments per tool name."""

    model_id = "fixed-arguments"

    def __init__(self, arguments: Mapping[str, dict[str, Any]]):
        self.arguments = dict(arguments)

    def extract(self, tool: ToolSpec, conversation, variables) -> dict[str, Any]:
        return dict(self.arguments[tool.name])


def retail_spec() -> AgentSpec:
    return load_agent_spec(RETAIL_SPEC_PATH)


ORDERS_DB = {1001: "shipped", 1002: "delayed"}


def lookup_order(order_id: int) -> dict[str, Any]:
    if order_id not in ORDERS_DB:
        raise LookupError(f"no order {order_id}")
    return {"order_id": order_id, "status": ORDERS_DB[order_id]}


def one_department_spec(
    guidelines: Sequence[Guideline],
    relationships: Sequence[dict] = (),
    **department_fields: Any,
) -> AgentSpec:
    """A one-department agent built in code, for tests that script scores per guideline."""
    department = {
        "id": "main", "name": "Main", "description": "everything",
        "guidelines": [g.model_dump() for g in guidelines],
        "relationships": list(relationships), **department_fields,
    }
    return AgentSpec.model_validate({"name": "test agent", "departments": [department]})


def engine_fixture(spec: AgentSpec | None = None, **engine_kwargs: Any):
    """An Engine over the retail fixture with the hashed bag-of-words embedder everywhere."""
    from guideminer.engine import EmbeddingConditionScorer, EmbeddingRouter, Engine, ToolRegistry

    spec = spec or retail_spec()
    embedder = HashedBagOfWordsEmbedder()
    defaults: dict[str, Any] = dict(
        router=EmbeddingRouter(embedder, spec, calibration=FAKE_CALIBRATION),
        scorer=EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION),
        composer=FreeTextComposer(),
        tools=ToolRegistry({"lookup_order": lookup_order}),
    )
    defaults.update(engine_kwargs)
    return Engine(spec, **defaults)
