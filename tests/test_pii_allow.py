"""Allowed terms, the learned vocabulary, which PERSON detections stand, names that recur in a
conversation, the sentence-level NER cache, and the settings a workspace keeps for its audits.

A fake finder stands in for the NER where a test needs a NER detection at a known place (the
packaged model's output is not a fixture); the recognisers themselves are the real ones."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import spacy

from guideminer.ingest.audit import audit_workspace
from guideminer.ingest.pii_allow import AllowList, AllowTermsError, learn_allow_terms, load_allow_terms, write_allow_terms
from guideminer.ingest.pii_engine import PresidioFinder, needs_ner, sentences
from guideminer.ingest.pii_recognizers import cue_name_spans
from guideminer.ingest.pii_redactor import PiiRedactor
from guideminer.ingest.pii_settings import SETTINGS_FILE, PiiSettings, save_settings, workspace_settings
from guideminer.ingest.pii_types import Found, capital_runs


class NerFake:
    """Presidio's recognisers on a blank pipeline, plus NER PERSON spans for given surfaces."""

    def __init__(self, people: list[str], allow: AllowList | None = None) -> None:
        self.inner = PresidioFinder(spacy.blank("en"), allow=allow)
        self.allow = self.inner.allow
        self.id_recognizer = self.inner.id_recognizer
        self.people = people

    def find(self, texts):
        out = self.inner.find(texts)
        for text, found in zip(texts, out):
            for person in self.people:
                start = text.find(person)
                if start >= 0:
                    found.append(Found(start, start + len(person), "PERSON", 0.85, {"recognizer_name": "SpacyRecognizer"}))
        return out


def redactor(people=(), terms=()) -> PiiRedactor:
    finder = NerFake(list(people), AllowList(terms))
    return PiiRedactor(finder, finder.id_recognizer)


def conversation(r: PiiRedactor, turns: list[str]) -> list[str]:
    scope = r.scope(turns)
    return [scope(t)[0] for t in turns]


# --- the allow list -----------------------------------------------------------------------------
def test_allowed_terms_cover_whole_detections_word_by_word() -> None:
    allow = AllowList(["Larkfield", "Larkfield Online", "San Jose", "Amber Run Brooklyn"])
    assert allow.covers("Larkfield") and allow.covers("larkfield's") and allow.covers("Larkfield Online")
    assert allow.covers("San Jose") and not allow.covers("Jose") and not allow.covers("San")
    assert not allow.covers("Mr. Larkfield") and not allow.covers("Jane Larkfield") and not allow.covers("")
    text = "the Amber Run Brooklyn show, then Run Brooklyn alone"
    inner = text.index("Run Brooklyn")
    assert allow.covers_in(text, inner, inner + len("Run Brooklyn"))  # inside the allowed run
    alone = text.rindex("Run Brooklyn")
    assert not allow.covers_in(text, alone, alone + len("Run Brooklyn"))
    assert allow.mask("At Larkfield in San Jose") == "At xxxxxxxxx in xxxxxxxx"


def test_allow_term_files_load_and_name_a_bad_entry(tmp_path: Path) -> None:
    assert load_allow_terms() == ()  # the shipped list is empty: no vocabulary is general
    good = tmp_path / "terms.yaml"
    good.write_text("terms:\n  - Larkfield\n  - San Jose\n")
    assert load_allow_terms(good) == ("Larkfield", "San Jose")
    bad = tmp_path / "bad.yaml"
    bad.write_text("terms:\n  - Larkfield\n  - 42\n")
    with pytest.raises(AllowTermsError, match=r"bad.yaml: terms\[1\]"):
        load_allow_terms(bad)
    bad.write_text("- Larkfield\n")
    with pytest.raises(AllowTermsError, match="'terms' list"):
        load_allow_terms(bad)


# --- which PERSON detections stand ------------------------------------------------------------
def test_allowed_terms_keep_vocabulary_but_not_a_name_given_with_a_cue() -> None:
    ner = redactor(people=["Larkfield"], terms=["Larkfield"])
    text = "Thanks for contacting Larkfield, how can I help?"
    assert conversation(ner, [text]) == [text]
    assert conversation(redactor(people=["Larkfield"]), [text]) == ["Thanks for contacting <PERSON_1>, how can I help?"]
    assert conversation(ner, ["Hi Larkfield, my parcel is late"]) == ["Hi Larkfield, my parcel is late"]
    assert conversation(ner, ["my name is larkfield"]) == ["my name is <PERSON_1>"]  # a caller called Larkfield


