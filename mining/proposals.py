"""Glue: mining tables -> guidelines.json, departments.json, conversation_departments, report.html.

Why a separate module: guidelines, departments and outcomes are independent plain functions
over tables (testable on synthetic tables); this module only orders them, links guidelines to
departments, and writes the workspace files atomically. `proposal_steps()` exposes the same
work as resumable `mine` steps (append them to `mine_steps.default_steps()`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from guideminer.mining.claims import kept_without_details, states_outcome
from guideminer.mining.departments import UNROUTED, propose_departments
from guideminer.engine.embedding import FillerPhrases
from guideminer.mining.etiquette import etiquette_clusters, standalone_moves
from guideminer.mining.fillers import workspace_filler_phrases
from guideminer.mining.guidelines import propose_guidelines
from guideminer.mining.habits import merge_habits
from guideminer.mining.outcomes import attach_outcomes
from guideminer.mining.openers import OpeningParams, with_positional_moves
from guideminer.mining.phrasing import RulePhraser, describe_action, generalised_examples, is_empty_turn, phrase_rule
from guideminer.mining.pipeline import CONVERSATIONS_INPUT, TURNS_INPUT, MineContext, Step, atomic_path, commit_atomic
from guideminer.mining.proposals_config import ProposalConfig
from guideminer.mining.proposals_schema import DepartmentSet, GuidelineProposal, GuidelineSet
from guideminer.mining.report import write_report
from guideminer.mining.proposals_schema import CannedTemplate, TemplateField
from guideminer.mining.schema import CONVERSATION_DEPARTMENTS_SCHEMA, MINING_FILES
from guideminer.mining.slot_wording import SlotWording
from guideminer.mining.templates import Member, build_template, cluster_members
from guideminer.mining.evidence_words import (
    central_first, condition_clusters, evidence_keys, evidence_texts, own_scope_first, worded_alike,
)


def link_departments(proposals: list[GuidelineProposal], departments: DepartmentSet,
                     assignments: pl.DataFrame, routed: pl.DataFrame) -> tuple[list[GuidelineProposal], DepartmentSet]:
    """A guideline mined within a department belongs to it; one mined over all conversations to
    the department most of its condition's conversations are routed to."""
    votes: dict[int, Counter] = {}
    if any(p.department_id is None for p in proposals):  # mined over all conversations: vote
        present = (assignments.filter((pl.col("role").cast(pl.String) == "customer") & ~pl.col("is_noise"))
                   .select("conversation_id", "cluster_id").unique()
                   .join(routed.filter(pl.col("department_id") != UNROUTED), on="conversation_id"))
        for cluster, department in present.select("cluster_id", "department_id").iter_rows():
            votes.setdefault(cluster, Counter())[department] += 1
    linked = []
    for p in proposals:
        counts = votes.get(p.condition.cluster_id)
        department = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counts else None
        department = p.department_id or department
        linked.append(p.model_copy(update={"department_id": department}))
    members = {d.department_id: [p.guideline_id for p in linked if p.department_id == d.department_id]
               for d in departments.departments}
    updated = departments.model_copy(update={"departments": [
        d.model_copy(update={"guideline_ids": members[d.department_id]}) for d in departments.departments]})
    return linked, updated


def _without_one(members: list[Member], text: str) -> list[Member]:
    """`members` less one turn saying `text` (the base, already first). Identical turns are the
    evidence that a detail is the move's own wording ("about 10 seconds" in every reset turn):
    dropping all of them made every such detail a field nobody can fill."""
    at = next((i for i, m in enumerate(members) if m.text == text), None)
    return members if at is None else members[:at] + members[at + 1:]


