"""Phone-number detection for `guideminer.ingest.redact` (split out to keep modules small).

Phones are the most look-alike-prone type in support text (order numbers, dates, times, prices,
zip codes, tracking numbers), so a number is a phone only in one of these shapes:

1. international: ``+CC ...`` or ``00CC ...`` (the ``00`` form needs a separator) with 8-15
   digits after the prefix (E.164), ``(0)`` trunk marks allowed, ``+1`` numbers exactly 11
   digits; trailing groups that break these rules are left out of the match
   (``+1 555 123 4567 2`` -> ``<PHONE> 2``);
2. North American: ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``, ``555 123 4567``,
   optionally ``1-`` first; the area code starts with 2-9 as in the NANP (so ``123-456-7890``
   is not a phone);
3. European national (trunk ``0``) with ONE consistent separator: ``020 7946 0958``,
   ``07946 095800``, ``01 23 45 67 89``, ``030-12345678``, ``(020) 7946 0958``; 9-12 digits;
4. a bare 10-11 digit run (``5551234567``, ``07946095800``) only when its clause (text since
   the last sentence break) has a phone cue (``call``, ``phone``, ``mobile``, ``my number``...),
   because bare runs are far more often order or account numbers.

Every shape is refused right after an identifier word (``order``, ``ticket``, ``tracking``,
``#``...), and no shape continues into a neighbouring digit group (``-``, ``/``, ``:`` and
decimal neighbours block a match), which keeps dates (2024-03-15, 03/15/2024), times, prices,
ZIP+4 codes and long tracking numbers out. Not covered: numbers without any separator outside a
phone clause, and foreign national forms without a trunk 0 (e.g. Spanish ``612 34 56 78``;
their ``+34`` form is covered).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Not preceded by a word character, a '+', '#', '/', '.', ',' or '-', nor by "digit separator"
# (so no match starts inside a longer run of digit groups).
_START = r"(?<![\w+#/.,-])(?<![0-9][ .-])"
# Not followed by a word character or '-', nor by '.', ',', '/', ':' and a digit.
_END = r"(?![\w-]|[.,/:][0-9])"

_INTL_RE = re.compile(
    r"(?<![\w+#/.,-])(?<![0-9][ .-])(?:\+|00)[1-9][0-9 ().-]{6,24}[0-9](?![\w]|[.,/:-][0-9])",
    re.ASCII,
)
_INTL_SHAPE_RE = re.compile(
    r"(?:\+|00)[1-9][0-9]{0,14}(?:(?:[ .-]?\([0-9]{1,4}\)[ .-]?|[ .-])[0-9]+)*", re.ASCII
)
_NANP_RE = re.compile(
    _START + r"(?:1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}" + _END,
    re.ASCII,
)
_TRUNK_RE = re.compile(
    _START + r"(?:\(0[1-9][0-9]{0,3}\)|0[1-9][0-9]{0,3})(?:[ .-][0-9]{2,8}){1,4}" + _END, re.ASCII
)
_BARE_RE = re.compile(
    r"(?<![\w+#/.,-])(?:1?[2-9][0-9]{9}|0[1-9][0-9]{8,10})" + _END, re.ASCII
)
_SEPARATORS_RE = re.compile(r"[ .-]")
_GROUP_BREAK_RE = re.compile(r"(?<=[0-9])[ .(-]")
_NON_DIGITS_RE = re.compile(r"[^0-9]")

# An identifier word right before the number: "order 0207946095", "ticket #555-123-4567".
_IDENTIFIER_BEFORE_RE = re.compile(
    r"(?:\b(?:order|invoice|ticket|case|ref|reference|tracking|policy|claim|confirmation|"
    r"account|acct|serial|sku|model|booking|reservation|transaction|id)"
    r"(?:\s*(?:number|no\.?|num|id))?|#|\bno\.?)\s*[:#]?\s*$",
    re.IGNORECASE,
)
# "phone #", "tel. no.": a number mark that labels a phone, not an identifier.
_PHONE_LABEL_BEFORE_RE = re.compile(
    r"\b(?:phone|telephone|tel|cell|mobile|fax|contact)\.?\s*(?:#|no\.?|number)\s*[:#]?\s*$",
    re.IGNORECASE,
)
_PHONE_CUE_RE = re.compile(
    r"\b(?:phone|telephone|tel|call|calling|called|cell|cellphone|mobile|landline|text|txt|sms|"
    r"whatsapp|reach|ring|fax|dial|contact|(?:my|your|his|her|our|their|the best) number)\b",
    re.IGNORECASE,
)
_CLAUSE_BREAKS = (". ", "! ", "? ", "; ", "\n")
_CONTEXT_CHARS = 120


def _after_identifier(match: re.Match[str]) -> bool:
    start, text = match.start(), match.string
    if _IDENTIFIER_BEFORE_RE.search(text, max(0, start - 40), start) is None:
        return False
    return _PHONE_LABEL_BEFORE_RE.search(text, max(0, start - 40), start) is None


def _has_phone_cue(match: re.Match[str]) -> bool:
    start = match.start()
    window = match.string[max(0, start - _CONTEXT_CHARS) : start]
    clause_start = max(window.rfind(mark) for mark in _CLAUSE_BREAKS) + 1
    return _PHONE_CUE_RE.search(window, clause_start) is not None


def _intl_digit_count(candidate: str) -> int:
    body = candidate[1:] if candidate[0] == "+" else candidate[2:]
    return len(_NON_DIGITS_RE.sub("", body.replace("(0)", "")))


def _intl_ok(candidate: str) -> bool:
    if not _INTL_SHAPE_RE.fullmatch(candidate):
        return False
    if candidate.startswith("00") and not _SEPARATORS_RE.search(candidate):
        return False
    digits = _intl_digit_count(candidate)
    if not 8 <= digits <= 15:
        return False
    if candidate.lstrip("+0").startswith("1") and digits != 11:
        return False
    last_group = re.split(r"[ .()-]", candidate)[-1]
    return len(last_group) >= 2


def _replace_intl(match: re.Match[str], placeholder: str) -> str | None:
    """Longest prefix ending at a digit-group boundary that is a valid international number."""
    text = match.group(0)
    ends = [len(text)] + [m.start() for m in reversed(list(_GROUP_BREAK_RE.finditer(text)))]
    for end in ends:
        if _intl_ok(text[:end]):
            return placeholder + text[end:]
    return None


def _replace_nanp(match: re.Match[str], placeholder: str) -> str | None:
    return None if _after_identifier(match) else placeholder


def _replace_trunk(match: re.Match[str], placeholder: str) -> str | None:
    candidate = match.group(0)
    if len(set(_SEPARATORS_RE.findall(candidate.replace(") ", ")")))) > 1:
        return None
    if not 9 <= len(_NON_DIGITS_RE.sub("", candidate)) <= 12:
        return None
    return None if _after_identifier(match) else placeholder


def _replace_bare(match: re.Match[str], placeholder: str) -> str | None:
    if _after_identifier(match) or not _has_phone_cue(match):
        return None
    return placeholder


PhoneReplacer = Callable[[re.Match[str], str], "str | None"]

# (pattern, replacer, fewest digits a match has); most specific first, so an international
# number is not cut into a national one.
PHONE_PATTERNS: tuple[tuple[re.Pattern[str], PhoneReplacer, int], ...] = (
    (_INTL_RE, _replace_intl, 8),
    (_NANP_RE, _replace_nanp, 10),
    (_TRUNK_RE, _replace_trunk, 9),
    (_BARE_RE, _replace_bare, 10),
)
