"""The review notebook's widgets: every proposal reachable, one decided at a time, by a named person.

Why decisions only on click: the log is the audit trail of what people decided. Building the
widget, paging, filtering and selecting never write; each button press appends exactly one
decision through `record_decision` (validated against the current proposals) with the reviewer's
name from the notebook's parameters cell. `apply` records a list of decisions the same way, for
runs that pass them in as a parameter (CI, or a reviewer replaying notes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import ipywidgets as widgets

from guideminer.mining.export_spec import template_from_text
from guideminer.mining.review import (
    Decision,
    ReviewedGuideline,
    ReviewError,
    new_decision,
    record_decision,
    record_decisions,
    review_workspace,
    template_field_names,
)
from guideminer.mining.review_html import proposal_card
from guideminer.mining.review_queue import (
    SORT_KEYS,
    QueueFilter,
    evidence_conversations,
    expected_impact,
    page,
    page_count,
    progress,
    queue,
)

PAGE_SIZE = 15
EVIDENCE_SHOWN = 4
_ANY = "any"


def mined_template(guideline: ReviewedGuideline) -> str:
    """The canned template export would use: the reviewer's, else the mined template (instance
    details as fields), else one made from the action cluster's medoid. Before, the medoid came
    first: the reviewer saw (and a "save edit" kept) one customer's delivery date as the reply."""
    if guideline.canned_template is not None:
        return guideline.canned_template
    if guideline.proposal.canned is not None:
        return guideline.proposal.canned.text
    texts = [t for t in guideline.proposal.action.representative_texts if t.strip()]
    return template_from_text(texts[0]) if texts else ""


def option_label(guideline: ReviewedGuideline) -> str:
    impact = expected_impact(guideline)
    impact_text = "  n/a" if impact is None else f"{impact:+5.1f}"
    text = f"When {guideline.condition_text}, {guideline.action_text}"
    return (f"[{guideline.status[:3]}] #{guideline.proposal.rank:<4} sup {guideline.proposal.scores.support:<4} "
            f"imp {impact_text}  {text[:110]}")


