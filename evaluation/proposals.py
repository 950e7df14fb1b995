"""`guideminer eval proposals WORKSPACE --gold sgd|demo|labels`: score proposals against gold.

Departments: NMI (and the other DSTC11 clustering scores) of conversation_departments.parquet
against the gold department of each conversation (evaluation/gold.py says where it comes from),
next to KMeans told the gold K in the same run (evaluation/department_peer.py).

Guidelines, one-to-one. Every proposal maps to a pair (condition label, action label): the
majority gold label of the customer turns its condition matches (the answered turns of its
condition cluster, in its department when mined within one, in its state: first / later /
right after its previous agent move) and of the turns of its action cluster. A mapped pair
*claims* a gold target: the gold pair itself, or (demo) the generic gold guideline
(ANY_CONDITION, move) when the condition is no situation and the action a generic move. Each
target is claimed by at most one proposal, the best-supported (support, then confidence, then
id); every further proposal mapped to the same target is a duplicate, a false positive: a
reviewer reading the same rule twice learns nothing the second time.
- precision = distinct targets claimed / proposals (one-to-one);
- recall = distinct gold pairs claimed / gold pairs; f1 their harmonic mean;
- redundancy = proposals mapped to a target / distinct targets claimed (1.0 = no duplicates;
  null when nothing matched);
- lenient_precision = proposals mapped to a target / proposals: the figure this command
  reported before 2026-12-01, which counted every duplicate as correct.
The same scores are given for a chance baseline: every frequent (customer cluster -> next agent
cluster) pair over all conversations, frequent = the miner's own support floors
(`min_support` conversations and `min_support_share` of the answered ones), no other filter.
Both the mapping and the baseline see conversations as the miner does (mining/guidelines.py):
department rules on the need view (etiquette turns left out), the etiquette set on whole
conversations.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
import polars as pl

from guideminer.evaluation.gold import (  # noqa: F401  (re-exported for callers of this module)
    ANY_CONDITION, GOLD_MIN_CONVERSATIONS, GOLD_MIN_SHARE, Gold, GoldSource, Granularity, demo_gold, labels_gold,
    load_gold, next_agent_pairs, sgd_gold, sgd_turn_label,
)
from guideminer.evaluation.department_peer import department_peers
from guideminer.evaluation.metrics import clustering_scores
from guideminer.mining.etiquette import etiquette_clusters
from guideminer.mining.guidelines import CONDITION_KEY, GuidelineParams, occurrences_and_windows, with_states
from guideminer.mining.proposals_schema import GuidelineSet
from guideminer.mining.schema import MINING_FILES

LIST_LIMIT = 50  # longest missed / wrong / duplicate list in the report


@dataclass(frozen=True)
class MappedProposal:
    """A proposal (or a baseline pair) reduced to what one-to-one scoring needs."""

    proposal_id: str
    pair: tuple[str | None, str | None]
    support: int
    confidence: float = 0.0


def cluster_majority(assignments: pl.DataFrame, labels: pl.DataFrame) -> dict[int, str]:
    """Majority gold label of each cluster's (non-noise, labelled) turns."""
    joined = (assignments.filter(~pl.col("is_noise")).select("conversation_id", "turn_index", "cluster_id")
              .join(labels.drop_nulls("label"), on=["conversation_id", "turn_index"]))
    counts: dict[int, Counter] = {}
    for cluster, label in joined.select("cluster_id", "label").iter_rows():
        counts.setdefault(cluster, Counter())[label] += 1
    return {c: sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for c, cnt in counts.items()}


def condition_majority(assignments: pl.DataFrame, labels: pl.DataFrame, routed: pl.DataFrame | None,
                       skip: set[int] | frozenset[int] = frozenset(), open_need: bool = False) -> dict[tuple, str]:
    """Majority gold label of the condition turns each possible condition matches, keyed by
    (department_id or None, condition cluster, state, after_move): the answered customer turns
    of the cluster in that department (all departments when None), state and previous move;
    `skip` (etiquette clusters) gives the need view department rules are mined on, `open_need`
    whether its answer turns were mined as their open need's (the workspace's thresholds)."""
    occurrences, _ = occurrences_and_windows(assignments, 1, routed, skip, open_need)
    # labelled by the turn whose words the condition is (an answer turn's open need: open_need.py)
    counts = (with_states(occurrences).join(labels.drop_nulls("label").rename({"turn_index": "said_turn"}),
                                            on=["conversation_id", "said_turn"])
              .group_by(*CONDITION_KEY, "label").len()
              .sort("len", "label", descending=[True, False]).group_by(*CONDITION_KEY, maintain_order=True).first())
    return {tuple(r[:4]): r[4] for r in counts.select(*CONDITION_KEY, "label").iter_rows()}


