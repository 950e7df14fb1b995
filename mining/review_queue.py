"""What a reviewer works through: filtered, sorted, paged proposals, progress, and evidence as text.

Why a module of plain functions: the review notebook's widgets and `guideminer review` show the
same queue; the filtering, ordering, `--accept-where` parsing and evidence lookup live here,
tested, and both front-ends stay thin. Nothing in this module writes decisions.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from guideminer.ingest.schema import WORKSPACE_FILES
from guideminer.ingest.workspace import scan_turns
from guideminer.mining.review import ReviewedGuideline, ReviewedProposals, ReviewError, Status

SortKey = Literal["impact", "rank", "support", "confidence", "lift"]
SORT_KEYS: tuple[SortKey, ...] = ("impact", "rank", "support", "confidence", "lift")
# Names `--accept-where` understands; "precision" is the per-occurrence confidence
# P(action follows | condition), the miner's estimate of how often agents already do it.
METRICS = {"support": "support", "confidence": "confidence", "precision": "confidence", "lift": "lift",
           "consistency": "consistency", "top_move_share": "top_move_share", "base_rate": "base_rate",
           "impact": "impact", "rank": "rank"}
_OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
              "<": operator.lt}
_CLAUSE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")


@dataclass(frozen=True)
class QueueFilter:
    """Which proposals the reviewer sees; None means "any"."""

    department_id: str | None = None
    etiquette: bool | None = None  # True: only the global etiquette set; False: only department rules
    status: Status | None = None
    min_support: int = 0
    min_impact: float | None = None  # None: proposals without an outcome estimate stay visible
    sort: SortKey = "impact"


def expected_impact(reviewed: ReviewedGuideline) -> float | None:
    """Outcomes gained if the rule were always followed (mining/outcomes.py); None without outcomes."""
    outcomes = reviewed.proposal.outcomes
    return None if outcomes is None else outcomes.expected_impact


def metric_value(reviewed: ReviewedGuideline, metric: str) -> float:
    """A named score of a proposal (`METRICS`); a missing impact reads as -inf (never passes >=)."""
    if metric not in METRICS:
        raise ReviewError(f"unknown metric {metric!r}: use one of {', '.join(sorted(METRICS))}")
    name = METRICS[metric]
    if name == "impact":
        impact = expected_impact(reviewed)
        return -math.inf if impact is None else impact
    if name == "rank":
        return float(reviewed.proposal.rank)
    return float(getattr(reviewed.proposal.scores, name))


def _sort_key(sort: SortKey):
    if sort == "rank":
        return lambda g: (g.proposal.rank, g.guideline_id)
    return lambda g: (-metric_value(g, sort), g.proposal.rank, g.guideline_id)


def department_label(reviewed: ReviewedProposals, guideline: ReviewedGuideline) -> str:
    if guideline.proposal.is_etiquette:
        return "etiquette (every department)"
    department_id = reviewed.department_of(guideline.department_id)
    return reviewed.department_names.get(department_id or "", "no department")


def queue(reviewed: ReviewedProposals, chosen: QueueFilter = QueueFilter()) -> list[ReviewedGuideline]:
    """Every proposal that passes the filter, in the chosen order (nothing is capped here)."""
    def keep(g: ReviewedGuideline) -> bool:
        if chosen.department_id is not None and reviewed.department_of(g.department_id) != chosen.department_id:
            return False
        if chosen.etiquette is not None and g.proposal.is_etiquette != chosen.etiquette:
            return False
        if chosen.status is not None and g.status != chosen.status:
            return False
        if g.proposal.scores.support < chosen.min_support:
            return False
        return chosen.min_impact is None or metric_value(g, "impact") >= chosen.min_impact

    return sorted(filter(keep, reviewed.guidelines.values()), key=_sort_key(chosen.sort))


def page_count(n_items: int, page_size: int) -> int:
    return max(1, math.ceil(n_items / page_size))


def page(items: list, number: int, page_size: int) -> list:
    """Items of page `number` (0-based); a page past the end is an error, not an empty list."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    if not 0 <= number < page_count(len(items), page_size):
        raise IndexError(f"page {number} does not exist ({page_count(len(items), page_size)} pages)")
    return items[number * page_size:(number + 1) * page_size]


