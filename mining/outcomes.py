"""Outcome awareness: does following a proposed guideline go with better conversation outcomes?

For each guideline, its condition conversations (the condition occurred in that state) split
into "followed" (the action came within the window after at least one occurrence) and "not
followed" (it never did). Outcomes come from conversations.metadata (JSON): `outcome` (a label
such as resolved / escalated / abandoned) and `csat` (a number, 1-5). Conversations without the
key are left out of that comparison, so every n says how many carried it.

Uncertainty: Wilson 95 % intervals per rate and a pooled two-proportion z test (two-sided p);
csat gets means and the Welch standard error of their difference. This is observational:
agents who follow a guideline may differ in other ways, so it ranks what to review, not proof.

Expected impact = (followed rate - not-followed rate of `POSITIVE_OUTCOME`) x number of
not-followed conversations, i.e. how many more conversations would have been resolved had the
agents always followed it; proposals are re-ranked by it (csat difference x n when no outcome).
"""

from __future__ import annotations

import json
import math

import polars as pl

from guideminer.mining.guidelines import followed_pairs, occurrences_and_windows, with_states
from guideminer.mining.proposals_schema import (
    GuidelineOutcomes, GuidelineProposal, MeanComparison, RateComparison,
)

OUTCOME_KEY = "outcome"
POSITIVE_OUTCOME = "resolved"
CSAT_KEY = "csat"
Z_95 = 1.959963984540054


