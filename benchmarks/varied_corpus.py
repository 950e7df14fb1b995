"""A scale-bench corpus whose turns are mostly distinct, as real transcripts are.

Why: the demo generator's 1M conversations hold 7.15M turns but only 12% distinct texts, and
embedding (the dominant mining cost) is paid per distinct text, so scale figures on it flatter
the product. This corpus takes real dialogues (the shared SGD train set) and perturbs every turn
lightly the way speech and chat vary: numbers redrawn, a spoken-style opener or closer, an
occasional typo (two adjacent letters swapped). Meaning stays; the text is new, so the share of
distinct turns reaches >= 80% at 100k conversations (printed by `main`, checked by the caller).

    .venv/bin/python benchmarks/varied_corpus.py --conversations 10000 --out /tmp/varied.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

SGD_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd" / "train"
OPENERS = ("", "", "Okay, ", "Well, ", "So ", "Um, ", "Actually, ", "Right, ", "Hmm, ", "Yes, ", "Alright, ",
           "Oh, ", "Sure, ", "Hi, ", "Listen, ", "Honestly, ", "Ok so ", "Uh, ", "Great, ", "Thanks, ")
CLOSERS = ("", "", " please", " thanks", " if that's ok", " I think", " right?", " for now", " as well",
           " if you can", " by the way", " actually", " thank you", " ok?", " then")
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z]{4,}")


def sgd_dialogues(folder: Path = SGD_TRAIN) -> list[list[tuple[str, str]]]:
    """Every SGD train dialogue as (role, text) turns."""
    dialogues = []
    for path in sorted(folder.glob("dialogues_*.json")):
        for dialogue in json.loads(path.read_text()):
            dialogues.append([("customer" if t["speaker"] == "USER" else "agent", t["utterance"]) for t in dialogue["turns"]])
    if not dialogues:
        raise FileNotFoundError(f"no SGD dialogues_*.json under {folder}")
    return dialogues


def perturb(text: str, rng: random.Random) -> str:
    """The same utterance as another speaker might say it (module docstring)."""
    text = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()) - 1)), text)
    opener, closer = rng.choice(OPENERS), rng.choice(CLOSERS)
    if opener:
        text = opener + text[:1].lower() + text[1:]
    if closer:
        text = text.rstrip(".!?") + closer + (text[-1] if text[-1:] in ".!?" else "")
    words = list(_WORD.finditer(text))
    if words and rng.random() < 0.3:
        word = rng.choice(words)
        i = word.start() + rng.randrange(len(word.group()) - 1)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def varied_conversations(n: int, seed: int = 0) -> Iterator[dict]:
    """`n` conversations: SGD dialogues in a seeded order, cycled, every turn perturbed."""
    rng = random.Random(seed)
    dialogues = sgd_dialogues()
    order = list(range(len(dialogues)))
    rng.shuffle(order)
    for number in range(n):
        turns = dialogues[order[number % len(order)]]
        yield {"conversation_id": f"varied-{number:07d}",
               "turns": [{"role": role, "text": perturb(text, rng)} for role, text in turns]}


def write_varied_corpus(path: Path, n: int, seed: int = 0) -> dict:
    """Write the corpus as JSONL; returns turns and distinct-text counts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    turns = 0
    with path.open("w") as out:
        for conversation in varied_conversations(n, seed):
            out.write(json.dumps(conversation) + "\n")
            turns += len(conversation["turns"])
            seen.update(t["text"] for t in conversation["turns"])
    return {"conversations": n, "turns": turns, "distinct_texts": len(seen), "distinct_share": round(len(seen) / max(turns, 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(write_varied_corpus(args.out, args.conversations, args.seed)))


if __name__ == "__main__":
    main()
