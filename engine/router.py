"""Receptionist routing: choose a department once, then stay unless a transfer is justified.

Rules (documented here because reviewers tune them):
- First customer message: the router picks the best department. If its confidence is below
  `min_route_confidence`, the receptionist sends its clarify message and routes again on the
  next customer message (nothing is guessed).
- Later turns stay in the chosen department ("sticky"). The router is still consulted, and a
  router transfer happens only when another department scores >= `transfer_confidence` AND beats
  the current department by >= `transfer_margin`. Both conditions guard against ping-pong on
  messages that mention several topics. A router transfer takes effect on the same turn, since
  the router judged that this message belongs elsewhere.
- A guideline with `transfer_to` transfers after the turn in which it is applied (its action is
  usually the announcement, e.g. "I'm handing you to billing"); see `guideminer.engine.turn`.
- Etiquette before any need: while unrouted, if a conversation-etiquette guideline holds
  (a greeting, small talk) and scores above the router's confidence on the whole message, it is
  conversation management rather than a need; routing waits for the first substantive
  customer message ("etiquette_wait") and the etiquette guideline answers. So does a first
  message whose words are all words of the customers' greeting-only openings (the examples of
  the conversation-start move: "Hi", "hello there"), whatever the router scores. Likewise, once
  routed, a message an etiquette guideline scores above the router's confidence never
  transfers, nor does a message with no word beyond placeholders and function words
  (`carries_words`): "It's <PHONE>." answering the identification question had read as the
  password department's, whose examples hold phone numbers too.
- Several topics: a sentence of the message that another department claims
  (`other_topic_departments`: confidence >= `min_route_confidence` and ahead of the current
  department by >= `transfer_margin`) is answered by that department's guidelines too, without
  a transfer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from guideminer.engine.protocols import DepartmentRouter, RouteDecision
from guideminer.engine.session import Message, with_latest_text
from guideminer.engine.spec import AgentSpec
from guideminer.engine.trace import RoutingTrace, TransferRecord


_PLACEHOLDER = re.compile(r"<[A-Z_]+\d*>", re.IGNORECASE)  # redaction placeholders: <PHONE>, <PERSON_2>
_CODE = re.compile(r"[\w#-]*\d[\w#-]*")  # an id, a number or a code said as one token: "LF-123456", "#8309586"
_LETTERS = re.compile(r"[a-z]+")
# English words that answer a question without saying anything of a need ("Sure, 4045111754")
ANSWER_WORDS = frozenset("yes yeah yep yup sure ok okay alright right thanks thank cheers".split())


@dataclass(frozen=True)
class RoutingPolicy:
    min_route_confidence: float = 0.35
    transfer_confidence: float = 0.75
    transfer_margin: float = 0.2
    router_transfers: bool = True  # False: only guidelines with `transfer_to` can transfer
    max_clarifications: int = 2  # consecutive receptionist questions before handing off (fallback)


@dataclass(frozen=True)
class RoutingOutcome:
    department_id: str | None  # None: still with the receptionist (clarify)
    trace: RoutingTrace
    transfer: TransferRecord | None = None


def route_turn(
    spec: AgentSpec,
    current_department: str | None,
    conversation: Sequence[Message],
    router: DepartmentRouter,
    policy: RoutingPolicy,
    turn: int,
    etiquette_score: float | None = None,
    opening_words: frozenset[str] = frozenset(),
) -> RoutingOutcome:
    """Department for this turn, with the trace entry and any router transfer.

    `etiquette_score`: the best score of an etiquette guideline holding this turn (None: none).
    `opening_words`: the words of the customers' greeting-only openings (`opening_vocabulary`)."""
    decision = router.route(conversation, spec.departments)
    _check_known(spec, decision)
    latest = next((m.text for m in reversed(conversation) if m.role == "customer"), "")
    if current_department is None:
        outcome = _initial_route(decision, router.model_id, policy)
        greeting_only = says_only(latest, opening_words)
        if outcome.department_id is not None and (greeting_only or (
                etiquette_score is not None and etiquette_score > decision.confidence)):
            reason = ("only words of the customers' greeting-only openings" if greeting_only else
                      f"etiquette {etiquette_score:.2f} > routing confidence {decision.confidence:.2f}")
            reason += f" ({decision.department_id} {decision.confidence:.2f}): conversation management, routing waits for a need"
            trace = outcome.trace.model_copy(update={"department_id": None, "method": "etiquette_wait", "reason": reason})
            return RoutingOutcome(department_id=None, trace=trace)
        return outcome
    return _stay_or_transfer(current_department, decision, router.model_id, policy, turn, etiquette_score, latest)


def other_topic_departments(
    spec: AgentSpec,
    current_department: str,
    conversation: Sequence[Message],
    segments: Sequence[str],
    router: DepartmentRouter,
    policy: RoutingPolicy,
) -> dict[str, list[str]]:
    """Department id -> the sentences of the latest message it claims over the current one."""
    if len(segments) < 2:
        return {}
    claimed: dict[str, list[str]] = {}
    for segment in segments:
        decision = router.route(with_latest_text(conversation, segment), spec.departments)
        _check_known(spec, decision)
        margin = decision.confidence - float(decision.scores.get(current_department, 0.0))
        if (decision.department_id != current_department and decision.confidence >= policy.min_route_confidence
                and margin >= policy.transfer_margin):
            claimed.setdefault(decision.department_id, []).append(segment)
    return claimed


