"""What allowed terms do to PERSON redaction: over-redaction on SGD, names kept on the demo.

SGD (../shared/data/sgd/train) has no customer names; its gold slot spans say what a PERSON
detection hit: `artist` and `directed_by` values are (public) people, every other slot
(restaurant, movie, song, event, city, venue, street...) is a catalogue term the NER mistook for a
person, and a detection on no slot is unlabelled. Variants:
- default: shipped recognisers, no allowed terms;
- learned: `learn_allow_terms` on the same dialogues (what `guideminer pii-terms` gives a deployment);
- learned, held out: learned on dialogues_001-006, scored on 007-012 only;
- catalogue: every non-person slot value of the corpus as an allowed term (a deployment that
  exports its catalogue; person slots left out).

Demo (the generator's corpus; it knows every customer and agent name it wrote): recall of those
names (share of their occurrences inside a redaction) and PERSON precision (share of PERSON
spans on a generated name), default vs learned terms.

    .venv/bin/python benchmarks/bench_pii_terms.py [--demo 1500] [--sgd-files 12]
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

SGD = Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd" / "train"
PERSON_SLOTS = frozenset({"artist", "directed_by"})


def sgd_dialogues(files: list[str]) -> list[list[tuple[str, str, list[tuple[int, int, str]]]]]:
    out = []
    for path in files:
        for dialogue in json.loads(Path(path).read_text(encoding="utf-8")):
            out.append([("customer" if t["speaker"] == "USER" else "agent", t["utterance"],
                         [(s["start"], s["exclusive_end"], s["slot"]) for f in t["frames"] for s in f["slots"]])
                        for t in dialogue["turns"]])
    return out


def redacted_spans(redactor, conversations) -> list[list[list[tuple[int, int, str]]]]:
    """Final spans per turn per conversation, scoped per conversation as ingest does."""
    from guideminer.ingest.pii_redactor import read_ahead

    out = []
    for turns in read_ahead(conversations, redactor, list):
        scope = redactor.scope(turns)
        out.append([scope.spans(turn) for turn in turns])
    return out


def score_sgd(name: str, redactor, dialogues) -> None:
    started = time.perf_counter()
    spans = redacted_spans(redactor, [[text for _, text, _ in d] for d in dialogues])
    hit: Counter[str] = Counter()
    person_mentions = person_found = 0
    for dialogue, found in zip(dialogues, spans):
        for (_, _, gold), turn_spans in zip(dialogue, found):
            people = [(s, e) for s, e, k in turn_spans if k == "PERSON"]
            for s, e in people:
                slot = next((g for gs, ge, g in gold if gs < e and s < ge), None)
                hit["person slot" if slot in PERSON_SLOTS else slot or "no slot"] += 1
            for gs, ge, slot in gold:
                if slot in PERSON_SLOTS:
                    person_mentions += 1
                    person_found += any(s < ge and gs < e for s, e, k in turn_spans)
    total = sum(hit.values())
    turns = sum(len(d) for d in dialogues)
    catalogue = total - hit["person slot"] - hit["no slot"]
    print(f"{name:34} PERSON spans {total:5} ({1000 * total / turns:5.1f} per 1k turns): on a catalogue slot {catalogue:5}, "
          f"on no slot {hit['no slot']:4}, on artist/director {hit['person slot']:4} "
          f"(recall {person_found / max(person_mentions, 1):.3f} of {person_mentions}); {time.perf_counter() - started:.0f} s")
    print(f"{'':34} top catalogue slots: {', '.join(f'{k} {v}' for k, v in hit.most_common() if k not in ('person slot', 'no slot'))[:150]}")


def run_sgd(files: int) -> None:
    from guideminer.ingest.pii_allow import learn_allow_terms
    from guideminer.ingest.pii_redactor import default_pii_redactor
    from guideminer.ingest.pii_settings import PiiSettings

    paths = sorted(glob.glob(str(SGD / "dialogues_*.json")))[:files]
    dialogues = sgd_dialogues(paths)
    half = sgd_dialogues(paths[: len(paths) // 2]), sgd_dialogues(paths[len(paths) // 2 :])
    as_turns = lambda ds: [[(role, text) for role, text, _ in d] for d in ds]  # noqa: E731
    learned = [t.term for t in learn_allow_terms(as_turns(dialogues))]
    learned_a = [t.term for t in learn_allow_terms(as_turns(half[0]))]
    catalogue = sorted({text[s:e] for d in dialogues for _, text, gold in d for s, e, slot in gold
                        if slot not in PERSON_SLOTS and re.search(r"[A-Za-z]", text[s:e])})
    print(f"SGD: {len(dialogues)} dialogues, {sum(len(d) for d in dialogues)} turns; learned {len(learned)} terms "
          f"({', '.join(learned[:12])}, ...), {len(learned_a)} on the first half; catalogue {len(catalogue)} slot values")
    score_sgd("default", default_pii_redactor(), dialogues)
    score_sgd("learned (same dialogues)", default_pii_redactor(PiiSettings(allow_terms=tuple(learned))), dialogues)
    score_sgd("default, second half", default_pii_redactor(), half[1])
    score_sgd("learned on first half, second half", default_pii_redactor(PiiSettings(allow_terms=tuple(learned_a))), half[1])
    score_sgd("catalogue (non-person slots)", default_pii_redactor(PiiSettings(allow_terms=tuple(catalogue))), dialogues)


def run_demo(n: int) -> None:
    from guideminer.ingest import demo_catalog
    from guideminer.ingest.demo_corpus import write_demo_corpus
    from guideminer.ingest.pii_allow import learn_allow_terms
    from guideminer.ingest.pii_redactor import default_pii_redactor
    from guideminer.ingest.pii_settings import PiiSettings

    with tempfile.TemporaryDirectory() as tmp:
        path = write_demo_corpus(Path(tmp), n, 7).conversations
        conversations = [[(t["role"], t["text"]) for t in json.loads(line)["turns"]] for line in path.open(encoding="utf-8")]
    names = sorted({*demo_catalog.FIRST_NAMES, *demo_catalog.LAST_NAMES, *demo_catalog.AGENT_NAMES}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(names) + r")(?![\w-])", re.IGNORECASE)
    learned = [t.term for t in learn_allow_terms(conversations)]
    print(f"demo: {n} conversations; learned terms: {', '.join(learned)}; generated names: {len(names)}")
    for name, settings in (("default", PiiSettings()), ("learned", PiiSettings(allow_terms=tuple(learned)))):
        spans = redacted_spans(default_pii_redactor(settings), [[text for _, text in c] for c in conversations])
        mentions = covered = people = on_name = 0
        for conversation, found in zip(conversations, spans):
            for (_, text), turn_spans in zip(conversation, found):
                occurrences = [m.span() for m in pattern.finditer(text) if not (m.group(0) == "grace" and text[m.end():].startswith(" period"))]
                mentions += len(occurrences)
                covered += sum(any(s <= a and b <= e for s, e, _ in turn_spans) for a, b in occurrences)
                for s, e, kind in turn_spans:
                    if kind == "PERSON":
                        people += 1
                        on_name += any(a < e and s < b for a, b in occurrences)
        print(f"  {name:8} generated-name recall {covered / mentions:.4f} ({mentions - covered} of {mentions} left), "
              f"PERSON precision {on_name / people:.4f} ({people - on_name} of {people} PERSON spans on no generated name)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=1500, help="demo conversations (0 to skip)")
    parser.add_argument("--sgd-files", type=int, default=12, help="SGD train files (0 to skip)")
    args = parser.parse_args()
    if args.demo:
        run_demo(args.demo)
    if args.sgd_files and SGD.is_dir():
        run_sgd(args.sgd_files)


if __name__ == "__main__":
    main()