def wilson_interval(positive: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval: sane at small n and at rates of 0 or 1, unlike the normal one."""
    if n == 0:
        return None
    p = positive / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6))


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z statistic and its two-sided p-value (None when undefined)."""
    if n1 == 0 or n2 == 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (x1 / n1 - x2 / n2) / se
    return round(z, 6), round(math.erfc(abs(z) / math.sqrt(2)), 6)


def parse_outcomes(conversations: pl.DataFrame) -> pl.DataFrame:
    """conversation_id, outcome (str|null), csat (float|null) from the metadata JSON column."""
    ids, labels, scores = [], [], []
    for conversation_id, raw in conversations.select("conversation_id", "metadata").iter_rows():
        try:
            meta = json.loads(raw) if raw else {}
        except json.JSONDecodeError as error:
            raise ValueError(f"conversation {conversation_id}: metadata is not JSON ({error})") from error
        label, csat = meta.get(OUTCOME_KEY), meta.get(CSAT_KEY)
        if csat is not None and not isinstance(csat, int | float):
            try:
                csat = float(csat)
            except ValueError as error:
                raise ValueError(f"conversation {conversation_id}: csat {csat!r} is not a number") from error
        ids.append(conversation_id)
        labels.append(None if label is None else str(label).lower())
        scores.append(None if csat is None else float(csat))
    return pl.DataFrame({"conversation_id": ids, "outcome": labels, "csat": scores},
                        schema={"conversation_id": pl.String, "outcome": pl.String, "csat": pl.Float64})


def rate_comparison(label: str, followed: list[str | None], not_followed: list[str | None]) -> RateComparison:
    f = [v for v in followed if v is not None]
    g = [v for v in not_followed if v is not None]
    fx, gx = sum(v == label for v in f), sum(v == label for v in g)
    f_rate = fx / len(f) if f else None
    g_rate = gx / len(g) if g else None
    diff = None if f_rate is None or g_rate is None else round(f_rate - g_rate, 6)
    z, p = two_proportion_z(fx, len(f), gx, len(g))
    return RateComparison(
        outcome=f"{OUTCOME_KEY}={label}", followed_n=len(f), followed_positive=fx, not_followed_n=len(g),
        not_followed_positive=gx, followed_rate=None if f_rate is None else round(f_rate, 6),
        not_followed_rate=None if g_rate is None else round(g_rate, 6),
        followed_interval=wilson_interval(fx, len(f)), not_followed_interval=wilson_interval(gx, len(g)),
        difference=diff, z=z, p_value=p, expected_impact=None if diff is None else round(diff * len(g), 6))


def mean_comparison(followed: list[float | None], not_followed: list[float | None]) -> MeanComparison:
    f = [v for v in followed if v is not None]
    g = [v for v in not_followed if v is not None]
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    var = lambda xs: sum((x - mean(xs)) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else None  # noqa: E731
    fm, gm = mean(f), mean(g)
    diff = None if fm is None or gm is None else round(fm - gm, 6)
    se = None
    if var(f) is not None and var(g) is not None:
        se = round(math.sqrt(var(f) / len(f) + var(g) / len(g)), 6)
    return MeanComparison(outcome=CSAT_KEY, followed_n=len(f), not_followed_n=len(g),
                          followed_mean=None if fm is None else round(fm, 6),
                          not_followed_mean=None if gm is None else round(gm, 6), difference=diff,
                          standard_error=se)


def guideline_outcomes(followed: pl.DataFrame, not_followed: pl.DataFrame,
                       corpus_labels: list[str]) -> GuidelineOutcomes | None:
    """Comparisons for one guideline from its followed / not-followed conversations' outcomes.

    Every outcome label of the corpus is compared (a rate of 0 is information too), so expected
    impact is always in "conversations resolved" when the corpus has outcome labels at all."""
    labels = corpus_labels
    has_csat = followed["csat"].drop_nulls().len() + not_followed["csat"].drop_nulls().len() > 0
    if not labels and not has_csat:
        return None
    ordered = ([POSITIVE_OUTCOME] if POSITIVE_OUTCOME in labels else []) + [v for v in labels if v != POSITIVE_OUTCOME]
    rates = [rate_comparison(v, followed["outcome"].to_list(), not_followed["outcome"].to_list()) for v in ordered]
    means = [mean_comparison(followed["csat"].to_list(), not_followed["csat"].to_list())] if has_csat else []
    impact = None
    if rates and rates[0].outcome == f"{OUTCOME_KEY}={POSITIVE_OUTCOME}":
        impact = rates[0].expected_impact
    elif means and means[0].difference is not None:
        impact = round(means[0].difference * means[0].not_followed_n, 6)
    return GuidelineOutcomes(rates=rates, means=means, expected_impact=impact)


def attach_outcomes(proposals: list[GuidelineProposal], assignments: pl.DataFrame,
                    conversations: pl.DataFrame, routed: pl.DataFrame | None = None,
                    etiquette: set[int] | frozenset[int] = frozenset()) -> tuple[list[GuidelineProposal], str]:
    """Proposals with `outcomes` filled and re-ranked by expected impact; and the ranking used.
    Each proposal is counted the way it was mined (mining/guidelines.py): department rules on
    the need view (`etiquette` clusters left out) in their department, etiquette rules on whole
    conversations, over all of them.

    Without any outcome metadata the proposals come back unchanged (ranked by support)."""
    outcomes = parse_outcomes(conversations)
    if outcomes["outcome"].drop_nulls().len() == 0 and outcomes["csat"].drop_nulls().len() == 0:
        return proposals, "support"
    corpus_labels = sorted(set(outcomes["outcome"].drop_nulls().to_list()))
    updated = []
    for window, is_etiquette in sorted({(p.action_window, p.is_etiquette) for p in proposals}):
        skip = frozenset() if is_etiquette else frozenset(etiquette)
        occurrences, windows = occurrences_and_windows(assignments, window, None if is_etiquette else routed, skip)
        occ = with_states(occurrences)
        pairs = followed_pairs(occurrences, windows)
        for proposal in (p for p in proposals if (p.action_window, p.is_etiquette) == (window, is_etiquette)):
            department = proposal.department_id if proposal.condition_scope == "department" else None
            cond = ((pl.col("condition_cluster") == proposal.condition.cluster_id)
                    & (pl.col("state") == proposal.condition_state)
                    & pl.col("department_id").eq_missing(department)
                    & pl.col("after_move").eq_missing(proposal.after_action.cluster_id if proposal.after_action else None))
            all_conv = occ.filter(cond).select("conversation_id").unique()
            done = pairs.filter(cond & (pl.col("agent_cluster") == proposal.action.cluster_id)).select("conversation_id").unique()
            followed = outcomes.join(done, on="conversation_id", how="semi")
            not_followed = outcomes.join(all_conv, on="conversation_id", how="semi").join(done, on="conversation_id", how="anti")
            result = guideline_outcomes(followed, not_followed, corpus_labels)
            updated.append(proposal.model_copy(update={"outcomes": result}))
    impact = lambda p: p.outcomes.expected_impact if p.outcomes and p.outcomes.expected_impact is not None else -math.inf  # noqa: E731
    updated.sort(key=lambda p: (-impact(p), p.rank))
    return [p.model_copy(update={"rank": i}) for i, p in enumerate(updated, start=1)], "expected_impact"