def _initial_route(decision: RouteDecision, model_id: str, policy: RoutingPolicy) -> RoutingOutcome:
    confident = decision.confidence >= policy.min_route_confidence
    comparison = ">=" if confident else "<"
    reason = (
        f"first routing: {decision.department_id} confidence {decision.confidence:.2f} "
        f"{comparison} min {policy.min_route_confidence:.2f}"
    )
    trace = RoutingTrace(
        department_id=decision.department_id if confident else None,
        method="router" if confident else "unrouted",
        router_model_id=model_id,
        confidence=decision.confidence,
        scores=dict(decision.scores),
        reason=reason if confident else reason + "; receptionist asks to clarify",
    )
    return RoutingOutcome(department_id=trace.department_id, trace=trace)


def carries_words(text: str) -> bool:
    """Whether `text` has a word beyond redaction placeholders, ids and numbers and English
    function words ("It's <PHONE>.", "<EMAIL>", "4 5 1 2", "LF-123456" have none): such a
    message answers the agent's question, whatever department's examples it resembles."""
    return bool(_own_words(text))


def gives_data_only(text: str, asked: str = "") -> bool:
    """Whether `text` gives a placeholder, id or number and otherwise only function words, plain
    acknowledgements (`ANSWER_WORDS`) and words of the agent's question `asked`: "Sure,
    LF-123456", "order number is 4090683448" after "I'll need the order number", "my email is
    <EMAIL>". Such a message supplies what was asked; unlike "Yes." or "Do you have anything
    else?", it says nothing a new situation's move could answer."""
    if not (_PLACEHOLDER.search(text) or _CODE.search(text)):
        return False
    echoed = set(_LETTERS.findall(asked.lower()))
    return all(w in ANSWER_WORDS or w in echoed for w in _own_words(text))


def opening_vocabulary(spec: AgentSpec) -> frozenset[str]:
    """The words (beyond function words) of the examples of the conversation-start move: mined
    customer openings that are a greeting only ("Hi there", "hello?", "Good morning")."""
    return frozenset(w for d in spec.guideline_sets for g in d.guidelines if g.position == "conversation_start"
                     for example in g.examples for w in _own_words(example))


def says_only(text: str, vocabulary: frozenset[str]) -> bool:
    """Whether `text` has words beyond function words and all are in `vocabulary`: "Hi" opens
    a conversation like the greeting-only openings, and the router, which scores it against
    department examples that start with "hi ...", must not route it (whole demo: "Hi" went to
    the account department at confidence 0.53 and got "Deleting the account removes ...")."""
    words = _own_words(text)
    return bool(words) and all(w in vocabulary for w in words)


def _own_words(text: str) -> list[str]:
    bare = _CODE.sub(" ", _PLACEHOLDER.sub(" ", text.lower()))
    stop_words = _function_words()
    return [w for w in _LETTERS.findall(bare) if len(w) > 1 and w not in stop_words]


@cache
def _function_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use (not at engine start-up)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _stay_or_transfer(
    current: str, decision: RouteDecision, model_id: str, policy: RoutingPolicy, turn: int,
    etiquette_score: float | None = None, latest_text: str | None = None,
) -> RoutingOutcome:
    current_score = float(decision.scores.get(current, 0.0))
    margin = decision.confidence - current_score
    managed = etiquette_score is not None and etiquette_score > decision.confidence
    answer_only = latest_text is not None and not carries_words(latest_text)
    wants_transfer = (
        policy.router_transfers
        and not managed and not answer_only
        and decision.department_id != current
        and decision.confidence >= policy.transfer_confidence
        and margin >= policy.transfer_margin
    )
    common = dict(router_model_id=model_id, confidence=decision.confidence, scores=dict(decision.scores))
    if not wants_transfer:
        reason = (
            f"stays in {current}: best {decision.department_id} {decision.confidence:.2f}, "
            f"current {current_score:.2f} (transfer needs >= {policy.transfer_confidence:.2f} "
            f"and margin >= {policy.transfer_margin:.2f})"
        )
        if managed and decision.department_id != current:
            reason += f"; etiquette {etiquette_score:.2f} > routing confidence: conversation management, no transfer"
        elif answer_only and decision.department_id != current:
            reason += "; no word beyond placeholders and function words: an answer, no transfer"
        return RoutingOutcome(current, RoutingTrace(department_id=current, method="sticky", reason=reason, **common))
    reason = (
        f"router transfer {current} -> {decision.department_id}: confidence "
        f"{decision.confidence:.2f} >= {policy.transfer_confidence:.2f}, margin {margin:.2f} "
        f">= {policy.transfer_margin:.2f}"
    )
    transfer = TransferRecord(
        turn=turn, from_department=current, to_department=decision.department_id,
        trigger="router", reason=reason,
    )
    trace = RoutingTrace(department_id=decision.department_id, method="router_transfer", reason=reason, **common)
    return RoutingOutcome(decision.department_id, trace, transfer)


def _check_known(spec: AgentSpec, decision: RouteDecision) -> None:
    known = {d.id for d in spec.departments}
    if decision.department_id not in known:
        raise ValueError(
            f"router returned unknown department {decision.department_id!r}; known: {sorted(known)}"
        )
