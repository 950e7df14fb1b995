"""Embed texts and turns through the workspace embedding cache.

Identical texts (after `normalise_text`) are embedded once per call, and texts seen by an earlier
run with the same embedder `model_id` are read back from `<workspace>/mining/embeddings/` instead
of being embedded again, so re-mining an unchanged workspace embeds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from guideminer.mining.embed_cache import EmbeddingCache, normalise_text, text_key
from guideminer.models.embedder import TextEmbedder

EMBEDDINGS_DIR = "mining/embeddings"
TURN_KEY_COLUMNS = ("conversation_id", "turn_index", "role")


class EmbedStats(BaseModel):
    """What one embedding call did; `cache_hits + embedded == unique_texts`."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    n_texts: int  # rows requested
    unique_texts: int  # distinct normalised texts among them
    cache_hits: int  # distinct texts read from the cache
    embedded: int  # distinct texts run through the embedder (cache misses)
    seconds: float


def workspace_embeddings_dir(workspace: Path) -> Path:
    return Path(workspace) / EMBEDDINGS_DIR


def _checked(vectors: np.ndarray, n: int, embedder: TextEmbedder) -> np.ndarray:
    """The embedder's output, verified: (n, dimension), finite, float32."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.shape != (n, embedder.dimension):
        raise ValueError(
            f"embedder {embedder.model_id} returned shape {array.shape} for {n} texts, "
            f"expected {(n, embedder.dimension)}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"embedder {embedder.model_id} returned non-finite values")
    return array


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


RemoteEmbed = Callable[[dict[str, str]], dict[str, np.ndarray]]


def _embed_missing(
    missing: dict[str, str], embedder: TextEmbedder, cache: EmbeddingCache | None,
    chunk_size: int, progress: bool, remote: RemoteEmbed | None = None,
) -> dict[str, np.ndarray]:
    """Embed `missing` (key -> text) chunk by chunk, persisting each chunk as it completes;
    `remote` (e.g. `ray_engine.ray_embed`) embeds a chunk elsewhere instead of `embedder`."""
    keys = sorted(missing, key=lambda k: len(missing[k]))  # similar lengths share batches
    vectors: dict[str, np.ndarray] = {}
    columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=not progress) as bar:
        task = bar.add_task("embed", total=len(keys))
        for chunk in _chunks(keys, chunk_size):
            if remote is None:
                matrix = _checked(embedder.embed([missing[k] for k in chunk]), len(chunk), embedder)
            else:
                done = remote({k: missing[k] for k in chunk})
                matrix = _checked(np.stack([done[k] for k in chunk]), len(chunk), embedder)
            if cache is not None:
                cache.append(chunk, matrix)
            vectors.update(zip(chunk, matrix))
            bar.advance(task, len(chunk))
    return vectors


def embed_texts(
    texts: Sequence[str],
    embedder: TextEmbedder,
    cache_dir: Path | None,
    *,
    chunk_size: int = 4096,
    progress: bool | None = None,
    remote: RemoteEmbed | None = None,
) -> tuple[np.ndarray, EmbedStats]:
    """Vectors for `texts` (row i belongs to texts[i]) plus what was cached vs embedded.

    `cache_dir` is the cache root (for a workspace: `workspace_embeddings_dir(ws)`); vectors go
    to its `<model_id>/` subfolder. None disables persistence but still embeds duplicates once.
    The progress bar shows by default when more than one chunk must be embedded.
    """
    started = time.perf_counter()
    normalised = [normalise_text(t) for t in texts]
    keys = [text_key(t) for t in normalised]
    unique = dict(zip(keys, normalised))
    cache = None
    if cache_dir is not None:
        cache = EmbeddingCache(cache_dir, embedder.model_id, embedder.dimension)
    found = cache.lookup(list(unique)) if cache is not None else {}
    missing = {k: t for k, t in unique.items() if k not in found}
    show = progress if progress is not None else len(missing) > chunk_size
    found.update(_embed_missing(missing, embedder, cache, chunk_size, show, remote))
    matrix = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = found[key]
    stats = EmbedStats(
        model_id=embedder.model_id, n_texts=len(texts), unique_texts=len(unique),
        cache_hits=len(unique) - len(missing), embedded=len(missing),
        seconds=round(time.perf_counter() - started, 3),
    )
    return matrix, stats


def embed_turns(
    turns: pl.DataFrame,
    embedder: TextEmbedder,
    cache_dir: Path | None,
    *,
    roles: Sequence[str] | None = None,
    progress: bool | None = None,
    chunk_size: int = 4096,
    remote: RemoteEmbed | None = None,
) -> tuple[pl.DataFrame, np.ndarray, EmbedStats]:
    """Embed a turns table (ingest TURNS_SCHEMA columns); returns the turn keys aligned with rows.

    `roles` keeps only those roles (e.g. ["customer"]); the key frame has conversation_id,
    turn_index and role (as plain strings), in the order of the returned matrix rows.
    """
    absent = [c for c in (*TURN_KEY_COLUMNS, "text") if c not in turns.columns]
    if absent:
        raise ValueError(f"turns table lacks column(s) {absent}; it has {turns.columns}")
    frame = turns.with_columns(pl.col("role").cast(pl.String))
    if roles is not None:
        frame = frame.filter(pl.col("role").is_in(list(roles)))
    matrix, stats = embed_texts(frame.get_column("text").to_list(), embedder, cache_dir, progress=progress,
                                chunk_size=chunk_size, remote=remote)
    return frame.select(TURN_KEY_COLUMNS), matrix, stats


def embed_workspace_turns(
    workspace: Path, embedder: TextEmbedder, *, roles: Sequence[str] | None = None,
    progress: bool | None = None,
) -> tuple[pl.DataFrame, np.ndarray, EmbedStats]:
    """`embed_turns` on the workspace's turns table, cached in `<workspace>/mining/embeddings/`."""
    from guideminer.ingest.workspace import read_turns  # the ingest stage owns the table layout

    return embed_turns(read_turns(workspace), embedder, workspace_embeddings_dir(workspace),
                       roles=roles, progress=progress)
