"""Presidio recognisers for postal addresses and phone numbers as the world writes them.

Why beside `pii_recognizers.AddressRecognizer` and the written phone shapes of `redact_phone`:
those know US forms ("200 Union Street, Savannah, GA 31401", "(555) 123-4567"). A call centre
serving Europe or Asia hears "Storgatan 35, Hårsfjärden, 130 61" and "call me on 79 129 54 13";
on presidio-evaluator's international records the US forms found 2 of 29 addresses and 3 of 14
phones (docs/pii.md).

- `PostalAddressRecognizer`: a street line (street-first "Storgatan 35" / "ul. Kurantów 76", or
  number-first "79 Rue de Tanger"; or a post box), a place, an optional region code and a postcode,
  comma separated. The postcode at the end is what tells an address from "order 12345, placed
  Monday": without one, only the US recogniser's street-type words count.
- `PhoneCandidateRecognizer`: 6-15 digits in two or more groups ("9777 9356", "(28) 665-641"),
  typed ``PHONE_CANDIDATE``: `pii_redactor` makes it a PHONE only when a phone cue ("call me on",
  "mobile", "fax") is close before it, so an order or tracking number in groups stays text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from guideminer.ingest.pii_recognizers import RegexRecognizer
from guideminer.ingest.pii_types import PHONE_CANDIDATE

_WORD = r"[^\W\d_](?:[^\W\d_]|['’.-](?=[^\W\d_]))*\.?"  # any script; inner ' . - ("VILLENEUVE-D'ASCQ", "ul.")
_CAPITAL = r"[A-ZÀ-ÖØ-ÞΆ-ΏΑ-ΩЀ-Я]"  # a street's or place's first letter (Latin, Greek, Cyrillic)
_NAME_WORD = rf"{_CAPITAL}(?:[^\W\d_]|['’.-](?=[^\W\d_]))*\.?"
# "Storgatan 35", "ul. Kurantów 76", "Plaza de España 44": a capitalised street name (after an
# abbreviation like "ul."), then the house number; "79 Rue de Tanger": number first.
_STREET_FIRST = rf"(?:[a-z]{{1,4}}\.\s+)?{_NAME_WORD}(?:\s+{_WORD}){{0,3}}\s+[0-9]{{1,5}}[A-Za-z]?"
_NUMBER_FIRST = rf"[0-9]{{1,5}}[A-Za-z]?\s+{_NAME_WORD}(?:\s+{_WORD}){{0,4}}"
_POST_BOX = r"(?i:post\s?box|p\.?\s?o\.?\s+box)\s+[0-9]{1,6}"
_PLACE = rf"{_NAME_WORD}(?:[\s-]+{_WORD}){{0,3}}(?:\s+[0-9]{{1,3}})?"
_REGION = r"(?:[A-Z]{1,3}\s+|[0-9]{1,2}\s+)?"
_POSTCODE = r"(?:[0-9]{4,6}|[0-9]{2,3}[ -][0-9]{2,4})(?:-[0-9]{3,4})?"
_POSTAL_RE = re.compile(
    rf"(?<![\w-])(?P<pii>(?:{_POST_BOX}|{_STREET_FIRST}|{_NUMBER_FIRST}),[ \t]*{_PLACE},[ \t]*{_REGION}{_POSTCODE})(?![\w-])"
)


class PostalAddressRecognizer(RegexRecognizer):
    """Street line, place, optional region, postcode (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("ADDRESS", _POSTAL_RE, "PostalAddressRecognizer", score=0.85)


_PHONE_GROUPS_RE = re.compile(
    r"(?<![\w.,/-])(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,5}(?:[ .-][0-9]{2,4}){1,4}(?![\w/-]|[.,][0-9])"
)
_ISO_DATE_RE = re.compile(r"(?:19|20)[0-9]{2}[-.][01][0-9][-.][0-3][0-9]$")


class PhoneCandidateRecognizer(RegexRecognizer):
    """Digit groups that could be a phone number in any national format; a candidate only."""

    def __init__(self) -> None:
        super().__init__(PHONE_CANDIDATE, _PHONE_GROUPS_RE, "PhoneCandidateRecognizer", score=0.6)

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            digits = sum(ch.isdigit() for ch in match.group(0))
            if 6 <= digits <= 15 and not _ISO_DATE_RE.match(match.group(0)):
                yield match.start(), match.end()
