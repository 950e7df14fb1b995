"""Embedding cache accounting: identical texts embedded once, a second run embeds nothing,
rows stay aligned with the input; a fake embedder counts every text it is asked to embed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from guideminer.mining.embed import embed_texts, embed_turns, workspace_embeddings_dir
from guideminer.mining.embed_cache import EmbeddingCache, normalise_text, text_key
from guideminer.models.embedder import TextEmbedder


class CountingEmbedder:
    """Deterministic unit vectors from the text's hash; records every batch it embeds."""

    def __init__(self, model_id: str = "fake@000000000000-test", dimension: int = 8) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.batches: list[list[str]] = []

    @property
    def embedded_texts(self) -> list[str]:
        return [t for batch in self.batches for t in batch]

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)


TEXTS = ["Where is my card?", "where is my card?", "Where  is my card?\n", "Book a table", "Where is my card?"]


def test_fake_satisfies_the_protocol() -> None:
    assert isinstance(CountingEmbedder(), TextEmbedder)


def test_normalisation_keeps_case_and_collapses_whitespace() -> None:
    assert normalise_text("  Where\t is\u00a0my  card?\n") == "Where is my card?"
    assert normalise_text("ﬁle ＡＢＣ") == "file ABC"  # NFKC
    assert text_key(normalise_text("Hi  there")) == text_key("Hi there") != text_key("hi there")


def test_duplicates_embedded_once_and_second_run_embeds_nothing(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    cache_dir = workspace_embeddings_dir(tmp_path)
    vectors, stats = embed_texts(TEXTS, embedder, cache_dir)
    assert (stats.n_texts, stats.unique_texts, stats.cache_hits, stats.embedded) == (5, 3, 0, 3)
    assert sorted(embedder.embedded_texts) == ["Book a table", "Where is my card?", "where is my card?"]
    for row, text in enumerate(TEXTS):
        np.testing.assert_array_equal(vectors[row], embedder.vector(normalise_text(text)))

    again = CountingEmbedder()
    cached, stats2 = embed_texts(TEXTS, again, cache_dir)
    assert again.embedded_texts == [] and (stats2.cache_hits, stats2.embedded) == (3, 0)
    np.testing.assert_array_equal(cached, vectors)
    assert stats2.model_id == embedder.model_id


def test_only_new_texts_are_embedded_and_models_do_not_share(tmp_path: Path) -> None:
    embed_texts(["a", "b"], CountingEmbedder(), tmp_path)
    embedder = CountingEmbedder()
    _, stats = embed_texts(["b", "c", "a", "d"], embedder, tmp_path)
    assert sorted(embedder.embedded_texts) == ["c", "d"] and (stats.cache_hits, stats.embedded) == (2, 2)
    other = CountingEmbedder(model_id="fake@111111111111-test")
    _, stats = embed_texts(["a"], other, tmp_path)
    assert stats.embedded == 1 and other.embedded_texts == ["a"]


def test_each_chunk_is_persisted_as_a_fixed_size_list_part(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    _, stats = embed_texts([f"text {i}" for i in range(5)], embedder, tmp_path, chunk_size=2, progress=False)
    cache = EmbeddingCache(tmp_path, embedder.model_id, embedder.dimension)
    parts = cache.part_files()
    assert stats.embedded == 5 and len(parts) == 3 and [len(b) for b in embedder.batches] == [2, 2, 1]
    schema = pq.read_schema(parts[0])
    assert schema.field("vector").type == pa.list_(pa.float32(), 8)
    assert schema.metadata[b"model_id"] == embedder.model_id.encode()
    assert not list(cache.directory.glob(".tmp-*"))


def test_without_cache_dir_nothing_is_written_but_duplicates_still_embed_once(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    _, stats = embed_texts(TEXTS, embedder, None)
    assert stats.embedded == 3 and len(embedder.embedded_texts) == 3
    assert not any(tmp_path.iterdir())


def test_empty_input(tmp_path: Path) -> None:
    vectors, stats = embed_texts([], CountingEmbedder(), tmp_path)
    assert vectors.shape == (0, 8) and stats.unique_texts == 0


def test_bad_embedder_output_and_foreign_cache_parts_are_errors(tmp_path: Path) -> None:
    class WrongShape(CountingEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts), 3), np.float32)

    with pytest.raises(ValueError, match=r"returned shape \(1, 3\)"):
        embed_texts(["x"], WrongShape(), tmp_path)
    embed_texts(["x"], CountingEmbedder(dimension=4), tmp_path)  # same model_id, other dimension
    with pytest.raises(ValueError, match=r"part-.*\.parquet does not hold 8-d vectors"):
        embed_texts(["x"], CountingEmbedder(dimension=8), tmp_path)


def test_embed_turns_filters_roles_and_keeps_turn_keys(tmp_path: Path) -> None:
    turns = pl.DataFrame(
        {
            "conversation_id": ["c1", "c1", "c2", "c2"],
            "turn_index": pl.Series([0, 1, 0, 1], dtype=pl.Int32),
            "role": pl.Series(["customer", "agent", "customer", "agent"], dtype=pl.Categorical),
            "text": ["my card is lost", "I can help", "my card is lost", "Sure"],
        }
    )
    embedder = CountingEmbedder()
    keys, vectors, stats = embed_turns(turns, embedder, tmp_path, roles=["customer"])
    assert keys.to_dicts() == [
        {"conversation_id": "c1", "turn_index": 0, "role": "customer"},
        {"conversation_id": "c2", "turn_index": 0, "role": "customer"},
    ]
    assert vectors.shape == (2, 8) and (stats.unique_texts, stats.embedded) == (1, 1)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['text'\]"):
        embed_turns(turns.drop("text"), embedder, tmp_path)


def test_distinct_vectors_and_row_index(tmp_path: Path) -> None:
    """One vector per distinct normalised text; every row points at its text's vector, and a
    second call filled from the (multi-part) cache gives the same matrix."""
    from guideminer.mining.embed import embed_distinct

    texts = ["a  b", "c", "a b", "\uff41 b", "c", "d"]  # "\uff41" (fullwidth a) -> "a" under NFKC
    embedder = CountingEmbedder()
    matrix, index, stats = embed_distinct(texts, embedder, tmp_path, chunk_size=1, progress=False)
    assert (stats.n_texts, stats.unique_texts, stats.embedded) == (6, 3, 3)
    assert len(matrix) == 3 and index[0] == index[2] == index[3] and index[1] == index[4] != index[5]
    for text, row in zip(texts, index, strict=True):
        assert np.allclose(matrix[row], embedder.vector(normalise_text(text)))
    assert len(EmbeddingCache(tmp_path, embedder.model_id, embedder.dimension).part_files()) == 3
    again, again_index, stats2 = embed_distinct(texts[::-1], CountingEmbedder(), tmp_path, progress=False)
    assert stats2.cache_hits == 3 and stats2.embedded == 0
    assert np.allclose(again[again_index], matrix[index][::-1])
