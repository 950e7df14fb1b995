"""Agent texts that state an outcome only a system can know or bring about.

Why: a mined canned reply is a real agent turn. "I've cancelled it for you", "A password reset link
is on its way" or "I can see the return was received" were true for the customer they were said
to, because that agent did the cancellation or looked it up. Sent by an agent with no tool, the
same words are a false statement to every later customer: the severe mistake compliance-first
design bounds. Export marks such templates `needs_tool` (engine/spec.py `CannedResponse`) and the
engine sends them only on a turn where a tool of the guideline ran; a reviewer binds the tool
(the tools file) or edits the text.

Deterministic and tuned for recall on support English (a missed claim is the costly error; a
false mark only hands one move off until a reviewer clears it): completed first-person actions
("I've processed", "I have issued"), outcome states ("that's cancelled now", "your refund has been
issued", "is on its way"), and looked-up facts ("I can see ...", "according to our system",
"I've checked").
"""

from __future__ import annotations

import re

from guideminer.engine.instances import instance_spans

_DONE_VERBS = (
    r"(?:cancel+ed|processed|issued|refunded|sent|arranged|booked|reserved|changed|updated|reset|unlocked|"
    r"applied|credited|scheduled|ordered|placed|submitted|removed|added|upgraded|downgraded|paused|"
    r"reactivated|renewed|closed|deleted|transferred|escalated|raised|logged|emailed|shipped|dispatched|"
    r"requested|initiated|started|made|set up|created|confirmed|approved|waived|extended|replaced|"
    r"resent|re-sent|registered|activated|deactivated|blocked|frozen|moved|corrected|fixed|sorted|"
    r"taken care of|gone ahead and \w+|flagged|reported|notified|filed|forwarded|lodged|signed (?:you |\w+ )?out|logged (?:you )?out)"
)
_OUTCOME_STATES = (
    r"(?:cancel+ed|done|booked|refunded|sorted|processed|reserved|confirmed|updated|changed|reset|"
    r"unlocked|scheduled|set up|approved|on (?:its|their|the) way|in progress|complete|completed|taken care of|"
    r"in transit|out for delivery|delivered)"
)
# looked-up facts: what follows one in the same reply reports the finding (`claim_free_part`)
_LOOKUP_PATTERNS = (
    r"\b(?:i|we)(?:'ve| have)?\s+(?:just\s+|already\s+)?(?:checked|looked (?:it |that |this )?up|verified|found|located|pulled up)\b",
    r"\bi can (?:now )?see\b",
    r"\baccording to (?:our|the|my) (?:system|records|tracking|notes)\b",
    r"\b(?:(?:our|the|your) )?(?:system|records?|tracking|account|order history) (?:shows?|says?|indicates?)\b",
)
_PATTERNS = (
    rf"\b(?:i|we)(?:'ve| have| just| now| already)*\s+(?:just\s+|now\s+|already\s+|also\s+|successfully\s+)?{_DONE_VERBS}\b",
    *_LOOKUP_PATTERNS,
    rf"\b(?:that|it|this|everything|all)(?:'s| is| has been| was)\s+(?:now\s+|all\s+|been\s+)?{_OUTCOME_STATES}\b",
    rf"\b(?:has|have) (?:now |just |already )?been {_DONE_VERBS}\b",
    r"\b(?:is|are) (?:now )?on (?:its|their|the) way\b",
    rf"\byour (?:\w+ ){{1,2}}(?:is|are|has been|have been|was|were) (?:now |all |been )?{_OUTCOME_STATES}\b",
    r"^\W*(?:done|all done|all set)\b",
    r"\b(?:i|we)(?:'ve| have) (?:just )?(?:checked|looked (?:it )?up|confirmed|verified|found)\b",
)
_CLAIM_RE = re.compile("|".join(_PATTERNS), re.IGNORECASE)


def states_outcome(text: str) -> bool:
    """True when an agent text states an outcome a tool must produce (see the module docstring)."""
    return _CLAIM_RE.search(text.replace("\u2019", "'")) is not None


# "You're right, it was charged twice" confirms what the account shows: a look-up too, for parts
_LOOKUP_RE = re.compile("|".join((*_LOOKUP_PATTERNS, r"\b(?:you're|you are) (?:right|correct)\b")), re.IGNORECASE)
# instance details a free part may not carry: only a system could know them for this customer
_FACT_KINDS = frozenset({"NAME", "DATE", "TIME", "AMOUNT", "REFERENCE", "POSTCODE"})
_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+")
_FIELD = re.compile(r"\{[A-Za-z_]\w*\}")
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
_WORDS = re.compile(r"[A-Za-z{}<>_']+")
MIN_STATEMENT_WORDS = 5


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_END.split(text.strip()) if c.strip()]


