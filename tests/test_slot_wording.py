"""Slot members in a rule's condition wording (mining/slot_wording.py)."""

from __future__ import annotations

from guideminer.mining.slot_wording import SlotWording

PRODUCTS = ["coffee maker", "toaster", "blender", "air fryer", "desk lamp", "standing desk"]
CITIES = ["paris", "london", "berlin", "rome", "madrid", "oslo"]
PLANS = ["premium", "basic", "family", "student", "business"]
TEXTS = ([f"my {p} arrived broken" for p in PRODUCTS] + [f"I want to return the {p}" for p in PRODUCTS]
         + [f"a flight to {c} please" for c in CITIES] * 2 + [f"switch me to the {p} plan" for p in PLANS] * 2)


def _classes(*members: list[str]) -> list[dict]:
    return [{"canonical": m[0], "members": m} for m in members]


def test_a_product_after_a_determiner_reads_as_the_item():
    wording = SlotWording.learn(_classes(PRODUCTS), TEXTS)
    assert wording.general("the box was crushed and the desk lamp inside is broken") == \
        "the box was crushed and the item inside is broken"
    assert wording.general("I ordered a toaster on <DATE>") == "I ordered an item on <DATE>"
    assert wording.general("Toaster help") == "Toaster help"  # no determiner: left as said


def test_names_modifiers_and_small_classes_are_left_as_said():
    wording = SlotWording.learn(_classes(CITIES, PLANS, PRODUCTS[:3]), TEXTS)
    assert wording.pattern is None  # cities follow no determiner; plans modify "plan"; 3 products are too few
    assert wording.general("my toaster arrived broken") == "my toaster arrived broken"


def test_a_class_of_misspellings_is_one_word_not_the_item():
    spelled = ["ticket", "tikcet", "tciket", "tickte", "tickt"]
    texts = [f"{lead} my {w} {tail}" for w in spelled for lead, tail in
             (("I lost", "for the show"), ("where is", "now"), ("can you resend", "please"))]
    assert SlotWording.learn(_classes(spelled), texts).pattern is None
    assert SlotWording.learn(_classes(PRODUCTS), TEXTS).pattern is not None
