"""A slot filler in a rule's condition reads as "the item", not as one customer's product.

Why: customer turns are clustered with each slot member read as "item" (mining/slots.py), so one
situation holds every product; its rule was still worded from one turn, and a reviewer read
"When the customer says the box was crushed and the desk lamp inside is broken (e.g. “... the
standing desk inside is broken”)": a rule about desk lamps, contradicted by its own example.
The condition now says "the item" and the example quote keeps a real product.

Only classes that are common nouns are worded so (no word list; measured on the corpus's
customer turns): at least `MIN_MEMBERS` distinct members (the small classes slots.py keeps are
as often verbs or phrasings: "alright / tried / okay did"), most of whose occurrences follow a
determiner or possessive ("the blender", "my tablet"; a city or a restaurant is said without
one), and not mostly followed by one same word (a modifier: "the premium plan" is no "item
plan"). Only occurrences after a determiner are replaced, so a verb that shares a member's
spelling stays.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from guideminer.mining.nouns import WORD_END, WORD_START, phrase_alternation
from guideminer.mining.slots import is_spelling_of

MIN_MEMBERS = 5
NOUN_SHARE = 0.5  # share of a class's occurrences after a determiner that makes it a noun class
MODIFIER_SHARE = 0.7  # share of occurrences followed by one same word that makes it a modifier
MIN_OCCURRENCES = 10
DETERMINERS = ("the", "a", "an", "my", "your", "our", "their", "this", "that", "his", "her", "its", "new")
_NEXT_WORD = re.compile(r"\s+([a-z']+)")


@dataclass(frozen=True)
class SlotWording:
    """Rewrites "<determiner> <member>" of the noun classes as "<determiner> `word`" (module docstring)."""

    pattern: re.Pattern[str] | None
    word: str = "item"

    @classmethod
    def learn(cls, classes: Sequence[dict], customer_texts: Sequence[str], word: str = "item") -> SlotWording:
        """The noun classes of `classes` (slot_classes.json records) judged on `customer_texts`."""
        lowered = [t.lower() for t in customer_texts]
        kept = [c["members"] for c in classes if len(set(c["members"])) >= MIN_MEMBERS and not _spellings(c)
                and _noun_class(c["members"], lowered)]
        if not kept:
            return cls(None, word)
        members = phrase_alternation([m for ms in kept for m in ms])
        determiners = "|".join(DETERMINERS)
        return cls(re.compile(rf"{WORD_START}({determiners})\s+(?:{members}){WORD_END}", re.IGNORECASE), word)

    def general(self, text: str) -> str:
        """`text` with each noun-class member after a determiner read as `word` ("a" -> "an" before a vowel)."""
        if self.pattern is None:
            return text

        def replace(match: re.Match[str]) -> str:
            determiner = match.group(1)
            if determiner.lower() in ("a", "an"):
                determiner = (determiner[0] + "n") if self.word[:1].lower() in "aeiou" else determiner[0]
            return f"{determiner} {self.word}"
        return self.pattern.sub(replace, text)


def _spellings(slot_class: dict) -> bool:
    """A class of misspellings of one word ("tikcet", "tiket") is that word, no slot (slots.py rule 5)."""
    return all(is_spelling_of(m, slot_class["canonical"]) for m in slot_class["members"])


def _noun_class(members: Sequence[str], lowered: Sequence[str]) -> bool:
    """Most occurrences after a determiner, and not mostly followed by one same word."""
    pattern = re.compile(rf"{WORD_START}(?:{phrase_alternation(members)}){WORD_END}")
    after_determiner, following, total = 0, Counter(), 0
    for text in lowered:
        for match in pattern.finditer(text):
            total += 1
            before = text[:match.start()].split()
            after_determiner += bool(before) and before[-1] in DETERMINERS
            if (next_word := _NEXT_WORD.match(text, match.end())) is not None:
                following[next_word.group(1)] += 1
    if total < MIN_OCCURRENCES:
        return False
    top_following = following.most_common(1)[0][1] if following else 0
    return after_determiner / total >= NOUN_SHARE and top_following / total < MODIFIER_SHARE