def attach_templates(proposals: list[GuidelineProposal], assignments: pl.DataFrame,
                     turns: pl.DataFrame | None, said: dict[tuple[str, int], str] | None = None) -> list[GuidelineProposal]:
    """Each proposal's action as a canned template (mining/templates.py). Base: the most central
    of the agent turns that made the move in its evidence (given `turns`), else the action
    cluster's most representative turn; members: the evidence turns and the cluster's most
    typical turns that share most words with the base. Why the evidence: an action cluster can
    hold two moves ("explain the charge" and "your order arrives on <DATE>"); its medoid then
    gives a rule the reply of another move. Only evidence turns worded like the base (word
    Jaccard >= 0.5) are members: a merged habit's evidence holds several phrasings ("Thanks for
    reaching out to Larkfield. This is Ann" / "Hello and welcome to Larkfield support"), and
    aligning them made fields of whole phrases and garbled text, a template never sendable.
    `said`: `evidence_texts(proposals, turns)`, if known."""
    ids = {p.action.cluster_id for p in proposals}
    members = cluster_members(assignments, turns, ids) if turns is not None and ids else {}
    said = evidence_texts(proposals, turns) if said is None else said
    out = []
    for p in proposals:
        evidence = _replies_first(p, [said[k] for k in evidence_keys(p, "action_turn_index") if k in said])
        typical = members.get(p.action.cluster_id, [])
        if len(evidence) >= 2:
            base = evidence[0]
            close = [m for m in typical if worded_alike(m.text, base)]
            alike = [t for t in evidence[1:] if worded_alike(t, base)]
            chosen = [Member(base), *(Member(t) for t in alike), *_without_one(close, base)]
        else:
            base_texts = p.action.representative_texts[:1]
            chosen = [Member(base_texts[0]), *_without_one(typical, base_texts[0])] if base_texts else typical
        template = build_template(chosen)
        canned = None if template is None else CannedTemplate(text=template.text, fields=[
            TemplateField(name=f.name, kind=f.kind, source=f.source, distinct_values=f.distinct_values)
            for f in template.fields])
        out.append(p.model_copy(update={"canned": canned}))
    return out


def phrase_from_evidence(proposals: list[GuidelineProposal], turns: pl.DataFrame | None,
                         phraser: RulePhraser | None = None,
                         said: dict[tuple[str, int], str] | None = None,
                         fillers: FillerPhrases | None = None,
                         asides: frozenset[int] = frozenset(),
                         slots: SlotWording | None = None,
                         clusters: dict[tuple[str, int], int] | None = None) -> list[GuidelineProposal]:
    """Each rule worded from what customers said and agents answered when the agents made its
    move (its evidence turns, most central first), not from the clusters' medoids. Why: a
    cluster can hold several needs (formed around a product: "robot vacuum never arrived" and
    "send me the invoice for the robot vacuum") or two moves; its medoid then describes another
    need or move than this rule's, and a reviewer reads a rule its evidence contradicts.
    `fillers` (mining/fillers.py) are read away from the customer's words first: the condition
    then says what the engine matches ("theres a charge ... i dont recognise", not "yes so
    basically theres a charge ..."). `asides`: the etiquette clusters, whose moves a need's step
    follows as a return to the need ("once they have answered the agent's aside ..."). `slots`
    (mining/slot_wording.py): the described turn says "the item" for a product, the example
    quote keeps one. `clusters` (`condition_clusters`): the condition turns' clusters, so the
    proposal's own scope words a merged habit (`own_scope_first`)."""
    said = evidence_texts(proposals, turns) if said is None else said
    out = []
    for proposal in proposals:
        # a need's words, not an answer's; "yes so basically theres a charge ..." read as "theres a charge ..."
        texts = own_scope_first(proposal, said, clusters, fillers)
        replies = _replies_first(proposal, [said[k] for k in evidence_keys(proposal, "action_turn_index") if k in said])
        if proposal.position is not None:  # the condition is a point of the conversation (mining/openers.py)
            out.append(_opening_worded(proposal, replies))
            continue
        if slots is not None and texts:
            texts = [slots.general(texts[0]), *texts[1:]]
        condition = proposal.condition.model_copy(update={"representative_texts": texts})
        action = (proposal.action.model_copy(update={"representative_texts": replies})
                  if len(replies) >= 2 else proposal.action)
        after = proposal.after_action
        if proposal.ends_need and (pair := _last_step_pair(proposal, said)) is not None:
            condition, after = (condition.model_copy(update={"representative_texts": [pair[1]]}),
                                after.model_copy(update={"representative_texts": [pair[0]]}))
        aside = after is not None and after.cluster_id in asides
        phrased = phrase_rule(condition, action, proposal.condition_state, phraser, after,
                              proposal.continues_need, proposal.ends_need, aside=aside) if len(texts) >= 2 else None
        if phrased is None:
            out.append(proposal)
            continue
        rule, by = phrased
        out.append(proposal.model_copy(update={"condition_text": rule.condition_text, "action_text": rule.action_text,
                                               "rule_text": rule.rule_text, "phrased_by": by}))
    return out


