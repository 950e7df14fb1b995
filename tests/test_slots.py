"""Slot fillers (mining/slots.py): products said in the same frames and answered alike are one
slot; words in shared frames that change the agent's answer, or that are said side by side,
are not."""

from __future__ import annotations

import itertools
import random

from guideminer.mining.slots import SlotClass, SlotParams, SlotRewriter, copresence_ratio, learn_slot_classes
from tagger_fakes import WordListNouns

NOUNS = WordListNouns()

PRODUCTS = ["blender", "toaster", "kettle", "desk lamp", "yoga mat", "backpack"]
NEEDS = [("my {} arrived broken", 1), ("my {} won't turn on at all", 2), ("where is the {} i ordered", 3)]
CANCEL = [("please cancel my order today", 4), ("please cancel my subscription today", 5),
          ("please cancel my account today", 6)]


def corpus(seed: int = 0) -> tuple[list[str], list[list[int]], list[str]]:
    """(customer texts, the agent move answering each, conversation ids): one product per
    conversation, the move decided by the need only."""
    rng = random.Random(seed)
    texts, moves, conversations = [], [], []
    for n, (product, (frame, move), _) in enumerate(itertools.product(PRODUCTS, NEEDS, range(5))):
        texts += [frame.format(product), f"thanks, the {product} is for my sister"]
        moves += [[move, 0], []]  # 0: a move every conversation gets (say, "anything else?")
        conversations += [f"c{n}", f"c{n}"]
    for n, (text, move) in enumerate(CANCEL * 12):
        texts.append(text)
        moves.append([move, 0])
        conversations.append(f"k{n}")
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [moves[i] for i in order], [conversations[i] for i in order]


def test_products_answered_alike_form_one_slot() -> None:
    classes = learn_slot_classes(*corpus(), nouns=NOUNS)
    slots = [set(c.members) for c in classes]
    assert set(PRODUCTS) in slots
    assert not any({"order", "subscription"} & s for s in slots)  # same frame, different answer


def test_members_that_change_the_answer_leave_the_class() -> None:
    texts, moves, conversations = corpus()
    # "kettle" now always gets move 9: knowing the product changes what the agent does
    scrambled = [[9, 0] if m and m[0] < 4 and "kettle" in t else m for t, m in zip(texts, moves, strict=True)]
    classes = learn_slot_classes(texts, scrambled, conversations, nouns=NOUNS)
    members = {m for c in classes for m in c.members}
    assert "kettle" not in members
    assert {"blender", "toaster", "backpack"} <= members


def test_words_said_together_are_not_a_slot() -> None:
    texts, moves, conversations = corpus()
    # every product named with every other one in each conversation: not one choice among many
    together = [" and ".join(PRODUCTS) + " " + t if m and m[0] < 4 else t
                for t, m in zip(texts, moves, strict=True)]
    assert not any(set(PRODUCTS) <= set(c.members) for c in learn_slot_classes(together, moves, conversations, nouns=NOUNS))


def test_copresence_ratio_counts_pairs_against_independence() -> None:
    turns = {"a": {0, 1}, "b": {2, 3}}
    conversation_of = __import__("numpy").array([0, 1, 2, 3])
    assert copresence_ratio(["a", "b"], turns, conversation_of) == 0.0
    assert copresence_ratio(["a", "b"], {"a": {0, 1}, "b": {0, 1}}, conversation_of) > 1.0


def test_disabled_learns_nothing() -> None:
    assert learn_slot_classes(*corpus(), SlotParams(enabled=False)) == []


