"""The Presidio analyzer guideminer redacts with: packaged spaCy NER plus the call recognisers.

Built explicitly, never through Presidio's defaults: `AnalyzerEngine()` would try to download a
spaCy model and load recognisers that fetch a public-suffix list. Here the NLP engine loads the
model directory that `guideminer.models.registry.resolve_spacy_model` found (an installed package,
content-hashed), with only its `ner` component (it has its own tok2vec layer; the shared
`tok2vec` component feeds only the tagger and parser): the rest costs time and feeds nothing we use.

Cost control, because NER is ~100x the cost of the regexes: a text is analysed only if a cheap
gate says some recogniser could fire (digits, ``@``, a cue word, a spelled letter run, a
capitalised word), and NER runs only on the *sentences* with a capitalised word that does not
open a sentence and is not an allowed term (`guideminer.ingest.pii_allow`), batched through
`nlp.pipe` and cached: agents' boilerplate sentences recur across thousands of conversations,
and a sentence is NER'd once. The rest are not even tokenised. What the gates cost in recall
is measured in docs/pii.md (`benchmarks/bench_pii_eval.py --ungated`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guideminer.ingest.pii_allow import AllowList
from guideminer.ingest.pii_contact import PhoneCandidateRecognizer, PostalAddressRecognizer
from guideminer.ingest.pii_ids import id_patterns
from guideminer.ingest.pii_types import OPENERS, OPENING_NAME_RE, SENTENCE_INNER_CAPITAL_RE, Found
from guideminer.ingest.pii_recognizers import (
    AddressRecognizer,
    AddressedNameRecognizer,
    ChecksumRecognizer,
    DateRecognizer,
    IdPatternRecognizer,
    NameCueRecognizer,
    SpelledRecognizer,
    SpokenEmailRecognizer,
    SpokenNumberRecognizer,
)

NER_COMPONENTS = ("ner",)  # en_core_web_sm's ner has its own tok2vec: the shared one feeds only tagger/parser
SCORE_THRESHOLD = 0.5

# Some recogniser could fire: written digits/@/URL, spoken digits, cue words, letter runs.
_ANALYSE_GATE = re.compile(
    r"[0-9@]|://|\b(?:name|name's|holder|born|birth|dob|box|dot|as in|like in|zero|oh|one|two|three|"
    r"four|five|six|seven|eight|nine|double|triple|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"|\b(?:hi|hello|hey|dear|regards|sincerely|cheers|this is|i'm|i am)\b"
    r"|(?<![\w'-])[A-Za-z0-9](?:-|,? )[A-Za-z0-9](?:-|,? )[A-Za-z0-9](?![\w'])",
    re.IGNORECASE,
)
# Sentence ends: . ! ? then space, not after a title, an abbreviation or an initial ("Mr. Tucker",
# "J. Smith"); line breaks are not ends (a signature block is one context for the NER).
_SENTENCE_END = re.compile(r"[.!?]+\s+")
_NOT_AN_END = re.compile(r"(?:\b(?:mr|mrs|ms|dr|prof|st|jr|sr|vs|no|etc|inc|ltd|co|apt|e\.g|i\.e)|\b[A-Z])\.$", re.IGNORECASE)
NER_CACHE_ENTRIES = 200_000


def needs_analysis(text: str) -> bool:
    return _ANALYSE_GATE.search(text) is not None or needs_ner(text)


def needs_ner(text: str, allow: AllowList | None = None) -> bool:
    """A capitalised word inside a sentence that is not an allowed term: where names are."""
    return bool(ner_sentences(text.strip(), allow))


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence (split after . ! ? and a space, see _NOT_AN_END)."""
    spans, cursor = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _NOT_AN_END.search(text, max(0, match.start() - 5), match.start() + 1):
            continue
        end = match.start() + len(match.group(0).rstrip())
        if end > cursor:
            spans.append((cursor, end))
        cursor = match.end()
    if cursor < len(text):
        spans.append((cursor, len(text)))
    return spans


def ner_sentences(text: str, allow: AllowList | None = None) -> list[tuple[int, int]]:
    """The sentences of `text` the NER must see (a capitalised word inside, or an opening
    vocative); allowed terms are masked before the gate."""
    masked = allow.mask(text) if allow else text
    return [(s, e) for s, e in sentences(text) if _has_candidate(masked[s:e])]


def _has_candidate(sentence: str) -> bool:
    """A capitalised word inside the sentence, or an opening vocative ("Janet, can I ...")."""
    if SENTENCE_INNER_CAPITAL_RE.search(sentence):
        return True
    opening = OPENING_NAME_RE.match(sentence)
    return opening is not None and opening.group(1).lower() not in OPENERS


@dataclass(frozen=True)
class _Entity:
    """The part of a spaCy entity Presidio's SpacyRecognizer reads, at full-text offsets."""

    label_: str
    start_char: int
    end_char: int


def _no_context_enhancer() -> Any:
    """Presidio's context enhancer raises scores of results whose recogniser lists context words;
    ours list none (context is decided per conversation, see pii_redactor), so its work (a deep
    copy of every result, ~20% of the analysis) would change nothing but the cue-over-NER order."""
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer

    class NoContextEnhancer(ContextAwareEnhancer):
        def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):  # noqa: ANN001
            return raw_results

    return NoContextEnhancer(0.0, 0.0, 0, 0)