def _opening_worded(proposal: GuidelineProposal, replies: list[str]) -> GuidelineProposal:
    """A positional move's action worded from the agent turns its evidence conversations got."""
    done = generalised_examples(replies)
    if len(done) < 2 or is_empty_turn(done[0]):
        return proposal
    action = proposal.action.model_copy(update={"representative_texts": replies})
    action_text = describe_action(action, done)
    return proposal.model_copy(update={"action": action, "action_text": action_text, "action_examples": done,
                                       "rule_text": f"When {proposal.condition_text}, {action_text}."})


def _with_opening(proposals: list[GuidelineProposal], assignments: pl.DataFrame, clusters: pl.DataFrame,
                  params: OpeningParams) -> list[GuidelineProposal]:
    merged = with_positional_moves(proposals, assignments, clusters, etiquette_clusters(clusters), params)
    return [p.model_copy(update={"rank": rank}) for rank, p in enumerate(merged, start=1)]


def _last_step_pair(proposal: GuidelineProposal, said: dict[tuple[str, int], str]) -> tuple[str, str] | None:
    """(the agent's last step, the customer's answer) of the ending's first evidence conversation
    that has both: an ending merges many last steps, and quoting a step and an answer from two
    conversations reads as nonsense ("The new address is ..." after "An exchange is no problem")."""
    for c, i in evidence_keys(proposal, "condition_turn_index"):
        if (c, i - 1) in said and (c, i) in said:
            return said[(c, i - 1)], said[(c, i)]
    return None


def _replies_first(proposal: GuidelineProposal, replies: list[str]) -> list[str]:
    """The agent turns that word a rule's reply and base its template, most central first; for an
    etiquette habit, replies that state no outcome come first. Why: a merged etiquette habit
    holds several phrasings ("Let me bring in a supervisor" / "I've escalated your case"), and a
    reply claiming an outcome is never sent without a tool (mining/claims.py), so the habit
    would answer every escalation with the hand-off; likewise the phrasing that keeps most of its
    words without its details first ("Hi, thanks for contacting us! My name is <PERSON_1>. How
    can I help you today?" keeps its question without the name). Department moves keep their
    own wording."""
    ordered = central_first(replies)
    if not proposal.is_etiquette:
        return ordered
    # stable: centrality order within each kind; then the phrasing that says most without a
    # detail (a greeting naming its agent is sent without the name: mining/claims.py field_free_part)
    return sorted(ordered, key=lambda t: (states_outcome(t), -round(kept_without_details(t), 1)))