def test_rewriter_longest_first_whole_words_any_case() -> None:
    slot = SlotClass("blender", ("blender", "coffee maker", "coffee"), (3, 2, 1), (0.0, 0.0, 0.0))
    rewriter = SlotRewriter([slot])
    assert rewriter.rewrite("My Coffee  Maker broke; coffee spilled") == "My blender broke; blender spilled"
    assert rewriter.rewrite("the coffeemaker and blenders") == "the coffeemaker and blenders"
    hyphenated = SlotRewriter([SlotClass("e-reader", ("e-reader", "t-shirt"), (3, 2), (0.0, 0.0))], placeholder="item")
    assert hyphenated.rewrite("my E-Reader and t-shirts, an e-reader-case") == "my item and t-shirts, an e-reader-case"
    assert SlotRewriter([slot], placeholder="item").rewrite("my blender and coffee maker") == "my item and item"
    assert SlotRewriter([]).rewrite("unchanged") == "unchanged"


def test_misspellings_become_the_word_not_the_placeholder() -> None:
    typos = SlotClass("live music", ("live music", "live muisc", "lvie music"), (9, 2, 1), (0.0, 0.0, 0.0))
    products = SlotClass("blender", ("blender", "toaster"), (3, 2), (0.0, 0.0))
    rewriter = SlotRewriter([typos, products], placeholder="item")
    assert rewriter.rewrite("any lvie music near the toaster?") == "any live music near the item?"
    assert rewriter.rewrite("live music and a blender") == "live music and a item"
    mixed = SlotClass("blender", ("blender", "toaster", "blendr"), (3, 2, 1), (0.0, 0.0, 0.0))
    assert SlotRewriter([mixed], placeholder="item").rewrite("blendr or blender") == "item or item"


def test_later_agent_moves_are_the_rest_of_the_conversation() -> None:
    import polars as pl
    import pyarrow as pa

    from guideminer.mining.mine_steps import later_agent_moves

    keys = pl.DataFrame({"conversation_id": ["a", "a", "a", "a", "b", "b"], "turn_index": [0, 1, 2, 3, 0, 1],
                         "role": ["customer", "agent", "customer", "agent", "agent", "customer"]})
    # agent rows 1, 3, 4 of keys: moves 7 (noise), 8, 9
    agent = pa.table({"row": [1, 3, 4], "label": [7, 8, 9], "is_noise": [True, False, False]})
    assert later_agent_moves(keys, agent) == [[8], [8], []]


def test_report_lists_slots_or_says_there_are_none() -> None:
    from guideminer.mining.report import slot_table

    html = slot_table([{"canonical": "blender", "members": ["blender", "<b>kettle"], "turns": [3, 2], "read_as": "item"},
                       {"canonical": "good morning", "members": ["good morning", "good evening"], "turns": [5, 4],
                        "read_as": "good morning"}])
    assert "blender (3)" in html and "&lt;b&gt;kettle (2)" in html
    assert "<td>item</td>" in html and "<td>good morning</td><td>good morning</td>" in html
    assert "no slot fillers" in slot_table([])


def test_a_class_failing_exclusivity_is_retried_without_the_members_said_together() -> None:
    """SGD: a trip names two cities; the members said with another member leave, the rest is a slot."""
    import numpy as np

    from guideminer.mining.slots import exclusive_members

    turns = {"paris": {0}, "rome": {1}, "oslo": {2}, "from": {3, 5}, "to": {4, 6}}  # turn -> conversation below
    conversation_of = np.array([0, 1, 2, 3, 3, 4, 4])
    members = ["paris", "rome", "oslo", "from", "to"]
    kept, effects = exclusive_members(members, [0.0, 0.01, 0.02, 0.03, 0.04], turns, conversation_of)
    assert kept == ["paris", "rome", "oslo"] and effects == [0.0, 0.01, 0.02]


GENERIC = [0, 10, 11, 12, 13, 14, 15, 16, 17]  # identification, holds, "anything else?", goodbye: after every need


