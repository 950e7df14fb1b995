"""Content-addressed embedding cache stored as Parquet part files in the workspace.

Layout: `<cache_dir>/<model_id>/part-<utc time>-<random>.parquet`, each with columns
`key` (sha256 hex of the normalised text) and `vector` (fixed_size_list<float32, dimension>), and
`model_id`/`dimension` in the Parquet schema metadata. Parts are only ever added (written to a
hidden temp file, then renamed), so an interrupted run keeps every finished chunk and concurrent
writers never corrupt each other; a key present in several parts is read once.

Text normalisation for the key (and for what is embedded, so a key always names the exact input
the vector came from): Unicode NFKC, then every whitespace run collapsed to one space and the ends
stripped. Case is kept: the shipped model lowercases inside its tokenizer anyway, but a user's
cased model must not see "US" and "us" share a vector.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

_WHITESPACE = re.compile(r"\s+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def normalise_text(text: str) -> str:
    """NFKC + collapsed whitespace + stripped ends; case kept (see module docstring)."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def text_key(normalised: str) -> str:
    """sha256 hex of the normalised text's UTF-8 bytes."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def cache_schema(dimension: int, model_id: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field("key", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dimension), nullable=False),
        ],
        metadata={"model_id": model_id, "dimension": str(dimension)},
    )


class EmbeddingCache:
    """The vectors of one embedder (`model_id`) under one cache root."""

    def __init__(self, root: Path, model_id: str, dimension: int) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.directory = Path(root) / _UNSAFE.sub("_", model_id)
        self.schema = cache_schema(dimension, model_id)

    def part_files(self) -> list[Path]:
        return sorted(self.directory.glob("part-*.parquet")) if self.directory.is_dir() else []

    def _check_part(self, part: Path) -> None:
        schema = pq.read_schema(part)
        vector = schema.field("vector").type if "vector" in schema.names else None
        if "key" not in schema.names or vector != self.schema.field("vector").type:
            raise ValueError(
                f"embedding cache part {part} does not hold {self.dimension}-d vectors for "
                f"{self.model_id} (schema: {schema}); delete it to rebuild the cache"
            )

    def fill(self, keys: Sequence[str], put: Callable[[list[str], np.ndarray], None]) -> None:
        """Hand every cached (key, vector) among `keys` to `put`, one record batch at a time, so
        a million cached vectors never sit in memory twice. A key cached twice is handed twice
        (same vector)."""
        parts = self.part_files()
        if not parts or not keys:
            return
        for part in parts:
            self._check_part(part)
        wanted = pa.array(list(set(keys)), type=pa.string())
        scanner = ds.dataset(parts, format="parquet").scanner(filter=ds.field("key").isin(wanted))
        for batch in scanner.to_batches():
            if batch.num_rows:
                vectors = batch.column("vector").flatten().to_numpy(zero_copy_only=False)  # respects slices
                put(batch.column("key").to_pylist(), vectors.reshape(-1, self.dimension))

    def append(self, keys: Sequence[str], vectors: np.ndarray) -> Path | None:
        """Write one new part file atomically; returns its path (None when nothing to write)."""
        if len(keys) == 0:
            return None
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dimension):
            raise ValueError(f"expected vectors of shape {(len(keys), self.dimension)}, got {vectors.shape}")
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        table = pa.Table.from_arrays(
            [pa.array(list(keys), type=pa.string()), pa.FixedSizeListArray.from_arrays(flat, self.dimension)],
            schema=self.schema,
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(4)}.parquet"
        target = self.directory / name
        temporary = self.directory / f".tmp-{name}"
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, target)
        return target
