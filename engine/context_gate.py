"""Previous-move gate: conditions that hold only right after a certain agent move; and the
open-need scorer, for conditions that are a need said earlier (`OpenNeedScorer`).

Mined guidelines may be qualified by conversation state "after": the customer's words alone
("yes, please") do not say what they agree to; the agent move just before does ("shall I play
it?"). Such a guideline carries `after_examples` (agent messages of that move). Any condition
scorer can be wrapped: a gated guideline's score is capped by how closely the latest agent
message before the customer's newest message resembles one of those examples, so "yes" after a
different question cannot trigger it. Guidelines without `after_examples` pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from guideminer.engine.embedding import MINILM_CALIBRATION, LinearCalibration, MemoizingEmbedder, TextVectorCache
from guideminer.engine.protocols import ConditionScore, ConditionScorer
from guideminer.engine.session import Message
from guideminer.engine.spec import AgentSpec, Guideline
from guideminer.models.embedder import TextEmbedder


def previous_agent_message(conversation: Sequence[Message]) -> str | None:
    """The last agent message before the latest customer message (None: the agent has not spoken)."""
    latest_customer = max((i for i, m in enumerate(conversation) if m.role == "customer"), default=len(conversation))
    for message in reversed(conversation[:latest_customer]):
        if message.role == "agent":
            return message.text
    return None


def continues_needs(spec: AgentSpec) -> bool:
    return any(g.continues_need for d in spec.departments for g in d.guidelines)


class OpenNeedScorer:
    """ConditionScorer wrapper: a guideline that `continues_need` holds as much as its condition
    holds for the best of the customer's messages so far (each judged as the latest), because its
    condition is the need said earlier, not the answer just given. Pair it with
    `PreviousMoveGate` outside, which caps it by the agent's previous move (where in the need's
    flow the conversation is). It has no `fresh` score: it is ranked by how well the need and the
    previous move match, and a step already taken is not taken again. Other guidelines pass through."""

    def __init__(self, scorer: ConditionScorer) -> None:
        self.inner = scorer
        self.model_id = f"{scorer.model_id}+open-need"

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]) -> Mapping[str, ConditionScore]:
        continuing = [g for g in guidelines if g.continues_need]
        others = [g for g in guidelines if not g.continues_need]
        scores = dict(self.inner.score(conversation, others)) if others else {}
        if not continuing:
            return scores
        best = {g.id: 0.0 for g in continuing}
        for end, message in enumerate(conversation):
            if message.role != "customer":
                continue
            for gid, said in self.inner.score(conversation[:end + 1], continuing).items():
                best[gid] = max(best[gid], said.fresh if said.fresh is not None else said.score)
        # no `fresh`: the latest message alone says nothing about the need, so it neither ranks the
        # step below moves matching the latest words nor re-applies a step already taken
        return {**scores, **{gid: ConditionScore(score=value, fresh=None) for gid, value in best.items()}}


def has_after_examples(spec: AgentSpec) -> bool:
    return any(g.after_examples for d in spec.guideline_sets for g in d.guidelines)


class PreviousMoveGate:
    """ConditionScorer wrapper (module docstring): score = min(inner score, gate), where gate is
    the calibrated best cosine between the previous agent message and the guideline's
    `after_examples` (0 when the agent has not spoken yet)."""

    def __init__(self, scorer: ConditionScorer, embedder: TextEmbedder, spec: AgentSpec | None = None, *,
                 calibration: LinearCalibration = MINILM_CALIBRATION) -> None:
        self.inner = scorer
        self.model_id = f"{scorer.model_id}+previous-move-gate"
        self.calibration = calibration
        self._examples = TextVectorCache(embedder)
        self._messages = embedder if isinstance(embedder, MemoizingEmbedder) else MemoizingEmbedder(embedder)
        if spec is not None:
            self._examples.ensure([t for d in spec.guideline_sets for g in d.guidelines for t in g.after_examples])

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]) -> Mapping[str, ConditionScore]:
        scores = dict(self.inner.score(conversation, guidelines))
        gated = [g for g in guidelines if g.after_examples]
        if not gated:
            return scores
        previous = previous_agent_message(conversation)
        query = self._messages.embed([previous])[0] if previous is not None else None
        for guideline in gated:
            gate = gate_strength = 0.0
            if query is not None:
                examples = self._examples.matrix(guideline.after_examples)
                gate_strength = float(self.calibration.uncapped(np.max(examples @ query)))
                gate = min(gate_strength, 1.0)
            inner = scores[guideline.id]
            fresh = None if inner.fresh is None else min(inner.fresh, gate)
            # ranked by the weaker of the two matches, uncapped: after "Could you send me the
            # order number and a photo?", "Order LF-856356, photo attached" is the replacement
            # step's, not the neighbours question's that follows "Could I have the order number?"
            strength = None if inner.fresh_strength is None else min(inner.fresh_strength, gate_strength)
            scores[guideline.id] = ConditionScore(score=min(inner.score, gate), fresh=fresh, fresh_strength=strength)
        return scores
