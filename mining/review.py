"""Review of mined proposals: an append-only decision log and its pure replay.

Why a log and not an edited copy of guidelines.json: mining is re-run as data grows, and a
reviewer's work must survive it. Each decision names a proposal by its stable `guideline_id`
(content-derived, see `guideminer.mining.guidelines`), so replaying the log over freshly mined
proposals re-attaches every decision whose proposal still exists and reports the rest as
orphans; nothing is dropped silently. The log (`WORKSPACE/review/decisions.jsonl`) is
append-only: a later decision on the same proposal supersedes an earlier one, and who / when /
why stay on record.

Decision kinds:
- accept / reject (reject needs a reason) / reset (back to pending) / defer (look again later:
  not exported, never auto-accepted, counted as reviewed);
- edit: new condition and/or action wording and/or canned template (implies accept);
- merge: fold `other_ids` into `guideline_id` (their evidence joins it; they leave the spec);
- split: a new guideline `new_id` derived from `guideline_id` with its own wording (accepted);
- rename_department / merge_departments (fold `other_ids` departments into `department_id`).
"""

from __future__ import annotations

import getpass
import json
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from guideminer.mining.proposals import read_proposals
from guideminer.mining.proposals_schema import DepartmentSet, GuidelineProposal, GuidelineSet

DECISIONS_FILE = "review/decisions.jsonl"
Status = Literal["pending", "accepted", "rejected", "deferred"]
DecisionKind = Literal["accept", "reject", "reset", "defer", "edit", "merge", "split",
                       "rename_department", "merge_departments"]
GUIDELINE_KINDS = {"accept", "reject", "reset", "defer", "edit", "merge", "split"}
_STATUS_OF = {"accept": "accepted", "reject": "rejected", "reset": "pending", "defer": "deferred"}


class ReviewError(ValueError):
    """A decision that cannot apply; the message names the decision and the proposal."""


