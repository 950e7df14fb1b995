"""Score the miner's etiquette flags (clusters.is_etiquette) against a corpus's hidden truth.

`etiquette_set_scores`: the same truth read at the level of the exported rules: how many of
the global etiquette set's rules are conversation management answered by conversation
management (most of their evidence condition turns and most of their evidence action turns
etiquette in truth), and how many department rules have an etiquette condition.

Turn level, both roles: a turn is predicted etiquette when its cluster is flagged (a turn the
clustering left as noise counts with its nearest cluster, as everywhere in mining), and is
etiquette in truth when the demo truth marks it (`DemoTurnLabel.etiquette`: customer small talk,
identity and confirmations; the etiquette moves of agents). precision / recall / f1 over turns,
and the same per role; a turn without a mined assignment counts as predicted "need".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from guideminer.mining.schema import MINING_FILES


def _prf(predicted: pl.Series, truth: pl.Series) -> dict[str, float | int]:
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_etiquette_turns": tp + fn, "predicted_etiquette_turns": tp + fp}


def etiquette_scores(workspace: Path, truth: Path | None = None) -> dict:
    """precision / recall / f1 of is_etiquette against the demo truth, overall and per role."""
    from guideminer.ingest.demo_truth import load_truth  # ingest is upstream of evaluation

    workspace = Path(workspace)
    rows = [(c.conversation_id, t.turn_index, t.role, t.etiquette)
            for c in load_truth(truth or workspace).conversations for t in c.turns]
    gold = pl.DataFrame(rows, schema={"conversation_id": pl.String, "turn_index": pl.Int32, "role": pl.String,
                                      "truth": pl.Boolean}, orient="row")
    clusters = pl.read_parquet(workspace / MINING_FILES["clusters"], columns=["cluster_id", "is_etiquette"])
    if clusters["is_etiquette"].null_count() == clusters.height:
        raise ValueError(f"{workspace}: clusters.is_etiquette is not set; re-run `guideminer mine`")
    assigned = (pl.read_parquet(workspace / MINING_FILES["turn_assignments"], columns=["conversation_id", "turn_index", "cluster_id"])
                .join(clusters, on="cluster_id", how="left"))
    joined = gold.join(assigned, on=["conversation_id", "turn_index"], how="left").with_columns(
        pl.col("is_etiquette").fill_null(False))
    flagged = clusters.filter(pl.col("is_etiquette"))
    return {"turns": _prf(joined["is_etiquette"], joined["truth"]),
            **{role: _prf(part["is_etiquette"], part["truth"]) for role in ("customer", "agent")
               for part in [joined.filter(pl.col("role") == role)]},
            "etiquette_clusters": flagged.height, "clusters": clusters.height}


def etiquette_set_scores(workspace: Path, truth: Path | None = None) -> dict:
    """How the etiquette set and the department rules read against the demo truth (module docstring)."""
    from guideminer.ingest.demo_truth import load_truth
    from guideminer.mining.proposals_schema import GuidelineSet

    workspace = Path(workspace)
    flags = {(c.conversation_id, t.turn_index): t.etiquette for c in load_truth(truth or workspace).conversations
             for t in c.turns}
    guidelines = GuidelineSet.model_validate_json((workspace / MINING_FILES["guidelines"]).read_text(encoding="utf-8"))

    def mostly(turns: list[tuple[str, int]]) -> bool:
        return bool(turns) and 2 * sum(flags.get(t, False) for t in turns) > len(turns)

    read = [(p.is_etiquette, mostly([(e.conversation_id, e.condition_turn_index) for e in p.evidence]),
             mostly([(e.conversation_id, e.action_turn_index) for e in p.evidence])) for p in guidelines.proposals]
    in_set = [(c, a) for flag, c, a in read if flag]
    return {"etiquette_rules": len(in_set), "read_as_etiquette": sum(c and a for c, a in in_set),
            "need_condition": sum(not c for c, _ in in_set),
            "department_rules": len(read) - len(in_set),
            "department_rules_etiquette_condition": sum(c for flag, c, _ in read if not flag),
            "true_etiquette_rules_outside_set": sum(c and a for flag, c, a in read if not flag)}
