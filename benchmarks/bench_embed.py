"""Embedding throughput and retrieval quality per backend, on the shared public data.

Throughput: a fixed random sample of SGD turns (user + system utterances, read straight from the
dialogue JSON), embedded by plain sentence-transformers (`model.encode` with its defaults) and by
each guideminer backend, all in this one process with the same thread count.
Quality: leave-one-out 1-nearest-neighbour intent accuracy by cosine on banking77 test and
CLINC150 test (in-scope), per backend, plus the mean cosine between each backend's vectors and
torch fp32's. A backend may be "auto" only if its accuracy is within 1% (relative) of torch fp32.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_embed.py --sgd-turns 5000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from guideminer.models import default_num_threads, load_embedder, resolve_embedder  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BACKENDS = ("torch", "onnx", "onnx-int8")


def sgd_turns(n: int, seed: int = 0) -> list[str]:
    texts = []
    for file in sorted((DATA / "sgd" / "train").glob("dialogues_*.json")):
        for dialogue in json.loads(file.read_text(encoding="utf-8")):
            texts.extend(turn["utterance"] for turn in dialogue["turns"])
    random.Random(seed).shuffle(texts)
    return texts[:n]


def banking77() -> tuple[list[str], list[str]]:
    with (DATA / "banking77" / "test.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def clinc150() -> tuple[list[str], list[str]]:
    rows = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))["test"]
    return [r[0] for r in rows], [r[1] for r in rows]


def loo_1nn_accuracy(vectors: np.ndarray, labels: list[str]) -> float:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    gold = np.asarray(labels)
    return float((gold[nearest] == gold).mean())


def timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:64])  # warm-up: first-call allocations, kernel selection
    start = time.perf_counter()
    vectors = fn(texts)
    return np.asarray(vectors, dtype=np.float32), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sgd-turns", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=default_num_threads())
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    entry = resolve_embedder()
    turns = sgd_turns(args.sgd_turns)
    print(f"model {entry.name} sha256 {entry.short_hash}; threads {args.threads}; "
          f"{len(turns)} SGD turns, mean {np.mean([len(t) for t in turns]):.0f} chars")

    plain = SentenceTransformer(str(entry.path), device="cpu", local_files_only=True)
    _, plain_s = timed(plain.encode, turns)
    print(f"{'plain sentence-transformers':44s} {len(turns) / plain_s:8.1f} texts/s  (1.00x)")

    embedders = {b: load_embedder(backend=b, num_threads=args.threads, batch_size=args.batch_size) for b in BACKENDS}
    sgd_vectors = {}
    for name, embedder in embedders.items():
        sgd_vectors[name], seconds = timed(embedder.embed, turns)
        print(f"{embedder.model_id:44s} {len(turns) / seconds:8.1f} texts/s  ({plain_s / seconds:.2f}x)")

    for dataset, (texts, labels) in {"banking77 test": banking77(), "clinc150 test": clinc150()}.items():
        print(f"\n{dataset}: {len(texts)} texts, {len(set(labels))} intents; LOO 1-NN accuracy")
        vectors = {name: e.embed(texts) for name, e in embedders.items()}
        reference = loo_1nn_accuracy(vectors["torch"], labels)
        for name in BACKENDS:
            accuracy = loo_1nn_accuracy(vectors[name], labels)
            cosine = (vectors[name] * vectors["torch"]).sum(axis=1)
            print(f"  {name:10s} acc {accuracy:.4f}  rel. to torch {100 * (accuracy / reference - 1):+.2f}%  "
                  f"cos to torch mean {cosine.mean():.4f} min {cosine.min():.4f}")
    print("\nSGD sample: cosine to torch fp32 vectors")
    for name in BACKENDS[1:]:
        cosine = (sgd_vectors[name] * sgd_vectors["torch"]).sum(axis=1)
        print(f"  {name:10s} mean {cosine.mean():.4f} min {cosine.min():.4f}")


if __name__ == "__main__":
    main()