def proposal_conditions(assignments: pl.DataFrame, labels: pl.DataFrame, routed: pl.DataFrame | None,
                        etiquette: set[int], open_need: bool = False) -> dict[tuple, str]:
    """`condition_majority` keyed by (is_etiquette, *key), the way each proposal was mined: the
    global etiquette set on whole conversations, department rules on the need view
    (mining/guidelines.py), both over all conversations and per department."""
    need = frozenset(etiquette)
    views = [(True, None, frozenset()), (False, None, need)] + ([(False, routed, need)] if routed is not None else [])
    return {(flag, *key): label for flag, scope, skip in views
            for key, label in condition_majority(assignments, labels, scope, skip, open_need).items()}


def mined_open_need(guidelines: GuidelineSet) -> bool:
    """Whether the proposals were mined with answer turns as their open need (absent: before it)."""
    return bool(guidelines.thresholds.get("open_need", False))


def proposal_condition_key(p) -> tuple:
    department = p.department_id if p.condition_scope == "department" else None
    return (p.is_etiquette, department, p.condition.cluster_id, p.condition_state,
            p.after_action.cluster_id if p.after_action else None)


def map_proposals(guidelines: GuidelineSet, majority: dict[int, str], conditions: dict[tuple, str]) -> list[MappedProposal]:
    """Each proposal's (condition label, action label): `conditions` from `condition_majority`,
    `majority` (of action clusters) from `cluster_majority`; None where a cluster has no label."""
    return [MappedProposal(p.guideline_id, (_condition_label(p, conditions), majority.get(p.action.cluster_id)),
                           p.scores.support, p.scores.confidence) for p in guidelines.proposals]


def _condition_label(p, conditions: dict[tuple, str]) -> str | None:
    """A positional move's condition is a point of the conversation, no customer cluster
    (mining/openers.py): the wildcard, which claims a generic gold guideline (demo: "a
    conversation starts -> greet", "the caller has stated the reason for the call -> ask for
    the name")."""
    return ANY_CONDITION if p.position is not None else conditions.get(proposal_condition_key(p))


def gold_target(pair: tuple[str | None, str | None], gold: Gold) -> tuple[str, str] | None:
    """The gold target a mapped pair claims (module docstring), or None: unmatched."""
    condition, action = pair
    if condition is None or action is None:
        return None
    if pair in gold.pairs:
        return condition, action
    if condition not in gold.situations and action in gold.generic_moves:
        return ANY_CONDITION, action
    return None


def one_to_one_scores(mapped: list[MappedProposal], gold: Gold) -> dict:
    """precision / recall / f1 / redundancy / lenient_precision of the module docstring."""
    claimants: dict[tuple[str, str], list[MappedProposal]] = {}
    unmatched = []
    for m in mapped:
        target = gold_target(m.pair, gold)
        if target is None:
            unmatched.append(m)
        else:
            claimants.setdefault(target, []).append(m)
    duplicates = []
    for target, group in claimants.items():
        group.sort(key=lambda m: (-m.support, -m.confidence, m.proposal_id))
        duplicates += [{"proposal_id": m.proposal_id, "pair": list(target), "claimed_by": group[0].proposal_id}
                       for m in group[1:]]
    n, n_claimed = len(mapped), len(claimants)
    n_correct = n - len(unmatched)
    covered = gold.pairs & set(claimants)
    precision = n_claimed / n if n else 0.0
    recall = len(covered) / len(gold.pairs) if gold.pairs else 0.0
    return {
        "n_proposals": n, "n_gold_pairs": len(gold.pairs),
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "redundancy": n_correct / n_claimed if n_claimed else None,
        "lenient_precision": n_correct / n if n else 0.0,
        "n_matched": n_claimed, "n_duplicates": len(duplicates), "n_unmatched": len(unmatched),
        "missed_gold_pairs": sorted(map(list, gold.pairs - covered))[:LIST_LIMIT],
        "wrong_pairs": sorted({tuple(map(str, m.pair)) for m in unmatched})[:LIST_LIMIT],
        "duplicates": sorted(duplicates, key=lambda d: (d["pair"], d["proposal_id"]))[:LIST_LIMIT],
    }


