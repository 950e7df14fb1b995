"""Precision/recall per entity type of the regex redactor and the Presidio redactor on a labelled
set this project did not write: presidio-evaluator's sentence templates filled with its
FakeNameGenerator records (both MIT, shipped inside the presidio-evaluator wheel; not installed,
only read). Get the wheel with:

    pip download --no-deps -d /tmp/pe presidio-evaluator==0.3.2
    .venv/bin/python benchmarks/bench_pii_eval.py /tmp/pe/presidio_evaluator-0.3.2-py3-none-any.whl
        [--allow-terms FILE] [--ungated]

--allow-terms scores the redactor with a deployment's allowed terms (what a learned or catalogue
list costs in recall); --ungated also scores it with NER on every sentence (what the NER gate costs).

Scored types: PERSON, ADDRESS, EMAIL, PHONE, DATE_OF_BIRTH (the record columns the templates can
be filled from). Other placeholders (city, country, organisation, job, age, year...) are filled too
but are not personal data here, so a detection on them is a false positive. A detection is a true
positive when it overlaps a gold span of the same type (one-to-one: a second detection on the same
gold span is a false positive).
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
import time
import zipfile
from pathlib import Path
from collections import Counter

GOLD = {"person": "PERSON", "name": "PERSON", "first_name": "PERSON", "last_name": "PERSON", "name_male": "PERSON",
        "name_female": "PERSON", "first_name_male": "PERSON", "first_name_female": "PERSON", "last_name_male": "PERSON",
        "last_name_female": "PERSON", "first_name_nonbinary": "PERSON", "address": "ADDRESS", "email": "EMAIL",
        "phone_number": "PHONE", "date_of_birth": "DATE_OF_BIRTH"}
TYPES = ("PERSON", "ADDRESS", "EMAIL", "PHONE", "DATE_OF_BIRTH")


def _value(key: str, row: dict, rng: random.Random) -> str | None:
    table = {"person": f"{row['GivenName']} {row['Surname']}", "name": f"{row['GivenName']} {row['Surname']}",
             "address": f"{row['StreetAddress']}, {row['City']}, {row['State']} {row['ZipCode']}",
             "email": row["EmailAddress"], "phone_number": row["TelephoneNumber"], "date_of_birth": row["Birthday"],
             "city": row["City"], "country": row["CountryFull"], "organization": row["Company"], "job": row["Occupation"],
             "age": row["Age"], "year": str(rng.randint(1990, 2024)), "street_name": row["StreetAddress"].split(" ", 1)[-1],
             "building_number": row["StreetAddress"].split(" ", 1)[0], "postcode": row["ZipCode"], "zipcode": row["ZipCode"],
             "state_abbr": row["State"], "nationality": row["CountryFull"], "prefix": row["Title"], "prefix_male": "Mr.",
             "prefix_female": "Mrs.", "day_of_week": "Monday", "secondary_address": "Apt 4"}
    if key in table:
        return table[key]
    if key.startswith(("first_name", "name_")):
        return row["GivenName"] if key.startswith("first") else f"{row['GivenName']} {row['Surname']}"
    if key.startswith("last_name"):
        return row["Surname"]
    return None


def labelled_set(wheel: str, seed: int = 0) -> list[tuple[str, list[tuple[int, int, str]]]]:
    with zipfile.ZipFile(wheel) as archive:
        root = "presidio_evaluator/data_generator/raw_data/"
        # the templates write line breaks as the two characters "\\n" (signature blocks, addresses)
        templates = [t.replace("\\n", "\n") for t in archive.read(root + "templates.txt").decode("utf-8", "replace").splitlines()]
        rows = list(csv.DictReader(io.StringIO(archive.read(root + "FakeNameGenerator.com_3000.csv").decode("utf-8-sig"))))
    rng = random.Random(seed)
    out = []
    for template in templates:
        keys = re.findall(r"{{(\w+)}}", template)
        row = rng.choice(rows)
        if not keys or any(_value(k, row, rng) is None for k in keys):
            continue  # a placeholder the records cannot fill (cards, IBANs, URLs...)
        text, spans, cursor = "", [], 0
        for match in re.finditer(r"{{(\w+)}}", template):
            text += template[cursor:match.start()]
            value = _value(match.group(1), row, rng)
            if match.group(1) in GOLD:
                spans.append((len(text), len(text) + len(value), GOLD[match.group(1)]))
            text += value
            cursor = match.end()
        out.append((text + template[cursor:], spans))
    return out


def score(examples, detect) -> dict[str, tuple[int, int, int]]:
    tally = {t: [0, 0, 0] for t in TYPES}
    for (text, gold), found in zip(examples, detect([t for t, _ in examples])):
        used = set()
        for start, end, kind in found:
            kind = {"SPELLED": "PERSON"}.get(kind, kind)
            match = next((i for i, (s, e, k) in enumerate(gold) if k == kind and s < end and start < e and i not in used), None)
            if match is None:
                if kind in tally:
                    tally[kind][1] += 1
                continue
            used.add(match)
            tally[kind][0] += 1
        for i, (_, _, kind) in enumerate(gold):
            if i not in used:
                tally[kind][2] += 1
    return {k: tuple(v) for k, v in tally.items()}


def own_set_scores(redact) -> tuple[dict[str, tuple[int, int, int]], int, int]:
    """The project's own labelled set (tests/test_redact.py: written support-desk PII and
    look-alike numbers, the regex types), scored as that test scores it: per type (tp, fp, fn),
    a detection counting only when the whole output is as expected; plus exact outputs / cases."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_redact import LABELLED_NEGATIVES, LABELLED_POSITIVES, _expected_and_input

    from guideminer.ingest.redact import PLACEHOLDERS

    tallies = {kind: [0, 0, 0] for kind in PLACEHOLDERS}
    cases = LABELLED_POSITIVES + LABELLED_NEGATIVES
    exact = 0
    for labelled in cases:
        raw, expected, expected_counts = _expected_and_input(labelled)
        redacted = redact(raw)
        exact += redacted == expected
        for kind, placeholder in PLACEHOLDERS.items():
            found = redacted.count(placeholder)
            hits = min(found, expected_counts[kind]) if redacted == expected else 0
            tallies[kind][0] += hits
            tallies[kind][1] += found - hits
            tallies[kind][2] += expected_counts[kind] - hits
    return {k: tuple(v) for k, v in tallies.items()}, exact, len(cases)


