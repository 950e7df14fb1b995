"""Canned responses as templates: what varies across an action cluster's turns becomes a field.

Why: the most representative agent turn of a move cluster is one agent's reply to one customer
("it should be with you by Saturday April 15"). Sent to every customer it is a confident false
statement. A template keeps what the agents' turns share and turns what varies into named fields
(`{date}`) that the runtime fills from a tool result or a session variable; in `canned_strict`
mode a template with an unfilled field is never sent (engine/compose.py).

What varies, from the cluster's member turns (representatives and evidence turns):
1. typed instance details (`guideminer.engine.instances`: dates, times, amounts, counts, names,
   references, redaction placeholders) whose value is not shared by at least
   `CONSTANT_SHARE` of the members ("the last 4 digits" said by every agent stays text; with
   fewer than `MIN_MEMBERS` members nothing counts as shared, so every detail becomes a field);
2. short spans of the base turn that most other members replace with different words at the same
   place (token alignment, difflib): entity values the patterns cannot see ("a cheap place" /
   "a moderate place"), field kind VALUE. A word most members say somewhere in their turn is
   wording, never a field, wherever the alignment puts it ("Anything else I can help with?" /
   "Is there anything else I can help with?": "anything" stays), and so are function words and
   the few verbs agents swap freely ("would you like / want to ...").
Redaction placeholders of ingest (`<ADDRESS>`, `<PERSON_1>`) are always fields, however many
members carry one: each hides a different customer's fact.

Where each field's value comes from: `session_variable` when, in most member turns, the value
was said earlier in the conversation by the customer (the agent echoes it: "a table for 4"),
else `tool_result` (the agent looked it up: a delivery date, a price, a booking reference).
"""

from __future__ import annotations

import difflib
import re

import polars as pl
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from guideminer.engine.instances import EXISTING, instance_spans

CONSTANT_SHARE = 0.5  # a detail said by at least this share of the members is the habit's own wording
MIN_MEMBERS = 3
VARIED_SHARE = 0.34  # a base token replaced in at least this share of members (and kept in fewer) varies
MAX_VALUE_TOKENS = 3
MAX_FILLER_SHARE = 0.5  # one wording said in more of a place's replacements is a paraphrase, not a value
SOURCE_SHARE = 0.5
MEMBER_LIMIT = 30  # member turns per action cluster read for a template
_TOKEN = re.compile(r"\{\{|\}\}|\{\w+\}|\w+(?:'\w+)?|[^\w\s]")
STOP = frozenset("""a an the to of in on at for by with and or but is are was were be been it this that
there here you your i we our me my us they them their he she his her its do does did can could would
will shall should may might have has had not no yes please so if as from about up out just any some
what which when where who how want like wish need""".split())  # the last four: agents' paraphrases


@dataclass(frozen=True)
class Member:
    """One agent turn of the cluster and what the customer had said before it in its conversation."""

    text: str
    earlier_customer_text: str = ""


@dataclass(frozen=True)
class Field:
    name: str  # template field name, e.g. "date", "date_2", "value"
    kind: str  # instance type, e.g. "DATE", "VALUE"
    source: str  # "tool_result" | "session_variable"
    distinct_values: int  # how many different values the members show here


@dataclass(frozen=True)
class Template:
    text: str  # with `{field}` fields, other braces escaped
    fields: tuple[Field, ...]


def _normal(value: str) -> str:
    return " ".join(value.lower().split())


def constant_values(members: Sequence[Member]) -> set[str]:
    """Detail values shared by at least CONSTANT_SHARE of the members and by at least MIN_MEMBERS
    of them (so none below MIN_MEMBERS members: two turns naming one theatre out of three members
    are two customers of that theatre, not the move's wording). A redaction placeholder
    (`<ADDRESS>`) is never one: it hides a different fact in each turn."""
    if len(members) < MIN_MEMBERS:
        return set()
    counts = Counter(v for m in members for v in {_normal(s.value) for s in instance_spans(m.text)
                                                  if not EXISTING.fullmatch(s.value)})
    return {v for v, c in counts.items() if c >= max(CONSTANT_SHARE * len(members), MIN_MEMBERS)}


