"""Wall time and peak RSS per stage as the corpus grows (10k / 100k / ... conversations).

Each stage runs in its own subprocess (so its peak RSS is its own) on the same workspace, in
order; `mine` steps are resumable, so each subprocess runs only its stage's steps:
generate (corpus JSONL: `--corpus varied`, the default, or `demo`) -> ingest -> embed -> cluster (both roles, labels, assignments)
-> propose (guidelines, departments, report). Embedding uses the default backend (onnx fp32
MiniLM) with the workspace cache. Embedding is paid per distinct text: the default corpus
(benchmarks/varied_corpus.py) has >= 80% distinct turns as real transcripts do; the demo
corpus repeats most texts. The distinct-text count is printed next to the turn count, and the
embed stage's texts/s, so the embedding figure can be read honestly.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_scale.py --sizes 10000 100000 [--out DIR]
        [--fit-rows 500000] [--redact-processes 2] [--stages embed cluster propose] [--bertopic-size 10000]

`--bertopic-size N` also runs benchmarks/bench_bertopic.py on every turn of an N-conversation
demo corpus (needs `bash benchmarks/make_bench_venv.sh`) and prints its JSON line with the
wall-time ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
stage, ws, n, fit_rows, corpus = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
redact_processes = int(sys.argv[7])
started = time.perf_counter()
info = {}
source = ws / "demo_corpus" / "conversations.jsonl" if corpus == "demo" else ws / "varied_corpus" / "conversations.jsonl"
if stage == "generate":
    if corpus == "demo":
        from guideminer.ingest.demo_corpus import write_demo_corpus
        write_demo_corpus(ws, n, 7)
    else:
        sys.path.insert(0, sys.argv[6])
        from varied_corpus import write_varied_corpus
        info = write_varied_corpus(source, n)
elif stage == "ingest":
    from guideminer.ingest.pipeline import ingest_paths
    report = ingest_paths([source], ws, fmt="jsonl", redact_processes=redact_processes)
    if redact_processes > 1:  # stop the redaction workers so their peak RSS is counted below
        from guideminer.ingest.pii_redactor import default_pii_redactor
        default_pii_redactor(processes=redact_processes).finder.close()
    info = {"conversations": report.conversations_written, "turns": report.turns_written,
            "redact_processes": redact_processes}
else:
    from guideminer.mining.mine_steps import default_steps
    from guideminer.mining.pipeline import MineConfig, MineContext, default_read_conversations, default_read_turns, run_steps
    from guideminer.models import load_embedder
    names = {"embed": ["embed"], "cluster": ["embed", "cluster_agent", "slots", "cluster_customer", "label", "assignments"],
             "propose": None}[stage]
    steps = [s for s in default_steps() if names is None or s.name in names]
    ctx = MineContext(ws, MineConfig(fit_rows=fit_rows), load_embedder(), default_read_turns, default_read_conversations)
    reports = run_steps(ctx, steps)
    info = {r.name: r.info for r in reports if not r.skipped}
    keep = ("unique_texts", "embedded", "cache_hits", "n_texts", "k", "n", "noise_share", "hdbscan_noise_share", "guidelines", "departments")
    info = {k: {x: v[x] for x in keep if x in v} for k, v in info.items()}
    for r in reports:  # per-step wall time: the cluster stage is several steps (agent, slots, customer, ...)
        if not r.skipped:
            info.setdefault(r.name, {})["seconds"] = round(r.seconds, 1)
print(json.dumps({"stage": stage, "seconds": round(time.perf_counter() - started, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "child_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                  "info": info}))
"""
STAGES = ("generate", "ingest", "embed", "cluster", "propose")


def run_stage(stage: str, workspace: Path, n: int, args: argparse.Namespace) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, stage, str(workspace), str(n), str(args.fit_rows),
                             args.corpus, str(Path(__file__).resolve().parent),
                             str(args.redact_processes)], capture_output=True, text=True)
    if result.returncode != 0:
        return {"stage": stage, "error": result.stderr.strip().splitlines()[-1] if result.stderr else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(row: dict) -> str:
    """The stage process's peak RSS; with worker processes (ingest's redaction workers) an upper
    bound: parent peak + workers x the largest worker's."""
    parent, child, workers = row.get("peak_rss_mib"), row.get("child_peak_rss_mib") or 0, row.get("redact_processes", 2)
    if parent is None:
        return "-"
    return f"{parent}" if child == 0 else f"{parent} + {workers} x {child} = {parent + workers * child}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=None, help="keep the workspaces here (default: a temp dir)")
    parser.add_argument("--fit-rows", type=int, default=500_000, help="MineConfig.fit_rows (sample-fit above it)")
    parser.add_argument("--redact-processes", type=int, default=2,
                        help="ingest's --redact-processes (PII NER workers; default: both cores of this machine)")
    parser.add_argument("--bertopic-size", type=int, default=None,
                        help="also run benchmarks/bench_bertopic.py --demo N (guideminer vs BERTopic, same turns)")
    parser.add_argument("--corpus", choices=("demo", "varied"), default="varied",
                        help="varied (default): SGD dialogues with every turn perturbed, >= 80%% distinct turns as in "
                             "real transcripts (benchmarks/varied_corpus.py); demo: the demo generator (12%% distinct at 1M)")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES,
                        help="run only these (e.g. re-mine a kept workspace: --stages embed cluster propose)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="gm-scale-"))
    rows = []
    for n in args.sizes:
        workspace = root / f"ws-{n}"
        for stage in [s for s in STAGES if s in args.stages]:
            started = time.perf_counter()
            row = {"conversations": n, "fit_rows": args.fit_rows, "redact_processes": args.redact_processes,
                   "corpus": args.corpus, **run_stage(stage, workspace, n, args)}
            row.setdefault("seconds", round(time.perf_counter() - started, 1))
            embed_info = (row.get("info") or {}).get("embed", {})
            embedded = embed_info.get("embedded", embed_info.get("unique_texts"))  # cached vectors cost nothing
            if stage == "embed" and embedded:
                row["embedded_texts_per_s"] = round(embedded / max(row["seconds"], 1e-9), 1)
            if stage == "ingest" and "error" not in row:
                row["conversations_per_s"] = round(n / max(row["seconds"], 1e-9), 1)
                row["projected_minutes_per_1m"] = round(1_000_000 / max(row["conversations_per_s"], 1e-9) / 60, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if "error" in row:
                break
    if args.bertopic_size:
        bertopic = subprocess.run([sys.executable, str(Path(__file__).with_name("bench_bertopic.py")),
                                   "--demo", str(args.bertopic_size)], capture_output=True, text=True)
        print(bertopic.stdout.strip().splitlines()[-1] if bertopic.returncode == 0 else
              f"bench_bertopic failed: {bertopic.stderr.strip().splitlines()[-1:]}", flush=True)
    print(f"\ncorpus: {args.corpus}\n| conversations | stage | seconds | peak RSS MiB (bound) | notes |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['conversations']:,} | {row['stage']} | {row.get('seconds')} | {memory(row)} | "
              f"{json.dumps(row.get('info') or row.get('error', ''))} |")


if __name__ == "__main__":
    main()
