"""Head-word aliases of interchangeable words (mining/word_aliases.py)."""

from __future__ import annotations

from guideminer.engine.spec import InterchangeableWords
from guideminer.mining.word_aliases import with_head_aliases

PRODUCTS = InterchangeableWords(replacement="item", members=("electric kettle", "standing desk", "desk lamp",
                                                             "premium plan", "toaster"))


def test_a_head_word_the_corpus_never_uses_apart_becomes_a_member():
    texts = ["my electric kettle broke", "the electric kettle leaks", "return the electric kettle",
             "my standing desk wobbles", "the desk lamp flickers", "my desk lamp is dim", "a desk lamp came broken",
             "my desk is a mess",  # "desk" used apart
             "cancel my premium plan", "my plan renews today", "change my plan", "the plan is too dear"]
    (aliased,) = with_head_aliases((PRODUCTS,), texts)
    added = set(aliased.members) - set(PRODUCTS.members)
    assert added == {"kettle", "lamp"}  # "desk" and "plan" have a life of their own; "lamp": only in "desk lamp"


def test_too_few_turns_to_judge_add_nothing():
    (aliased,) = with_head_aliases((PRODUCTS,), ["my electric kettle broke"])
    assert aliased == PRODUCTS
