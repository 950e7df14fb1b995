"""Presidio-based redaction: call-style positives, look-alike negatives, per-conversation
placeholder numbering, id patterns from YAML, the read-ahead batching and the audit.

Fast tests run the Presidio recognisers with a tokenizer-only spaCy pipeline (no NER, so persons
come only from name cues); the tests marked slow load the shipped en_core_web_sm."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import spacy

from guideminer.ingest.audit import audit_workspace, html_text
from guideminer.ingest.pii_engine import PresidioFinder, needs_analysis, needs_ner
from guideminer.ingest.pii_ids import IdPatternError, load_id_patterns
from guideminer.ingest.pii_redactor import PiiRedactor, default_pii_redactor, read_ahead


def _redactor(extra=()) -> PiiRedactor:
    finder = PresidioFinder(spacy.blank("en"), extra_id_patterns=extra)
    return PiiRedactor(finder, finder.id_recognizer)


@pytest.fixture(scope="module")
def blank() -> PiiRedactor:
    return _redactor()


def _conversation(redactor: PiiRedactor, turns: list[str]) -> list[str]:
    scope = redactor.scope(turns)
    return [scope(turn)[0] for turn in turns]


# --- call-style positives ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is marcus.davis.80 at gmail dot com", "my email is <EMAIL>"),
        ("it's john dot smith at yahoo dot com", "it's <EMAIL>"),
        ("200 Union Street, Savannah, Georgia 35924", "<ADDRESS>"),
        ("I live at 14 North Maple Ave. Apt 3B, Springfield, IL 62704 now", "I live at <ADDRESS> now"),
        ("send it to PO Box 255 please", "send it to <ADDRESS> please"),
        ("My date of birth is June 18th, 1979.", "My date of birth is <DATE_OF_BIRTH>."),
        ("I was born on the 3rd of March 1985", "I was born on <DATE_OF_BIRTH>"),
        ("dob 06/18/1979", "dob <DATE_OF_BIRTH>"),
        ("it's T-U-C-K-E-R", "it's <SPELLED>"),
        ("P as in Peter, A as in apple, T as in Tom", "<SPELLED>"),
        ("my member id is WJK 462722799", "my member id is <ID>"),
        ("the provider id is M-284561879", "the provider id is <ID>"),
        ("my policy number is 8812345671", "my policy number is <ID>"),
        ("my number is two one two five five five oh one nine nine", "my number is <PHONE>"),
        ("my name is justin tucker and I need a card", "my name is <PERSON_1> and I need a card"),
        ("card 4111 1111 1111 1111 and IBAN GB82 WEST 1234 5698 7654 32", "card <CARD> and IBAN <IBAN>"),
        # international forms (street first, postcode last; national phone groups after a cue)
        ("please update it to Storgatan 35, Hårsfjärden, 130 61 thanks", "please update it to <ADDRESS> thanks"),
        ("ship to ul. Kurantów 76, Warszawa, 02-873.", "ship to <ADDRESS>."),
        ("it's 29 Rue de Tanger, Cite Ben Hjel, 21 8010", "it's <ADDRESS>"),
        ("82 Chatsworth Drive, SOUTHERN RIVER, WA 6110", "<ADDRESS>"),
        ("Postbox 53, Narsarsuaq, KU 3923", "<ADDRESS>"),
        ("Can someone call me on 79 129 54 13?", "Can someone call me on <PHONE>?"),
        ("my mobile is (28) 665-641.", "my mobile is <PHONE>."),
        ("You can reach me at 9777 9356", "You can reach me at <PHONE>"),
    ],
)
def test_call_positives(blank: PiiRedactor, text: str, expected: str) -> None:
    assert blank.scope([text])(text)[0] == expected


def test_context_comes_from_the_previous_turn(blank: PiiRedactor) -> None:
    turns = ["Can I have your date of birth?", "June 18th, 1979.", "And your member ID?", "It's WJK 462722799."]
    assert _conversation(blank, turns) == [turns[0], "<DATE_OF_BIRTH>.", turns[2], "It's <ID>."]


# --- look-alike negatives ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Where is my order #4839201? It was supposed to arrive on June 18th.",
        "Your order 40123456 ships on March 3rd, 2025.",
        "The appointment is on June 18th, 1979 was the year the plant opened.",
        "I need 2 tickets for the 15th of May.",
        "Policy renewals are due by 12/31/2025.",
        "The U.S.A. plan covers 3 people.",
        "I'm at home right now, call me later",
        "I looked at the website and it is down",
        "My Toyota 4runner needs a quote",
        "I have one car and two kids",
        "The reference 1234567812345678 is on the invoice",
        "Flight BA 2490 leaves at 07:45 from gate 23, seat 14C.",
        "It's in the A-Z guide",
        "Your order 12345, placed Monday, ships in 2 days.",
        "Tracking 1Z 999 AA1 0123 4567 84 shows it in the depot",
        "Order 123 456 789 was refunded on 2024-05-06, call us if it has not arrived",
        "I ordered 3 shirts, size M, 42 each",
        "Can you call me back about the 2024-05-06 delivery?",
    ],
)
def test_look_alikes_stay(blank: PiiRedactor, text: str) -> None:
    assert blank.scope([text])(text) == (text, Counter())


def test_order_numbers_in_a_flow_stay_unless_a_deployment_adds_them(tmp_path: Path, blank: PiiRedactor) -> None:
    turns = ["I'd like to check on my order.", "Sure, what's the order number?", "It's 48392011."]
    assert _conversation(blank, turns) == turns
    extra = tmp_path / "ids.yaml"
    extra.write_text("patterns:\n  - name: order_number\n    regex: '\\b[0-9]{8}\\b'\n    context: [order number]\n")
    assert _conversation(_redactor([extra]), turns)[2] == "It's <ID>."


def test_bad_id_pattern_files_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("patterns:\n  - name: x\n    regex: '[0-9'\n    context: [id]\n")
    with pytest.raises(IdPatternError, match=r"bad.yaml: patterns\[0\].regex"):
        load_id_patterns(bad)
    bad.write_text("patterns:\n  - name: x\n    regex: '[0-9]+'\n    context: []\n")
    with pytest.raises(IdPatternError, match="context"):
        load_id_patterns(bad)


# --- numbering --------------------------------------------------------------------------------
def test_person_numbers_are_consistent_within_a_conversation_and_restart_in_the_next(blank: PiiRedactor) -> None:
    first = ["my name is justin tucker", "and my wife's name is mary jones", "the name on the account is justin tucker"]
    assert _conversation(blank, first) == ["my name is <PERSON_1>", "and my wife's name is <PERSON_2>",
                                           "the name on the account is <PERSON_1>"]
    assert _conversation(blank, ["my name is mary jones"]) == ["my name is <PERSON_1>"]


def test_counts_by_type(blank: PiiRedactor) -> None:
    text = "my name is ann lee, email ann at gmail dot com, card 4111 1111 1111 1111"
    redacted, counts = blank.scope([text])(text)
    assert counts == Counter({"PERSON": 1, "EMAIL": 1, "CARD": 1}), redacted


def test_gates_let_through_every_recognised_shape() -> None:
    for text in ["my name is ann", "T-U-C-K-E-R", "ann at gmail dot com", "June 18th", "two one two five",
                 "200 Union Street", "a@b.com"]:
        assert needs_analysis(text), text
    assert not needs_analysis("thanks, that helps a lot")
    assert needs_ner("Thanks Grace, that helps") and not needs_ner("Thanks, that helps.")


# --- batching ---------------------------------------------------------------------------------
def test_read_ahead_yields_what_was_read_before_an_error() -> None:
    prepared = []

    class Recorder:
        def prepare(self, texts):
            prepared.append(list(texts))

    def items():
        yield from ["a", "b", "c"]
        raise OSError("corrupt")

    seen = []
    with pytest.raises(OSError, match="corrupt"):
        for item in read_ahead(items(), Recorder(), lambda item: [item], window=2):
            seen.append(item)
    assert seen == ["a", "b", "c"] and prepared == [["a", "b"], ["c"]]


def test_read_ahead_starts_the_next_window_before_yielding_and_installs_each_first() -> None:
    events = []

    class Recorder:
        def prepare(self, texts):
            events.append(("start", tuple(texts)))
            return lambda: events.append(("ready", tuple(texts)))

    for item in read_ahead(iter("abcde"), Recorder(), lambda item: [item], window=2):
        events.append(("item", item))
    assert events == [("start", ("a", "b")), ("start", ("c", "d")), ("ready", ("a", "b")), ("item", "a"), ("item", "b"),
                      ("start", ("e",)), ("ready", ("c", "d")), ("item", "c"), ("item", "d"),
                      ("ready", ("e",)), ("item", "e")]


def test_a_metadata_value_said_in_a_turn_is_judged_from_that_turn(blank: PiiRedactor, monkeypatch) -> None:
    turns = ["What's your date of birth?", "It's June 18th, 1979, and ship to Storgatan 35, Hårsfjärden, 130 61."]
    scope = blank.scope(turns)
    monkeypatch.setattr(blank, "found_one", lambda text: pytest.fail(f"analysed on its own: {text!r}"))
    assert scope("June 18th, 1979")[0] == "<DATE_OF_BIRTH>"  # on its own it would be a plain date
    assert scope("Storgatan 35, Hårsfjärden, 130 61")[0] == "<ADDRESS>"
    assert scope("ship to")[0] == "ship to"
    monkeypatch.undo()
    assert scope("June 18th")[0] == "June 18th"  # crosses the turn's span: judged on its own


# --- audit ------------------------------------------------------------------------------------
def test_audit_finds_pii_in_outputs_and_skips_inputs_and_placeholders(tmp_path: Path, blank: PiiRedactor) -> None:
    ws = tmp_path / "ws"
    (ws / "mining" / "proposals").mkdir(parents=True)
    (ws / "corpus").mkdir()
    (ws / "corpus" / "raw.jsonl").write_text(json.dumps({"text": "my name is justin tucker"}) + "\n")
    (ws / "ingest_report.json").write_text(json.dumps({"inputs": [str(ws / "corpus" / "raw.jsonl")]}))
    (ws / "mining" / "proposals" / "guidelines.json").write_text(json.dumps(
        [{"condition": "customer gives <PERSON_1>'s date of birth", "examples": ["email me at ann at gmail dot com"]}]))
    (ws / "mining" / "report.html").write_text("<p>ask for &lt;PERSON_1&gt;</p><p>my name is mary jones</p>")
    spec = tmp_path / "agent.yaml"
    spec.write_text("routing_examples:\n  - 'hello, my name is bob stone'\n")
    hits = audit_workspace(ws, blank, specs=[spec])
    where = sorted((hit.file, hit.field.split(" line ")[0], hit.entity) for hit in hits)
    assert where == [
        (str(spec.resolve()), "routing_examples[0]", "PERSON"),
        ("mining/proposals/guidelines.json", "[0].examples[0]", "EMAIL"),
        ("mining/report.html", "text", "PERSON"),
    ]
    assert "[mary jones]" in next(h.snippet for h in hits if h.file.endswith("report.html"))
    assert audit_workspace(ws, blank, under="review") == []


def test_html_text_keeps_escaped_placeholders() -> None:
    assert html_text("<td>ask &lt;PERSON_1&gt;</td>").strip() == "ask <PERSON_1>"


# --- the shipped model ------------------------------------------------------------------------
@pytest.mark.slow
def test_names_with_the_shipped_ner_model() -> None:
    redactor = default_pii_redactor()
    turns = ["Thank you for calling, who am I speaking with?", "It's Justin Tucker, T-U-C-K-E-R.",
             "Thanks Mr. Tucker, how can I help?",
             "Hello, I hope you are well. Unfortunately my parcel is late. Kind regards, Jane Smith"]
    assert _conversation(redactor, turns) == [turns[0], "It's <PERSON_1>, <PERSON_1>.",
                                              "Thanks Mr. <PERSON_1>, how can I help?",
                                              "Hello, I hope you are well. Unfortunately my parcel is late. Kind regards, <PERSON_2>"]


@pytest.mark.slow
@pytest.mark.parametrize("text", ["my Alexa keeps disconnecting", "I bought the Jordan sneakers last week",
                                  "I want to upgrade to the Ford Mustang", "Is the Grace period 30 days?"])
def test_product_names_that_are_first_names_stay(text: str) -> None:
    assert default_pii_redactor().scope([text])(text) == (text, Counter())


def test_a_sentence_initial_word_of_a_name_span_does_not_recur_as_a_name() -> None:
    from guideminer.ingest.pii_redactor import _trusted_words

    text = "Confirm Bistro Aix and the city is San Francisco."
    assert _trusted_words(text, 0, len("Confirm Bistro Aix")) == {"bistro", "aix"}  # before: "CONFIRM" acts became names
    inner = "I spoke to Justin Tucker."
    assert len(_trusted_words(inner, 11, 24)) == 2  # inside a sentence every word counts
