"""Rule 3 of mining/slots.py: a slot member is inert, knowing which one the customer said does
not change what the agents do. Two tests per member, both against as many of its class's turns
drawn at random: the total variation between the mix of moves after its turns and after the
class's (`member_effects`), and how alike the answers after its turns are (`cohesion_gains`).
Members leave one at a time (`inert_members`); the criterion's reasons are in mining/slots.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from guideminer.mining.slots import SlotParams


def answer_matrix(answers: Sequence[Sequence[int]]) -> sparse.csr_matrix:
    """Turns x agent moves: row i spreads weight 1 over the distinct moves after turn i."""
    ids = {m: k for k, m in enumerate(sorted({m for a in answers for m in a}))}
    rows, cols, values = [], [], []
    for i, moves in enumerate(answers):
        distinct = sorted(set(moves))
        rows += [i] * len(distinct)
        cols += [ids[m] for m in distinct]
        values += [1.0 / len(distinct)] * len(distinct)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(answers), max(len(ids), 1)))


def _mix(rows: np.ndarray, answers: sparse.csr_matrix) -> np.ndarray:
    return np.asarray(answers[rows].mean(axis=0)).ravel()


def member_effects(members: list[str], turns: dict[str, set[int]], answers: sparse.csr_matrix,
                   params: SlotParams, rng: np.random.Generator) -> list[float]:
    """Per member: rescaled TV between what agents do after its turns and after the class's
    (rule 3); the random baseline draws as many of the class's turns, `null_draws` times."""
    pool = np.array(sorted(set().union(*(turns[m] for m in members))), dtype=np.int64)
    pooled = _mix(pool, answers)
    effects = []
    for member in members:
        own = np.array(sorted(turns[member]), dtype=np.int64)
        tv = 0.5 * np.abs(_mix(own, answers) - pooled).sum()
        null = float(np.mean([0.5 * np.abs(_mix(rng.choice(pool, len(own), replace=False), answers) - pooled).sum()
                              for _ in range(params.null_draws)]))
        effects.append(float(np.clip((tv - null) / max(1.0 - null, 1e-9), 0.0, 1.0)))
    return effects


def cohesion_matrix(answers: Sequence[Sequence[int]], conversation_of: np.ndarray) -> sparse.csr_matrix:
    """Turns x agent moves for rule 3's cohesion test: each move weighs its inverse conversation
    frequency (log N / df), rows L2-normalised, so that two turns' dot product is how much of a
    *specific* answer they share; moves after nearly every turn (identification, "anything else?")
    weigh little."""
    present: dict[int, set[int]] = defaultdict(set)
    for moves, conversation in zip(answers, conversation_of, strict=True):
        for move in moves:
            present[move].add(int(conversation))
    n_conversations = max(len(np.unique(conversation_of)), 1)
    ids = {m: k for k, m in enumerate(sorted(present))}
    rows, cols, values = [], [], []
    for i, moves in enumerate(answers):
        for move in sorted(set(moves)):
            rows.append(i)
            cols.append(ids[move])
            values.append(max(np.log(n_conversations / len(present[move])), 1e-6))
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(answers), max(len(ids), 1)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)


def _cohesion(rows: np.ndarray, cohesive: sparse.csr_matrix) -> float:
    """Mean dot product over distinct pairs of `rows` (unit rows: (|sum|^2 - n) / (n (n - 1)))."""
    total = np.asarray(cohesive[rows].sum(axis=0)).ravel()
    n = len(rows)
    return float((total @ total - n) / max(n * (n - 1), 1))


def cohesion_gains(members: list[str], turns: dict[str, set[int]], cohesive: sparse.csr_matrix,
                   params: SlotParams, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Per member: (gain, p) of rule 3's cohesion test. The gain is how much more alike the answers
    after its turns are than after as many of the class's turns drawn at random, rescaled so that
    0 is random and 1 is identical answers: (C - C_random) / (1 - C_random); p is the share of
    draws at least as cohesive. A product is said in every need ("return / repair / track the
    blender"), so its turns are no more alike than random ones; "login screen" or "power button"
    shares the frames of products but names one need, and its turns all get that need's moves."""
    pool = np.array(sorted(set().union(*(turns[m] for m in members))), dtype=np.int64)
    gains = []
    for member in members:
        own = np.array(sorted(turns[member]), dtype=np.int64)
        observed = _cohesion(own, cohesive)
        null = np.array([_cohesion(rng.choice(pool, len(own), replace=False), cohesive)
                         for _ in range(params.null_draws)])
        gain = (observed - null.mean()) / max(1.0 - null.mean(), 1e-9)
        gains.append((float(gain), float((null >= observed).mean())))
    return gains


def _member_to_drop(effects: list[float], gains: list[tuple[float, float]], params: SlotParams) -> int | None:
    """The member to remove next: the largest TV effect above `max_effect`, else the most
    cohesive of those failing the cohesion test, else None. One at a time, because a class
    holding several one-need words ("account", "order", "subscription") makes the pool a mix
    that the products differ from too, until the one-need words are gone."""
    failing_tv = [k for k, e in enumerate(effects) if e > params.max_effect]
    if failing_tv:
        return max(failing_tv, key=lambda k: effects[k])
    cohesive = [k for k, (gain, p) in enumerate(gains) if gain > params.max_cohesion_gain and p < params.cohesion_alpha]
    return max(cohesive, key=lambda k: gains[k][0]) if cohesive else None


def inert_members(members: list[str], turns: dict[str, set[int]], answers: sparse.csr_matrix,
                  cohesive: sparse.csr_matrix, params: SlotParams,
                  rng: np.random.Generator) -> tuple[list[str], list[float]]:
    """The members whose choice does not change what the agent does (both tests of rule 3),
    re-tested after each removal; returns them with their TV effects."""
    while True:
        effects = member_effects(members, turns, answers, params, rng)
        drop = _member_to_drop(effects, cohesion_gains(members, turns, cohesive, params, rng), params)
        if drop is None or len(members) <= params.min_class_terms:
            return members if drop is None else [], effects if drop is None else []
        members = members[:drop] + members[drop + 1:]


__all__ = ["answer_matrix", "cohesion_gains", "cohesion_matrix", "inert_members", "member_effects"]
