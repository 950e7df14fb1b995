"""The assembled demo catalog: a validated index for the generator and its hidden-truth export.

Joins `demo_catalog_situations`, `demo_catalog_moves` and `demo_catalog_guidelines`, checks
every reference once (a typo in the catalog fails loudly instead of producing odd data) and
exposes the catalog half of the hidden truth as frozen pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from guideminer.ingest import demo_catalog as cat
from guideminer.ingest.demo_catalog_calls import CALL_GUIDELINES, CALL_MOVES, CALL_REPLIES
from guideminer.ingest.demo_catalog_guidelines import GUIDELINES as CHAT_GUIDELINES
from guideminer.ingest.demo_catalog_moves import MOVES as CHAT_MOVES
from guideminer.ingest.demo_catalog_situations import SITUATIONS

# How often a conversation starts in each department; the first situation of a department is
# twice as common as its others, so situation frequencies are uneven as in real traffic.
MOVES = (*CHAT_MOVES, *CALL_MOVES)  # call moves appear only in call-style corpora
GUIDELINES = (*CHAT_GUIDELINES, *CALL_GUIDELINES)
DEPARTMENT_WEIGHTS = {"orders": 0.25, "returns": 0.2, "billing": 0.17, "tech": 0.15, "account": 0.13, "subscriptions": 0.1}


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DemoDepartment(FrozenModel):
    id: str
    name: str
    situation_ids: tuple[str, ...]


class DemoSituation(FrozenModel):
    id: str
    name: str
    department_id: str
    description: str


class DemoMove(FrozenModel):
    id: str
    description: str
    is_etiquette: bool = False  # conversation management, not serving a need (demo_catalog.Move)


class DemoGuideline(FrozenModel):
    """condition_situation_id None: a generic guideline (greeting, closing, transfer, ...)."""

    id: str
    condition_situation_id: str | None
    action_move_id: str
    condition: str
    action: str
    qualifier: str | None = None


@dataclass(frozen=True)
class CatalogIndex:
    situations: dict[str, cat.Situation]
    moves: dict[str, cat.Move]
    steps: dict[str, tuple[cat.Guideline, ...]]  # unqualified guidelines per situation, in order
    qualified: dict[str, tuple[cat.Guideline, ...]]
    situation_ids: tuple[str, ...]
    situation_weights: tuple[float, ...]
    team_by_department: dict[str, str]


def _check_references(situations: dict[str, cat.Situation], moves: dict[str, cat.Move]) -> None:
    departments = {d.id for d in cat.DEPARTMENTS}
    ids = [g.id for g in GUIDELINES] + list(moves) + list(situations)
    if len(ids) != len(set(ids)):
        raise ValueError("demo catalog ids (situations, moves, guidelines) must be unique")
    for guideline in GUIDELINES:
        if guideline.move_id not in moves or guideline.situation_id not in (None, *situations):
            raise ValueError(f"demo guideline {guideline.id!r} references an unknown move or situation")
    for situation in situations.values():
        if situation.department_id not in departments:
            raise ValueError(f"demo situation {situation.id!r} has unknown department {situation.department_id!r}")
    for move in moves.values():
        if move.expects is not None and move.expects not in cat.REPLIES and move.expects not in CALL_REPLIES:
            raise ValueError(f"demo move {move.id!r} expects unknown reply kind {move.expects!r}")


@cache
def catalog_index() -> CatalogIndex:
    """Index the catalog once, failing loudly on a dangling reference."""
    situations = {s.id: s for s in SITUATIONS}
    moves = {m.id: m for m in MOVES}
    _check_references(situations, moves)
    steps = {s: tuple(g for g in GUIDELINES if g.situation_id == s and g.qualifier is None) for s in situations}
    qualified = {s: tuple(g for g in GUIDELINES if g.situation_id == s and g.qualifier) for s in situations}
    first_of_department = {d.id: next(s.id for s in SITUATIONS if s.department_id == d.id) for d in cat.DEPARTMENTS}
    weights = tuple(
        DEPARTMENT_WEIGHTS[s.department_id] * (2.0 if first_of_department[s.department_id] == s.id else 1.0)
        for s in SITUATIONS
    )
    teams = {d.id: d.team for d in cat.DEPARTMENTS}
    return CatalogIndex(situations, moves, steps, qualified, tuple(situations), weights, teams)


def catalog_truth() -> dict[str, Any]:
    """Departments, situations, moves and guidelines as JSON-ready data (the truth.json body)."""
    departments = [
        DemoDepartment(id=d.id, name=d.name, situation_ids=tuple(s.id for s in SITUATIONS if s.department_id == d.id))
        for d in cat.DEPARTMENTS
    ]
    situations = [
        DemoSituation(id=s.id, name=s.name, department_id=s.department_id, description=s.description)
        for s in SITUATIONS
    ]
    moves = [DemoMove(id=m.id, description=m.description, is_etiquette=m.etiquette) for m in MOVES]
    guidelines = [
        DemoGuideline(
            id=g.id,
            condition_situation_id=g.situation_id,
            action_move_id=g.move_id,
            condition=g.condition,
            action=g.action,
            qualifier=g.qualifier,
        )
        for g in GUIDELINES
    ]
    return {
        name: [record.model_dump(mode="json") for record in records]
        for name, records in (
            ("departments", departments),
            ("situations", situations),
            ("moves", moves),
            ("guidelines", guidelines),
        )
    }