def build_proposals(assignments: pl.DataFrame, clusters: pl.DataFrame, conversations: pl.DataFrame | None = None,
                    config: ProposalConfig | None = None, phraser: RulePhraser | None = None,
                    turns: pl.DataFrame | None = None,
                    slot_classes: list[dict] | None = None) -> tuple[GuidelineSet, DepartmentSet, pl.DataFrame]:
    """(guidelines, departments, conversation_departments) from the mining tables, in memory;
    `turns` (texts) make canned templates from many member turns, not only representatives;
    `slot_classes` (slot_classes.json records) word a product in a condition as "the item"."""
    config = config or ProposalConfig()
    departments, routed = propose_departments(assignments, clusters, config.departments)
    scoped = routed if config.guidelines.per_department else None
    proposals = propose_guidelines(assignments, clusters, config.guidelines, phraser, scoped)
    proposals = merge_habits(proposals, clusters, config.habits, assignments)
    proposals, departments = link_departments(proposals, departments, assignments, routed)
    ranked_by = "support"
    if conversations is not None:
        proposals, ranked_by = attach_outcomes(proposals, assignments, conversations, scoped, etiquette_clusters(clusters))
    proposals = _with_opening(proposals, assignments, clusters, config.opening)
    alone = standalone_moves(assignments, etiquette_clusters(clusters))
    proposals = [p.model_copy(update={"stands_alone": True})
                 if p.is_etiquette and p.position is None and p.action.cluster_id in alone else p for p in proposals]
    said = evidence_texts(proposals, turns)
    proposals = attach_templates(proposals, assignments, turns, said)
    fillers = FillerPhrases(workspace_filler_phrases(assignments, clusters, turns)) if turns is not None else None
    slots = (SlotWording.learn(slot_classes, turns.filter(pl.col("role") == "customer")["text"].to_list())
             if slot_classes and turns is not None else None)
    proposals = phrase_from_evidence(proposals, turns, phraser, said, fillers, frozenset(etiquette_clusters(clusters)),
                                     slots, condition_clusters(proposals, assignments))
    thresholds = {**config.guidelines.model_dump(), **{f"habits_{k}": v for k, v in config.habits.model_dump().items()}}
    guideline_set = GuidelineSet(thresholds=thresholds, ranked_by=ranked_by,
                                 n_conversations=routed.height, proposals=proposals)
    return guideline_set, departments, routed


def _write_text(target: Path, text: str) -> None:
    temporary = atomic_path(target)
    temporary.write_text(text, encoding="utf-8")
    commit_atomic(temporary, target)


def write_proposals(workspace: Path, assignments: pl.DataFrame, clusters: pl.DataFrame,
                    conversations: pl.DataFrame | None = None, config: ProposalConfig | None = None,
                    phraser: RulePhraser | None = None,
                    turns: pl.DataFrame | None = None) -> tuple[GuidelineSet, DepartmentSet]:
    """Write guidelines.json, departments.json and conversation_departments.parquet."""
    workspace = Path(workspace)
    guideline_set, departments, routed = build_proposals(assignments, clusters, conversations, config, phraser, turns,
                                                         _slot_classes(workspace))
    _write_text(workspace / MINING_FILES["guidelines"], guideline_set.model_dump_json(indent=2))
    _write_text(workspace / MINING_FILES["departments"], departments.model_dump_json(indent=2))
    target = workspace / MINING_FILES["conversation_departments"]
    temporary = atomic_path(target)
    pq.write_table(routed.to_arrow().cast(CONVERSATION_DEPARTMENTS_SCHEMA), temporary, compression="zstd")
    commit_atomic(temporary, target)
    return guideline_set, departments


def _slot_classes(workspace: Path) -> list[dict] | None:
    """The workspace's slot classes (mining/slot_classes.json), None without the file."""
    path = Path(workspace) / MINING_FILES["slots"]
    return json.loads(path.read_text(encoding="utf-8"))["classes"] if path.exists() else None


def read_proposals(workspace: Path) -> tuple[GuidelineSet, DepartmentSet]:
    workspace = Path(workspace)
    return (GuidelineSet.model_validate_json((workspace / MINING_FILES["guidelines"]).read_text(encoding="utf-8")),
            DepartmentSet.model_validate_json((workspace / MINING_FILES["departments"]).read_text(encoding="utf-8")))


def write_workspace_report(workspace: Path, turns: pl.DataFrame | None = None) -> Path:
    """report.html from the written proposals and clusters (turns add evidence texts)."""
    workspace = Path(workspace)
    guideline_set, departments = read_proposals(workspace)
    clusters = pl.read_parquet(workspace / MINING_FILES["clusters"])
    target = workspace / MINING_FILES["report"]
    temporary = write_report(atomic_path(target), guideline_set, departments, clusters, turns, _slot_classes(workspace))
    commit_atomic(temporary, target)
    return target


def _config(ctx: MineContext) -> ProposalConfig:
    return ctx.config.proposals


