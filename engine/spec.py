"""The approved agent spec: what the runtime agent may do, as frozen pydantic models.

The spec is the contract between review (humans approve mined proposals) and the runtime engine,
so it is strict: frozen models, `extra="forbid"` (a typo in YAML is an error, not an ignored key),
an explicit `schema_version`, and cross-reference checks (relationship endpoints, canned-response
guideline ids, tools, transfers, unique ids) that run on every construction, not just on load.
Loading and dumping YAML lives in `guideminer.engine.spec_io`.
"""

from __future__ import annotations

import string
from collections import Counter
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
HAND_WRITTEN = "hand-written"
DEFAULT_FALLBACK = "I'm sorry, I can't help with that right now. Let me connect you with a colleague."
DEFAULT_CLARIFY = "Hello! Could you tell me a little more about what you need help with?"
Position = Literal["conversation_start", "first_need"]  # where a positional move holds (mining/openers.py)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Criticality(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        """Numeric order used to sort active guidelines (high first)."""
        return {"low": 0, "medium": 1, "high": 2}[self.value]


class CompositionMode(str, Enum):
    """How a reply is produced; see `guideminer.engine.compose` for the exact rules."""

    fluid = "fluid"  # the composer model writes the reply, guided by the active guidelines
    canned_strict = "canned_strict"  # only approved canned responses, else the safe fallback
    canned_fluid = "canned_fluid"  # canned responses when they cover the turn, else fluid


class RelationKind(str, Enum):
    priority = "priority"  # source overrides target: both active -> target suppressed
    dependency = "dependency"  # source may be active only if target is active
    entailment = "entailment"  # source active -> target active


class ToolParam(_Frozen):
    """One argument of a tool; turned into a pydantic field by `guideminer.engine.tools`."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str = ""
    required: bool = True
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None


class ToolSpec(_Frozen):
    """A tool the department may call; its implementation is registered separately."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    description: str
    params: tuple[ToolParam, ...] = ()

    @model_validator(mode="after")
    def _unique_params(self) -> ToolSpec:
        dupes = _duplicates(p.name for p in self.params)
        if dupes:
            raise ValueError(f"duplicate parameter names: {', '.join(dupes)}")
        return self


class Guideline(_Frozen):
    """When `condition` holds, do `action`; without an action it is an observation, there so
    relationships (dependency, entailment) and the composer can use that a condition holds."""

    id: str = Field(pattern=IDENTIFIER)
    condition: str = Field(min_length=1)
    # Customer messages for which the condition holds (mined: representative turns of the
    # condition cluster). Matching compares a message with the condition *and* these, because
    # a short rule text and real customer wording live far apart in embedding space.
    examples: tuple[str, ...] = ()
    # Agent messages after which alone the condition can hold (mined state "after": "yes" only
    # means "play it" right after "shall I play it?"); empty: no such restriction.
    after_examples: tuple[str, ...] = ()
    # The condition is a need the customer said earlier, and this guideline is a later step of
    # it (mined: answer turns take their open need as condition, mining/open_need.py): judged on
    # the conversation's customer messages so far, not the latest one, which only answers the
    # agent's previous move ("It's order 4031" means "check the tracking" when the parcel never
    # arrived and "confirm the cancellation" when the customer wanted to cancel).
    continues_need: bool = False
    # The agent move the action makes (mined: its action cluster, with clusters of the same move
    # phrased apart). Guidelines of one move say the same thing: right after one of them, another
    # is no answer ("Can you confirm the last 4 digits?" after "Which card was it? The last four
    # digits, please." from a near-duplicate rule). None: a move of its own.
    move: str | None = None
    # Ends a need's flow ("That's everything on my side. Anything else?"; mined: the etiquette
    # set's managed endings): never said together with a department move (matching.endings_yield:
    # a department step placed by the previous move wins; else the ending wins over word matches).
    ends_flow: bool = False
    # A positional move (mined: mining/openers.py), held at its point only whatever the words:
    # "conversation_start" (the agent has not spoken), "first_need" (a department opens).
    position: Position | None = None
    # said alone, the agents then wait for the customer (a read-back, a hold): moves.department_waits
    stands_alone: bool = False
    action: str | None = None
    # Detail kinds the action's question asks for (mined: kinds most answers to it carry,
    # mining/asks_for.py): not asked again once the customer said them (engine/asked.py).
    asks_for: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    transfer_to: str | None = None
    criticality: Criticality = Criticality.medium
    priority: int = 0
    tags: tuple[str, ...] = ()
    provenance: str = HAND_WRITTEN

    @property
    def is_observation(self) -> bool:
        return self.action is None and not self.tools and self.transfer_to is None


