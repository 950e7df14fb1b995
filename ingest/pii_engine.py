"""The Presidio analyzer guideminer redacts with: packaged spaCy NER plus the call recognisers.

Built explicitly, never through Presidio's defaults: `AnalyzerEngine()` would try to download a
spaCy model and load recognisers that fetch a public-suffix list. Here the NLP engine loads the
model directory that `guideminer.models.registry.resolve_spacy_model` found (an installed package,
content-hashed), with only the NER components (tok2vec, ner): the other components cost time
and feed nothing we use.

Cost control, because NER is ~100x the cost of the regexes: a text is analysed only if a cheap
gate says some recogniser could fire (digits, ``@``, a cue word, a spelled letter run, a
capitalised word), and NER runs only on texts with a capitalised word that does not open a
sentence, batched through `nlp.pipe`; the rest get a tokenizer-only pass. What the gates cost in
recall is measured in docs/pii.md (`benchmarks/bench_redact.py --ungated`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from guideminer.ingest.pii_ids import IdPatternRecognizer, id_patterns
from guideminer.ingest.pii_types import Found
from guideminer.ingest.pii_recognizers import (
    AddressRecognizer,
    AddressedNameRecognizer,
    ChecksumRecognizer,
    DateRecognizer,
    NameCueRecognizer,
    SpelledRecognizer,
    SpokenEmailRecognizer,
    SpokenNumberRecognizer,
)

NER_COMPONENTS = ("tok2vec", "ner")
SCORE_THRESHOLD = 0.5

# Some recogniser could fire: written digits/@/URL, spoken digits, cue words, letter runs.
_ANALYSE_GATE = re.compile(
    r"[0-9@]|://|\b(?:name|name's|holder|born|birth|dob|box|dot|as in|like in|zero|oh|one|two|three|"
    r"four|five|six|seven|eight|nine|double|triple|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"|\b(?:hi|hello|hey|dear|regards|sincerely|cheers|this is|i'm|i am)\b"
    r"|(?<![\w'-])[A-Za-z0-9](?:-|,? )[A-Za-z0-9](?:-|,? )[A-Za-z0-9](?![\w'])",
    re.IGNORECASE,
)
# A capitalised word that does not open the text or a sentence: where names are.
_NER_GATE = re.compile(r"(?<!^)(?<![.!?:\n]\s)(?<![.!?:\n])(?<!^\W)\b[A-Z][a-z]")


def needs_analysis(text: str) -> bool:
    return _ANALYSE_GATE.search(text) is not None or needs_ner(text)


def needs_ner(text: str) -> bool:
    return _NER_GATE.search(text.strip()) is not None


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

    def __init__(self, nlp: Any, extra_id_patterns: Sequence[Path] = (), gated: bool = True) -> None:
        """`nlp`: a loaded spaCy pipeline (`load_ner_pipeline`; tests pass `spacy.blank("en")`)."""
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        self._nlp = nlp
        self.id_recognizer = IdPatternRecognizer(id_patterns(extra_id_patterns))
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in (ChecksumRecognizer(), SpelledRecognizer(), SpokenEmailRecognizer(), SpokenNumberRecognizer(),
                           AddressRecognizer(), DateRecognizer(), NameCueRecognizer(), AddressedNameRecognizer(), self.id_recognizer,
                           SpacyRecognizer(supported_entities=["PERSON"])):
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=_spacy_engine(self._nlp), supported_languages=["en"])
        self.gated = gated
        self.analysed = 0
        self.ner_runs = 0

    def find(self, texts: Sequence[str]) -> list[list[Found]]:
        out: list[list[Found]] = [[] for _ in texts]
        todo = [i for i, text in enumerate(texts) if not self.gated or needs_analysis(text)]
        ner = [i for i in todo if not self.gated or needs_ner(texts[i])]
        plain = sorted(set(todo) - set(ner))
        self.analysed += len(todo)
        self.ner_runs += len(ner)
        docs = dict(zip(ner, self._nlp.pipe([texts[i] for i in ner], batch_size=256)))
        docs.update((i, self._nlp.make_doc(texts[i])) for i in plain)
        for index in todo:
            results = self._analyzer.analyze(texts[index], "en", nlp_artifacts=_artifacts(docs[index]),
                                             score_threshold=SCORE_THRESHOLD)
            out[index] = [Found(r.start, r.end, r.entity_type, r.score, dict(r.recognition_metadata or {}))
                          for r in results]
        return out


def _artifacts(doc: Any) -> Any:
    """Presidio's view of a spaCy doc: PERSON entities and tokens. No lemmas or keywords: they
    feed Presidio's context enhancer, which none of our recognisers use (context is decided per
    conversation, see pii_redactor), and computing them costs more than the NER itself."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    people = [ent for ent in doc.ents if ent.label_ == "PERSON"]
    return NlpArtifacts(entities=people, tokens=doc, tokens_indices=[t.idx for t in doc], lemmas=[],
                        nlp_engine=None, language="en", scores=[0.85] * len(people))


def load_ner_pipeline(model_dir: Path) -> Any:
    """The spaCy pipeline at `model_dir` with only its NER components, loaded by path."""
    import spacy

    return spacy.load(model_dir, exclude=[n for n in _pipe_names(model_dir) if n not in NER_COMPONENTS])


def _pipe_names(model_dir: Path) -> list[str]:
    import json

    meta = json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
    return list(meta.get("pipeline", [])) + list(meta.get("components", []))
