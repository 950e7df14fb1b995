"""Noun phrases for slot learning (mining/nouns.py): the rule on tags, and the shipped tagger."""

from __future__ import annotations

import pytest

from guideminer.mining.nouns import is_noun_phrase, term_pattern


def test_a_noun_head_after_modifiers_is_a_noun_phrase() -> None:
    assert is_noun_phrase(["NOUN", "NOUN"], ["NN", "NN"])  # coffee maker
    assert is_noun_phrase(["ADJ", "NOUN"], ["JJ", "NN"])  # wrong colour
    assert is_noun_phrase(["VERB", "NOUN"], ["VBG", "NNS"])  # running shoes
    assert is_noun_phrase(["NOUN", "PUNCT", "NOUN"], ["NN", "HYPH", "NN"])  # t-shirt
    assert not is_noun_phrase(["VERB", "NOUN"], ["VB", "NNS"])  # book tickets
    assert not is_noun_phrase(["VERB"], ["VB"])  # update
    assert not is_noun_phrase(["NOUN", "ADV"], ["NN", "RB"])  # membership anymore
    assert not is_noun_phrase([], [])


def test_term_pattern_is_whole_words_any_case_any_spacing() -> None:
    assert term_pattern("coffee maker").search("my Coffee   Maker broke")
    assert not term_pattern("coffee").search("coffeemaker")


@pytest.mark.slow
def test_the_shipped_tagger_tells_products_from_need_verbs() -> None:
    from guideminer.mining.nouns import load_noun_tagger

    tags = load_noun_tagger().tag_terms({
        "coffee maker": ["my coffee maker arrived broken", "i want to return the coffee maker"],
        "update": ["i want to update my address", "can you update the delivery address"],
        "keeps crashing": ["your app keeps crashing when i open it"],
        "new york": ["i need a hotel in new york", "find me a flight to New York"],
        "good morning": ["good morning, my parcel never came", "hi good morning"],
        "e-reader": ["my e-reader wont turn on", "i bought a t-shirt and an e-reader"],
    })
    assert tags["coffee maker"] == (1.0, 1.0) and tags["e-reader"] == (1.0, 1.0)  # things: "the item"
    assert tags["new york"].noun_phrase == 1.0 and tags["new york"].after_determiner == 0.0
    assert tags["good morning"].after_determiner == 0.0
    assert tags["update"].noun_phrase == 0.0 and tags["keeps crashing"].noun_phrase == 0.0
