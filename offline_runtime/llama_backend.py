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
  `prompt="chat"` sends the same material as chat messages through the GGUF's own chat
  template (instruct models); "completion" writes one plain prompt (base models).
- `LlamaToolArguments`: a tool's arguments as JSON constrained by the tool's own argument
  schema (`guideminer.engine.tools.arguments_model`); the engine validates them again.
- `LlamaConditionScorer`: one scored verification per guideline, usable as a scorer on its own.
- `LlamaBatchJudge`: several conditions judged in one call (one prompt listing them, a scored
  yes/no answer sheet after it), Parlant's way of matching guidelines (Parlant sends 5
  guidelines per call once a department has more than 30); the SLM-only baseline of
  benchmarks/bench_cascade.py.

Prompts put the fixed part first: the verifier's instruction and the conversation, then the
condition, so the calls of one turn evaluate the conversation once (a shared KV prefix) and
each condition costs only its own few tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pydantic import BaseModel, Field

from guideminer.engine.protocols import CompositionRequest, ConditionScore, RouteDecision
from guideminer.engine.session import Message
from guideminer.engine.spec import Department, Guideline, ToolSpec
from guideminer.engine.tools import arguments_model
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


PARLANT_BATCH_SIZE = 5  # Parlant's guidelines per matching call for departments of > 30 guidelines


def batch_prompt(conversation: Sequence[Message], conditions: Sequence[str]) -> str:
    listing = "\n".join(f"c{i}: {c}" for i, c in enumerate(conditions, start=1))
    return ("You check which conditions are true in a customer support conversation. "
            "Answer yes or no for each condition.\n\n"
            f"Conversation:\n{excerpt(conversation)}\n\nConditions:\n{listing}\n\nAnswers:\n")


class LlamaBatchJudge:
    """Judges `batch_size` conditions per call, a scorer giving 1.0 / 0.0 per verdict.

    One prompt lists the batch's conditions; the answers "c1: yes\nc2: no\n..." are read one
    after another as the likelier of " yes" / " no" (each appended before the next is read),
    i.e. the greedy decode of a yes/no answer sheet, without sampling over the vocabulary.
    """

    def __init__(self, model: LlamaModel, batch_size: int = PARLANT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.batch_size = batch_size
        self.model_id = f"llama-batch-judge{batch_size}:{model.model_id}"

    def judge(self, conversation: Sequence[Message], conditions: Sequence[str]) -> list[bool]:
        sheet = batch_prompt(conversation, conditions)
        verdicts = []
        for i in range(1, len(conditions) + 1):
            sheet += f"c{i}:"
            scores = self.model.choice_logprobs(sheet, [YES, NO])
            verdicts.append(scores[YES] > scores[NO])
            sheet += f"{YES if verdicts[-1] else NO}\n"
        return verdicts

    def score(self, conversation: Sequence[Message], guidelines: Sequence[Guideline]) -> Mapping[str, ConditionScore]:
        scores: dict[str, ConditionScore] = {}
        for start in range(0, len(guidelines), self.batch_size):
            batch = guidelines[start:start + self.batch_size]
            for guideline, holds in zip(batch, self.judge(conversation, [g.condition for g in batch])):
                scores[guideline.id] = ConditionScore(1.0 if holds else 0.0)
        return scores


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


def _briefing(request: CompositionRequest) -> str:
    rules = "\n".join(f"- {g.action}" for g in request.instructions if g.action) or "- answer helpfully"
    facts = "\n".join(f"- {o.tool}: {o.error or o.result}" for o in request.tool_outcomes)
    hints = "\n".join(f"- {c.template}" for c in request.canned_hints)
    return (f"You are a support agent in the {request.department.name} department.\n"
            f"Follow these instructions in your reply:\n{rules}\n"
            + (f"Facts from tools:\n{facts}\n" if facts else "")
            + (f"Approved phrasings you may reuse:\n{hints}\n" if hints else ""))


def chat_messages(request: CompositionRequest, messages: int = EXCERPT_MESSAGES) -> list[dict[str, str]]:
    """System briefing, then the recent conversation as user/assistant turns (chat templates)."""
    system = _briefing(request) + 'Answer with JSON: {"reply": "<your reply to the customer>"}.'
    turns = [{"role": "user" if m.role == "customer" else "assistant", "content": m.text}
             for m in request.conversation[-messages:]]
    return [{"role": "system", "content": system}, *turns]


class LlamaComposer:
    def __init__(self, model: LlamaModel, max_tokens: int = 200, prompt: str = "completion") -> None:
        if prompt not in ("completion", "chat"):
            raise ValueError(f"prompt must be 'completion' or 'chat', got {prompt!r}")
        self.model = model
        self.max_tokens = max_tokens
        self.style = prompt
        self.model_id = f"llama-composer{'-chat' if prompt == 'chat' else ''}:{model.model_id}"

    def prompt(self, request: CompositionRequest) -> str:
        return _briefing(request) + f"\nConversation:\n{excerpt(request.conversation)}\n\nReply as JSON: "

    def compose(self, request: CompositionRequest) -> str:
        if self.style == "chat":
            return self.model.chat_json(chat_messages(request), ComposedReply, max_tokens=self.max_tokens).reply
        return self.model.complete_json(self.prompt(request), ComposedReply, max_tokens=self.max_tokens).reply


class LlamaToolArguments:
    """ToolArgumentExtractor: the model fills a tool's parameters from the conversation."""

    def __init__(self, model: LlamaModel, prompt: str = "completion", max_tokens: int = 128) -> None:
        if prompt not in ("completion", "chat"):
            raise ValueError(f"prompt must be 'completion' or 'chat', got {prompt!r}")
        self.model, self.style, self.max_tokens = model, prompt, max_tokens
        self.model_id = f"llama-tool-arguments{'-chat' if prompt == 'chat' else ''}:{model.model_id}"

    def instruction(self, tool: ToolSpec, variables: Mapping[str, object]) -> str:
        params = "\n".join(f"- {p.name} ({p.type}){': ' + p.description if p.description else ''}" for p in tool.params)
        known = "\n".join(f"- {k}: {v}" for k, v in variables.items())
        return (f"Fill the arguments of the tool {tool.name}: {tool.description}\nParameters:\n{params}\n"
                + (f"Known session variables:\n{known}\n" if known else "")
                + "Use only values the customer or the variables state; leave unknown optional ones null.")

    def extract(self, tool: ToolSpec, conversation: Sequence[Message], variables: Mapping[str, object]) -> dict:
        schema = arguments_model(tool)
        if self.style == "chat":
            messages = [{"role": "system", "content": self.instruction(tool, variables) + " Answer with JSON."},
                        {"role": "user", "content": excerpt(conversation)}]
            arguments = self.model.chat_json(messages, schema, max_tokens=self.max_tokens)
        else:
            prompt = f"{self.instruction(tool, variables)}\n\nConversation:\n{excerpt(conversation)}\n\nArguments as JSON: "
            arguments = self.model.complete_json(prompt, schema, max_tokens=self.max_tokens)
        return arguments.model_dump(exclude_none=True)
