"""Receptionist departments recover planted groups; k comes from the criterion, not a constant."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import normalized_mutual_info_score

from proposals_world import assignments_from, department_world

import numpy as np

from guideminer.mining.departments import UNROUTED, DepartmentParams, centred_cosine, first_peak, propose_departments
from guideminer.mining.schema import CONVERSATION_DEPARTMENTS_SCHEMA


def partition(dept_set) -> set[frozenset[int]]:
    return {frozenset(d.situation_cluster_ids) for d in dept_set.departments}


@pytest.mark.parametrize("groups", [4, 5])
def test_planted_groups_recovered_and_k_chosen_by_silhouette(groups):
    world = department_world(groups=groups)
    dept_set, table = propose_departments(world["assignments"], world["clusters"])
    gold = world["situation_gold"]
    assert partition(dept_set) == {frozenset(s for s, g in gold.items() if g == k) for k in range(groups)}
    assert dept_set.chosen_k == groups
    best = max(dept_set.candidates, key=lambda c: c.silhouette)
    assert best.k == dept_set.chosen_k
    assert [c.k for c in dept_set.candidates] == list(range(3, min(12, 3 * groups - 1) + 1))  # k < #situations
    assert dept_set.overall_transfer_rate == 0.0
    assert sum(d.traffic_share for d in dept_set.departments) == pytest.approx(1.0)
    labels = dict(table.select("conversation_id", "department_id").iter_rows())
    conversations = sorted(world["gold"])
    assert normalized_mutual_info_score([world["gold"][c] for c in conversations],
                                        [labels[c] for c in conversations]) == pytest.approx(1.0)


def test_generic_greeting_is_not_a_situation():
    world = department_world()
    dept_set, _ = propose_departments(world["assignments"], world["clusters"])
    situations = {c for d in dept_set.departments for c in d.situation_cluster_ids}
    assert 800 not in situations and 801 not in situations
    for department in dept_set.departments:
        assert department.name and department.example_openings
        assert department.department_id.startswith("d-")


def test_transfers_and_unrouted_conversations():
    world = department_world()
    extra = {f"x{i}": [("customer", 0, False), ("agent", 900, False), ("customer", 3, False)] for i in range(6)}
    extra["silent"] = [("agent", 900, False)]
    assignments = pl.concat([world["assignments"], assignments_from(extra)])
    dept_set, table = propose_departments(assignments, world["clusters"])
    assert table.to_arrow().cast(CONVERSATION_DEPARTMENTS_SCHEMA).schema.equals(CONVERSATION_DEPARTMENTS_SCHEMA)
    assert table.columns == CONVERSATION_DEPARTMENTS_SCHEMA.names
    assert table.height == assignments["conversation_id"].n_unique()
    silent = table.filter(pl.col("conversation_id") == "silent").row(0, named=True)
    assert silent["department_id"] == UNROUTED and silent["confidence"] == 0.0
    # 6 conversations open in group 0 and later raise a group-1 situation; "silent" is not routed
    assert dept_set.overall_transfer_rate == pytest.approx(6 / (120 + 6), abs=1e-6)
    group0 = next(d for d in dept_set.departments if 0 in d.situation_cluster_ids)
    assert group0.transfer_rate == pytest.approx(6 / group0.n_conversations, abs=1e-6)
    moved = table.filter(pl.col("conversation_id") == "x0").row(0, named=True)
    assert moved["department_id"] == group0.department_id
    assert moved["confidence"] == pytest.approx(0.9 * 0.5)  # half its situation turns are elsewhere
    assert dept_set.unrouted_conversations == 1


def test_k_range_is_a_parameter():
    world = department_world(groups=4)
    dept_set, _ = propose_departments(world["assignments"], world["clusters"], DepartmentParams(k_min=5, k_max=6))
    assert dept_set.chosen_k in (5, 6) and [c.k for c in dept_set.candidates] == [5, 6]


def test_etiquette_clusters_are_never_situations_and_openings_skip_them():
    """A flagged cluster (here situation 0, as if it were a greeting) neither forms a department
    nor routes: conversations opening with it route on their next, substantive turn."""
    world = department_world()
    clusters = world["clusters"].with_columns(
        pl.col("cluster_id").is_in([0, 800, 801, 900]).alias("is_etiquette"))
    dept_set, table = propose_departments(world["assignments"], clusters)
    situations = {c for d in dept_set.departments for c in d.situation_cluster_ids}
    assert not situations & {0, 800, 801}
    assert all("hi" not in d.example_openings for d in dept_set.departments)
    assert (table["department_id"] == UNROUTED).sum() == 0


def test_a_cluster_spread_over_every_need_is_no_situation_and_openings_pass_it():
    """An answer every need gets (here "thanks" 801, said first in its conversations, as a
    phone number said before an unreadable need) is spread (`is_spread`, the etiquette step's
    measure) without being etiquette: it forms no department and conversations route on the
    need after it."""
    world = department_world()
    first = world["assignments"].with_columns(
        pl.when(pl.col("cluster_id") == 801).then(-1).otherwise(pl.col("turn_index")).alias("turn_index"))
    judged = world["clusters"].with_columns(pl.col("cluster_id").is_in([800, 900]).alias("is_etiquette"))
    unspread, _ = propose_departments(first, judged.with_columns(pl.lit(False).alias("is_spread")))
    assert 801 in {c for d in unspread.departments for c in d.situation_cluster_ids}
    dept_set, table = propose_departments(first, judged.with_columns((pl.col("cluster_id") == 801).alias("is_spread")))
    assert 801 not in {c for d in dept_set.departments for c in d.situation_cluster_ids}
    joined = table.join(pl.DataFrame({"conversation_id": list(world["gold"]), "gold": list(world["gold"].values())}),
                        on="conversation_id")
    assert normalized_mutual_info_score(joined["gold"], joined["department_id"]) > 0.9


def test_a_spread_answer_routed_somewhere_is_no_transfer():
    """Conversations whose only non-etiquette turn is the spread answer route it to some
    department; its turns elsewhere say nothing about a need and are no transfer."""
    world = department_world()
    only_answer = assignments_from({f"x-{i:02d}": [("customer", 800, False), ("agent", 900, False),
                                                   ("customer", 801, False), ("agent", 900, False)] for i in range(3)})
    assignments = pl.concat([world["assignments"], only_answer.cast(world["assignments"].schema)])
    judged = world["clusters"].with_columns(pl.col("cluster_id").is_in([800, 900]).alias("is_etiquette"),
                                            (pl.col("cluster_id") == 801).alias("is_spread"))
    dept_set, table = propose_departments(assignments, judged)
    assert 801 not in {c for d in dept_set.departments for c in d.situation_cluster_ids}
    assert dept_set.overall_transfer_rate == 0.0
    assert table.filter(pl.col("conversation_id").str.starts_with("x-"))["department_id"].n_unique() == 1


def test_unjudged_clusters_are_judged_here():
    """A clusters table whose is_etiquette is all null (older workspace) is judged by the
    etiquette detector, not taken as 'no etiquette'."""
    world = department_world()
    assert world["clusters"]["is_etiquette"].null_count() == world["clusters"].height
    dept_set, _ = propose_departments(world["assignments"], world["clusters"])
    assert not {c for d in dept_set.departments for c in d.situation_cluster_ids} & {800, 801}


def test_first_peak_is_the_coarsest_local_best_not_the_global_best():
    rising = {3: 0.11, 4: 0.13, 5: 0.16, 6: 0.19, 7: 0.198, 8: 0.198, 9: 0.195, 10: 0.19, 11: 0.23, 12: 0.26}
    assert first_peak(rising) == 7  # a tie goes to the smaller k; the rise towards k_max is pairs splitting off
    assert first_peak({3: 0.44, 4: 0.60, 5: 0.59, 6: 0.51}) == 4
    assert first_peak({3: 0.3, 4: 0.2, 5: 0.1}) == 3  # the smallest k with structure, above its neighbour
    assert first_peak({3: 0.286, 4: 0.279, 5: 0.29, 6: 0.31, 7: 0.306}) == 3  # KVRET: its 3 domains
    assert first_peak({3: 0.095, 4: 0.087, 5: 0.113, 6: 0.2, 7: 0.19}) == 6  # no structure at k = 3: not trusted
    assert first_peak({3: 0.2, 4: 0.1, 5: 0.05}) == 3  # no peak at all: the best
    assert first_peak({3: 0.1, 4: 0.2}) == 4
    assert first_peak({3: 0.5}) == 3


def test_centred_cosine_separates_areas_a_shared_direction_hides():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=32) * 6.0  # every opening is a support request: one large common part
    area = [rng.normal(size=32) for _ in range(2)]
    vectors = np.stack([shared + area[i % 2] + rng.normal(size=32) * 0.3 for i in range(8)])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    raw = unit @ unit.T
    centred = centred_cosine(vectors, np.ones(8))
    same = [(i, j) for i in range(8) for j in range(i + 1, 8) if i % 2 == j % 2]
    other = [(i, j) for i in range(8) for j in range(i + 1, 8) if i % 2 != j % 2]
    assert min(raw[p] for p in other) > 0.9  # raw cosines: everything alike
    assert min(centred[p] for p in same) > 0.6 and max(centred[p] for p in other) < 0.1
    assert np.allclose(np.diag(centred), 1.0) and centred.min() >= 0.0