class ReviewApp:
    """Filters, a paged list, the selected proposal's card and the decision buttons."""

    def __init__(self, workspace: Path | str, reviewer: str, page_size: int = PAGE_SIZE) -> None:
        self.workspace, self.reviewer, self.page_size = Path(workspace), reviewer.strip(), page_size
        self.reviewed = review_workspace(self.workspace)
        self.page_number = 0
        self._build_controls()
        self._refresh_list()
        if not self.reviewer:
            for button in self.buttons.values():
                button.disabled = True
            self.message.value = "<b>Read-only:</b> set <code>reviewer</code> in the parameters cell to decide."

    # ---- layout -------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        w = widgets
        departments = sorted({d: n for d, n in self.reviewed.department_names.items()
                              if d not in self.reviewed.department_merges}.items(), key=lambda kv: kv[1])
        self.department = w.Dropdown(options=[(_ANY, None), *((n, d) for d, n in departments)], index=0,
                                      description="department")
        self.etiquette = w.Dropdown(options=[(_ANY, None), ("etiquette only", True), ("department rules", False)],
                                    index=0, description="etiquette")
        self.status = w.Dropdown(options=[(_ANY, None), *((s, s) for s in ("pending", "accepted", "rejected", "deferred"))],
                                 index=0, description="status")
        self.min_support = w.BoundedIntText(value=0, min=0, max=10**9, description="support ≥")
        self.min_impact = w.Text(value="", placeholder=_ANY, description="impact ≥")
        self.sort = w.Dropdown(options=list(SORT_KEYS), value="impact", description="sort by")
        for control in (self.department, self.etiquette, self.status, self.min_support, self.sort):
            control.observe(lambda _: self._refresh_list(reset_page=True), names="value")
        self.min_impact.observe(lambda _: self._refresh_list(reset_page=True), names="value")
        self.previous_page, self.next_page = w.Button(description="◀ previous"), w.Button(description="next ▶")
        self.previous_page.on_click(lambda _: self._turn_page(-1))
        self.next_page.on_click(lambda _: self._turn_page(+1))
        self.page_label, self.progress_label = w.HTML(), w.HTML()
        self.progress_bar = w.IntProgress(min=0, max=max(1, len(self.reviewed.guidelines)))
        self.choice = w.Select(options=[], rows=self.page_size, layout=w.Layout(width="100%"))
        self.choice.observe(lambda _: self._show_selected(), names="value")
        self.card = w.HTML()
        self.condition = w.Textarea(description="condition", layout=w.Layout(width="100%"))
        self.action = w.Textarea(description="action", layout=w.Layout(width="100%"))
        self.template = w.Textarea(description="canned", layout=w.Layout(width="100%", height="60px"))
        self.template_fields = w.HTML()
        self.template.observe(lambda _: self._show_fields(), names="value")
        self.merge_others = w.SelectMultiple(options=[], rows=5, description="merge in", layout=w.Layout(width="100%"))
        self.reason = w.Text(description="reason", placeholder="why (required to reject)", layout=w.Layout(width="60%"))
        self.message = w.HTML()
        buttons = {"accept": ("success", self._accept), "save edit": ("info", self._edit),
                   "merge selected in": ("", self._merge), "reject": ("danger", self._reject),
                   "defer": ("warning", self._defer)}
        self.buttons = {}
        for label, (style, handler) in buttons.items():
            self.buttons[label] = w.Button(description=label, button_style=style)
            self.buttons[label].on_click(lambda _, handler=handler: self._decide(handler))
        self.view = w.VBox([
            w.HBox([self.progress_bar, self.progress_label]),
            w.HBox([self.department, self.etiquette, self.status]),
            w.HBox([self.min_support, self.min_impact, self.sort]),
            w.HBox([self.previous_page, self.next_page, self.page_label]), self.choice, self.card,
            w.HTML("<b>Decide</b> (each button appends one signed decision to review/decisions.jsonl)"),
            self.condition, self.action, self.template, self.template_fields, self.merge_others,
            w.HBox([self.reason, *self.buttons.values()]), self.message])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)

    # ---- state -> widgets ----------------------------------------------------------------------
    def current_filter(self) -> QueueFilter:
        impact_text = self.min_impact.value.strip()
        try:
            min_impact = float(impact_text) if impact_text else None
        except ValueError:
            self.message.value = f"<span style='color:#b00'>impact ≥ {impact_text!r} is not a number; ignored</span>"
            min_impact = None
        return QueueFilter(department_id=self.department.value, etiquette=self.etiquette.value,
                           status=self.status.value, min_support=self.min_support.value, min_impact=min_impact,
                           sort=self.sort.value)

    def visible(self) -> list[ReviewedGuideline]:
        return queue(self.reviewed, self.current_filter())

    def _refresh_list(self, reset_page: bool = False) -> None:
        items = self.visible()
        pages = page_count(len(items), self.page_size)
        self.page_number = 0 if reset_page else min(self.page_number, pages - 1)
        shown = page(items, self.page_number, self.page_size)
        keep = self.choice.value
        self.choice.options = [(option_label(g), g.guideline_id) for g in shown]
        ids = [g.guideline_id for g in shown]
        self.choice.value = keep if keep in ids else (ids[0] if ids else None)
        self.page_label.value = f"page {self.page_number + 1} / {pages} &nbsp; ({len(items)} proposals match)"
        self.previous_page.disabled, self.next_page.disabled = self.page_number == 0, self.page_number >= pages - 1
        self.merge_others.options = [(option_label(g), g.guideline_id) for g in items]
        done = progress(self.reviewed)
        self.progress_bar.value, self.progress_label.value = done.reviewed, f"<b>{done.line()}</b>"
        self._show_selected()

    def _turn_page(self, step: int) -> None:
        self.page_number += step
        self._refresh_list()

    def selected(self) -> ReviewedGuideline | None:
        return self.reviewed.guidelines.get(self.choice.value) if self.choice.value else None

    def _show_selected(self) -> None:
        guideline = self.selected()
        if guideline is None:
            self.card.value = "<i>no proposal matches the filters</i>"
            return
        evidence = evidence_conversations(self.workspace, guideline, limit=EVIDENCE_SHOWN)
        self.card.value = proposal_card(self.reviewed, guideline, evidence)
        self.condition.value, self.action.value = guideline.condition_text, guideline.action_text
        self.template.value = mined_template(guideline)
        self.merge_others.value = ()

    def _show_fields(self) -> None:
        try:
            names = template_field_names(self.template.value)
        except ReviewError as error:
            self.template_fields.value = f"<span style='color:#b00'>{error}</span>"
            return
        self.template_fields.value = "fields: " + (", ".join(f"<code>{{{n}}}</code>" for n in names) or "none")

    # ---- decisions (only from a click or `apply`) ------------------------------------------------
    def _decide(self, handler) -> None:
        guideline = self.selected()
        if guideline is None:
            self.message.value = "select a proposal first"
            return
        try:
            decision = handler(guideline)
        except (ReviewError, ValueError) as error:
            self.message.value = f"<span style='color:#b00'>not recorded: {error}</span>"
            return
        self._after(decision)

    def _signer(self) -> str:
        if not self.reviewer:
            raise ReviewError("set `reviewer` in the parameters cell to your name: every decision is signed")
        return self.reviewer

    def _record(self, kind: str, **fields) -> Decision:
        return record_decision(self.workspace, kind, who=self._signer(), **fields)

    def _accept(self, g: ReviewedGuideline) -> Decision:
        return self._record("accept", guideline_id=g.guideline_id, why=self.reason.value.strip())

    def _reject(self, g: ReviewedGuideline) -> Decision:
        return self._record("reject", guideline_id=g.guideline_id, why=self.reason.value.strip())

    def _defer(self, g: ReviewedGuideline) -> Decision:
        return self._record("defer", guideline_id=g.guideline_id, why=self.reason.value.strip())

    def _edit(self, g: ReviewedGuideline) -> Decision:
        changes = {"condition_text": self.condition.value.strip(), "action_text": self.action.value.strip(),
                   "canned_template": self.template.value.strip()}
        unchanged = {"condition_text": g.condition_text, "action_text": g.action_text,
                     "canned_template": mined_template(g)}
        edited = {k: v for k, v in changes.items() if v and v != unchanged[k]}
        if not edited:
            raise ReviewError("nothing changed: edit the condition, the action or the canned template first")
        return self._record("edit", guideline_id=g.guideline_id, why=self.reason.value.strip(), **edited)

    def _merge(self, g: ReviewedGuideline) -> Decision:
        others = tuple(i for i in self.merge_others.value if i != g.guideline_id)
        if not others:
            raise ReviewError("pick the proposals to merge into this one in 'merge in' first")
        return self._record("merge", guideline_id=g.guideline_id, other_ids=others, why=self.reason.value.strip())

    def _after(self, decision: Decision) -> None:
        self.reviewed = review_workspace(self.workspace)
        self.reason.value = ""
        self.message.value = f"recorded: {decision.describe()}"
        self._refresh_list()

    def apply(self, decisions: Iterable[Mapping]) -> list[Decision]:
        """Record each `{"kind": ..., "guideline_id": ..., ...}` as this reviewer, in order."""
        requests = [dict(request) for request in decisions]
        if not requests:
            return []
        recorded = record_decisions(self.workspace, [new_decision(r.pop("kind"), self._signer(), **r) for r in requests])
        if recorded:
            self._after(recorded[-1])
        return recorded
