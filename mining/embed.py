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
    chunk_size: int, progress: bool, on_chunk: Callable[[list[str], np.ndarray], None],
    remote: RemoteEmbed | None = None,
) -> None:
    """Embed `missing` (key -> text) chunk by chunk, persisting each chunk as it completes and
    handing it to `on_chunk`; `remote` (e.g. `ray_engine.ray_embed`) embeds a chunk elsewhere."""
    keys = sorted(missing, key=lambda k: len(missing[k]))  # similar lengths share batches
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
            on_chunk(chunk, matrix)
            bar.advance(task, len(chunk))


def distinct_index(texts: pl.Series) -> tuple[list[str], np.ndarray]:
    """(distinct normalised texts, row -> position in them), normalising each raw text once.

    Raw duplicates are found by polars (sorted dense rank) so a 10M-row column never becomes a
    Python list; only distinct raw texts are normalised and hashed."""
    raw = texts.cast(pl.String).fill_null("")
    raw_distinct = raw.unique().sort()
    raw_index = (raw.rank("dense").cast(pl.Int64) - 1).to_numpy()
    position: dict[str, int] = {}
    normalised_texts: list[str] = []
    raw_to_distinct = np.empty(len(raw_distinct), dtype=np.int32)
    for i, text in enumerate(raw_distinct.to_list()):
        normalised = normalise_text(text)
        slot = position.setdefault(normalised, len(position))
        if slot == len(normalised_texts):
            normalised_texts.append(normalised)
        raw_to_distinct[i] = slot
    return normalised_texts, raw_to_distinct[raw_index] if len(raw_index) else np.zeros(0, np.int32)


def embed_distinct(
    texts: Sequence[str] | pl.Series,
    embedder: TextEmbedder,
    cache_dir: Path | None,
    *,
    chunk_size: int = 4096,
    progress: bool | None = None,
    remote: RemoteEmbed | None = None,
) -> tuple[np.ndarray, np.ndarray, EmbedStats]:
    """(one vector per distinct normalised text, row -> vector index, stats).

    Why distinct: support logs repeat turns verbatim, and a per-row matrix of 10M turns would
    take 15 GB while the distinct vectors of the same corpus take a tenth of that.
    `cache_dir` is the cache root (for a workspace: `workspace_embeddings_dir(ws)`); vectors go
    to its `<model_id>/` subfolder. None disables persistence. The progress bar shows by default
    when more than one chunk must be embedded.
    """
    started = time.perf_counter()
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    distinct, index = distinct_index(series)
    keys = [text_key(t) for t in distinct]
    position = {key: row for row, key in enumerate(keys)}
    matrix = np.empty((len(keys), embedder.dimension), dtype=np.float32)
    filled = np.zeros(len(keys), dtype=bool)

    def put(chunk_keys: list[str], vectors: np.ndarray) -> None:
        rows = np.fromiter((position[k] for k in chunk_keys), dtype=np.int64, count=len(chunk_keys))
        matrix[rows], filled[rows] = vectors, True

    cache = EmbeddingCache(cache_dir, embedder.model_id, embedder.dimension) if cache_dir is not None else None
    if cache is not None:
        cache.fill(keys, put)
    missing = {keys[row]: distinct[row] for row in np.flatnonzero(~filled)}
    cache_hits = len(keys) - len(missing)
    show = progress if progress is not None else len(missing) > chunk_size
    _embed_missing(missing, embedder, cache, chunk_size, show, put, remote)
    stats = EmbedStats(
        model_id=embedder.model_id, n_texts=len(series), unique_texts=len(keys),
        cache_hits=cache_hits, embedded=len(missing),
        seconds=round(time.perf_counter() - started, 3),
    )
    return matrix, index, stats


def embed_texts(
    texts: Sequence[str],
    embedder: TextEmbedder,
    cache_dir: Path | None,
    *,
    chunk_size: int = 4096,
    progress: bool | None = None,
    remote: RemoteEmbed | None = None,
) -> tuple[np.ndarray, EmbedStats]:
    """Vectors for `texts` (row i belongs to texts[i]) plus what was cached vs embedded; see
    `embed_distinct`, which this expands to one row per text."""
    matrix, index, stats = embed_distinct(texts, embedder, cache_dir, chunk_size=chunk_size,
                                          progress=progress, remote=remote)
    return matrix[index], stats


def _turn_frame(turns: pl.DataFrame, roles: Sequence[str] | None) -> pl.DataFrame:
    absent = [c for c in (*TURN_KEY_COLUMNS, "text") if c not in turns.columns]
    if absent:
        raise ValueError(f"turns table lacks column(s) {absent}; it has {turns.columns}")
    frame = turns.with_columns(pl.col("role").cast(pl.String))
    return frame.filter(pl.col("role").is_in(list(roles))) if roles is not None else frame


def embed_turns_distinct(
    turns: pl.DataFrame, embedder: TextEmbedder, cache_dir: Path | None, *,
    roles: Sequence[str] | None = None, progress: bool | None = None, chunk_size: int = 4096,
    remote: RemoteEmbed | None = None,
) -> tuple[pl.DataFrame, np.ndarray, EmbedStats]:
    """(turn keys + `text_row`, distinct vectors, stats): row i of the keys is embedded by
    vector `text_row[i]`; see `embed_distinct`."""
    frame = _turn_frame(turns, roles)
    matrix, index, stats = embed_distinct(frame.get_column("text"), embedder, cache_dir, progress=progress,
                                          chunk_size=chunk_size, remote=remote)
    keys = frame.select(TURN_KEY_COLUMNS).with_columns(pl.Series("text_row", index, dtype=pl.Int32))
    return keys, matrix, stats


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
    keys, matrix, stats = embed_turns_distinct(turns, embedder, cache_dir, roles=roles, progress=progress,
                                               chunk_size=chunk_size, remote=remote)
    return keys.select(TURN_KEY_COLUMNS), matrix[keys["text_row"].to_numpy()], stats


def embed_workspace_turns(
    workspace: Path, embedder: TextEmbedder, *, roles: Sequence[str] | None = None,
    progress: bool | None = None,
) -> tuple[pl.DataFrame, np.ndarray, EmbedStats]:
    """`embed_turns` on the workspace's turns table, cached in `<workspace>/mining/embeddings/`."""
    from guideminer.ingest.workspace import read_turns  # the ingest stage owns the table layout

    return embed_turns(read_turns(workspace), embedder, workspace_embeddings_dir(workspace),
                       roles=roles, progress=progress)
