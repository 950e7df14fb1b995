"""Relationships resolved after matching: priority, dependency, entailment, deterministic order."""

from __future__ import annotations

from pathlib import Path

from engine_fakes import FixedRouter, FixedScorer, FreeTextComposer, one_department_spec

from guideminer.engine import Engine, Guideline, GuidelineStatus, Session
from guideminer.engine.relations import resolve_relationships

S = GuidelineStatus


def _g(gid: str, action: str | None = "do it", **fields) -> Guideline:
    # distinct actions: the same action text makes one move (engine.matching, one move per situation)
    action = f"{action} ({gid})" if action == "do it" else action
    return Guideline(id=gid, condition=f"condition of {gid}", action=action, **fields)


def _rel(kind: str, source: str, target: str) -> dict:
    return {"kind": kind, "source": source, "target": target}


def _engine(guidelines, relationships, scores) -> Engine:
    spec = one_department_spec(guidelines, relationships)
    return Engine(spec, router=FixedRouter("main"), scorer=FixedScorer(scores), composer=FreeTextComposer())


def _run(guidelines, relationships, scores):
    return _engine(guidelines, relationships, scores).respond(Session(), "message").trace


def test_priority_suppresses_the_overridden_guideline_only_when_both_are_active():
    guidelines = [_g("discount"), _g("no_discount_for_sale_items")]
    relations = [_rel("priority", "no_discount_for_sale_items", "discount")]
    both = _run(guidelines, relations, {"discount": 0.9, "no_discount_for_sale_items": 0.9})
    assert both.decision("discount").status is S.suppressed
    assert "suppressed by priority of no_discount_for_sale_items" in both.decision("discount").reasons
    assert both.ids_with_status(S.applied) == ["no_discount_for_sale_items"]
    alone = _run(guidelines, relations, {"discount": 0.9})
    assert alone.ids_with_status(S.applied) == ["discount"]


def test_suppressed_guideline_does_not_suppress_further():
    guidelines = [_g("a"), _g("b"), _g("c")]
    relations = [_rel("priority", "a", "b"), _rel("priority", "b", "c")]
    trace = _run(guidelines, relations, {"a": 0.9, "b": 0.9, "c": 0.9})
    assert trace.ids_with_status(S.applied) == ["a", "c"]
    assert trace.ids_with_status(S.suppressed) == ["b"]


def test_dependency_requires_the_target_to_be_active():
    guidelines = [_g("offer_upgrade"), _g("is_premium", action=None)]
    relations = [_rel("dependency", "offer_upgrade", "is_premium")]
    without = _run(guidelines, relations, {"offer_upgrade": 0.9})
    assert without.decision("offer_upgrade").status is S.dependency_unmet
    assert "depends on is_premium, which is not active" in without.decision("offer_upgrade").reasons
    with_target = _run(guidelines, relations, {"offer_upgrade": 0.9, "is_premium": 0.9})
    assert with_target.decision("offer_upgrade").status is S.applied
    assert with_target.decision("is_premium").status is S.observed


def test_dependency_on_a_suppressed_guideline_is_unmet():
    guidelines = [_g("x"), _g("y"), _g("z")]
    relations = [_rel("priority", "x", "y"), _rel("dependency", "z", "y")]
    trace = _run(guidelines, relations, {"x": 0.9, "y": 0.9, "z": 0.9})
    assert trace.decision("y").status is S.suppressed
    assert trace.decision("z").status is S.dependency_unmet


def test_entailment_activates_the_target_and_says_so():
    guidelines = [_g("damaged_item", action=None), _g("apologise")]
    relations = [_rel("entailment", "damaged_item", "apologise")]
    trace = _run(guidelines, relations, {"damaged_item": 0.9, "apologise": 0.1})
    entailed = trace.decision("apologise")
    assert (entailed.status, entailed.condition_holds, entailed.decided_by) == (S.applied, True, "entailment")
    assert entailed.reasons == ["score 0.10 <= reject 0.30", "entailed by damaged_item", "first application"]


def test_entailment_chain_and_dependency_interact():
    guidelines = [_g("a", action=None), _g("b", action=None), _g("c")]
    relations = [_rel("entailment", "a", "b"), _rel("dependency", "c", "b")]
    trace = _run(guidelines, relations, {"a": 0.9, "c": 0.9})
    assert trace.decision("b").status is S.observed
    assert trace.decision("c").status is S.applied


def test_active_guidelines_are_ordered_by_criticality_priority_then_id():
    guidelines = [
        _g("z_low", criticality="low", priority=9),
        _g("m_high", criticality="high"),
        _g("b_medium", priority=1),
        _g("a_medium", priority=1),
    ]
    engine = _engine(guidelines, [], {g.id: 0.9 for g in guidelines})
    engine.respond(Session(), "message")
    instructions = engine.composer.requests[-1].instructions
    assert [g.id for g in instructions] == ["m_high", "a_medium", "b_medium", "z_low"]


def test_resolution_does_not_depend_on_input_order():
    spec = one_department_spec(
        [_g("a"), _g("b"), _g("c"), _g("d")],
        [_rel("priority", "a", "b"), _rel("dependency", "d", "b"), _rel("entailment", "c", "d")],
    )
    department = spec.departments[0]
    first = resolve_relationships(["a", "b", "c"], department)
    second = resolve_relationships(["c", "b", "a"], department)
    assert first == second
    assert first.active == ["a", "c"]
    assert first.suppressed_by == {"b": "a"}
    assert first.missing_dependency == {"d": "b"}
    assert first.conditions_held == {"a", "b", "c", "d"}


def test_applied_order_puts_the_better_match_before_the_more_common_habit() -> None:
    from guideminer.engine.relations import order_applied

    common = _g("common", priority=900)
    matched = _g("matched", priority=10)
    critical = _g("critical", priority=0, criticality="high")
    assert [g.id for g in order_applied([(common, 0.71), (matched, 0.93)])] == ["matched", "common"]
    assert [g.id for g in order_applied([(common, 0.931), (matched, 0.934)])] == ["common", "matched"]  # tie at 2 decimals
    assert [g.id for g in order_applied([(matched, 0.99), (critical, 0.6)])] == ["critical", "matched"]