class Relationship(_Frozen):
    kind: RelationKind
    source: str
    target: str

    @model_validator(mode="after")
    def _not_self(self) -> Relationship:
        if self.source == self.target:
            raise ValueError(f"a {self.kind.value} relationship cannot link {self.source!r} to itself")
        return self


class CannedResponse(_Frozen):
    """An approved reply text; `{field}` placeholders come from tool results / session variables.

    `needs_tool`: the text states an outcome only a system can know or bring about ("I've
    cancelled it", "I can see the return was received"). It is sent only on a turn where a tool
    of the guideline it serves ran without error; otherwise the agent would claim what nobody did
    (compose.py leaves that instruction out, so the reply hands off instead)."""

    id: str = Field(pattern=IDENTIFIER)
    template: str = Field(min_length=1)
    guideline_ids: tuple[str, ...] = Field(min_length=1)
    needs_tool: bool = False
    # the claim-free opening of the `needs_tool` reply with this id (mining/claims.py
    # `claim_free_part`): sent when no tool ran, a partial answer ranked after full ones
    part_of: str | None = None
    # Said only before another move's reply (mined: an opening's sentences that ask nothing,
    # mining/claims.py `lead_in_part`): "Hi, thanks for contacting Larkfield!", then the answer.
    lead_in: bool = False
    # Read-back fields (field -> kind: PERSON_4, EMAIL, ...; mined: fields the customer had said
    # before): filled from the customer's own messages only (engine/echoes.py).
    echoes: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _simple_fields(self) -> CannedResponse:
        unknown = sorted(set(self.echoes) - set(template_fields(self.template)))  # raises on odd fields
        if unknown:
            raise ValueError(f"canned response {self.id}: echoes name no field of its template: {', '.join(unknown)}")
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        return template_fields(self.template)


class GlossaryTerm(_Frozen):
    term: str = Field(min_length=1)
    definition: str
    synonyms: tuple[str, ...] = ()


class InterchangeableWords(_Frozen):
    """Words customers use in the same frames without changing what the agent does (mined slot
    fillers, mining/slots.py: "toaster", "smartwatch"), read as `replacement` by every text the
    engine embeds, as mining read them. Why: an embedding weighs the product name heavily ("The
    toaster came damaged" vs "the smartwatch came damaged": cosine 0.45 with MiniLM)."""

    replacement: str = Field(min_length=1)
    members: tuple[str, ...] = Field(min_length=1)