def diluted_corpus(one_need_word: str = "login screen") -> tuple[list[str], list[list[int]], list[str]]:
    """Like `corpus`, but most of every answer is moves every conversation gets (real calls), and
    `one_need_word` is said in the products' frames while always meaning one need (move 7)."""
    rng = random.Random(0)
    texts, moves, conversations = [], [], []
    for n, (product, (frame, move), _) in enumerate(itertools.product(PRODUCTS, NEEDS, range(5))):
        texts.append(frame.format(product))
        moves.append([move, *GENERIC])
        conversations.append(f"c{n}")
    for n in range(9):
        texts.append(NEEDS[n % 3][0].format(one_need_word))
        moves.append([7, *GENERIC])
        conversations.append(f"l{n}")
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [moves[i] for i in order], [conversations[i] for i in order]


def test_a_word_in_the_products_frames_that_names_one_need_leaves_by_cohesion() -> None:
    """Its answers differ from the products' only in one move of seven, too little for the TV
    test, but they are all alike: the cohesion test sees it, and the products stay."""
    without_cohesion = learn_slot_classes(*diluted_corpus(), SlotParams(max_cohesion_gain=1.0), nouns=NOUNS)
    assert any("login screen" in c.members for c in without_cohesion)  # TV alone keeps it
    members = {m for c in learn_slot_classes(*diluted_corpus(), nouns=NOUNS) for m in c.members}
    assert "login screen" not in members and set(PRODUCTS) <= members


def test_several_one_need_words_leave_one_at_a_time_and_the_products_stay() -> None:
    """Each one-need word is removed before the products are judged against a purer pool."""
    texts, moves, conversations = corpus()
    for k, (text, move) in enumerate(CANCEL):
        noun = text.split()[3]  # order / subscription / account: said in the products' frames too
        for n in range(8):
            texts.append(NEEDS[n % 3][0].format(noun))
            moves.append([move, 0])
            conversations.append(f"x{k}-{n}")
    members = {m for c in learn_slot_classes(texts, moves, conversations, nouns=NOUNS) for m in c.members}
    assert set(PRODUCTS) <= members and not {"order", "subscription", "account"} & members


def test_only_noun_phrases_are_members() -> None:
    nouns = WordListNouns(not_nouns={"kettle"})
    members = {m for c in learn_slot_classes(*corpus(), nouns=nouns) for m in c.members}
    assert "kettle" not in members and {"blender", "toaster", "backpack"} <= members
    assert "kettle" in nouns.asked


def test_noun_phrases_need_a_tagger_unless_switched_off() -> None:
    import pytest

    with pytest.raises(ValueError, match="part-of-speech tagger"):
        learn_slot_classes(*corpus())
    assert learn_slot_classes(*corpus(), SlotParams(nouns_only=False))


def test_a_member_said_beside_another_in_most_of_its_turns_leaves() -> None:
    from guideminer.mining.slots import alone_in_their_turns

    turns = {"toaster": {0, 1, 2, 6, 7}, "kettle": {3, 4}, "wrong colour": {1, 2, 5}}  # "wrong colour of the toaster"
    kept, effects = alone_in_their_turns(["toaster", "kettle", "wrong colour"], [0.0, 0.01, 0.02], turns)
    assert kept == ["toaster", "kettle"] and effects == [0.0, 0.01]


def test_a_class_said_without_determiners_becomes_its_canonical_member_not_the_placeholder() -> None:
    classes = learn_slot_classes(*corpus(), nouns=WordListNouns(not_things=PRODUCTS))
    products = next(c for c in classes if set(PRODUCTS) <= set(c.members))
    assert not products.names_things
    rewriter = SlotRewriter(classes, placeholder="item")
    assert rewriter.rewrite("my toaster broke") == f"my {products.canonical} broke"
    things = next(c for c in learn_slot_classes(*corpus(), nouns=NOUNS) if set(PRODUCTS) <= set(c.members))
    assert things.names_things and SlotRewriter([things], placeholder="item").rewrite("my toaster") == "my item"


def test_hyphenated_words_are_candidates_whole() -> None:
    from guideminer.mining.slots import _stop_words, term_occurrences

    turns, _ = term_occurrences(["my e-reader broke", "the t-shirt is torn"], _stop_words())
    assert {"e-reader", "t-shirt"} <= set(turns) and "reader" not in turns