def _print_own_set(name: str, redact) -> None:
    tallies, exact, cases = own_set_scores(redact)
    print(f"\nown set (tests/test_redact.py), {name}: exact output {exact}/{cases}\n{'type':14} {'P':>6} {'R':>6}   tp  fp  fn")
    for kind, (tp, fp, fn) in tallies.items():
        print(f"{kind:14} {tp / (tp + fp) if tp + fp else float('nan'):6.3f} {tp / (tp + fn) if tp + fn else float('nan'):6.3f} {tp:4} {fp:3} {fn:3}")


def _ungated():
    from guideminer.ingest.pii_engine import PresidioFinder
    from guideminer.ingest.pii_redactor import PiiRedactor, default_pii_redactor

    nlp = default_pii_redactor().finder._nlp
    finder = PresidioFinder(nlp, gated=False)
    return PiiRedactor(finder, finder.id_recognizer)


def main() -> None:
    import argparse

    from guideminer.ingest.pii_redactor import default_pii_redactor
    from guideminer.ingest.pii_settings import PiiSettings
    from guideminer.ingest.redact import find_spans

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel")
    parser.add_argument("--allow-terms", type=Path, action="append", default=[])
    parser.add_argument("--ungated", action="store_true")
    args = parser.parse_args()
    examples = labelled_set(args.wheel)
    print(f"{len(examples)} sentences, {sum(len(g) for _, g in examples)} gold spans")
    variants = [("regex (redact_text)", lambda texts: [find_spans(t) for t in texts]), ("presidio (default)", default_pii_redactor().detect)]
    if args.allow_terms:
        settings = PiiSettings.from_files(allow_term_files=args.allow_terms)
        variants.append((f"presidio + {len(settings.allow_terms)} allowed terms", default_pii_redactor(settings).detect))
    if args.ungated:
        variants.append(("presidio, NER on every sentence", _ungated().detect))
    from guideminer.ingest.redact import redact_text

    _print_own_set("regex (redact_text)", lambda text: redact_text(text)[0])
    presidio = default_pii_redactor()
    _print_own_set("presidio (default)", lambda text: presidio.scope([text])(text)[0])
    for name, detect in variants:
        started = time.perf_counter()
        tallies = score(examples, detect)
        print(f"\n{name}  ({time.perf_counter() - started:.1f} s)\n{'type':14} {'P':>6} {'R':>6}   tp  fp  fn")
        for kind, (tp, fp, fn) in tallies.items():
            print(f"{kind:14} {tp / (tp + fp) if tp + fp else float('nan'):6.3f} {tp / (tp + fn) if tp + fn else float('nan'):6.3f} {tp:4} {fp:3} {fn:3}")


if __name__ == "__main__":
    main()