def _joined(clauses: list[str]) -> str:
    """Kept clauses as one text; a clause that ended in ';' ends the text with '.'."""
    return " ".join(c[:-1] + "." if c.endswith(";") else c for c in clauses)


def claim_free_part(text: str) -> str | None:
    """The clauses of a claiming `text` that state no outcome, when they still inform.

    Why: "Our return window is 30 days and returns are free; a prepaid label is on its way" is
    withheld whole without a tool, so a customer who asked two things gets one answer. Its
    first clause is a policy every agent states and is safe to send alone. Only the clauses before
    the first claim are kept: what follows a claim is mostly its consequence ("You'll get a
    confirmation email", "Check your spam folder if you don't see it") and would imply it was
    done. What is kept must hold a statement of at least `MIN_STATEMENT_WORDS` words: a bare "Is there anything else?" after
    a dropped "I've cancelled your plan" would tell the customer it was done. None when the text
    claims nothing (send it whole) or nothing informative is left. Never for a looked-up fact
    ("I found 3 events. One is at Warsaw on March 14th": the rest is the finding), nor when what
    is left has fields or instance details (a name, date, time, amount or reference): a free part
    is what every agent says to every customer."""
    if not states_outcome(text) or _LOOKUP_RE.search(text.replace("\u2019", "'")):
        return None
    clauses = _clauses(text)
    first_claim = next((i for i, c in enumerate(clauses) if states_outcome(c)), 0)  # 0: the claim spans clauses
    kept = clauses[:first_claim]
    statements = [c for c in kept if not c.endswith("?") and len(_WORDS.findall(c)) >= MIN_STATEMENT_WORDS]
    if not statements or any(_carries_facts(c) for c in kept):
        return None
    return _joined(kept)


def _carries_facts(clause: str) -> bool:
    return bool(_FIELD.search(clause)) or any(s.kind in _FACT_KINDS for s in instance_spans(clause))


def field_free_part(text: str) -> str | None:
    """The sentences of an etiquette reply that need no field, when some are left.

    Why: every greeting in a log introduces its agent ("Hi, thanks for contacting Larkfield! My
    name is {person_1}. How can I help you today?"): the name is redacted to a field no tool
    fills, so the habit was never said and the first reply lost its greeting. Conversation
    management survives without the name ("Hi, thanks for contacting Larkfield! How can I help
    you today?"); a department move without its fact does not, so this is for etiquette only.
    None when the text has no field or what is left has fewer than 3 words."""
    if not _FIELD.search(text):
        return None
    kept = [c for c in _clauses(text) if not _FIELD.search(c)]
    if len(_WORDS.findall(" ".join(kept))) < 3:
        return None
    return _joined(kept)


def lead_in_part(text: str) -> str | None:
    """The sentences of a greeting that ask nothing and need no field, when some are left and
    something was cut: what the opening says before the answer to a first message that already
    states the need ("Hi, thanks for contacting Larkfield!" - not "How can I help you today?"
    followed by the answer). None otherwise (fewer than 2 words left, or nothing to cut)."""
    clauses = _clauses(text)
    kept = [c for c in clauses if "?" not in c and not _FIELD.search(c)]
    if len(kept) == len(clauses) or len(_WORDS.findall(" ".join(kept))) < 2:
        return None
    return _joined(kept)


def kept_without_details(text: str) -> float:
    """Share of a raw reply's words in sentences with no redacted or instance detail (a name,
    date, reference...): how much of it an agent with no fact to fill could still say."""
    clauses = _clauses(text)
    total = sum(len(_WORDS.findall(c)) for c in clauses)
    kept = sum(len(_WORDS.findall(c)) for c in clauses if not _carries_details(c))
    return kept / total if total else 0.0


def _carries_details(clause: str) -> bool:
    """A redaction placeholder (<PERSON_1>: a field in the template) or a varying fact; a
    capitalised name is not counted here: the company's own name is the habit's wording."""
    return bool(_PLACEHOLDER.search(clause)) or any(s.kind in _FACT_KINDS - {"NAME"} for s in instance_spans(clause))