def _varied_positions(base: list[str], others: list[list[str]]) -> set[int]:
    """Base token positions that other members replace by different short spans (module docstring).

    Tokens are compared case-folded ("Anything" opens a sentence, "anything" follows "is there"),
    and a base token that most members say anywhere in their turn (more than 1 - VARIED_SHARE of
    them) is the move's own wording even where the alignment pairs it with other words: members
    reorder a shared phrase ("Anything else I can help with?" / "Can I help with anything else?").
    A place most of whose replacements say one same wording is a paraphrase too ("... I can help
    you with?" / "... I can do for you?" in 26 of 29 replacements, SGD): a value differs from one
    customer to the next, so no one plain wording dominates it (typed details do: `_top_wording`)."""
    base_folded = [t.lower() for t in base]
    others = [[t.lower() for t in other] for other in others]
    replaced, kept, fillers = Counter(), Counter(), {}  # fillers: position -> Counter of replacements
    for other in others:
        matcher = difflib.SequenceMatcher(a=base_folded, b=other, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                kept.update(range(i1, i2))
            elif op == "replace" and i2 - i1 <= MAX_VALUE_TOKENS and j2 - j1 <= MAX_VALUE_TOKENS:
                replaced.update(range(i1, i2))
                for i in range(i1, i2):
                    fillers.setdefault(i, Counter())[" ".join(other[j1:j2])] += 1
    n = len(others)
    said = Counter(t for other in others for t in set(other))
    return {i for i, c in replaced.items()
            if c >= VARIED_SHARE * n and kept[i] < VARIED_SHARE * n and len(fillers[i]) >= 2
            and _top_wording(fillers[i]) <= MAX_FILLER_SHARE * c
            and said[base_folded[i]] <= (1 - VARIED_SHARE) * n
            and base_folded[i] not in STOP and re.fullmatch(r"\w+(?:'\w+)?", base[i])}


def _top_wording(fillers: Counter) -> int:
    """How often the most said plain-word replacement was said; a typed detail (`{name}`: another
    customer's restaurant) is a value however often it comes, so it never counts."""
    return max((n for filler, n in fillers.items() if "{" not in filler), default=0)


def _source(kind: str, value_sets: list[tuple[set[str], str]]) -> str:
    """session_variable when most members' values of this kind were said before by the customer."""
    said = [any(v.replace(" ", "") in earlier.replace(" ", "") for v in values) for values, earlier in value_sets if values]
    return "session_variable" if said and sum(said) >= SOURCE_SHARE * len(said) else "tool_result"


def build_template(members: Sequence[Member]) -> Template | None:
    """The template of an action cluster from its member turns, the first being the most
    representative (module docstring); None without a non-empty member."""
    members = [m for m in members if m.text.strip()]
    if not members:
        return None
    base = _typical_base(members)
    constant = constant_values(members)
    spans = [s for s in instance_spans(base) if _normal(s.value) not in constant]
    names: Counter[str] = Counter()
    fields: list[Field] = []
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(_escape(base[position:span.start]))
        field = _field(span.kind, names, members, constant)
        fields.append(field)
        pieces.append("{" + field.name + "}")
        position = span.end
    pieces.append(_escape(base[position:]))
    text = "".join(pieces)
    text, value_fields = _value_fields(text, members, names)
    return Template(text=text, fields=tuple(fields + value_fields))


def _typical_base(members: Sequence[Member]) -> str:
    """The most representative member with no more redaction placeholders than the median member.
    Why: a redaction false positive ("<PERSON_4> me bring in a supervisor": "Let" read as a name)
    in the top member would make every reply start with an unfillable field, while the other
    members say "Let"; a cluster whose members all carry one ("Thanks, <PERSON_1>") keeps it."""
    counts = [len(EXISTING.findall(m.text)) for m in members]
    median = sorted(counts)[(len(counts) - 1) // 2]
    return next(m.text.strip() for m, n in zip(members, counts) if n <= median)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _field(kind: str, names: Counter, members: Sequence[Member], constant: set[str]) -> Field:
    names[kind] += 1
    name = kind.lower() if names[kind] == 1 else f"{kind.lower()}_{names[kind]}"
    value_sets = [({_normal(s.value) for s in instance_spans(m.text) if s.kind == kind} - constant,
                   _normal(m.earlier_customer_text)) for m in members]
    distinct = len(set().union(*(values for values, _ in value_sets))) if value_sets else 0
    return Field(name=name, kind=kind, source=_source(kind, value_sets), distinct_values=distinct)


def _value_fields(text: str, members: Sequence[Member], names: Counter) -> tuple[str, list[Field]]:
    """Replace varied word spans of the (already typed) template by VALUE fields."""
    if len(members) < MIN_MEMBERS:
        return text, []
    matches = list(_TOKEN.finditer(text))
    others = [[m.group(0) for m in _TOKEN.finditer(typed_text(member.text))] for member in members[1:]]
    varied = _varied_positions([m.group(0) for m in matches], others)
    out, fields, position, index = [], [], 0, 0
    while index < len(matches):
        if index not in varied:
            index += 1
            continue
        end = index
        while end + 1 in varied:
            end += 1
        names["VALUE"] += 1
        name = "value" if names["VALUE"] == 1 else f"value_{names['VALUE']}"
        value = _normal(text[matches[index].start():matches[end].end()])
        said = [value in _normal(m.earlier_customer_text) for m in members]
        source = "session_variable" if sum(said) >= SOURCE_SHARE * len(said) else "tool_result"
        fields.append(Field(name=name, kind="VALUE", source=source, distinct_values=len(others) + 1))
        out.append(text[position:matches[index].start()] + "{" + name + "}")
        position = matches[end].end()
        index = end + 1
    out.append(text[position:])
    return "".join(out), fields


def typed_text(text: str) -> str:
    """Member text with its details as `{kind}` tokens, so alignment sees them as one token."""
    pieces, position = [], 0
    for span in instance_spans(text):
        pieces.append(text[position:span.start] + "{" + span.kind.lower() + "}")
        position = span.end
    return "".join(pieces) + text[position:]


def cluster_members(assignments: pl.DataFrame, turns: pl.DataFrame, cluster_ids: set[int],
                    limit: int = MEMBER_LIMIT) -> dict[int, list[Member]]:
    """Up to `limit` most typical (highest confidence) non-noise agent turns of each cluster,
    each with the customer's earlier turns of its conversation (for `Field.source`)."""
    chosen = (assignments.filter(pl.col("cluster_id").is_in(sorted(cluster_ids)) & ~pl.col("is_noise")
                                 & (pl.col("role").cast(pl.String) == "agent"))
              .sort("confidence", "conversation_id", "turn_index", descending=[True, False, False])
              .group_by("cluster_id", maintain_order=True).head(limit)
              .select("cluster_id", "conversation_id", "turn_index"))
    texts = turns.select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text")
    with_text = chosen.join(texts.select("conversation_id", "turn_index", "text"), on=["conversation_id", "turn_index"])
    customer = texts.filter(pl.col("role") == "customer").join(
        chosen.select("conversation_id", pl.col("turn_index").alias("action_turn")).unique(), on="conversation_id")
    earlier = (customer.filter(pl.col("turn_index") < pl.col("action_turn"))
               .sort("turn_index").group_by("conversation_id", "action_turn")
               .agg(pl.col("text").str.join(" ").alias("earlier")))
    rows = with_text.join(earlier, left_on=["conversation_id", "turn_index"], right_on=["conversation_id", "action_turn"],
                          how="left")
    members: dict[int, list[Member]] = {}
    for cluster, text, said in rows.select("cluster_id", "text", "earlier").iter_rows():
        members.setdefault(cluster, []).append(Member(text, said or ""))
    return members
