"""Throughput of the redactors: the regex `redact_text` per turn, and whole conversations with
the regex redactor against the Presidio redactor (1 or more processes), with peak RSS.

Turns: 20-60 word turns assembled from support-desk sentences (seeded, so runs are comparable);
about 15% carry PII (email, phone, card, IBAN, SSN, IP, token URL) and about 40% carry look-alike
numbers (order numbers, dates, times, prices, ZIP codes, tracking numbers). Also timed, when
present: the 913 real customer turns of ../shared/data/dstc11-insurance.

Conversations (--corpus): `bench` is benchmarks/bench_ingest.py's synthetic corpus (4-12 turns,
no capitalised word inside a sentence: the NER never runs), `demo` the demo generator's corpus,
`sgd` the SGD train dialogues (catalogue names everywhere: NER-heavy). Each redactor runs in a
fresh process (this script with --child) over the same conversations, read-ahead windows of
256 as in ingest; its rate excludes loading, its peak RSS includes its pool workers.

Run:  .venv/bin/python benchmarks/bench_redact.py [--turns 20000] [--repeats 5]
      .venv/bin/python benchmarks/bench_redact.py --turns 0 --corpus bench --conversations 100000 --processes 1 2
      .venv/bin/python benchmarks/bench_redact.py --turns 0 --corpus sgd --processes 1 2
      .venv/bin/python benchmarks/bench_redact.py --turns 0 --corpus sgd --processes 2 --allow-terms TERMS.yaml
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from guideminer.ingest.redact import redact_text

_PLAIN = (
    "Hi there, I ordered a pair of running shoes last week and they still have not arrived.",
    "Could you check what is going on with the delivery, I really need them for the weekend.",
    "I would like to return the jacket because the size is wrong and the colour looks different.",
    "Thanks for your help, that solves my problem and I appreciate the quick answer.",
    "The app keeps crashing whenever I open the payment screen on my phone.",
    "Can you tell me how long a refund usually takes to show up on my statement?",
    "I was charged twice for the same subscription this month and want one charge reversed.",
    "My parcel shows as delivered but there is nothing at the door or with the neighbours.",
    "Is it possible to change the delivery address before the order is shipped?",
    "I cannot log in to my account even after resetting the password twice.",
)
_LOOKALIKE = (
    "My order number is #{order} and it was placed on {date}.",
    "The reference is ORD-2024-{ref} and the total was ${price}.",
    "Tracking says 1Z999AA1{track} was scanned at {time} yesterday.",
    "I live in zip code {zip} and the invoice from 2023 shows {qty} items.",
    "The app version is {version} and the error code was E{code}.",
)
_PII = (
    "You can email me at {name}.{surname}@example.com if that is easier.",
    "Please call me back on (555) {a}-{b} after five pm.",
    "My mobile is +44 7700 900{a} if you need it.",
    "The card I used was 4111 1111 1111 1111 and it expired last month.",
    "Refund it to my IBAN GB82 WEST 1234 5698 7654 32 please.",
    "For the credit check my SSN is 123-45-{b}.",
    "The login came from 192.168.{o}.{o2} which is not me.",
    "I clicked https://shop.example.com/reset?token=ab12cd34ef56{b} and it failed.",
)


def make_turns(count: int, seed: int = 7) -> list[str]:
    """`count` turns of 20-60 words."""
    rng = random.Random(seed)
    turns = []
    for _ in range(count):
        sentences: list[str] = []
        if rng.random() < 0.40:
            sentences.append(_fill(rng.choice(_LOOKALIKE), rng))
        if rng.random() < 0.15:
            sentences.append(_fill(rng.choice(_PII), rng))
        while sum(len(s.split()) for s in sentences) < rng.randint(20, 60):
            sentences.append(rng.choice(_PLAIN))
        rng.shuffle(sentences)
        turns.append(" ".join(sentences))
    return turns


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        order=rng.randint(1_000_000, 9_999_999), date=f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        ref=rng.randint(100_000, 999_999), price=f"{rng.randint(1, 1999):,}.99",
        track=rng.randint(10**9, 10**10 - 1), time=f"{rng.randint(10, 23)}:{rng.randint(10, 59)}",
        zip=rng.randint(10_000, 99_999), qty=rng.randint(2, 9), code=rng.randint(100, 999),
        version=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        name=rng.choice(("anna", "li", "omar")), surname=rng.choice(("smith", "ng", "diaz")),
        a=rng.randint(200, 999), b=rng.randint(1000, 9999), o=rng.randint(0, 255), o2=rng.randint(1, 254),
    )


def turns_per_second(turns: Sequence[str], repeats: int) -> float:
    """Median over `repeats` runs of redacting every turn once."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for turn in turns:
            redact_text(turn)
        rates.append(len(turns) / (time.perf_counter() - start))
    return statistics.median(rates)


def load_corpus(corpus: str, n: int) -> list[list[str]]:
    """Turn texts per conversation of one of the --corpus choices."""
    import tempfile

    if corpus == "sgd":
        from guideminer.ingest.pii_allow import corpus_turns

        sgd = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd" / "train"
        conversations = [[text for _, text in turns] for turns in corpus_turns([sgd])]
        return conversations[:n] if n else conversations
    with tempfile.TemporaryDirectory() as tmp:
        if corpus == "demo":
            from guideminer.ingest.demo_corpus import write_demo_corpus

            path = write_demo_corpus(Path(tmp), n or 1500, 7).conversations
        else:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_ingest import write_synthetic

            path = write_synthetic(Path(tmp), n or 100_000, files=1)[0]
        return [[t["text"] for t in json.loads(line)["turns"]] for line in path.open(encoding="utf-8")]


