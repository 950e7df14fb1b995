"""Ingest throughput (conversations/s) and peak RSS, on real SGD data and a 100k synthetic corpus.

Throughput is conversations read per second (for a first ingest all are written; for the
re-ingest all are skipped as identical). Each measurement runs `ingest_paths` in a fresh child process (this script re-invoked with
`--child`) so its peak RSS (`ru_maxrss`) is the ingest's own, not this driver's. The synthetic
corpus is simple canonical JSONL written into a temporary directory: 4-12 turns per conversation,
a few with an e-mail address or phone number so the redactor has work to do. Redaction is on
(the product default) unless --no-redact is given. `--redactors` times, side by side in the
same run, the product's Presidio redactor (`presidio:N` = N redaction processes) against the
regex-only `redact_text` of earlier releases (`regex`); the ratio column is against the first.

    .venv/bin/python benchmarks/bench_ingest.py                      # SGD + 100k synthetic
    .venv/bin/python benchmarks/bench_ingest.py --redactors regex presidio:1 presidio:2
    .venv/bin/python benchmarks/bench_ingest.py --synthetic 20000 --no-redact
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

CUSTOMER = ["Hi, my order {n} has not arrived yet.", "Can I change the delivery address?", "I was charged twice this month.",
            "How do I reset my password?", "You can reach me at user{n}@example.com", "My number is 415-555-{n4:04d}.",
            "Thanks, that helps.", "The app crashes when I open the settings page."]
AGENT = ["Sorry to hear that, let me check.", "Could you confirm the e-mail on the account?", "I have issued a refund.",
         "The parcel is with the courier and should arrive tomorrow.", "Is there anything else I can help with?",
         "I've sent a reset link to your inbox.", "Please update the app to the latest version."]


def write_synthetic(directory: Path, n_conversations: int, files: int = 4, seed: int = 0) -> list[Path]:
    """Canonical JSONL spread over `files` files; streamed so the driver stays small too."""
    rng = random.Random(seed)
    paths = [directory / f"synthetic_{i:02d}.jsonl" for i in range(files)]
    handles = [path.open("w", encoding="utf-8") for path in paths]
    try:
        for n in range(n_conversations):
            turns = []
            for index in range(rng.randint(4, 12)):
                pool, role = (CUSTOMER, "customer") if index % 2 == 0 else (AGENT, "agent")
                text = rng.choice(pool).format(n=n, n4=n % 10_000)
                turns.append({"role": role, "text": text, "timestamp": f"2024-01-01T10:{index:02d}:00Z"})
            record = {"conversation_id": f"syn-{n}", "turns": turns, "metadata": {"queue": rng.choice(["billing", "tech", "orders"])}}
            handles[n % files].write(json.dumps(record) + "\n")
    finally:
        for handle in handles:
            handle.close()
    return paths


def child(inputs: list[str], workspace: str, redact: bool, redactor: str = "presidio:1") -> None:
    """Runs inside the measured process: ingest, then print the figures as one JSON line."""
    from guideminer.ingest.pipeline import ingest_paths
    from guideminer.ingest.redact import redact_text

    kind, _, processes = redactor.partition(":")
    chosen = redact_text if kind == "regex" else None
    started = time.perf_counter()
    report = ingest_paths(inputs, workspace, redact=redact, redactor=chosen, redact_processes=int(processes or 1))
    seconds = time.perf_counter() - started
    if kind == "presidio" and int(processes or 1) > 1:  # stop the workers so their usage is counted below
        from guideminer.ingest.pii_redactor import default_pii_redactor

        default_pii_redactor(processes=int(processes)).finder.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak_kib += int(processes or 1) * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if int(processes or 1) > 1 else 0
    print(json.dumps({"cpu_seconds": sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                                         for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)),"records": report.records_read, "conversations": report.conversations_written, "turns": report.turns_written,
                      "quarantined": report.quarantined, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def measure(label: str, inputs: list[Path], workspace: Path, redact: bool, redactor: str = "presidio:1",
            base: dict | None = None) -> dict:
    command = [sys.executable, __file__, "--child", str(workspace), *map(str, inputs), "--redactor", redactor]
    if not redact:
        command.append("--no-redact")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    rate = figures["records"] / figures["seconds"]
    print(f"{label:<28} {figures['records']:>8,} read {figures['conversations']:>8,} written {figures['turns']:>9,} turns "
          f"{figures['seconds']:7.1f} s {rate:9,.0f} conv/s  peak RSS {figures['peak_rss_mib']:6.0f} MiB  "
          f"quarantined {figures['quarantined']}  CPU {figures['cpu_seconds']:.0f} s"
          + (f"  {base['seconds'] / figures['seconds']:.2f}x the speed of {base['label']}" if base else "")
          + (f"  1M conversations: {1e6 / rate / 60:.0f} min" if figures["records"] >= 1000 else ""))
    return {**figures, "label": label}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=100_000, help="synthetic conversations (0 to skip)")
    parser.add_argument("--no-redact", action="store_true")
    parser.add_argument("--redactors", nargs="+", default=["presidio:1"],
                        help="regex | presidio:N (N redaction processes); timed side by side on each corpus")
    parser.add_argument("--redactor", default="presidio:1", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.child:
        workspace, *inputs = args.child
        child(inputs, workspace, redact=not args.no_redact, redactor=args.redactor)
        return
    redact = not args.no_redact
    print(f"redaction {'on' if redact else 'off'}; each run in a fresh process")
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        root = Path(tmp)
        sgd = DATA / "sgd" / "train"
        if sgd.is_dir():
            base = None
            for name in args.redactors:
                row = measure(f"SGD train, {name}", [sgd], root / f"ws_sgd_{name}", redact, name, base)
                base = base or row
        else:
            print(f"SGD data not found at {sgd}; skipped")
        if args.synthetic:
            corpus = root / "corpus"
            corpus.mkdir()
            started = time.perf_counter()
            inputs = write_synthetic(corpus, args.synthetic)
            size_mib = sum(p.stat().st_size for p in inputs) / 2**20
            print(f"generated {args.synthetic:,} conversations ({size_mib:.0f} MiB) in {time.perf_counter() - started:.1f} s")
            base = None
            for name in args.redactors:
                row = measure(f"synthetic {args.synthetic:,}, {name}", inputs, root / f"ws_syn_{name}", redact, name, base)
                base = base or row
            measure("synthetic re-ingest (no-op)", inputs, root / f"ws_syn_{args.redactors[0]}", redact, args.redactors[0])


if __name__ == "__main__":
    main()