@pytest.mark.parametrize(
    ("ner_span", "text", "expected"),
    [
        ("LF-463234", "I think it's LF-463234.", "I think it's LF-463234."),  # an order code in a flow
        ("demo-000090#6", "demo-000090#6 → thanks", "demo-000090#6 → thanks"),
        ("SAVE15NOW", "Use SAVE15NOW at checkout", "Use SAVE15NOW at checkout"),
        ("Riverton 89160", "Ship to Riverton 89160", "Ship to <PERSON_1> 89160"),  # cut before the number
        ("Drew Graham\nVitaGrey", "Drew Graham\nVitaGrey\nMain office", "<PERSON_1>\nVitaGrey\nMain office"),
    ],
)
def test_ner_spans_with_codes_are_dropped_and_cut_before_numbers_and_lines(ner_span: str, text: str, expected: str) -> None:
    assert conversation(redactor(people=[ner_span]), [text]) == [expected]


# --- trusted names recur ----------------------------------------------------------------------
def test_a_name_from_an_introduction_is_redacted_where_it_recurs_in_the_conversation() -> None:
    turns = ["Hello and welcome to Larkfield support, this is Riley. What can I do for you?",
             "my parcel is late", "Sorted! Anything else?", "great thanks for your help riley",
             "Riley was great. Thanks, Riley!"]
    assert conversation(redactor(terms=["Larkfield"]), turns) == [
        "Hello and welcome to Larkfield support, this is <PERSON_1>. What can I do for you?",
        "my parcel is late", "Sorted! Anything else?", "great thanks for your help <PERSON_1>",
        "<PERSON_1> was great. Thanks, <PERSON_1>!"]
    assert conversation(redactor(), ["great thanks for your help riley"]) == ["great thanks for your help riley"]


def test_a_name_that_is_also_a_word_recurs_only_capitalised_or_in_lower_case_text() -> None:
    turns = ["my name is Bill Stone", "Your bill is ready, Bill.", "ok bill thanks"]
    assert conversation(redactor(), turns) == ["my name is <PERSON_1>", "Your bill is ready, <PERSON_1>.", "ok <PERSON_1> thanks"]


def test_a_single_ner_word_does_not_recur_but_a_full_name_does() -> None:
    turns = ["I spoke to Jordan yesterday", "the jordan shoes", "Kind regards", "jane smith"]
    assert conversation(redactor(people=["Jordan"]), turns)[1] == "the jordan shoes"
    turns = ["I spoke to Jane Smith yesterday", "is that jane smith?"]
    assert conversation(redactor(people=["Jane Smith"]), turns) == ["I spoke to <PERSON_1> yesterday", "is that <PERSON_1>?"]


# --- name-slot cues ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Hello and welcome to Larkfield support, this is Riley. What can I do?", ["Riley"]),
        ("Great, thanks for your help Morgan!", ["Morgan"]),
        ("Hi there, Sam here from Larkfield.", ["Sam"]),
        ("You're speaking with Kai, how can I help?", ["Kai"]),
        ("Thanks, Mr. Tucker.", ["Tucker"]),
        ("Hello, this is Mr. Viktor Hanssen. Who are you?", ["Viktor Hanssen"]),
        ("Thanks, Bye!", []),
        ("This is Great!", []),
        ("Thank you for contacting Larkfield.", []),
        ("Hi, I need help with my order", []),
    ],
)
def test_name_slot_cues(text: str, names: list[str]) -> None:
    assert [text[s:e] for s, e in cue_name_spans(text)] == names


# --- the learned vocabulary -------------------------------------------------------------------
def _corpus(n: int = 400, seed: int = 3) -> list[list[tuple[str, str]]]:
    """Agents greet customers by name (a small pool, as in the demo), introduce themselves, and
    name the company and its app; a rare product comes up in 1% of conversations."""
    rng = random.Random(seed)
    customers, agents = ["Jane", "Omar", "Priya", "Lukas"], ["Sam", "Alex", "Kai"]
    out = []
    for i in range(n):
        customer, agent = rng.choice(customers), rng.choice(agents)
        turns = [("agent", f"Hi {customer}, thanks for contacting Zephyr. This is {agent} from the Zephyr team."),
                 ("customer", "my Zephyr app crashes"),
                 ("agent", f"Sorry {customer}, let me check the Zephyr app for you.")]
        if i % 100 == 0:
            turns.append(("agent", "The Nimbus Kettle is on sale too."))
        if i % 3 == 0:
            turns.append(("agent", f"{agent} here again, I asked my colleague and {customer} should update the app."))
        out.append(turns)
    return out


def test_learning_keeps_the_company_and_leaves_customers_and_agents_names() -> None:
    learned = learn_allow_terms(_corpus())
    terms = [t.term for t in learned]
    assert terms == ["Zephyr"]  # the customer and agent names sit in name slots; Nimbus Kettle is rare
    assert learned[0].share == 1.0 and learned[0].cue_share == 0.0
    assert "Nimbus Kettle" in [t.term for t in learn_allow_terms(_corpus(), min_share=0.005, min_conversations=2)]


