"""Filler phrases learned from need turns (mining/fillers.py)."""

from __future__ import annotations

import polars as pl

from guideminer.mining.fillers import completed_phrase, edge_phrases, learn_filler_phrases, phrase_words

NEEDS = {1: "my parcel never arrived", 2: "i want to cancel my order", 3: "i was charged twice for my order",
         4: "the app crashes on start"}


def _turns(openers: dict[int, str]) -> pl.DataFrame:
    rows = []
    for cluster, need in NEEDS.items():
        for i in range(12):
            opener = openers.get(cluster, "") if i % 2 == 0 else ""
            rows.append((cluster, f"{opener} {need} number {i}".strip()))
    return pl.DataFrame(rows, orient="row", schema={"cluster_id": pl.Int32, "text": pl.String})


def test_an_opener_spread_over_every_need_is_a_filler_and_a_need_opener_is_not():
    spread = _turns({c: "yes so basically" for c in NEEDS})
    assert "yes so basically" in learn_filler_phrases(spread)
    one_need = _turns({2: "yes so basically"})  # only one need's turns open with it
    assert "yes so basically" not in learn_filler_phrases(one_need)
    assert not any("cancel" in phrase for phrase in learn_filler_phrases(spread))


def test_edge_phrases_leave_two_words():
    assert edge_phrases("yes so my parcel") == {"yes so", "my parcel"}
    assert edge_phrases("yes so") == set()


def test_a_filler_is_completed_into_the_fixed_expression_it_opens():
    """Runs stop at MAX_WORDS: "hello hello long story" left "short, I'm not happy ..." in a
    rule's text. The expression goes on while one word follows it in >= 90% of its turns."""
    long_opener = "hello hello long story short really"
    spread = _turns({c: long_opener for c in NEEDS})
    learned = learn_filler_phrases(spread)
    assert long_opener in learned
    assert not any(p.startswith(long_opener + " ") for p in learned)  # the need words vary after it
    texts = [phrase_words(t) for t in ("so here i am sorry now", "so here i am again now", "so here i am later on")]
    assert completed_phrase("so here", texts, leading=True) == "so here i am"


def test_words_are_compared_without_apostrophes():
    assert phrase_words("I wasn't sure, so here I am") == ["i", "wasnt", "sure", "so", "here", "i", "am"]
