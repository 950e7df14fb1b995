"""Read-back fields: fill a template's echo fields from what the customer said.

Why: agents read back what the caller just spelled or gave ("So that's S-M-I-T-H, correct?",
"I have jane@example.com"). Mined as a template, the name is a field; without a value the reply
is unsendable and the customer is handed off (on the call-style demo, 139 of 2,062 held-out
answers). Repeating the customer's own words is no invented fact, so such a field is filled
from the customer's messages - never from anything else.

Rule: a template's echo fields of one numbered kind read back one entity ("So that's
{person_4} spelled {person_4_2}" - a name and its spelling, one <PERSON_4> in the mined turns).
Each such group takes one of the *last* entities of its kind in the latest customer message
that has any (a read-back is of what was just said), preferring entities said as often as the
group repeats them: "yes its Smith S M I T H and the first name is Jane" reads back "Smith" and
"S M I T H", not "Jane". A kind no customer message has leaves its fields empty: not sent.
The default finder sees the typed placeholders of redacted text (`<PERSON_3>`, `<EMAIL>`: what
replayed, redacted conversations carry) and e-mail addresses; the runtime can bind a PII
recogniser for raw names and numbers (offline_runtime/pii_reading.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from guideminer.engine.protocols import EchoFinder
from guideminer.engine.session import Message
from guideminer.engine.spec import CannedResponse

PLACEHOLDER = re.compile(r"<([A-Z][A-Z]*(?:_[A-Z]+)*)(?:_\d+)?>")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def base_kind(kind: str) -> str:
    """"PERSON_3" -> "PERSON": the placeholder's index names one customer, not a kind."""
    return re.sub(r"_\d+$", "", kind)


class PlaceholderEchoes:
    """EchoFinder over typed placeholders and e-mail addresses (module docstring)."""

    model_id = "placeholder-echoes"

    def spans(self, text: str) -> list[tuple[str, str]]:
        found = [(m.start(), m.group(1), m.group(0)) for m in PLACEHOLDER.finditer(text)]
        found += [(m.start(), "EMAIL", m.group(0)) for m in _EMAIL.finditer(text)]
        return [(kind, surface) for _, kind, surface in sorted(found)]


def _entities(spans: list[tuple[str, str]], kind: str) -> list[list[str]]:
    """The message's entities of `kind`, in order of first mention, each with its surfaces: a
    numbered kind (PERSON_3) is one entity however often said (a name and its spelling)."""
    entities: dict[str, list[str]] = {}
    for full, surface in spans:
        if base_kind(full) == kind:
            entities.setdefault(full if full != kind else f"{kind}:{surface}", []).append(surface)
    return list(entities.values())


def _groups(canned: CannedResponse) -> dict[str, list[list[str]]]:
    """Base kind -> the template's echo fields grouped by entity (fields of one numbered kind,
    "{person_4} spelled {person_4_2}", read back one entity), in template order."""
    groups: dict[str, dict[str, list[str]]] = {}
    for field in canned.fields:
        if field in canned.echoes:
            kind = canned.echoes[field]
            groups.setdefault(base_kind(kind), {}).setdefault(kind, []).append(field)
    return {kind: list(by_entity.values()) for kind, by_entity in groups.items()}


def echo_values(canned: CannedResponse, conversation: Sequence[Message], finder: EchoFinder) -> dict[str, str]:
    """Field -> value for `canned.echoes` from the customer's messages, latest first: each group
    of fields takes one of the last entities of its kind said, preferring entities said as
    often as the group repeats them (a name and its spelling)."""
    groups = _groups(canned)
    values: dict[str, str] = {}
    customer = [m.text for m in reversed(conversation) if m.role == "customer"]
    for kind, entity_groups in groups.items():
        for text in customer:
            entities = _entities(finder.spans(text), kind)
            if not entities:
                continue
            for i, fields in enumerate(entity_groups):
                repeated = [e for e in entities if len(e) >= len(fields)] or entities
                chosen = repeated[-len(entity_groups):]
                surfaces = chosen[min(i, len(chosen) - 1)]
                values.update({f: surfaces[min(j, len(surfaces) - 1)] for j, f in enumerate(fields)})
            break
    return values


class _Memo:
    """One finder call per message text within a turn (a PII recogniser takes milliseconds)."""

    def __init__(self, finder: EchoFinder) -> None:
        self.finder, self.seen = finder, {}

    def spans(self, text: str) -> list[tuple[str, str]]:
        if text not in self.seen:
            self.seen[text] = self.finder.spans(text)
        return self.seen[text]


def echo_fields(canned: Sequence[CannedResponse], conversation: Sequence[Message], finder: EchoFinder,
                guideline_ids: set[str]) -> Mapping[str, dict[str, str]]:
    """Canned id -> its echo field values, for the canned responses with echoes serving
    `guideline_ids` (this turn's instructions)."""
    memo = _Memo(finder)
    return {c.id: values for c in canned if c.echoes and guideline_ids & set(c.guideline_ids)
            and (values := echo_values(c, conversation, memo))}