def test_learning_needs_enough_conversations() -> None:
    assert learn_allow_terms(_corpus(n=8)) == []  # fewer than 10 conversations: nothing learned


def test_learned_terms_are_written_for_review_and_load_back(tmp_path: Path) -> None:
    path = write_allow_terms(tmp_path / "terms.yaml", learn_allow_terms(_corpus()), "synthetic")
    text = path.read_text()
    assert "delete any line that is a person's name" in text and "400 conversations (100.0%)" in text
    assert load_allow_terms(path) == ("Zephyr",)
    assert load_allow_terms(write_allow_terms(tmp_path / "none.yaml", [], "x")) == ()


# --- the NER gate and its cache ---------------------------------------------------------------
def test_sentences_do_not_end_at_titles_or_initials() -> None:
    text = "Hello, this is Mr. Viktor Hanssen. Who is J. Smith? Fine."
    assert [text[s:e] for s, e in sentences(text)] == ["Hello, this is Mr. Viktor Hanssen.", "Who is J. Smith?", "Fine."]
    runs = "Call Diego, in San Diego. I'll ask O'Brien"
    assert [runs[s:e] for s, e in capital_runs(runs)] == ["Diego", "San Diego", "Brien"]


def test_the_ner_gate_skips_allowed_terms_quotes_and_sentence_starts() -> None:
    allow = AllowList(["Larkfield"])
    assert needs_ner("Hello and welcome to Larkfield support") and not needs_ner("Hello and welcome to Larkfield support", allow)
    assert needs_ner("Welcome to Larkfield, this is Riley", allow)
    assert not needs_ner('When the customer says "Helo hello!"') and not needs_ner("Thanks. Helo again → Great")
    assert not needs_ner("I'll check. I've got it")
    assert needs_ner("I'd like to join accounts with ms. Jerzy")  # "ms." does not end the sentence
    assert needs_ner("Janet, can I please speak to your boss?") and not needs_ner("Sure, can I help?")


def test_ner_runs_once_per_distinct_sentence() -> None:
    finder = PresidioFinder(spacy.blank("en"))
    boiler = "Thank you for contacting Larkfield, my name is Sam."
    finder.find([f"{boiler} Your order is late.", f"{boiler} Your refund is done.", "ok"])
    finder.find([f"{boiler} Anything else?"])
    # 3 texts needed the NER, for one distinct sentence: run once, then answered from the cache
    assert finder.ner_runs == 3 and finder.ner_sentences == 1 and finder.ner_cached == 1


# --- settings kept with the workspace -----------------------------------------------------------
def test_the_workspace_settings_round_trip_and_steer_its_audit(tmp_path: Path) -> None:
    ids = tmp_path / "ids.yaml"
    ids.write_text("patterns:\n  - name: order\n    regex: '\\b[0-9]{8}\\b'\n    context: [order number]\n")
    terms = tmp_path / "terms.yaml"
    terms.write_text("terms: [Larkfield]\n")
    settings = PiiSettings.from_files([ids], [terms])
    assert settings.allow_terms == ("Larkfield",) and settings.id_patterns[0][0] == "order"
    ws = tmp_path / "ws"
    (ws / "mining").mkdir(parents=True)
    save_settings(ws, settings)
    assert workspace_settings(ws) == settings and json.loads((ws / SETTINGS_FILE).read_text())["allow_terms"] == ["Larkfield"]
    assert workspace_settings(tmp_path) == PiiSettings()
    (ws / "mining" / "guidelines.json").write_text(json.dumps({"rule": "Hi Larkfield, my name is larkfield"}))
    without = audit_workspace(ws, redactor())
    with_terms = audit_workspace(ws, redactor(terms=settings.allow_terms))
    assert [h.snippet for h in without] == ["Hi [Larkfield], my name is larkfield", "Hi Larkfield, my name is [larkfield]"]
    assert [h.snippet for h in with_terms] == ["Hi Larkfield, my name is [larkfield]"]  # the settings file is not audited


def test_counts_by_type_include_recurrences() -> None:
    scope = redactor().scope(["this is Riley.", "thanks riley"])
    assert scope("this is Riley.")[1] == Counter({"PERSON": 1}) and scope("thanks riley") == ("thanks <PERSON_1>", Counter({"PERSON": 1}))