def _spacy_engine(nlp: Any) -> Any:
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    config = NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
        labels_to_ignore=["CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP",
                          "ORDINAL", "ORG", "PERCENT", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART"],
    )
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "preloaded"}], ner_model_configuration=config)
    engine.nlp = {"en": nlp}  # loaded by us from the registry path; engine.load() would resolve a name
    return engine


class PresidioFinder:
    """`find(texts)` -> raw detections per text, via one Presidio `AnalyzerEngine`."""

    def __init__(self, nlp: Any, extra_id_patterns: Sequence[Path] = (), gated: bool = True,
                 allow: AllowList | None = None) -> None:
        """`nlp`: a loaded spaCy pipeline (`load_ner_pipeline`; tests pass `spacy.blank("en")`)."""
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        self._nlp = nlp
        self.allow = allow or AllowList()
        self.id_recognizer = IdPatternRecognizer(id_patterns(extra_id_patterns))
        registry = RecognizerRegistry(supported_languages=["en"])
        recognizers = (ChecksumRecognizer(), SpelledRecognizer(), SpokenEmailRecognizer(), SpokenNumberRecognizer(),
                       AddressRecognizer(), PostalAddressRecognizer(), PhoneCandidateRecognizer(), DateRecognizer(),
                       NameCueRecognizer(), AddressedNameRecognizer(), self.id_recognizer,
                       SpacyRecognizer(supported_entities=["PERSON"]))
        for recognizer in recognizers:
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=_spacy_engine(self._nlp), supported_languages=["en"],
                                        context_aware_enhancer=_no_context_enhancer())
        self._no_tokens = nlp.make_doc("")
        self.gated = gated
        self._people: dict[str, tuple[tuple[int, int], ...]] = {}  # sentence -> PERSON offsets
        self.analysed = 0
        self.ner_runs = 0  # texts with at least one sentence for the NER
        self.ner_sentences = 0  # sentences the NER actually ran on (cache misses)
        self.ner_cached = 0  # sentences answered from the cache

    def find(self, texts: Sequence[str]) -> list[list[Found]]:
        out: list[list[Found]] = [[] for _ in texts]
        todo = [i for i, text in enumerate(texts) if not self.gated or needs_analysis(text)]
        self.analysed += len(todo)
        people = self._persons([texts[i] for i in todo])
        for index, found in zip(todo, people):
            text = texts[index]
            results = self._analyzer.analyze(text, "en", nlp_artifacts=_artifacts(self._no_tokens, found),
                                             score_threshold=SCORE_THRESHOLD)
            out[index] = [Found(r.start, r.end, r.entity_type, r.score, dict(r.recognition_metadata or {}))
                          for r in results]
        return out

    def submit(self, texts: Sequence[str]) -> Any:
        """`find` deferred to when its result is asked for (one process: nothing runs beside)."""
        return lambda: self.find(texts)

    def _persons(self, texts: Sequence[str]) -> list[list[_Entity]]:
        """PERSON entities per text, from the NER over its gated sentences (cached by sentence)."""
        per_text = [[(s, e) for s, e in (ner_sentences(t, self.allow) if self.gated else sentences(t))] for t in texts]
        self.ner_runs += sum(1 for spans in per_text if spans)
        wanted = list(dict.fromkeys(t[s:e] for t, spans in zip(texts, per_text) for s, e in spans))
        missing = [sentence for sentence in wanted if sentence not in self._people]
        self.ner_cached += len(wanted) - len(missing)
        self.ner_sentences += len(missing)
        if len(self._people) + len(missing) > NER_CACHE_ENTRIES:
            self._people.clear()  # a bounded cache; recurring boilerplate comes back at once
        for sentence, doc in zip(missing, self._nlp.pipe(missing, batch_size=256)):
            self._people[sentence] = tuple((e.start_char, e.end_char) for e in doc.ents if e.label_ in ("PERSON", "PER"))
        out = []
        for text, spans in zip(texts, per_text):
            out.append([_Entity("PERSON", s + a, s + b) for s, e in spans for a, b in self._people.get(text[s:e], ())])
        return out


def _artifacts(no_tokens: Any, people: list[_Entity]) -> Any:
    """Presidio's view of a text: its PERSON entities. No tokens, lemmas or keywords: they feed
    only Presidio's context enhancer, which is off (`_no_context_enhancer`); tokenising every
    analysed text would also grow spaCy's vocabulary with every order number of a 1M corpus."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    return NlpArtifacts(entities=people, tokens=no_tokens, tokens_indices=[], lemmas=[],
                        nlp_engine=None, language="en", scores=[0.85] * len(people))


def load_ner_pipeline(model_dir: Path) -> Any:
    """The spaCy pipeline at `model_dir` with only its NER components, loaded by path."""
    import spacy

    from guideminer.models.registry import spacy_components

    return spacy.load(model_dir, exclude=[n for n in spacy_components(model_dir) if n not in NER_COMPONENTS])