class Department(_Frozen):
    id: str = Field(pattern=IDENTIFIER)
    name: str
    description: str
    # Messages that open a conversation belonging here (mined: the department's opening
    # situations' medoids and up to 40 real openings of the conversations mined into it,
    # mining/routing_examples.py); the receptionist routes on these and the guideline conditions.
    routing_examples: tuple[str, ...] = ()
    guidelines: tuple[Guideline, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    canned_responses: tuple[CannedResponse, ...] = ()
    glossary: tuple[GlossaryTerm, ...] = ()
    composition_mode: CompositionMode | None = None  # None: use the agent's default

    def guideline(self, guideline_id: str) -> Guideline:
        for guideline in self.guidelines:
            if guideline.id == guideline_id:
                return guideline
        raise KeyError(f"department {self.id!r} has no guideline {guideline_id!r}")

    def tool(self, name: str) -> ToolSpec:
        for tool in self.tools:
            if tool.name == name:
                return tool
        raise KeyError(f"department {self.id!r} declares no tool {name!r}")


class Receptionist(_Frozen):
    """The entry point: routes the first customer message once; never answers topics itself."""

    id: str = Field(default="receptionist", pattern=IDENTIFIER)
    name: str = "Receptionist"
    clarify_message: str = DEFAULT_CLARIFY
    # asked after an etiquette reply that asks nothing while routing waits for a need: "Hi" ->
    # "Thanks for reaching out to Larkfield. How can I help you today?"
    need_question: str = "How can I help you today?"


class AgentSpec(_Frozen):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: str
    description: str = ""
    composition_mode: CompositionMode = CompositionMode.fluid
    fallback_message: str = DEFAULT_FALLBACK
    receptionist: Receptionist = Receptionist()
    departments: tuple[Department, ...] = Field(min_length=1)
    # The global conversation-etiquette set (greetings, thanks, holds, "anything else?",
    # confirmations): managing the conversation is not a customer need, so it belongs to no
    # department. Its guidelines are evaluated every turn in every department, and before the
    # receptionist has routed. Ids are unique across it and all departments.
    etiquette: Department | None = None
    interchangeable_words: tuple[InterchangeableWords, ...] = ()
    filler_phrases: tuple[str, ...] = ()  # openers/closers around any need, read away (mining/fillers.py)

    @model_validator(mode="after")
    def _references_resolve(self) -> AgentSpec:
        problems = find_reference_problems(self)
        if problems:
            raise SpecReferenceError(problems)
        return self

    @property
    def guideline_sets(self) -> tuple[Department, ...]:
        """Every department and then the etiquette set, if any: all the guidelines of the agent."""
        return (*self.departments, *((self.etiquette,) if self.etiquette is not None else ()))

    def department(self, department_id: str) -> Department:
        for department in self.departments:
            if department.id == department_id:
                return department
        raise KeyError(f"agent {self.name!r} has no department {department_id!r}")

    def mode_for(self, department: Department) -> CompositionMode:
        return department.composition_mode or self.composition_mode


class SpecReferenceError(ValueError):
    """Cross-reference problems, each with the field path it concerns (for error messages)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))


def template_fields(template: str) -> tuple[str, ...]:
    """Field names of a canned template; only plain `{name}` fields are allowed.

    Why so strict: canned templates are rendered with untrusted values, and attribute/index
    access or format specs would let a template reach into objects or fail half-way.
    """
    names: list[str] = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"template field {{{field}}} must be a plain name like {{order_id}}")
        if field not in names:
            names.append(field)
    return tuple(names)


def _duplicates(values) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def find_reference_problems(spec: AgentSpec) -> list[tuple[str, str]]:
    """Every dangling or duplicate reference in the spec, as (field path, problem)."""
    department_ids = {d.id for d in spec.departments}
    located = [(f"departments.{i}", d) for i, d in enumerate(spec.departments)]
    if spec.etiquette is not None:
        located.append(("etiquette", spec.etiquette))
    problems = _repeats(
        [("receptionist.id", spec.receptionist.id)] + [(f"{path}.id", d.id) for path, d in located],
        "department id",
    )
    problems += _repeats(
        [(f"{path}.guidelines.{j}.id", g.id) for path, d in located for j, g in enumerate(d.guidelines)],
        "guideline id",
    )
    problems += _repeats(
        [(f"{path}.canned_responses.{j}.id", c.id) for path, d in located for j, c in enumerate(d.canned_responses)],
        "canned response id",
    )
    for path, department in located:
        problems += _department_problems(department, path, department_ids)
    return problems


def _repeats(located: list[tuple[str, str]], what: str) -> list[tuple[str, str]]:
    """One problem per repeated value, at the path of the repeat, naming the first use."""
    first_seen: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for path, value in located:
        if value in first_seen:
            problems.append((path, f"duplicate {what} {value!r} (first used at {first_seen[value]})"))
        else:
            first_seen[value] = path
    return problems


def _department_problems(
    department: Department, path: str, department_ids: set[str]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    guideline_ids = {g.id for g in department.guidelines}
    tool_names = [t.name for t in department.tools]
    problems += _repeats([(f"{path}.tools.{i}.name", n) for i, n in enumerate(tool_names)], "tool name")
    problems += _repeats(
        [(f"{path}.glossary.{i}.term", t.term) for i, t in enumerate(department.glossary)], "glossary term"
    )
    for g_index, guideline in enumerate(department.guidelines):
        g_path = f"{path}.guidelines.{g_index}"
        for tool in guideline.tools:
            if tool not in tool_names:
                problems.append((f"{g_path}.tools", f"tool {tool!r} is not declared in {path}.tools"))
        target = guideline.transfer_to
        if target is not None and (target not in department_ids or target == department.id):
            problems.append((f"{g_path}.transfer_to", f"{target!r} is not another department"))
    for r_index, relation in enumerate(department.relationships):
        for end in ("source", "target"):
            if getattr(relation, end) not in guideline_ids:
                problems.append(
                    (f"{path}.relationships.{r_index}.{end}",
                     f"unknown guideline {getattr(relation, end)!r} in department {department.id!r}")
                )
    cycle = _priority_cycle(department.relationships)
    if cycle:
        problems.append((f"{path}.relationships", f"priority cycle {' > '.join(cycle)}"))
    for c_index, canned in enumerate(department.canned_responses):
        for guideline_id in canned.guideline_ids:
            if guideline_id not in guideline_ids:
                problems.append(
                    (f"{path}.canned_responses.{c_index}.guideline_ids",
                     f"unknown guideline {guideline_id!r} in department {department.id!r}")
                )
    return problems


def _priority_cycle(relationships: tuple[Relationship, ...]) -> list[str] | None:
    """A cycle in the priority graph, if any: it would make suppression order-dependent."""
    edges: dict[str, list[str]] = {}
    for relation in relationships:
        if relation.kind is RelationKind.priority:
            edges.setdefault(relation.source, []).append(relation.target)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, [])):
            if state.get(nxt) == 1:
                path = stack + [node]
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return None
