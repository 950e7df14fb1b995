"""The proposal documents mining hands to review: guidelines.json and departments.json.

Why frozen pydantic models: proposals are small structured records a reviewer reads, edits in a
notebook and approves into an agent spec; one declared shape (with `schema_version`) lets the
review stage reject a file written by an incompatible miner instead of mis-reading it. Every
score carries the counts it was computed from so a reviewer can re-derive it by hand.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from guideminer.engine.spec import Position  # noqa: F401  (one definition: where a positional move holds)

PROPOSALS_SCHEMA_VERSION = 3  # 2: condition_scope, state "after"; 3: readable rules, habits (scopes), canned templates

ConditionState = Literal["any", "first", "later", "after"]  # "after": right after the agent move `after_action`
ConditionScope = Literal["all", "department"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClusterRef(_Frozen):
    """A cluster as the proposal saw it; `signature` is the content hash used in stable ids."""

    cluster_id: int
    role: Literal["customer", "agent"]
    size: int
    keywords: list[str]
    representative_texts: list[str]
    name: str | None = None
    signature: str


class GuidelineCounts(_Frozen):
    """The raw counts behind every guideline score (occurrence = one condition turn)."""

    condition_occurrences: int  # condition turns with at least one agent turn after them
    followed_occurrences: int  # ... whose action window contains the action cluster
    condition_conversations: int
    followed_conversations: int  # = support
    all_occurrences: int  # every customer turn with an agent turn after it (base-rate denominator)
    action_occurrences: int  # ... of those whose window contains the action cluster
    next_move_counts: dict[int, int]  # agent cluster of the first reply -> count, for consistency


class GuidelineScores(_Frozen):
    support: int = Field(description="conversations where the condition occurred and the action followed")
    confidence: float = Field(description="P(action in window | condition), per occurrence")
    base_rate: float = Field(description="P(action in window | any customer turn)")
    lift: float = Field(description="confidence / base_rate")
    consistency: float = Field(description="1 - normalised entropy of the agents' first reply move")
    top_move_share: float = Field(description="share of the most frequent first reply move")


class EvidenceExample(_Frozen):
    conversation_id: str
    condition_turn_index: int
    action_turn_index: int
    # the turn that said the open need an answer turn continues (mining/open_need.py); None: the
    # condition is the condition turn's own words
    need_turn_index: int | None = None

    @property
    def said_turn_index(self) -> int:
        """The turn whose words the condition is."""
        return self.condition_turn_index if self.need_turn_index is None else self.need_turn_index


class RateComparison(_Frozen):
    """Binary outcome rate when the guideline was followed vs not, with uncertainty."""

    outcome: str  # e.g. "outcome=resolved"
    followed_n: int
    followed_positive: int
    not_followed_n: int
    not_followed_positive: int
    followed_rate: float | None
    not_followed_rate: float | None
    followed_interval: tuple[float, float] | None  # Wilson 95 %
    not_followed_interval: tuple[float, float] | None
    difference: float | None  # followed_rate - not_followed_rate
    z: float | None  # two-proportion z (pooled)
    p_value: float | None  # two-sided
    expected_impact: float | None  # difference x not_followed_n: outcomes gained if always followed


class MeanComparison(_Frozen):
    """A numeric outcome (csat) when followed vs not: means, counts, difference and its SE."""

    outcome: str
    followed_n: int
    not_followed_n: int
    followed_mean: float | None
    not_followed_mean: float | None
    difference: float | None
    standard_error: float | None  # Welch SE of the difference


class GuidelineOutcomes(_Frozen):
    rates: list[RateComparison] = Field(default_factory=list)
    means: list[MeanComparison] = Field(default_factory=list)
    expected_impact: float | None = None  # of the primary rate (the first in `rates`)


class ProposalScope(_Frozen):
    """One mined variant a habit was merged from (mining/habits.py): where and when it holds."""

    guideline_id: str
    department_id: str | None
    condition_scope: ConditionScope
    condition_state: ConditionState
    condition_cluster_id: int
    action_cluster_id: int
    after_action_cluster_id: int | None = None
    support: int
    confidence: float


class TemplateField(_Frozen):
    """A field of a canned template: what varies across the move's turns (mining/templates.py)."""

    name: str
    kind: str  # DATE, TIME, AMOUNT, NUMBER, NAME, REFERENCE, VALUE, or a redaction type (EMAIL, ...)
    source: Literal["tool_result", "session_variable"]
    distinct_values: int


