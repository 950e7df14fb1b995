"""The review queue (filters, order, paging, --accept-where), evidence text, the widget and
`guideminer review`: all over the same append-only decisions log."""

from __future__ import annotations

from pathlib import Path

import pytest
from proposals_world import proposals_workspace
from typer.testing import CliRunner

from guideminer.cli import app
from guideminer.mining.export_spec import export_workspace
from guideminer.mining.review import ReviewError, read_decisions, record_decision, review_workspace
from guideminer.mining.review_queue import (
    QueueFilter,
    evidence_conversations,
    matching,
    page,
    page_count,
    parse_where,
    progress,
    queue,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return proposals_workspace(tmp_path)


def test_queue_filters_sorts_and_pages_every_proposal(workspace: Path) -> None:
    reviewed = review_workspace(workspace)
    everything = queue(reviewed)
    assert {g.guideline_id for g in everything} == set(reviewed.guidelines)
    supports = [g.proposal.scores.support for g in queue(reviewed, QueueFilter(sort="support"))]
    assert supports == sorted(supports, reverse=True)
    pages = [page(everything, n, 2) for n in range(page_count(len(everything), 2))]
    assert [g for p in pages for g in p] == everything
    with pytest.raises(IndexError):
        page(everything, page_count(len(everything), 2), 2)
    floor = sorted(supports)[len(supports) // 2]
    assert all(g.proposal.scores.support >= floor for g in queue(reviewed, QueueFilter(min_support=floor)))
    department = next(g.department_id for g in everything if g.department_id)
    only = queue(reviewed, QueueFilter(department_id=department))
    assert only and all(reviewed.department_of(g.department_id) == department for g in only)
    first = everything[0].guideline_id
    record_decision(workspace, "defer", who="ana", guideline_id=first, why="ask billing")
    reviewed = review_workspace(workspace)
    assert [g.guideline_id for g in queue(reviewed, QueueFilter(status="deferred"))] == [first]
    assert progress(reviewed).reviewed == 1 and progress(reviewed).deferred == 1


def test_accept_where_reads_clauses_without_eval(workspace: Path) -> None:
    assert parse_where("support>=20 and precision>=0.8") == [("support", ">=", 20.0), ("precision", ">=", 0.8)]
    for bad in ("support >= 20 or lift > 1", "__import__('os')", "recall>=0.5"):
        with pytest.raises(ReviewError):
            parse_where(bad)
    reviewed = review_workspace(workspace)
    floor = sorted(g.proposal.scores.support for g in reviewed.guidelines.values())[-2]
    chosen = matching(reviewed, f"support>={floor} and confidence>=0")
    assert chosen and {g.guideline_id for g in chosen} == {
        g.guideline_id for g in reviewed.guidelines.values() if g.proposal.scores.support >= floor}


def test_evidence_is_conversation_text_with_the_condition_and_action_turns_marked(workspace: Path) -> None:
    reviewed = review_workspace(workspace)
    guideline = queue(reviewed)[0]
    shown = evidence_conversations(workspace, guideline, limit=3)
    assert len(shown) == min(3, len(guideline.proposal.evidence))
    for conversation, example in zip(shown, guideline.proposal.evidence, strict=False):
        marks = {t.turn_index: t.mark for t in conversation.turns if t.mark}
        assert marks == {example.condition_turn_index: "condition", example.action_turn_index: "action"}
        condition_turn = next(t for t in conversation.turns if t.mark == "condition")
        assert condition_turn.role == "customer" and condition_turn.text


def test_widget_writes_only_on_click_and_signs_with_the_reviewer(workspace: Path) -> None:
    from guideminer.mining.review_widget import ReviewApp

    widget = ReviewApp(workspace, reviewer="ana", page_size=2)
    widget.sort.value = "support"
    widget.next_page.click()
    widget.status.value = "pending"
    assert read_decisions(workspace) == []
    assert "Evidence" in widget.card.value and "gm-condition" in widget.card.value
    selected = widget.choice.value
    widget.buttons["reject"].click()  # no reason: refused, nothing written
    assert read_decisions(workspace) == [] and "not recorded" in widget.message.value
    widget.reason.value = "too generic"
    widget.buttons["reject"].click()
    widget.choice.value = widget.choice.options[0][1]
    widget.template.value = "Sorry! Could you send {order_id}?"
    widget.buttons["save edit"].click()
    log = read_decisions(workspace)
    assert [(d.kind, d.who) for d in log] == [("reject", "ana"), ("edit", "ana")]
    assert log[0].guideline_id == selected and log[0].why == "too generic"
    assert log[1].canned_template == "Sorry! Could you send {order_id}?" and log[1].action_text is None
    assert widget.progress_label.value.startswith("<b>2 / ")
    spec = export_workspace(workspace, None).spec
    canned = {c.template for d in spec.departments for c in d.canned_responses}
    assert "Sorry! Could you send {order_id}?" in canned


def test_widget_without_a_reviewer_is_read_only(workspace: Path) -> None:
    from guideminer.mining.review_widget import ReviewApp

    widget = ReviewApp(workspace, reviewer="")
    assert all(b.disabled for b in widget.buttons.values())
    assert widget.apply([]) == []
    with pytest.raises(ReviewError, match="reviewer"):
        widget.apply([{"kind": "accept", "guideline_id": widget.choice.value}])
    assert read_decisions(workspace) == []


def test_widget_merge_and_apply(workspace: Path) -> None:
    from guideminer.mining.review_widget import ReviewApp

    widget = ReviewApp(workspace, reviewer="bo")
    ids = [value for _, value in widget.merge_others.options]
    widget.choice.value = ids[0]
    widget.merge_others.value = (ids[1],)
    widget.buttons["merge selected in"].click()
    assert review_workspace(workspace).guidelines[ids[0]].merged_from == (ids[1],)
    widget.apply([{"kind": "defer", "guideline_id": ids[2], "why": "later"}])
    assert [d.kind for d in read_decisions(workspace)] == ["merge", "defer"]
    with pytest.raises(ReviewError, match="no such proposal"):
        widget.apply([{"kind": "accept", "guideline_id": ids[3]}, {"kind": "accept", "guideline_id": "g-nope"}])
    assert len(read_decisions(workspace)) == 2  # all or none


def test_review_cli_lists_and_records(workspace: Path) -> None:
    runner = CliRunner()
    ids = [g.guideline_id for g in queue(review_workspace(workspace), QueueFilter(sort="rank"))]
    listed = runner.invoke(app, ["review", str(workspace), "--list", "--limit", "0"])
    assert listed.exit_code == 0, listed.output
    assert f"{len(ids)} of {len(ids)} matching" in listed.output and "0 / " in listed.output
    done = runner.invoke(app, ["review", str(workspace), "--accept", ids[0], ids[1], "--who", "ana"])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(app, ["review", str(workspace), "--reject", ids[2]])
    assert refused.exit_code == 1 and "reason" in refused.output
    runner.invoke(app, ["review", str(workspace), "--reject", ids[2], "--reason", "duplicate", "--who", "ana"])
    edited = runner.invoke(app, ["review", str(workspace), "--edit", ids[3], "--action", "ask for the order number",
                                 "--who", "ana"])
    assert edited.exit_code == 0, edited.output
    unknown = runner.invoke(app, ["review", str(workspace), "--accept", "g-nope"])
    assert unknown.exit_code == 1 and "g-nope" in unknown.output
    log = read_decisions(workspace)
    assert [(d.kind, d.guideline_id) for d in log] == [("accept", ids[0]), ("accept", ids[1]),
                                                       ("reject", ids[2]), ("edit", ids[3])]
    assert log[3].action_text == "ask for the order number" and {d.who for d in log} == {"ana"}
    pending = runner.invoke(app, ["review", str(workspace), "--list", "--status", "pending", "--limit", "0"])
    assert f"{len(ids) - 4} of {len(ids) - 4} matching" in pending.output
    where = runner.invoke(app, ["review", str(workspace), "--accept-where", "support>=1", "--who", "ana"])
    assert where.exit_code == 0 and f"{len(ids) - 4} pending proposals" in where.output
    assert progress(review_workspace(workspace)).reviewed == len(ids)
    both = runner.invoke(app, ["review", str(workspace), "--list", "--accept", ids[0]])
    assert both.exit_code != 0


def test_etiquette_filter_and_card(workspace: Path) -> None:
    from guideminer.mining.proposals import read_proposals
    from guideminer.mining.review_html import proposal_card
    from guideminer.mining.schema import MINING_FILES

    guidelines, _ = read_proposals(workspace)
    chosen = guidelines.proposals[-1].guideline_id
    marked = [p.model_copy(update={"is_etiquette": p.guideline_id == chosen}) for p in guidelines.proposals]
    (workspace / MINING_FILES["guidelines"]).write_text(
        guidelines.model_copy(update={"proposals": marked}).model_dump_json(), encoding="utf-8")
    reviewed = review_workspace(workspace)
    assert [g.guideline_id for g in queue(reviewed, QueueFilter(etiquette=True))] == [chosen]
    assert chosen not in {g.guideline_id for g in queue(reviewed, QueueFilter(etiquette=False))}
    card = proposal_card(reviewed, reviewed.guidelines[chosen], [])
    assert "etiquette (every department)" in card and "<script" not in card


def test_widget_shows_the_mined_template_with_its_fields_not_one_agents_turn(workspace: Path) -> None:
    from guideminer.mining.review_widget import ReviewApp, mined_template

    widget = ReviewApp(workspace, reviewer="")
    reviewed = review_workspace(workspace).guidelines
    with_templates = [g for g in reviewed.values() if g.proposal.canned is not None]
    assert with_templates
    for guideline in with_templates:
        assert mined_template(guideline) == guideline.proposal.canned.text
    assert widget.template.value == mined_template(reviewed[widget.choice.value])