class Decision(BaseModel):
    """One reviewer decision (one line of decisions.jsonl)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DecisionKind
    who: str = Field(min_length=1)
    at: datetime
    why: str = ""
    guideline_id: str | None = None
    department_id: str | None = None
    other_ids: tuple[str, ...] = ()
    new_id: str | None = None
    condition_text: str | None = None
    action_text: str | None = None
    canned_template: str | None = None  # `{field}` placeholders, `{{`/`}}` for literal braces
    name: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Decision:
        needs = {"edit": ("guideline_id",), "merge": ("guideline_id", "other_ids"),
                 "split": ("guideline_id", "new_id"), "rename_department": ("department_id", "name"),
                 "merge_departments": ("department_id", "other_ids")}.get(self.kind, ())
        if self.kind in _STATUS_OF:
            needs = ("guideline_id",)
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.kind} decision needs {', '.join(missing)}")
        if self.kind == "reject" and not self.why.strip():
            raise ValueError("a reject decision needs a reason (why)")
        if self.kind == "edit" and not (self.condition_text or self.action_text or self.canned_template):
            raise ValueError("an edit decision needs condition_text, action_text and/or canned_template")
        if self.kind == "split" and not (self.condition_text or self.action_text):
            raise ValueError("a split decision needs condition_text and/or action_text")
        if self.canned_template is not None:
            template_field_names(self.canned_template)
        return self

    def describe(self) -> str:
        target = self.guideline_id or self.department_id
        return f"{self.kind} of {target!r} by {self.who} at {self.at.isoformat(timespec='seconds')}"


@dataclass(frozen=True)
class ReviewedGuideline:
    """A proposal (or a split-off) after the decisions: its status and final wording."""

    guideline_id: str
    proposal: GuidelineProposal
    status: Status
    condition_text: str
    action_text: str
    department_id: str | None
    merged_from: tuple[str, ...] = ()
    decided_by: tuple[str, ...] = ()  # describe() of every decision that touched it
    canned_template: str | None = None  # the reviewer's template; None: the mined action medoid


@dataclass
class ReviewedProposals:
    guidelines: dict[str, ReviewedGuideline]
    department_names: dict[str, str]  # department_id -> (possibly renamed) name
    department_merges: dict[str, str]  # merged department_id -> surviving department_id
    orphans: list[Decision] = field(default_factory=list)  # decisions whose proposal is gone

    def accepted(self) -> list[ReviewedGuideline]:
        return [g for g in self.guidelines.values() if g.status == "accepted"]

    def department_of(self, department_id: str | None) -> str | None:
        while department_id in self.department_merges:
            department_id = self.department_merges[department_id]
        return department_id


def template_field_names(template: str) -> tuple[str, ...]:
    """The `{field}` names of a canned template; a ReviewError for positional, attribute, indexed
    or formatted fields (the runtime fills plain names only) and for unbalanced braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ReviewError(f"canned template {template!r}: {error} (write {{{{ or }}}} for a literal brace)") from error
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ReviewError(f"canned template {template!r}: field {{{name}}} must be a plain name like {{order_id}}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def decisions_path(workspace: Path) -> Path:
    return Path(workspace) / DECISIONS_FILE


def read_decisions(workspace: Path) -> list[Decision]:
    """Every decision in log order; a malformed line is an error naming its line number."""
    path = decisions_path(workspace)
    if not path.is_file():
        return []
    decisions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            decisions.append(Decision.model_validate_json(line))
        except ValidationError as error:
            raise ReviewError(f"{path}:{number}: not a valid decision ({error.errors()[0]['msg']})") from error
    return decisions


def record_decision(workspace: Path, kind: DecisionKind, *, who: str | None = None, why: str = "",
                    validate: bool = True, **fields) -> Decision:
    """Append one decision to the log, after checking it applies to the current proposals."""
    decision = Decision(kind=kind, who=who or getpass.getuser(), at=datetime.now(UTC), why=why, **fields)
    return record_decisions(workspace, [decision], validate=validate)[0]


def record_decisions(workspace: Path, decisions: Sequence[Decision], *, validate: bool = True) -> list[Decision]:
    """Append several decisions at once (all or none): each must apply after the ones before it."""
    if validate:
        guidelines, departments = read_proposals(workspace)
        reviewed = apply_decisions(guidelines, departments, [*read_decisions(workspace), *decisions])
        orphans = [d for d in decisions if d in reviewed.orphans]
        if orphans:
            raise ReviewError(f"{orphans[0].describe()}: no such proposal in {workspace}")
    path = decisions_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write("".join(decision.model_dump_json() + "\n" for decision in decisions))
    return list(decisions)


def new_decision(kind: DecisionKind, who: str, why: str = "", **fields) -> Decision:
    """A decision signed by `who` now (not yet recorded)."""
    return Decision(kind=kind, who=who, at=datetime.now(UTC), why=why, **fields)


def review_workspace(workspace: Path) -> ReviewedProposals:
    guidelines, departments = read_proposals(workspace)
    return apply_decisions(guidelines, departments, read_decisions(workspace))


def apply_decisions(guidelines: GuidelineSet, departments: DepartmentSet,
                    decisions: Iterable[Decision]) -> ReviewedProposals:
    """Replay `decisions` in order over the proposals (pure; same inputs, same result)."""
    state = ReviewedProposals(
        guidelines={p.guideline_id: _pending(p) for p in guidelines.proposals},
        department_names={d.department_id: d.name for d in departments.departments},
        department_merges={},
    )
    for decision in decisions:
        if decision.kind in GUIDELINE_KINDS:
            _apply_guideline_decision(state, decision)
        else:
            _apply_department_decision(state, decision)
    _check_merges(state)
    return state


def _pending(proposal: GuidelineProposal) -> ReviewedGuideline:
    return ReviewedGuideline(proposal.guideline_id, proposal, "pending", proposal.condition_text,
                             proposal.action_text, proposal.department_id)


def _touched(current: ReviewedGuideline, decision: Decision, **changes) -> ReviewedGuideline:
    values = {**current.__dict__, **changes, "decided_by": (*current.decided_by, decision.describe())}
    return ReviewedGuideline(**values)


def _apply_guideline_decision(state: ReviewedProposals, decision: Decision) -> None:
    ids = [decision.guideline_id, *decision.other_ids] if decision.kind == "merge" else [decision.guideline_id]
    if any(i not in state.guidelines for i in ids):
        state.orphans.append(decision)
        return
    current = state.guidelines[decision.guideline_id]
    kind = decision.kind
    if kind in _STATUS_OF:
        state.guidelines[current.guideline_id] = _touched(current, decision, status=_STATUS_OF[kind])
    elif kind == "edit":
        state.guidelines[current.guideline_id] = _touched(
            current, decision, status="accepted", condition_text=decision.condition_text or current.condition_text,
            action_text=decision.action_text or current.action_text,
            canned_template=decision.canned_template or current.canned_template)
    elif kind == "merge":
        _merge(state, current, decision)
    elif kind == "split":
        if decision.new_id in state.guidelines:
            raise ReviewError(f"{decision.describe()}: split id {decision.new_id!r} already exists")
        state.guidelines[decision.new_id] = ReviewedGuideline(
            decision.new_id, current.proposal, "accepted", decision.condition_text or current.condition_text,
            decision.action_text or current.action_text, current.department_id, (),
            (decision.describe(),))


def _merge(state: ReviewedProposals, survivor: ReviewedGuideline, decision: Decision) -> None:
    if survivor.guideline_id in decision.other_ids:
        raise ReviewError(f"{decision.describe()}: cannot merge {survivor.guideline_id!r} into itself")
    if survivor.status == "rejected":
        raise ReviewError(f"{decision.describe()}: {survivor.guideline_id!r} was rejected; cannot absorb others")
    for other_id in decision.other_ids:
        if state.guidelines[other_id].status == "rejected":
            raise ReviewError(f"{decision.describe()}: {other_id!r} was rejected; reset it before merging")
    for other_id in decision.other_ids:
        state.guidelines[other_id] = _touched(state.guidelines[other_id], decision, status="rejected")
    state.guidelines[survivor.guideline_id] = _touched(
        survivor, decision, status="accepted", merged_from=(*survivor.merged_from, *decision.other_ids))


def _apply_department_decision(state: ReviewedProposals, decision: Decision) -> None:
    ids = [decision.department_id, *decision.other_ids]
    if any(i not in state.department_names for i in ids):
        state.orphans.append(decision)
        return
    if decision.kind == "rename_department":
        state.department_names[decision.department_id] = decision.name or ""
        return
    for other in decision.other_ids:
        if other == decision.department_id:
            raise ReviewError(f"{decision.describe()}: cannot merge department {other!r} into itself")
        state.department_merges[other] = decision.department_id


def _check_merges(state: ReviewedProposals) -> None:
    """A guideline merged into a survivor that was later rejected is a conflict, not a loss."""
    for reviewed in state.guidelines.values():
        if reviewed.merged_from and reviewed.status == "rejected":
            raise ReviewError(
                f"guideline {reviewed.guideline_id!r} absorbed {list(reviewed.merged_from)} by a merge and was "
                "later rejected: reset the merged proposals or accept it")


def summary_rows(reviewed: ReviewedProposals) -> list[dict]:
    """One flat row per guideline for notebook tables (status, wording, scores, evidence count)."""
    rows = []
    for g in sorted(reviewed.guidelines.values(), key=lambda g: (g.proposal.rank, g.guideline_id)):
        scores = g.proposal.scores
        rows.append({"guideline_id": g.guideline_id, "status": g.status, "rank": g.proposal.rank,
                     "department": reviewed.department_names.get(reviewed.department_of(g.department_id) or "", ""),
                     "condition": g.condition_text, "action": g.action_text, "support": scores.support,
                     "confidence": round(scores.confidence, 3), "lift": round(scores.lift, 2),
                     "evidence": len(g.proposal.evidence), "merged_from": ", ".join(g.merged_from)})
    return rows


def load_decisions_jsonl(lines: Sequence[str]) -> list[Decision]:
    """Decisions from JSON lines (for tests and tools that keep logs elsewhere)."""
    return [Decision.model_validate(json.loads(line)) for line in lines if line.strip()]