class CannedTemplate(_Frozen):
    """The action as an approvable reply: the move's shared wording, instance details as fields."""

    text: str
    fields: list[TemplateField] = Field(default_factory=list)


class GuidelineProposal(_Frozen):
    """When <condition> then <action>, proposed from clustered turns; never from a single turn."""

    guideline_id: str
    rank: int
    condition_text: str
    action_text: str
    rule_text: str
    condition_state: ConditionState
    condition: ClusterRef
    action: ClusterRef
    action_window: int
    scores: GuidelineScores
    counts: GuidelineCounts
    evidence: list[EvidenceExample]
    outcomes: GuidelineOutcomes | None = None
    department_id: str | None = None
    after_action: ClusterRef | None = None  # the previous agent move, for condition_state "after"
    condition_scope: ConditionScope = "all"  # "department": counted in its department's conversations only
    phrased_by: str = "template"
    # Conversation etiquette (greeting, thanks, hold, "anything else?", spelling / confirming):
    # manages the conversation rather than serving a need, so it is exported into the global
    # etiquette set that applies in every department (AgentSpec.etiquette), not into one.
    is_etiquette: bool = False
    # the condition is the conversation's open need, its occurrences the customer's answers to
    # `after_action` within it (mining/open_need.py); judged on the need's message at run time
    continues_need: bool = False
    # an etiquette rule whose condition is the customer's answer to a need's last step, answered
    # by conversation management ("A replacement please." -> "That's everything on my side"):
    # how need flows end (guidelines.py `etiquette_occurrences`)
    ends_need: bool = False
    # a positional move (mining/openers.py): holds at this point of the conversation, whatever the
    # customer's words (the opening greeting; the identification question after the need);
    # `condition` is the point itself (openers.POSITION_CLUSTER_IDS, no customer turns)
    position: Position | None = None
    # an etiquette move the agents say alone and then wait for the customer (etiquette.py
    # `standalone_moves`): the department's moves held by context wait for the next turn
    stands_alone: bool = False
    # readable rule material (mining/phrasing.py): representative turns, instance details as <TYPE>
    condition_examples: list[str] = Field(default_factory=list)
    action_examples: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)  # the clusters' keywords: for search, never the rule
    # one proposal per habit (mining/habits.py): every mined variant it stands for
    scopes: list[ProposalScope] = Field(default_factory=list)
    merged_from: list[str] = Field(default_factory=list)
    canned: CannedTemplate | None = None  # the action as a template (mining/templates.py)


class GuidelineSet(_Frozen):
    schema_version: int = PROPOSALS_SCHEMA_VERSION
    thresholds: dict[str, bool | float | int | None]  # None: a test switched off
    ranked_by: str
    n_conversations: int
    proposals: list[GuidelineProposal]


class Department(_Frozen):
    department_id: str
    name: str
    keywords: list[str]
    situation_cluster_ids: list[int]
    situations: list[ClusterRef]
    n_conversations: int
    traffic_share: float
    example_openings: list[str]  # representative texts of its situations (cluster-level, not raw)
    guideline_ids: list[str]
    transfer_rate: float  # conversations routed here whose later situations belong elsewhere


class KCandidate(_Frozen):
    """One candidate number of departments and the criterion values behind the choice."""

    k: int
    silhouette: float
    transfer_rate: float


class DepartmentSet(_Frozen):
    schema_version: int = PROPOSALS_SCHEMA_VERSION
    criterion: str
    chosen_k: int
    candidates: list[KCandidate]
    embedding_weight: float
    n_conversations: int
    overall_transfer_rate: float  # share of routed conversations whose later situations belong elsewhere
    unrouted_conversations: int  # no customer turn at all: department_id "unrouted", confidence 0
    departments: list[Department]