def chance_baseline(assignments: pl.DataFrame, majority: dict[int, str], conditions: dict[tuple, str],
                    params: GuidelineParams | None = None,
                    etiquette: set[int] | frozenset[int] = frozenset(), open_need: bool = False) -> list[MappedProposal]:
    """Every (customer cluster -> first agent reply cluster) pair over all conversations that
    reaches the miner's support floors (module docstring), mapped like a proposal; seen the way
    the miner sees conversations (need view, and etiquette pairs on whole conversations), so the
    baseline lacks only the miner's filters."""
    params = params or GuidelineParams()
    pairs = []
    for is_etiquette in ([True, False] if etiquette else [False]):
        occurrences, windows = occurrences_and_windows(assignments, 1, None, frozenset() if is_etiquette else etiquette,
                                                       open_need)
        replies = (occurrences.join(windows.filter(pl.col("agent_cluster").is_not_null()), on=["conversation_id", "block"])
                   .select("conversation_id", "condition_cluster", "agent_cluster"))
        if is_etiquette:
            ids = sorted(etiquette)
            replies = replies.filter(pl.col("condition_cluster").is_in(ids) & pl.col("agent_cluster").is_in(ids))
        floor = max(params.min_support, params.min_support_share * occurrences["conversation_id"].n_unique())
        frequent = (replies.group_by("condition_cluster", "agent_cluster")
                    .agg(pl.col("conversation_id").n_unique().alias("support"))
                    .filter(pl.col("support") >= floor).sort("condition_cluster", "agent_cluster"))
        pairs += [MappedProposal(f"chance-{c}-{a}", (conditions.get((is_etiquette, None, c, "any", None)), majority.get(a)),
                                 support) for c, a, support in frequent.iter_rows()]
    return pairs


def guideline_scores(guidelines: GuidelineSet, gold: Gold, majority: dict[int, str], conditions: dict[tuple, str],
                     assignments: pl.DataFrame | None = None,
                     etiquette: set[int] | frozenset[int] = frozenset()) -> dict:
    """One-to-one scores of the proposals and, given `assignments`, of the chance baseline (seen
    with the same open-need view as the proposals)."""
    scores = one_to_one_scores(map_proposals(guidelines, majority, conditions), gold)
    if assignments is not None:
        baseline = one_to_one_scores(chance_baseline(assignments, majority, conditions, etiquette=etiquette,
                                                     open_need=mined_open_need(guidelines)), gold)
        scores["chance_baseline"] = {k: v for k, v in baseline.items() if k not in ("duplicates", "wrong_pairs")}
    return scores


def evaluate_proposals(workspace: Path, gold: GoldSource, *, truth: Path | None = None,
                       granularity: Granularity = "act", condition_key: str | None = None,
                       action_key: str | None = None, domain_key: str = "domain", sgd_level: str = "service") -> dict:
    """Departments NMI and one-to-one guideline scores of a mined workspace against gold labels."""
    workspace = Path(workspace)
    assignments = pl.read_parquet(workspace / MINING_FILES["turn_assignments"])
    guidelines = GuidelineSet.model_validate_json((workspace / MINING_FILES["guidelines"]).read_text(encoding="utf-8"))
    routed = pl.read_parquet(workspace / MINING_FILES["conversation_departments"])
    golden = load_gold(workspace, gold, truth=truth, granularity=granularity, condition_key=condition_key,
                       action_key=action_key, domain_key=domain_key, sgd_level=sgd_level)
    joined = routed.join(golden.departments.drop_nulls("gold"), on="conversation_id")
    dept_scores = clustering_scores(joined["department_id"].to_list(), joined["gold"].to_list()) if joined.height else {}
    labels = golden.labels
    etiquette = etiquette_clusters(pl.read_parquet(workspace / MINING_FILES["clusters"]))
    peers = department_peers(workspace, assignments, set(etiquette), golden.departments.drop_nulls("gold"))
    conditions = proposal_conditions(assignments, labels, routed, etiquette, mined_open_need(guidelines))
    return {
        "gold": gold, **golden.description,
        "departments": {"n_conversations": joined.height, "n_departments": joined["department_id"].n_unique(),
                        "n_gold": joined["gold"].n_unique(), **dept_scores, "peers": peers},
        "guidelines": guideline_scores(guidelines, golden, cluster_majority(assignments, labels), conditions,
                                       assignments, etiquette),
    }
