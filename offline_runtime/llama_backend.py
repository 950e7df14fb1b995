"""The engine's model Protocols on a local GGUF through llama.cpp (`guideminer.models.gguf`).

Each task is a narrow, closed question, the kind a small base model answers well:
- `LlamaConditionVerifier`: "does this condition hold in this conversation?" scored as the
  log-odds of " yes" vs " no", minus the same log-odds for a content-free condition
  (contextual calibration, Zhao et al. 2021: base models lean to one answer whatever the input,
  and subtracting that lean is what makes their yes/no usable). Holds when the calibrated
  log-odds exceed `threshold` (0 by default).
- `LlamaRouter`: department chosen by the log-probability of each department's name after the
  conversation, length-normalised per token so long names are not penalised.
- `LlamaComposer`: a grammar-constrained JSON reply `{"reply": "..."}`, validated by pydantic;
  an invalid output raises (the engine then restores the session and the caller sees the error).
- `LlamaConditionScorer`: one verification call per guideline; this is the SLM-only,
  Parlant-style matcher the cascade is benchmarked against, usable as a scorer on its own.

Prompts put the fixed part first (instructions, then the department's guideline list) and the
conversation last, so consecutive calls in a turn share the evaluated prefix in llama.cpp's cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from guideminer.engine.protocols import CompositionRequest, ConditionScore, RouteDecision
from guideminer.engine.session import Message
from guideminer.engine.spec import Department, Guideline
from guideminer.models.gguf import LlamaModel

YES, NO = " yes", " no"
NEUTRAL_CONDITION = "N/A"
EXCERPT_MESSAGES = 6


def excerpt(conversation: Sequence[Message], messages: int = EXCERPT_MESSAGES) -> str:
    lines = [f"{'Customer' if m.role == 'customer' else 'Agent'}: {m.text}" for m in conversation[-messages:]]
    return "\n".join(lines)


def verification_prompt(conversation: Sequence[Message], condition: str) -> str:
    return ("You check whether a condition is true in a customer support conversation. Answer yes or no.\n\n"
            f"Conversation:\n{excerpt(conversation)}\n\n"
            f"Condition: {condition}\nIs the condition true? Answer:")


class LlamaConditionVerifier:
    def __init__(self, model: LlamaModel, threshold: float = 0.0) -> None:
        self.model = model
        self.threshold = threshold
        self.model_id = f"llama-verifier:{model.model_id}"
        self._neutral: tuple[str, float] | None = None  # (excerpt, its neutral log-odds): one turn

    def _neutral_log_odds(self, conversation: Sequence[Message]) -> float:
        key = excerpt(conversation)
        cached = self._neutral  # read once: concurrent sessions replace it
        if cached is None or cached[0] != key:
            neutral = self.model.choice_logprobs(verification_prompt(conversation, NEUTRAL_CONDITION), [YES, NO])
            cached = self._neutral = (key, neutral[YES] - neutral[NO])
        return cached[1]

    def log_odds(self, conversation: Sequence[Message], condition: str) -> float:
        """Calibrated log P(yes)/P(no) for `condition` in `conversation`."""
        asked = self.model.choice_logprobs(verification_prompt(conversation, condition), [YES, NO])
        return (asked[YES] - asked[NO]) - self._neutral_log_odds(conversation)

    def verify(self, conversation: Sequence[Message], guideline: Guideline) -> bool:
        return self.log_odds(conversation, guideline.condition) > self.threshold


class LlamaConditionScorer:
    """SLM-only scorer: one verification per guideline, probability = sigmoid(calibrated log-odds)."""

    def __init__(self, model: LlamaModel) -> None:
        self.verifier = LlamaConditionVerifier(model)
        self.model_id = f"llama-scorer:{model.model_id}"

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]) -> Mapping[str, ConditionScore]:
        return {g.id: ConditionScore(1.0 / (1.0 + math.exp(-self.verifier.log_odds(conversation, g.condition))))
                for g in guidelines}


class LlamaRouter:
    def __init__(self, model: LlamaModel) -> None:
        self.model = model
        self.model_id = f"llama-router:{model.model_id}"

    def route(self, conversation: Sequence[Message], departments: Sequence[Department]) -> RouteDecision:
        if not departments:
            raise ValueError("cannot route without departments")
        listing = "\n".join(f"- {d.name}: {d.description[:200]}" for d in departments)
        prompt = (f"A receptionist routes each customer to one department.\nDepartments:\n{listing}\n\n"
                  f"Conversation:\n{excerpt(conversation)}\n\nDepartment:")
        options = {f" {d.name}": d.id for d in departments}
        logprobs = self.model.choice_logprobs(prompt, list(options))
        per_token = {options[o]: lp / max(1, len(self.model.tokenize(o, bos=False))) for o, lp in logprobs.items()}
        top = max(per_token.values())
        weights = {d: math.exp(v - top) for d, v in per_token.items()}
        total = sum(weights.values())
        scores = {d: w / total for d, w in weights.items()}
        best = max(departments, key=lambda d: scores[d.id])
        return RouteDecision(department_id=best.id, confidence=scores[best.id], scores=scores)


class ComposedReply(BaseModel):
    reply: str = Field(min_length=1)  # no maxLength: llama.cpp expands {m,n} repeats into huge grammars


class LlamaComposer:
    def __init__(self, model: LlamaModel, max_tokens: int = 200) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.model_id = f"llama-composer:{model.model_id}"

    def prompt(self, request: CompositionRequest) -> str:
        rules = "\n".join(f"- {g.action}" for g in request.instructions if g.action) or "- answer helpfully"
        facts = "\n".join(f"- {o.tool}: {o.error or o.result}" for o in request.tool_outcomes)
        hints = "\n".join(f"- {c.template}" for c in request.canned_hints)
        return (f"You are a support agent in the {request.department.name} department.\n"
                f"Follow these instructions in your reply:\n{rules}\n"
                + (f"Facts from tools:\n{facts}\n" if facts else "")
                + (f"Approved phrasings you may reuse:\n{hints}\n" if hints else "")
                + f"\nConversation:\n{excerpt(request.conversation)}\n\nReply as JSON: ")

    def compose(self, request: CompositionRequest) -> str:
        return self.model.complete_json(self.prompt(request), ComposedReply, max_tokens=self.max_tokens).reply
