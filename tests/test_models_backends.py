"""Embedding backends end to end on a tiny random sentence-transformers model built in code
(torch, ONNX export, ONNX int8), plus slow checks on the real shipped all-MiniLM-L6-v2.

The tiny model (2-layer BERT, 32-d, WordPiece vocab of ~90 tokens) is written to a tmp dir and
loaded through the same local-directory path a user's model takes; its vectors mean nothing,
the tests check plumbing, shapes and backend agreement."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from guideminer.models import TextEmbedder, load_embedder, registry
from guideminer.models import onnx_backend

WORDS = (
    "i want to book a table flight hotel cancel my order card refund please help where is the "
    "account balance money transfer lost new pin change address"
).split()


def build_tiny_model(directory: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"], *"abcdefghijklmnopqrstuvwxyz"]
    backend = Tokenizer(WordPiece({t: i for i, t in enumerate(dict.fromkeys(vocab))}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    ids = {t: backend.token_to_id(t) for t in ("[CLS]", "[SEP]")}
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=list(ids.items())
    )
    hf_dir = directory / "hf"
    tokenizer = BertTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    tokenizer.save_pretrained(hf_dir)
    config = BertConfig(vocab_size=backend.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=24)
    pooling = models.Pooling(transformer.get_embedding_dimension(), "mean")
    model_dir = directory / "tiny-st"
    SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu").save(str(model_dir))
    return model_dir


TEXTS = ["i want to book a table", "cancel my order please", "", "where is my new card " * 10, "refund"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tiny")
    previous = os.environ.get(registry.CACHE_ENV)
    os.environ[registry.CACHE_ENV] = str(root / "model-cache")
    yield build_tiny_model(root)
    if previous is None:
        os.environ.pop(registry.CACHE_ENV)
    else:
        os.environ[registry.CACHE_ENV] = previous


@pytest.fixture(scope="module")
def torch_vectors(tiny_model: Path) -> np.ndarray:
    return load_embedder(tiny_model, backend="torch", num_threads=1).embed(TEXTS)


def test_torch_backend_embeds_normalised_rows_in_input_order(tiny_model: Path, torch_vectors: np.ndarray) -> None:
    embedder = load_embedder(tiny_model, backend="torch", num_threads=1, batch_size=2)
    assert isinstance(embedder, TextEmbedder)
    entry = registry.resolve_embedder(tiny_model)
    assert embedder.model_id == f"tiny-st@{entry.sha256[:12]}-torch-fp32"
    assert torch_vectors.shape == (len(TEXTS), embedder.dimension) and torch_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(torch_vectors, axis=1), 1.0, atol=1e-5)
    reordered = embedder.embed(TEXTS[::-1])
    np.testing.assert_allclose(reordered[::-1], torch_vectors, atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dimension)


@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_onnx_backends_agree_with_torch(tiny_model: Path, torch_vectors: np.ndarray, backend: str, min_cosine: float) -> None:
    embedder = load_embedder(tiny_model, backend=backend, num_threads=1, batch_size=2)
    vectors = embedder.embed(TEXTS)
    assert embedder.model_id.endswith(f"-{backend}" if backend != "onnx" else "-onnx-fp32")
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert (vectors * torch_vectors).sum(axis=1).min() > min_cosine


def test_onnx_export_happens_once(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_embedder(tiny_model, backend="onnx", num_threads=1)
    export = onnx_backend.export_dir(registry.resolve_embedder(tiny_model))
    assert {"model.onnx", "model.int8.onnx", "tokenizer.json", "export.json"} <= {p.name for p in export.iterdir()}

    def no_second_export(*_args, **_kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_backend, "_export_fp32", no_second_export)
    assert load_embedder(tiny_model, backend="onnx-int8", num_threads=1).embed(["hi"]).shape[0] == 1


def test_unknown_backend_is_rejected(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="unknown embedding backend 'cuda'"):
        load_embedder(tiny_model, backend="cuda")  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_shipped_minilm_embeds_meaningfully(backend: str) -> None:
    embedder = load_embedder(backend=backend)
    assert embedder.dimension == 384 and embedder.model_id.startswith("all-MiniLM-L6-v2@061c60a0782c-")
    vectors = embedder.embed(["I lost my credit card", "My card is missing", "Book a table for two tonight"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_default_backend_gives_batch_independent_vectors(tiny_model: Path) -> None:
    """Published figures must not move with batch companions or the CPU's int8 kernels: the
    default (fp32 ONNX) embeds a text alone exactly as inside any batch."""
    embedder = load_embedder(tiny_model, num_threads=1, batch_size=4)
    assert embedder.model_id.endswith("-onnx-fp32")
    batched = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(alone, batched, atol=1e-6)
