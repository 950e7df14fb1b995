"""A question the customer has already answered is not asked.

Why: a mined question move ("Which city would you like to look for events in?") holds for the
need's wording ("I want to find a concert"), and so also for "I want to find a concert in
Berkeley", where the city was just said; asking for it again is the first thing a caller
notices about a bot. On held-out SGD, asking for what was said was the largest single kind of
wrong move.

Rule: an applied guideline whose `asks_for` kinds (mined: the detail kinds most answers to its
question carry, mining/asks_for.py) were all said in the customer's messages of this
conversation is deferred when another applied department move that can be said is there to
answer instead (`sayable_moves`: a reply needing no tool's data, or a tool bound); with none,
asking again beats handing the customer off. Kinds are the
instance details of engine/instances.py (NAME, DATE, TIME, NUMBER, REFERENCE, ...), redaction
placeholders by base kind (PERSON, PHONE, EMAIL, ...) and whatever the bound `EchoFinder`
finds (a PII recogniser names raw live names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guideminer.engine.echoes import base_kind
from guideminer.engine.instances import instance_spans
from guideminer.engine.protocols import EchoFinder
from guideminer.engine.session import Message
from guideminer.engine.spec import AgentSpec, Guideline
from guideminer.engine.trace import GuidelineDecision, GuidelineStatus


def sayable_moves(spec: AgentSpec) -> frozenset[str]:
    """Guidelines with a tool bound, or a canned reply that states no outcome and has no field
    but read-backs: what can be said in place of a question without a hand-off."""
    return frozenset(g.id for d in spec.guideline_sets for g in d.guidelines if g.tools or any(
        g.id in c.guideline_ids and not c.needs_tool and set(c.fields) <= set(c.echoes) for c in d.canned_responses))


def detail_kinds(text: str, finder: EchoFinder | None = None) -> dict[str, str]:
    """Kind -> the first surface of it in `text` (module docstring)."""
    found: dict[str, str] = {}
    for span in instance_spans(text):
        found.setdefault(base_kind(span.kind), span.value)
    for kind, surface in (finder.spans(text) if finder is not None else ()):
        found.setdefault(base_kind(kind), surface)
    return found


def said_kinds(conversation: Sequence[Message], finder: EchoFinder | None = None) -> dict[str, str]:
    """Kind -> a surface of it, over every customer message of the conversation, latest first."""
    found: dict[str, str] = {}
    for message in reversed(conversation):
        if message.role == "customer":
            for kind, surface in detail_kinds(message.text, finder).items():
                found.setdefault(kind, surface)
    return found


def answered_questions(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline],
                       lanes: Mapping[str, str], conversation: Sequence[Message],
                       finder: EchoFinder | None = None, sayable: frozenset[str] | None = None) -> list[GuidelineDecision]:
    """`decisions` with each applied question whose every asked kind was said deferred (module docstring)."""
    asking = [d for d in decisions if d.status is GuidelineStatus.applied and guidelines[d.guideline_id].asks_for]
    if not asking:
        return decisions
    said = said_kinds(conversation, finder)
    applied = [d.guideline_id for d in decisions
               if d.status is GuidelineStatus.applied and lanes.get(d.guideline_id) == "department"
               and (sayable is None or d.guideline_id in sayable)]
    reasons = {}
    for decision in asking:
        kinds = guidelines[decision.guideline_id].asks_for
        others = [g for g in applied if g != decision.guideline_id and g not in reasons]
        if others and all(k in said for k in kinds):
            given = ", ".join(f"{k} ({said[k]!r})" for k in kinds)
            reasons[decision.guideline_id] = f"deferred: the customer already said what it asks for: {given}"
    return [d.model_copy(update={"status": GuidelineStatus.deferred, "reasons": [*d.reasons, reasons[d.guideline_id]]})
            if d.guideline_id in reasons else d for d in decisions]
