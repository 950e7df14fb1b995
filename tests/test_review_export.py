"""Review decisions (log, replay, orphans, conflicts) and export to an agent spec."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from engine_fakes import FixedRouter, FixedScorer, FreeTextComposer
from proposals_world import guideline_world, proposals_workspace
from typer.testing import CliRunner

from guideminer.cli import app
from guideminer.engine import Engine, GuidelineStatus, Session, load_agent_spec
from guideminer.mining.export_spec import ExportError, export_workspace, template_from_text
from guideminer.mining.proposals import build_proposals, write_proposals
from guideminer.mining.review import (
    Decision,
    ReviewError,
    apply_decisions,
    read_decisions,
    record_decision,
    review_workspace,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return proposals_workspace(tmp_path)


@pytest.fixture(scope="module")
def proposals():
    world = guideline_world()
    guidelines, departments, _ = build_proposals(world["assignments"], world["clusters"], world["conversations"])
    assert len(guidelines.proposals) >= 2, "the world must yield at least two proposals"
    return guidelines, departments


def decision(kind: str, **fields) -> Decision:
    return Decision(kind=kind, who="lead", at=datetime(2026, 1, 1, tzinfo=UTC), **fields)


def test_replay_is_pure_and_later_decisions_supersede(proposals) -> None:
    guidelines, departments = proposals
    first, second = (p.guideline_id for p in guidelines.proposals[:2])
    log = [decision("accept", guideline_id=first), decision("reject", guideline_id=first, why="too generic"),
           decision("edit", guideline_id=second, action_text="Ask for the order number.")]
    reviewed = apply_decisions(guidelines, departments, log)
    assert reviewed.guidelines[first].status == "rejected"
    assert reviewed.guidelines[second].status == "accepted"
    assert reviewed.guidelines[second].action_text == "Ask for the order number."
    assert len(reviewed.guidelines[first].decided_by) == 2
    assert apply_decisions(guidelines, departments, log).guidelines == reviewed.guidelines


def test_merge_split_and_orphans(proposals) -> None:
    guidelines, departments = proposals
    first, second = (p.guideline_id for p in guidelines.proposals[:2])
    log = [decision("merge", guideline_id=first, other_ids=(second,)),
           decision("split", guideline_id=first, new_id="g-custom", condition_text="the parcel is late"),
           decision("accept", guideline_id="g-gone-after-remining")]
    reviewed = apply_decisions(guidelines, departments, log)
    assert reviewed.guidelines[first].merged_from == (second,)
    assert reviewed.guidelines[second].status == "rejected"
    assert reviewed.guidelines["g-custom"].condition_text == "the parcel is late"
    assert [d.guideline_id for d in reviewed.orphans] == ["g-gone-after-remining"]


def test_conflicts_name_the_proposal(proposals) -> None:
    guidelines, departments = proposals
    first, second = (p.guideline_id for p in guidelines.proposals[:2])
    with pytest.raises(ReviewError, match=second):
        apply_decisions(guidelines, departments, [decision("reject", guideline_id=second, why="wrong"),
                                                  decision("merge", guideline_id=first, other_ids=(second,))])
    with pytest.raises(ReviewError, match=first):
        apply_decisions(guidelines, departments, [decision("merge", guideline_id=first, other_ids=(second,)),
                                                  decision("reject", guideline_id=first, why="changed my mind")])
    with pytest.raises(ValueError, match="needs a reason"):
        decision("reject", guideline_id=first)


def test_record_appends_and_refuses_unknown_ids(workspace: Path) -> None:
    guideline_id = sorted(review_workspace(workspace).guidelines)[0]
    record_decision(workspace, "accept", who="ana", guideline_id=guideline_id)
    record_decision(workspace, "reject", who="bo", why="duplicate", guideline_id=guideline_id)
    assert [d.kind for d in read_decisions(workspace)] == ["accept", "reject"]
    with pytest.raises(ReviewError, match="no such proposal"):
        record_decision(workspace, "accept", who="ana", guideline_id="g-unknown")
    assert len(read_decisions(workspace)) == 2
    (workspace / "review" / "decisions.jsonl").open("a").write("{not json\n")
    with pytest.raises(ReviewError, match=r"decisions\.jsonl:3"):
        read_decisions(workspace)


def test_export_refuses_without_decisions_then_auto_accepts(workspace: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="--auto-accept"):
        export_workspace(workspace, tmp_path / "agent.yaml")
    result = export_workspace(workspace, tmp_path / "agent.yaml", auto_accept=True)
    spec = load_agent_spec(tmp_path / "agent.yaml")
    assert spec == result.spec and result.auto_accepted == sum(len(d.guidelines) for d in spec.departments)
    assert all(g.provenance.startswith("mined:g-") for d in spec.departments for g in d.guidelines)
    again = export_workspace(workspace, tmp_path / "agent.yaml", auto_accept=True)
    assert again.diff.empty


def test_replaying_a_decisions_file_gives_the_same_spec_bytes(workspace: Path, tmp_path: Path) -> None:
    ids = sorted(review_workspace(workspace).guidelines)
    record_decision(workspace, "accept", who="ana", guideline_id=ids[0])
    record_decision(workspace, "edit", who="ana", guideline_id=ids[-1], action_text="Apologise and refund.")
    export_workspace(workspace, tmp_path / "a.yaml")
    copy = tmp_path / "copy"
    (copy / "review").mkdir(parents=True)
    (copy / "mining").mkdir()
    import shutil

    shutil.copytree(workspace / "mining", copy / "mining", dirs_exist_ok=True)
    shutil.copytree(workspace / "turns.parquet", copy / "turns.parquet")
    shutil.copy(workspace / "review" / "decisions.jsonl", copy / "review" / "decisions.jsonl")
    export_workspace(copy, tmp_path / "b.yaml", name=f"{workspace.name} agent")
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()
    spec = load_agent_spec(tmp_path / "a.yaml")
    assert "Apologise and refund." in {g.action for d in spec.departments for g in d.guidelines}


def test_exported_spec_answers_in_the_engine(workspace: Path, tmp_path: Path) -> None:
    spec = export_workspace(workspace, tmp_path / "agent.yaml", auto_accept=True).spec
    department = next(d for d in spec.departments if d.guidelines)
    guideline = department.guidelines[0]
    engine = Engine(spec, router=FixedRouter(department.id), scorer=FixedScorer({guideline.id: 0.95}),
                    composer=FreeTextComposer())
    reply = engine.respond(Session(), "hello, I need help")
    assert reply.text
    assert reply.trace.decision(guideline.id).status is GuidelineStatus.applied


def test_template_from_text_escapes_braces_and_maps_placeholders() -> None:
    assert template_from_text("Mail <EMAIL> about {x}") == "Mail {email} about {{x}}"


def test_export_cli(workspace: Path, tmp_path: Path) -> None:
    refused = CliRunner().invoke(app, ["export", str(workspace), "--out", str(tmp_path / "a.yaml")])
    assert refused.exit_code == 1 and "auto-accept" in refused.output
    done = CliRunner().invoke(app, ["export", str(workspace), "--out", str(tmp_path / "a.yaml"), "--auto-accept"])
    assert done.exit_code == 0, done.output
    assert json.loads(json.dumps(load_agent_spec(tmp_path / "a.yaml").model_dump(mode="json")))


def test_export_carries_routing_examples_and_previous_moves(tmp_path: Path) -> None:
    from test_proposals_guidelines import _yes_world

    assignments, clusters, _ = _yes_world()
    ws = tmp_path / "ws"
    (ws / "mining" / "proposals").mkdir(parents=True)
    guidelines, departments = write_proposals(ws, assignments, clusters)
    spec = export_workspace(ws, tmp_path / "agent.yaml", auto_accept=True, match_examples=0,
                            routing_examples=0).spec  # no turns here
    for department in spec.departments:
        mined = next(d for d in departments.departments if d.department_id == department.id)
        assert set(department.routing_examples) == {t for s in mined.situations for t in s.representative_texts}
    exported = {g.id: g for d in spec.departments for g in d.guidelines}
    after = [p for p in guidelines.proposals if p.condition_state == "after" and p.guideline_id in exported]
    assert after, "the yes-world must yield an exported 'after' guideline"
    for proposal in after:
        assert exported[proposal.guideline_id].after_examples == tuple(proposal.after_action.representative_texts)
    assert all(not exported[p.guideline_id].after_examples for p in guidelines.proposals
               if p.condition_state != "after" and p.guideline_id in exported)


def test_a_claiming_canned_reply_is_exported_with_its_claim_free_part(workspace: Path, tmp_path: Path) -> None:
    ids = sorted(review_workspace(workspace).guidelines)
    record_decision(workspace, "edit", who="ana", guideline_id=ids[0],
                    canned_template="Returns are free within 30 days of delivery; a prepaid label is on its way.")
    spec = export_workspace(workspace, tmp_path / "agent.yaml", auto_accept=True).spec
    canned = {c.id: c for d in spec.departments for c in d.canned_responses if ids[0] in c.guideline_ids}
    assert canned[f"c-{ids[0]}"].needs_tool
    part = canned[f"c-{ids[0]}-claim-free"]
    assert part.template == "Returns are free within 30 days of delivery." and not part.needs_tool
    assert part.part_of == f"c-{ids[0]}"
    from guideminer.engine.compose import unbacked_moves

    # a partial answer can be said: it ranks by its match, not after every move approved in full
    assert ids[0] not in unbacked_moves(spec)


def test_export_adds_each_departments_conversation_openings_to_its_routing_examples(workspace: Path) -> None:
    import polars as pl

    from guideminer.ingest.workspace import read_turns
    from guideminer.mining.routing_examples import opening_examples
    from guideminer.mining.schema import MINING_FILES

    spec = export_workspace(workspace, None, auto_accept=True, routing_examples=1000).spec
    openings = opening_examples(workspace, 1000)
    routed = dict(pl.read_parquet(workspace / MINING_FILES["conversation_departments"])
                  .select("conversation_id", "department_id").iter_rows())
    first_customer = (read_turns(workspace).filter(pl.col("role").cast(pl.String) == "customer")
                      .sort("conversation_id", "turn_index").group_by("conversation_id", maintain_order=True)
                      .agg(pl.col("text").first()))
    from guideminer.mining.phrasing import looks_like_injection

    assert sum(map(len, openings.values())) >= 3
    for department in spec.departments:
        assert set(openings[department.id]) <= set(department.routing_examples)
        # the planted world flags no etiquette: an opening is the conversation's first customer
        # turn, except one that reads like an instruction to the agent (the world plants one)
        mine = {t.strip() for c, t in first_customer.iter_rows() if routed.get(c) == department.id}
        assert set(openings[department.id]) == {t for t in mine if not looks_like_injection(t)}
    assert all(len(texts) <= 2 for texts in opening_examples(workspace, 2).values())


def test_an_opening_is_the_first_customer_need_turn_neither_etiquette_nor_spread() -> None:
    import polars as pl

    from guideminer.mining.routing_examples import conversation_opening_turns

    # 7: a greeting (etiquette); 5: a phone number every need gets (spread); 3, 4: needs
    assignments = pl.DataFrame({"conversation_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
                                "turn_index": [0, 1, 2, 0, 1, 0, 1, 2],
                                "role": ["customer", "agent", "customer", "customer", "agent", "customer", "customer", "customer"],
                                "cluster_id": [7, 9, 3, 7, 9, 5, 7, 4],
                                "is_noise": [False] * 8, "confidence": [1.0] * 8})
    openings = dict(conversation_opening_turns(assignments, {7}, {5}).iter_rows())
    # b opens with no need at all (only etiquette): it gives no routing example; c's phone
    # number comes before its need, which is its opening
    assert openings == {"a": 2, "c": 2}
    assert dict(conversation_opening_turns(assignments, {7}).iter_rows()) == {"a": 2, "c": 0}