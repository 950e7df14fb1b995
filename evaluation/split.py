"""`guideminer eval split WS --test-share 0.2 --seed 0 --fit FIT --test TEST`: a held-out split.

Why: an agent must be scored on conversations it was not mined from. The split is by
conversation (every turn of a conversation lands on one side), reproducible and hash-free: the
conversation ids are sorted, a seeded NumPy permutation orders them, and the first
`round(n * test_share)` of that order form TEST. The same workspace, share and seed always give
the same split; nothing about a conversation's content decides its side.

Both outputs are normal ingested workspaces (one part per table, the source's rows unchanged),
so `mine`, `export`, `replay` and every `eval` command work on them. Each gets `split.json`
saying where it came from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, TURNS_SCHEMA
from guideminer.ingest.workspace import read_conversations, read_turns, table_dir

SPLIT_MANIFEST = "split.json"
PART_NAME = "part-split.parquet"


@dataclass(frozen=True)
class SplitReport:
    source: str
    seed: int
    test_share: float
    n_conversations: int
    n_fit: int
    n_test: int
    fit: str
    test: str


def split_ids(conversation_ids: list[str], test_share: float, seed: int) -> tuple[list[str], list[str]]:
    """(fit ids, test ids), both sorted: a seeded permutation of the sorted distinct ids."""
    if not 0.0 < test_share < 1.0:
        raise ValueError(f"test share must be strictly between 0 and 1, got {test_share}")
    ids = sorted(set(conversation_ids))
    n_test = round(len(ids) * test_share)
    if n_test == 0 or n_test == len(ids):
        raise ValueError(f"{len(ids)} conversations cannot be split {1 - test_share:.2f}/{test_share:.2f} "
                         "with both sides non-empty")
    order = np.random.default_rng(seed).permutation(len(ids))
    test = {ids[i] for i in order[:n_test]}
    return [c for c in ids if c not in test], sorted(test)


def _check_empty(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty: choose a new folder for the split")


def write_subset(conversations: pl.DataFrame, turns: pl.DataFrame, ids: list[str], out: Path,
                 manifest: dict) -> None:
    """Write the conversations `ids` (and their turns) as a one-part workspace at `out`."""
    keep = pl.col("conversation_id").is_in(ids)
    tables = (("conversations", conversations.filter(keep), CONVERSATIONS_SCHEMA),
              ("turns", turns.filter(keep).with_columns(pl.col("role").cast(pl.String)), TURNS_SCHEMA))
    for name, frame, schema in tables:
        directory = table_dir(out, name)
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(frame.select(schema.names).to_arrow().cast(schema), directory / PART_NAME, compression="zstd")
    (out / SPLIT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def split_workspace(workspace: Path, fit_out: Path, test_out: Path, *, test_share: float = 0.2,
                    seed: int = 0) -> SplitReport:
    """Split an ingested workspace by conversation into two new workspaces (module docstring)."""
    workspace, fit_out, test_out = Path(workspace), Path(fit_out), Path(test_out)
    if fit_out.resolve() == test_out.resolve():
        raise ValueError(f"--fit and --test must be different folders, both are {fit_out}")
    for out in (fit_out, test_out):
        _check_empty(out)
    conversations = read_conversations(workspace)
    turns = read_turns(workspace)
    fit_ids, test_ids = split_ids(conversations["conversation_id"].to_list(), test_share, seed)
    report = SplitReport(str(workspace), seed, test_share, len(fit_ids) + len(test_ids), len(fit_ids),
                         len(test_ids), str(fit_out), str(test_out))
    for side, ids, out in (("fit", fit_ids, fit_out), ("test", test_ids, test_out)):
        write_subset(conversations, turns, ids, out, {**asdict(report), "side": side})
    return report