@dataclass(frozen=True)
class Progress:
    reviewed: int  # proposals with a decision that stands (accepted, rejected, deferred)
    total: int
    accepted: int
    rejected: int
    deferred: int

    def line(self) -> str:
        return (f"{self.reviewed} / {self.total} reviewed ({self.accepted} accepted, {self.rejected} rejected, "
                f"{self.deferred} deferred)")


def progress(reviewed: ReviewedProposals) -> Progress:
    statuses = [g.status for g in reviewed.guidelines.values()]
    counts = {s: statuses.count(s) for s in ("accepted", "rejected", "deferred")}
    return Progress(len(statuses) - statuses.count("pending"), len(statuses), **counts)


def parse_where(expression: str) -> list[tuple[str, str, float]]:
    """'support>=20 and precision>=0.8' -> [(metric, operator, value), ...]; no eval, a clear error."""
    clauses = []
    for text in re.split(r"\band\b", expression.strip()):
        match = _CLAUSE.match(text)
        if not match:
            raise ReviewError(f"cannot read {text.strip()!r} in {expression!r}: write clauses like "
                              "'support>=20 and precision>=0.8' joined by 'and'")
        metric, op, value = match.groups()
        if metric not in METRICS:
            raise ReviewError(f"unknown metric {metric!r} in {expression!r}: use one of {', '.join(sorted(METRICS))}")
        clauses.append((metric, op, float(value)))
    return clauses


def matching(reviewed: ReviewedProposals, expression: str, status: Status | None = "pending") -> list[ReviewedGuideline]:
    """Proposals (by default only pending ones) whose scores satisfy every clause."""
    clauses = parse_where(expression)
    candidates = queue(reviewed, QueueFilter(status=status, sort="rank"))
    return [g for g in candidates if all(_OPERATORS[op](metric_value(g, m), v) for m, op, v in clauses)]


@dataclass(frozen=True)
class EvidenceTurn:
    turn_index: int
    role: str
    text: str
    mark: Literal["condition", "action", ""]


@dataclass(frozen=True)
class EvidenceConversation:
    conversation_id: str
    turns: tuple[EvidenceTurn, ...]


def evidence_conversations(workspace: Path, guideline: ReviewedGuideline, limit: int = 5,
                           context: int = 2) -> list[EvidenceConversation]:
    """The first `limit` evidence conversations as (redacted) text, from a little before the
    condition turn to a little after the action turn, with both turns marked."""
    examples = guideline.proposal.evidence[:limit]
    if not examples:
        return []
    turns_file = Path(workspace) / WORKSPACE_FILES["turns"]
    ids = [e.conversation_id for e in examples]
    turns = (scan_turns(workspace).filter(pl.col("conversation_id").is_in(ids))
             .select("conversation_id", "turn_index", pl.col("role").cast(pl.String), "text").collect())
    by_id = turns.partition_by("conversation_id", as_dict=True)
    shown = []
    for example in examples:
        rows = by_id.get((example.conversation_id,))
        if rows is None:
            raise ReviewError(f"evidence conversation {example.conversation_id!r} of {guideline.guideline_id!r} "
                              f"is not in {turns_file} (re-mine after re-ingesting)")
        low, high = example.said_turn_index - context, example.action_turn_index + context
        window = rows.filter(pl.col("turn_index").is_between(low, high)).sort("turn_index")
        marks = {example.said_turn_index: "need", example.condition_turn_index: "condition",
                 example.action_turn_index: "action"}
        shown.append(EvidenceConversation(example.conversation_id, tuple(
            EvidenceTurn(r["turn_index"], r["role"], r["text"], marks.get(r["turn_index"], ""))
            for r in window.iter_rows(named=True))))
    return shown