def test_a_pool_of_workers_finds_what_one_process_finds() -> None:
    """Same detections with the analysis shared out over two spawned workers (shipped model)."""
    from guideminer.ingest.pii_redactor import default_pii_redactor

    texts = ["Hello and welcome to Larkfield support, this is Riley.", "my name is tom lee, dob 06/18/1979",
             "Thanks Mr. Tucker, your member id is WJK 462722799", "ok", "Jane Smith here. I spoke to Omar Haddad."] * 3
    single = default_pii_redactor().detect(texts)
    pooled = default_pii_redactor(processes=2)
    assert pooled.detect(texts) == single and pooled.finder.analysed == len(texts) - 3
    assert len(pooled.finder.worker_pids()) == 2


# --- calls: spelled words, answers to a name question, lower-case sign-offs -------------------
def test_a_word_next_to_its_spelling_is_a_name_in_any_case() -> None:
    r = redactor()
    assert conversation(r, ["So that's Dubois spelled D-U-B-O-I-S, correct?"]) == ["So that's <PERSON_1> spelled <PERSON_1>, correct?"]
    assert conversation(r, ["yes its priya P-R-I-Y-A and the rest"]) == ["yes its <PERSON_1> <PERSON_1> and the rest"]
    assert conversation(r, ["my code is Q-X-Z-V"]) == ["my code is <SPELLED>"]  # no word spelled: stays a spelling
    assert conversation(r, ["it's in the A-Z guide"]) == ["it's in the A-Z guide"]


def test_the_answer_to_a_name_question_is_a_name() -> None:
    r = redactor()
    turns = ["Could I get your full name please?", "sure its priya smith thats all", "And what is the order about?",
             "its priya again, the blender is broken"]
    assert conversation(r, turns) == [turns[0], "sure its <PERSON_1> thats all", turns[2], "its <PERSON_1> again, the blender is broken"]
    first_last = ["Can I have your first and last name please?", "nora kim last name spelled K-I-M"]
    assert conversation(r, first_last)[1] == "<PERSON_1> last name spelled <PERSON_1>"
    # no name question, no name; a non-answer is cut at its first non-name word
    assert conversation(r, ["How can I help?", "sure its about my order"]) == ["How can I help?", "sure its about my order"]
    assert conversation(r, ["Who am I speaking with?", "sorry what was that"])[1] == "sorry what was that"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the parcel never arrived kind regards aisha becker", "the parcel never arrived kind regards <PERSON_1>"),
        ("best regards\nmike", "best regards\n<PERSON_1>"),
        ("its dubois first name tom", "its dubois first name <PERSON_1>"),
        ("cheers mate", "cheers mate"),
        ("kind regards from the team", "kind regards from the team"),
        ("thanks again", "thanks again"),
    ],
)
def test_lower_case_sign_offs_and_first_name_cues(text: str, expected: str) -> None:
    assert conversation(redactor(), [text]) == [expected]


def test_the_audit_does_not_read_placeholders_as_cues() -> None:
    r = redactor()
    assert r.detect(["<PHONE>, and my last order was 4046524279", "<DATE_OF_BIRTH> and 06/18/1979"]) == [[], []]
    assert r.detect(["call me on 415 555 0134"]) == [[(11, 23, "PHONE")]]


def test_ingest_keeps_its_allow_terms_for_the_audit_cli(tmp_path: Path) -> None:
    """`ingest --allow-terms` writes WS/pii_settings.json; `audit-pii` then judges with it."""
    from typer.testing import CliRunner

    from guideminer.cli import app

    corpus = tmp_path / "calls.jsonl"
    corpus.write_text(json.dumps({"conversation_id": "c1", "turns": [
        {"role": "agent", "text": "Hi Zephyrix, thanks for contacting us. This is Sam."},
        {"role": "customer", "text": "my name is dana lee and my parcel is late"}]}) + "\n")
    terms = tmp_path / "terms.yaml"
    terms.write_text("terms: [Zephyrix]\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(corpus), "--out", str(tmp_path / "ws"), "--allow-terms", str(terms)])
    assert result.exit_code == 0, result.output
    assert workspace_settings(tmp_path / "ws").allow_terms == ("Zephyrix",)
    import polars as pl

    texts = pl.read_parquet(tmp_path / "ws" / "turns.parquet" / "*.parquet").sort("turn_index")["text"].to_list()
    assert texts == ["Hi Zephyrix, thanks for contacting us. This is <PERSON_1>.", "my name is <PERSON_2> and my parcel is late"]
    spec = tmp_path / "agent.yaml"
    spec.write_text("examples:\n  - 'Hi Zephyrix, how can I help?'\n")
    assert runner.invoke(app, ["audit-pii", str(tmp_path / "ws"), "--spec", str(spec)]).exit_code == 0
    spec.write_text("examples:\n  - 'Hi Zephyrix, my name is dana lee'\n")
    audit = runner.invoke(app, ["audit-pii", str(tmp_path / "ws"), "--spec", str(spec)])
    assert audit.exit_code == 1 and "dana lee" in audit.output
