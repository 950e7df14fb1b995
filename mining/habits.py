"""One proposal per habit: merge proposals whose condition and action mean the same.

Why: mining crosses two independent clusterings (customer situations x agent moves) with
departments, conversation states and previous agent moves; one habit of the agents ("when the
customer asks for a table, ask what time") then surfaces as many proposals: once per department
it occurs in, once plain and once "right after" each previous move, and once per pair of nearby
clusters that split one situation or one move in two. A reviewer reads the same rule ten times
and an engine evaluates ten conditions for one behaviour.

Two proposals are one habit when
- their condition clusters are the same or near (centroid cosine >= `condition_similarity`), or,
  for etiquette rules, the rules word the condition the same apart from the example quote and
  the previous agent move ("the customer agrees", from "ok" / "alright that works" / "great
  thank you": clusters far apart that a reviewer reads as one situation), and
- their action clusters are the same or near (centroid cosine >= `action_similarity`);
  for etiquette rules, the condition clusters are *answered alike*: the agents' next moves after
  them have total-variation distance <= `answered_alike` (the escalation habit from "I'm not
  happy with that at all", "No, that doesn't solve anything" and "I've already waited long
  enough": three sayings at centroid cosine 0.0-0.14, one exchange), and
- their action clusters are the same or near (centroid cosine >= `action_similarity`), or, for
  etiquette rules, *answer alike*: the customer turns they follow have TV <= `answered_alike`
  ("Let me bring in a supervisor" / "I've escalated your case": cosine 0.66);
  a *managed ending* (an etiquette rule whose condition is a need turn that only conversation
  management follows: "A replacement please." -> "That's all sorted"; guidelines.py
  `etiquette_occurrences`) has the condition "the need's flow is done", whatever the customer's
  last words, after the agent's last step (its state is always "after" that move): endings with
  near actions are one habit, each last step a scope (the run-time gate accepts any of them);
department, state and previous move do not separate habits, they become the habit's `scopes`.
Behaviour joins etiquette rules only: conversation management is phrased freely while the
exchange stays one habit, whereas two needs can share their first reply ("charged twice" and "I
don't recognise this charge" are both answered with a card-digits question) and still be two
rules. Measured on the demo (docs/results.md "Etiquette habits answered alike"): TV <= 0.47
between variants of one habit, >= 0.9 between different habits, hence the 0.5 default.
Proposals are grouped by complete linkage (every pair in a group satisfies both tests, so groups
do not chain "A near B near C" into a habit where A and C differ), most supported first. The
merged proposal is the group's best-supported member (its id, wording, scores and counts: every
number still re-derivable), listing every member as a scope and keeping all their evidence.
`complete_linkage=False` groups around heads instead: a proposal joins the first group whose
head alone it is one habit with (the head's rule is what the reviewer reads and the engine runs).
Measured (docs/results.md, "No weaker substitute answer; habits grouped around their head rule
..."): fewer duplicates (SGD one-to-one precision 0.320 -> 0.353, redundancy 2.55 -> 2.30; demo
0.608 -> 0.633), but members whose reply is only near the head's lose their own reply at run
time, and held-out SGD next action fell 0.388 -> 0.376 (0.578 -> 0.564 with recorded look-ups):
not the default.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.proposals_schema import GuidelineProposal, ProposalScope

CONDITION_SIMILARITY = 0.5  # docs/results.md "One proposal per habit": SGD and demo, both thresholds swept
ACTION_SIMILARITY = 0.7
ANSWERED_ALIKE = 0.5  # max total-variation distance between exchange profiles (module docstring)
MAX_EXAMPLES = 8
MAX_TAGS = 12


class HabitParams(BaseModel):
    """Thresholds of `merge_habits` (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merge: bool = True
    merge_by_wording: bool = True  # also one habit when the rules word the condition alike (module docstring)
    condition_similarity: float = Field(CONDITION_SIMILARITY, ge=0.0, le=1.0)
    action_similarity: float = Field(ACTION_SIMILARITY, ge=0.0, le=1.0)
    answered_alike: float | None = Field(ANSWERED_ALIKE, ge=0.0, le=1.0)  # None: etiquette by centroids/wording only
    complete_linkage: bool = True  # every member alike to every member; False: to the head only (docstring)


Profiles = dict[int, Counter]


def exchange_profiles(assignments: pl.DataFrame) -> tuple[Profiles, Profiles]:
    """(per customer cluster: counts of the agent cluster that answers it, per agent cluster:
    counts of the customer cluster it answers), over every customer turn directly followed by
    an agent turn; a noise turn counts as cluster -1."""
    turns = (assignments.sort("conversation_id", "turn_index")
             .select("conversation_id", pl.col("role").cast(pl.String),
                     pl.when(pl.col("is_noise")).then(-1).otherwise(pl.col("cluster_id")).alias("cluster")))
    pairs = turns.with_columns(pl.col("conversation_id", "role", "cluster").shift(-1).name.suffix("_next")).filter(
        (pl.col("conversation_id") == pl.col("conversation_id_next")) & (pl.col("role") == "customer")
        & (pl.col("role_next") == "agent"))
    answers: Profiles = {}
    answered: Profiles = {}
    for customer, agent, n in pairs.group_by("cluster", "cluster_next").len().iter_rows():
        answers.setdefault(int(customer), Counter())[int(agent)] = n
        answered.setdefault(int(agent), Counter())[int(customer)] = n
    return answers, answered


def total_variation(p: Counter | None, q: Counter | None) -> float:
    """TV distance of two count profiles; 1.0 when either is empty (nothing says they are alike)."""
    if not p or not q:
        return 1.0
    sp, sq = sum(p.values()), sum(q.values())
    return 0.5 * sum(abs(p[k] / sp - q[k] / sq) for k in set(p) | set(q))


def _alike(ids: list[int], profiles: Profiles, threshold: float | None) -> np.ndarray:
    """Pairs of `ids` whose exchange profiles are within `threshold` TV (all False when off)."""
    n = len(ids)
    if threshold is None or not profiles:
        return np.zeros((n, n), dtype=bool)
    distinct = sorted(set(ids))
    tv = {(a, b): total_variation(profiles.get(a), profiles.get(b)) for a in distinct for b in distinct}
    return np.array([[tv[a, b] <= threshold for b in ids] for a in ids], dtype=bool)


def scope_of(proposal: GuidelineProposal) -> ProposalScope:
    return ProposalScope(
        guideline_id=proposal.guideline_id, department_id=proposal.department_id,
        condition_scope=proposal.condition_scope, condition_state=proposal.condition_state,
        condition_cluster_id=proposal.condition.cluster_id, action_cluster_id=proposal.action.cluster_id,
        after_action_cluster_id=proposal.after_action.cluster_id if proposal.after_action else None,
        support=proposal.scores.support, confidence=proposal.scores.confidence)


def _similarity(ids: list[int], centroids: dict[int, np.ndarray]) -> np.ndarray:
    """Cosine similarity between the clusters `ids` (1.0 on the same cluster)."""
    matrix = np.stack([centroids[i] for i in ids]).astype(np.float64)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    similarity = matrix @ matrix.T
    same = np.asarray(ids)[:, None] == np.asarray(ids)[None, :]
    return np.where(same, 1.0, similarity)


def _described(proposal: GuidelineProposal) -> str:
    """The condition as the rule words it, without its example quote: "the customer agrees" from
    "ok", "alright that works" and "great thank you" (three clusters far apart in embedding
    space) is one situation to a reviewer."""
    text = re.sub(r" \(e\.g\. \u201c.*?\u201d\)", "", proposal.condition_text)
    if proposal.is_etiquette:  # "ok" closes the call whatever the agent said before it
        text = re.sub(r" in reply to the agent's \u201c.*?\u201d$", "", text)
        text = re.sub(r"^the customer, (?:opening the conversation|later in the conversation),", "the customer", text)
    return text.strip().lower()


def _split_siblings(conditions: list[int], actions: list[int], families: dict[int, int]) -> np.ndarray:
    """Pairs with the same condition cluster whose action clusters are parts of one split move
    (mining/context_split.py): the split separated the move by other needs; after this one
    condition its parts are one reply in two phrasings (call-style demo: "To look into the crash,
    what device and app version are you on?" / "Sorry about that. Which phone are you using?")."""
    family = np.asarray([families.get(a, a) for a in actions])
    return (np.asarray(conditions)[:, None] == np.asarray(conditions)[None, :]) & (family[:, None] == family[None, :])


def habit_groups(proposals: list[GuidelineProposal], centroids: dict[int, np.ndarray],
                 params: HabitParams, profiles: tuple[Profiles, Profiles] = ({}, {}),
                 families: dict[int, int] | None = None) -> list[list[int]]:
    """Indices of `proposals` grouped into habits (module docstring), in proposal order;
    `profiles` from `exchange_profiles` (empty: no behavioural test). Managed endings
    (`ends_need`) with near actions are one habit whatever the last step was, and an ending
    never joins a rule about the customer's own words."""
    if not proposals:
        return []
    conditions, actions = [p.condition.cluster_id for p in proposals], [p.action.cluster_id for p in proposals]
    etiquette = np.asarray([p.is_etiquette for p in proposals])
    both_etiquette = etiquette[:, None] & etiquette[None, :]
    condition_alike = _alike(conditions, profiles[0], params.answered_alike) & both_etiquette
    action_alike = _alike(actions, profiles[1], params.answered_alike) & both_etiquette
    # a managed ending's condition is "the need's flow is done", whatever the last words were
    ending = np.asarray([p.ends_need for p in proposals])
    ends_alike = ending[:, None] & ending[None, :]  # after any last step: the scopes keep each move
    condition = _similarity(conditions, centroids)
    action = _similarity(actions, centroids)
    # wording joins etiquette rules only: two department rules worded alike can be different acts
    # (SGD: one gold pair lost and held-out next action 0.531 -> 0.506 when they merged too)
    described = [_described(p) if p.is_etiquette else f"\0{i}" for i, p in enumerate(proposals)]
    worded_alike = np.asarray(described, dtype=object)[:, None] == np.asarray(described, dtype=object)[None, :]
    near = ((condition >= params.condition_similarity) | (worded_alike if params.merge_by_wording else False)
            | condition_alike)
    near = np.where(ending[:, None] | ending[None, :], ends_alike, near)  # endings join endings only
    same = near & ((action >= params.action_similarity) | action_alike)
    if families:
        same |= _split_siblings(conditions, actions, families) & ~(ending[:, None] | ending[None, :])
    same &= np.asarray([p.is_etiquette for p in proposals])[:, None] == np.asarray([p.is_etiquette for p in proposals])[None, :]
    continuing = np.asarray([p.continues_need for p in proposals])  # judged on another message at run time
    same &= continuing[:, None] == continuing[None, :]
    order = sorted(range(len(proposals)), key=lambda i: (-proposals[i].scores.support, -proposals[i].scores.confidence,
                                                         proposals[i].guideline_id))
    return _grouped(order, same, params.complete_linkage)


def _grouped(order: list[int], same: np.ndarray, complete_linkage: bool) -> list[list[int]]:
    """Greedy groups in `order`: each index joins the first group whose head (or, with
    `complete_linkage`, every member) it is `same` with, else starts one."""
    groups: list[list[int]] = []
    for index in order:
        for group in groups:
            if all(same[index, member] for member in group) if complete_linkage else same[index, group[0]]:
                group.append(index)
                break
        else:
            groups.append([index])
    return groups


def merge_group(members: list[GuidelineProposal]) -> GuidelineProposal:
    """The group's first (best-supported) member, carrying every member as a scope and all evidence."""
    head = members[0]
    evidence, seen = [], set()
    for member in members:
        for example in member.evidence:
            key = (example.conversation_id, example.condition_turn_index, example.action_turn_index)
            if key not in seen:
                seen.add(key)
                evidence.append(example)
    examples = list(dict.fromkeys(t for m in members for t in m.condition_examples))[:MAX_EXAMPLES]
    return head.model_copy(update={
        "scopes": [scope_of(m) for m in members], "merged_from": [m.guideline_id for m in members[1:]],
        "evidence": evidence, "condition_examples": examples,
        "tags": list(dict.fromkeys(t for m in members for t in m.tags))[:MAX_TAGS]})


def merge_habits(proposals: list[GuidelineProposal], clusters: pl.DataFrame,
                 params: HabitParams | None = None, assignments: pl.DataFrame | None = None) -> list[GuidelineProposal]:
    """One proposal per habit, ranked by support (module docstring); without `assignments`
    etiquette rules are not compared by how they are answered."""
    params = params or HabitParams()
    if not params.merge:
        return [p.model_copy(update={"scopes": [scope_of(p)]}) for p in proposals]
    centroids = {cid: np.asarray(c, dtype=np.float64) for cid, c in clusters.select("cluster_id", "centroid").iter_rows()}
    profiles = exchange_profiles(assignments) if assignments is not None and params.answered_alike is not None else ({}, {})
    families = ({} if "split_from" not in clusters.columns else
                {cid: parent for cid, parent in clusters.select("cluster_id", "split_from").drop_nulls().iter_rows()})
    groups = habit_groups(proposals, centroids, params, profiles, families)
    merged = [merge_group([proposals[i] for i in group]) for group in groups]
    merged.sort(key=lambda p: (-p.scores.support, -p.scores.confidence, p.guideline_id))
    return [p.model_copy(update={"rank": rank}) for rank, p in enumerate(merged, start=1)]
