"""Terms that are never a person: a deployment's organisation, product and catalogue vocabulary.

Why: the packaged NER tags capitalised vocabulary as PERSON ("Thank you for contacting
Larkfield", restaurant, film and street names), which hides the words mining needs and, worse,
makes the audit flag the same words wherever an output quotes them in a new context. No general
model knows a deployment's catalogue; the deployment does. Two sources, one file format:

- YAML files: the shipped `pii_allow_terms.yaml` (empty: no vocabulary is general) and a
  deployment's own, given with ``guideminer ingest --allow-terms FILE`` (a catalogue export);
- learned from the corpus by `learn_allow_terms` (``guideminer pii-terms``), written as such a
  file with its evidence, for review before ingest uses it.

The redactor drops a PERSON detection when every word of it is an allowed term, unless the
detection came from an explicit "my name is ..." cue (a caller called Larkfield is still a caller).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from guideminer.ingest.pii_types import capital_runs

DEFAULT_ALLOW_TERMS = "pii_allow_terms.yaml"
TITLES = frozenset("mr mrs ms miss dr mister sir madam ma'am".split())
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*")


class AllowTermsError(ValueError):
    """An allow-terms file that cannot be used; the message names the file and the entry."""


def name_words(surface: str) -> list[str]:
    """The lower-cased words of a detected name, possessive 's dropped."""
    words = [w.lower() for w in _WORD_RE.findall(surface)]
    return [w[:-2] if w.endswith("'s") else w for w in words]