def _peak_mib(pids: Sequence[int] = ()) -> float:
    """Peak RSS of this process plus the given (worker) processes, from /proc VmHWM."""
    total = 0
    for pid in ("self", *pids):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _cpu_seconds(pids: Sequence[int] = ()) -> float:
    """User + system CPU seconds of this process and the given (worker) processes so far."""
    import os

    total = time.process_time()
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def child(corpus: str, n: int, variant: str, processes: int, allow_terms: str = "") -> None:
    """One measured run: redact every turn of every conversation, print the figures as JSON."""
    conversations = load_corpus(corpus, n)
    figures: dict = {"conversations": len(conversations), "turns": sum(map(len, conversations))}
    if variant == "regex":
        started, cpu = time.perf_counter(), _cpu_seconds()
        for turns in conversations:
            for turn in turns:
                redact_text(turn)
        figures["seconds"], figures["cpu_seconds"] = time.perf_counter() - started, _cpu_seconds() - cpu
        figures["peak_rss_mib"] = _peak_mib()
    else:
        from guideminer.ingest.pii_redactor import default_pii_redactor, read_ahead

        from guideminer.ingest.pii_settings import PiiSettings

        settings = PiiSettings.from_files(allow_term_files=[Path(allow_terms)]) if allow_terms else None
        redactor = default_pii_redactor(settings, processes=processes)
        finder = redactor.finder
        pids = finder.worker_pids() if processes > 1 else ()
        started, cpu = time.perf_counter(), _cpu_seconds(pids)
        for turns in read_ahead(conversations, redactor, list):
            scope = redactor.scope(turns)
            for turn in turns:
                scope(turn)
        figures["seconds"], figures["cpu_seconds"] = time.perf_counter() - started, _cpu_seconds(pids) - cpu
        figures.update({name: getattr(finder, name) for name in ("analysed", "ner_runs", "ner_sentences", "ner_cached")})
        figures["peak_rss_mib"] = _peak_mib(pids)
    print(json.dumps(figures))


def conversations_per_second(corpus: str, n: int, processes: Sequence[int], allow_terms: Path | None = None) -> None:
    """Regex vs Presidio (each process count) on the same conversations, each in a fresh process."""
    import subprocess

    runs = [("regex", 1)] + [("presidio", p) for p in processes]
    results = {}
    for variant, count in runs:
        command = [sys.executable, __file__, "--child", corpus, str(n), variant, str(count), str(allow_terms or "")]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[(variant, count)] = json.loads(output.strip().splitlines()[-1])
    base = results[("regex", 1)]
    base_rate = base["conversations"] / base["seconds"]
    terms = f", Presidio with the allowed terms of {allow_terms}" if allow_terms else ""
    print(f"{corpus}: {base['conversations']:,} conversations, {base['turns']:,} turns{terms}; "
          f"wall-clock rates are upper bounds on a shared machine, CPU rates are per busy core")
    for (variant, count), figures in results.items():
        rate = figures["conversations"] / figures["seconds"]
        cpu_rate = figures["conversations"] / figures["cpu_seconds"]
        line = (f"  {variant:8} x{count}: {rate:9,.0f} conv/s ({base_rate / rate:5.1f}x slower than regex), "
                f"{cpu_rate:9,.0f} conv per CPU-s, "
                f"peak RSS {figures['peak_rss_mib']:6.0f} MiB ({figures['peak_rss_mib'] / base['peak_rss_mib']:.1f}x)")
        if variant == "presidio":
            line += (f"; analysed {figures['analysed']:,} texts, NER on {figures['ner_runs']:,} "
                     f"({figures['ner_runs'] / figures['turns']:.1%} of turns), {figures['ner_sentences']:,} sentences NER'd, "
                     f"{figures['ner_cached']:,} from the cache; 1M conversations: {1_000_000 / rate / 60:.0f} min at this rate, "
                     f"{1_000_000 / (min(count, 2) * cpu_rate) / 60:.0f} min on {min(count, 2)} free core(s) (ideal)")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", choices=("bench", "demo", "sgd"), help="also time whole conversations, regex vs Presidio")
    parser.add_argument("--conversations", type=int, default=0, help="conversations of --corpus (0: 100k bench, 1,500 demo, all SGD)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1], help="Presidio process counts to time")
    parser.add_argument("--allow-terms", type=Path, default=None,
                        help="a deployment's allow-terms YAML (e.g. from `guideminer pii-terms`) for the Presidio runs")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, n, variant, processes, allow_terms = args.child
        child(corpus, int(n), variant, int(processes), allow_terms)
        return
    if args.corpus:
        conversations_per_second(args.corpus, args.conversations, args.processes, args.allow_terms)
    if not args.turns:
        return
    turns = make_turns(args.turns)
    words = statistics.mean(len(t.split()) for t in turns)
    with_pii = sum(1 for t in turns if redact_text(t)[1]) / len(turns)
    rate = turns_per_second(turns, args.repeats)
    print(f"synthetic: {len(turns)} turns, {words:.0f} words avg, {with_pii:.0%} with PII: "
          f"{rate:,.0f} turns/s")
    real = Path(__file__).resolve().parents[1].parent / "shared/data/dstc11-insurance"
    path = real / "test-utterances.jsonl"
    if path.is_file():
        utterances = [json.loads(line)["utterance"] for line in path.open(encoding="utf-8")]
        rate = turns_per_second(utterances, args.repeats)
        print(f"dstc11-insurance: {len(utterances)} real turns: {rate:,.0f} turns/s")


if __name__ == "__main__":
    main()
