"""Throughput of `guideminer.ingest.redact.redact_text` on support-sized turns.

Synthetic corpus: 20-60 word turns assembled from support-desk sentences (seeded, so runs are
comparable); about 15% carry PII (email, phone, card, IBAN, SSN, IP, token URL) and about 40%
carry look-alike numbers (order numbers, dates, times, prices, ZIP codes, tracking numbers).
Also timed, when present: the 913 real customer turns of ../shared/data/dstc11-insurance.

Run:  .venv/bin/python benchmarks/bench_redact.py [--turns 20000] [--repeats 5]
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


def conversations_per_second(n: int) -> None:
    """Regex redactor vs the Presidio redactor (read-ahead batches as in ingest) on the
    conversations of benchmarks/bench_ingest.py's synthetic corpus, same run, same process."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ingest import write_synthetic

    from guideminer.ingest.pii_redactor import default_pii_redactor, read_ahead

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_synthetic(Path(tmp), n, files=1)
        conversations = [[t["text"] for t in json.loads(line)["turns"]] for line in paths[0].open(encoding="utf-8")]
    started = time.perf_counter()
    for turns in conversations:
        for turn in turns:
            redact_text(turn)
    regex_rate = n / (time.perf_counter() - started)
    redactor = default_pii_redactor()
    started = time.perf_counter()
    for turns in read_ahead(conversations, redactor, list):
        scope = redactor.scope(turns)
        for turn in turns:
            scope(turn)
    rate = n / (time.perf_counter() - started)
    print(f"{n:,} conversations: regex {regex_rate:,.0f} conv/s, presidio {rate:,.0f} conv/s "
          f"({regex_rate / rate:.1f}x slower); analysed {redactor.finder.analysed:,} texts, NER on {redactor.finder.ner_runs:,}; "
          f"1M conversations: redaction alone {1_000_000 / rate / 60:.0f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--conversations", type=int, default=0, help="also time whole conversations, regex vs Presidio")
    args = parser.parse_args()
    if args.conversations:
        conversations_per_second(args.conversations)
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