class AllowList:
    """Allowed terms as lower-cased word tuples; `covers(surface)` if all its words are allowed."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
        self._phrases = {tuple(name_words(t)) for t in self.terms} - {()}
        self._longest = max((len(p) for p in self._phrases), default=0)
        alternatives = sorted((r"\s+".join(map(re.escape, p)) for p in self._phrases), key=len, reverse=True)
        self._mask_re = re.compile(r"(?i)(?<![\w'-])(?:" + "|".join(alternatives) + r")(?:'s)?(?![\w-])") if alternatives else None

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def covers_in(self, text: str, start: int, end: int) -> bool:
        """`covers` for the span [start, end) of `text`, or for the run of capitalised words
        around it: NER tags "Run Brooklyn" inside the allowed "Amber Run Brooklyn"."""
        if self.covers(text[start:end]):
            return True
        run = next(((s, e) for s, e in capital_runs(text) if s <= start and end <= e), None)
        return run is not None and run != (start, end) and self.covers(text[run[0] : run[1]])

    def covers(self, surface: str) -> bool:
        """True when the words of `surface` are a sequence of allowed terms. A title ("Mr.")
        is never covered: "Mr. Larkfield" is a person."""
        words = name_words(surface)
        i = 0
        while i < len(words):
            step = next((k for k in range(min(self._longest, len(words) - i), 0, -1)
                         if tuple(words[i : i + k]) in self._phrases), 0)
            if not step:
                return False
            i += step
        return bool(words)

    def mask(self, text: str) -> str:
        """`text` with every allowed term overwritten by lower-case letters (same length), so
        the NER gate does not count it as a capitalised candidate."""
        if self._mask_re is None:
            return text
        return self._mask_re.sub(lambda m: "x" * len(m.group(0)), text)


def load_allow_terms(path: Path | None = None) -> tuple[str, ...]:
    """The terms of one YAML file (``terms: [...]``; default: the shipped, empty one)."""
    if path is None:
        text = resources.files("guideminer.ingest").joinpath(DEFAULT_ALLOW_TERMS).read_text(encoding="utf-8")
        where = f"package data {DEFAULT_ALLOW_TERMS}"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("terms") or [], list):
        raise AllowTermsError(f"{where}: expected a mapping with a 'terms' list")
    terms = document.get("terms") or []
    for index, term in enumerate(terms):
        if not isinstance(term, str) or not name_words(term):
            raise AllowTermsError(f"{where}: terms[{index}]: expected a word or phrase, got {term!r}")
    return tuple(terms)


def allow_terms(extra: Sequence[Path] = ()) -> tuple[str, ...]:
    """The shipped terms followed by every term of the `extra` files."""
    terms = list(load_allow_terms())
    for path in extra:
        terms.extend(load_allow_terms(path))
    return tuple(dict.fromkeys(terms))


# --- learned from the corpus ---------------------------------------------------------------
@dataclass(frozen=True)
class LearnedTerm:
    """A capitalised phrase agents say across many conversations, (almost) never in a name slot."""

    term: str
    conversations: int  # conversations where an agent says it inside a sentence
    share: float  # of all conversations
    cue_share: float  # of those conversations where it sits in a name slot ("Hi X,", "this is X")


def learn_allow_terms(conversations: Iterable[Sequence[tuple[str, str]]], min_share: float = 0.01,
                      min_conversations: int = 10, max_cue_share: float = 0.05) -> list[LearnedTerm]:
    """Company and product vocabulary from the corpus itself.

    A customer's name is said in that customer's conversations; the company's name, its products
    and services are said by agents in a large share of all conversations. Agents' own first
    names are said in many conversations too, but in name slots: introductions and greetings
    ("This is Sam from ...", "Thanks Sam!"), which the cue recognisers find. So a phrase (a run
    of capitalised words inside a sentence: "Larkfield", "San Diego", not "Diego" alone) is
    learned when agents say it in at least `min_share` of the conversations (and
    `min_conversations`), and one of its words sits in a name slot in at most `max_cue_share` of
    the conversations that mention it. The thresholds and what they cost are measured in
    docs/pii.md (`benchmarks/bench_pii_terms.py`).
    """
    from guideminer.ingest.pii_recognizers import cue_name_spans

    said: Counter[str] = Counter()
    in_slot: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    total = 0
    for turns in conversations:
        total += 1
        phrases: dict[str, frozenset[str]] = {}
        slot: set[str] = set()
        for role, text in turns:
            if role == "agent":
                for start, end in capital_runs(text):
                    words = name_words(text[start:end])
                    key = " ".join(words)
                    phrases[key] = frozenset(words)
                    surface.setdefault(key, Counter())[" ".join(text[start:end].split())] += 1
            for start, end in cue_name_spans(text):
                slot.update(name_words(text[start:end]))
        said.update(phrases.keys())
        in_slot.update(key for key, words in phrases.items() if words & slot)
    floor = max(min_conversations, min_share * total)
    learned = [LearnedTerm(surface[key].most_common(1)[0][0], n, n / total, in_slot[key] / n)
               for key, n in said.items() if n >= floor and in_slot[key] <= max_cue_share * n and key not in TITLES]
    return sorted(learned, key=lambda t: (-t.conversations, t.term))


def corpus_turns(paths: Sequence[Path], fmt: str = "auto") -> Iterator[list[tuple[str, str]]]:
    """(role, text) of every turn, per conversation, through the same readers as ingest
    (records a reader rejects are skipped here; ingest quarantines them)."""
    from guideminer.ingest.pipeline import discover_files
    from guideminer.ingest.readers import get_reader
    from guideminer.ingest.readers.base import DEFAULT_OPTIONS, NotConversationFile, RawConversation
    from guideminer.ingest.readers.sniff import sniff_format

    files, _ = discover_files(paths, Path("/nonexistent-workspace"))
    for path in files:
        name = sniff_format(path) if fmt == "auto" else fmt
        if name is None:
            continue
        try:
            for item in get_reader(name)(path, DEFAULT_OPTIONS):
                turns = item.payload.get("turns") if isinstance(item, RawConversation) else None
                if isinstance(turns, list):
                    yield [(str(t.get("role")), t["text"]) for t in turns if isinstance(t, dict) and isinstance(t.get("text"), str)]
        except NotConversationFile:
            continue


def write_allow_terms(path: Path, learned: Sequence[LearnedTerm], corpus: str) -> Path:
    """An allow-terms YAML of the learned terms, each with its evidence, for review."""
    lines = [f"# Learned by guideminer pii-terms from {corpus}: words agents say (capitalised, inside",
             "# a sentence) in many conversations and almost never in a name slot. Review before",
             "# `guideminer ingest --allow-terms` uses it: delete any line that is a person's name.",
             "terms:"]
    for term in learned:
        lines.append(f"  - {yaml.safe_dump(term.term, default_style=None).splitlines()[0]}"
                     f"  # {term.conversations} conversations ({term.share:.1%}), in a name slot in {term.cue_share:.1%}")
    if not learned:
        lines[-1] = "terms: []"
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