def _propose(ctx: MineContext) -> dict:
    guideline_set, departments = write_proposals(
        ctx.workspace, pl.read_parquet(ctx.path(MINING_FILES["turn_assignments"])),
        pl.read_parquet(ctx.path(MINING_FILES["clusters"])), ctx.conversations, _config(ctx), turns=ctx.turns)
    return {"guidelines": len(guideline_set.proposals), "departments": departments.chosen_k,
            "transfer_rate": departments.overall_transfer_rate}


def proposal_steps() -> list[Step]:
    """`propose` then `report`, to append to the clustering steps of `guideminer mine`."""
    proposal_outputs = (MINING_FILES["guidelines"], MINING_FILES["departments"], MINING_FILES["conversation_departments"])
    return [
        Step("propose", (TURNS_INPUT, CONVERSATIONS_INPUT, MINING_FILES["turn_assignments"], MINING_FILES["clusters"]),
             proposal_outputs, lambda ctx: _config(ctx).model_dump(), _propose,
             version=39),  # 2: per department, "after" states; 3: habits, readable rules, templates, etiquette;
        # 4: etiquette set by condition, department rules on the need view, corpus base rate;
        # 5: customer quotes without instance details, template fixes (shared words, placeholders)
        # 6: conditions worded from the evidence turns, no greeting as the condition, identical
        #    member turns kept as template evidence; 7: habits also merged by the condition's wording;
        # 8: an etiquette rule's wording without the previous move; 9: wording merges etiquette only;
        # 10: canned template and action wording from the evidence's agent turns;
        # 11: etiquette habits also merged when answered alike (mining/habits.py);
        # 12: template members are the evidence turns worded like the base;
        # 13: an etiquette habit's reply: a phrasing that states no outcome first;
        # 14: a capitalised name never runs across a sentence end ("Larkfield. This");
        # 15: an etiquette habit's reply: the phrasing sayable without its details first;
        # 16: "2-year" / "30-day" are no references; 17: "that's all taken care of" claims an outcome
        # 18: answer turns take their conversation's open need as condition (open_need.py)
        # 19: a need turn answered only by conversation management is answered by it (managed endings)
        # 20: no "after" state on an etiquette move for a need's own turn; an ending quotes one step/answer pair
        # 21: an ending needs most answers after its step (>= ENDING_MIN_SHARE) to end the flow
        # 22: a condition words the sentence naming the cluster's keywords (describe._first_sentence)
        # 23: an action's lead acknowledgement ("Of course.") is said with the sentence after it
        # 24: "tracking shows ...", "it's in transit / out for delivery / delivered" state looked-up facts
        # 25: positional moves: the opening greeting, the identification after the need (mining/openers.py)
        # 26: answers keep their own words only where those tell the next move better than chance
        # 27: a conversation's opening passes over clusters spread over every kind of conversation (departments.py rule 1)
        # 28: no department rule in the words of a spread cluster said before any need; "yes so basically ..." is no agreement
        # 29: spread answers (a phone number) are situations of the etiquette set ("-> a short hold")
        # 30: "I've flagged / signed out / successfully placed" are claims (claims.py)
        # 31: a readable rule tries other example quotes before the keyword template (phrasing.py)
        # 32: etiquette moves the agents say alone are marked (stands_alone)
        # 33: one habit: the same condition answered by parts of one split move (habits._split_siblings)
        # 34: conditions worded without the corpus's filler phrases (mining/fillers.py)
        # 35: fillers completed into fixed expressions; a need's step after an aside says so
        # 36: the customer's "you" is the company ("a charge from you"); after an etiquette move: "once they have answered"
        # 37: a product (a noun slot class, mining/slot_wording.py) reads as "the item" in the condition
        # 38: hyphenated members ("e-reader") read as "the item" too
        # 39: habits grouped by complete linkage or around their head (habits.complete_linkage)
        # slot_classes.json (rule wording, report) is read when present but is no input: the clusters it shapes are inputs
        Step("report", (TURNS_INPUT, MINING_FILES["clusters"], *proposal_outputs), (MINING_FILES["report"],),
             lambda ctx: {}, lambda ctx: {"report": str(write_workspace_report(ctx.workspace, ctx.turns))},
             version=2),  # 2: etiquette rules shown as applying in every department
    ]
