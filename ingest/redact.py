"""PII redaction for support transcripts; ingest applies it before anything is written to disk.

``redact_text(text) -> (redacted, counts)`` replaces personal data with typed placeholders and
counts them by type (``counts["EMAIL"] == 2``). Detection is regex candidates plus validation
(checksums, valid ranges, context), tuned for precision on support-desk look-alikes: order
numbers, dates, times, prices, ZIP codes, tracking numbers and version strings stay.

Types, in the order they are applied (``PLACEHOLDERS`` keeps this order):

1. URL   ``<URL>``   http(s)/ftp/ws URLs that carry a secret: userinfo (``user:pw@``), a
   secret-named parameter (token, access_token, key, api_key, sig, signature, session,
   password, auth, code, secret, otp, jwt...; not e.g. promo_code or zip_code), a JWT, a long
   random-looking segment or value, or a token after /reset/, /verify/, /login/... Plain URLs
   stay (``https://shop.example.com/returns``). Needs ``://``: bare ``www.`` links are not
   checked. First, so an email, IP or number inside a secret URL goes with the whole URL.
2. EMAIL ``<EMAIL>`` before the digit types: local parts and domains carry digits.
3. IBAN  ``<IBAN>``  compact or in groups of four; country length per the SWIFT IBAN registry
   and the ISO 13616 mod-97 check. Before CARD: IBAN groups can form a Luhn-valid card number.
4. CARD  ``<CARD>``  13-19 digits, contiguous or grouped 4-4-4-4(-3) / 4-6-5 with one
   separator (space or dash), first digit 2-6 (the card issuer ranges) and a Luhn check; a
   non-Luhn 16-digit order number stays, a Luhn-valid one after "order" does not (a leaked
   card costs more than a hidden order number). Before PHONE: card groups look like phones.
5. SSN   ``<SSN>``   NNN-NN-NNNN outside the SSA never-issued ranges (area 000, 666, 900-999;
   group 00; serial 0000).
6. IP    ``<IP>``    IPv6 (validated by ``ipaddress``, at least two groups and a digit; before
   IPv4 so a mapped ``::ffff:1.2.3.4`` is one match), then IPv4 with octets 0-255 and no leading
   zeros. A bare dotted quad such as 1.2.3.4 IS an address and is redacted, except right after
   ``version``/``ver``/``build``/``release``/``firmware``/``v`` (``version 1.2.3.4`` stays);
   300.1.2.3 is not an address. Times (10:30:45) and MAC addresses are not IPv6 addresses.
7. PHONE ``<PHONE>`` last, on what the stricter types left; shapes in
   ``guideminer.ingest.redact_phone``.

Boundary rules refuse a candidate glued to a neighbouring digit group, so replacing one match
can expose a neighbour the rules blocked ("01 23 45 67 89 020 7946 0958"). ``Redactor.redact``
therefore repeats the pass until nothing changes; every replacement removes a digit, an ``@``
or a ``://`` (placeholders hold none), so this ends, and the result is idempotent. Turns
without PII take one pass; text without ASCII digits, ``@`` and ``://`` is returned as is.
Digits are ASCII: full-width or other-script digits are not detected.

Throughput, measured on the shared 2-core dev box (Python 3.11, load ~2 from parallel
work): 20,000 synthetic 20-60 word support turns (45 words on average; 15% with PII, 40% with
look-alike numbers) at 42,000-59,000 turns/s (median of 7 runs, three invocations); the 913
real dstc11-insurance customer turns at ~340,000 turns/s. Command:
``.venv/bin/python -m guideminer.ingest.redact_bench --repeats 7``
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

from guideminer.ingest.redact_phone import PHONE_PATTERNS, PhoneReplacer

PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {kind: f"<{kind}>" for kind in ("URL", "EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE")}
)

# --- URL ------------------------------------------------------------------------------------
_URL_RE = re.compile(r"\b(?:https?|ftps?|wss?)://[^\s<>\"'`{}|\\^]+", re.IGNORECASE | re.ASCII)
_URL_TRAILING = ".,;:!?)]}'\"*"
_URL_USERINFO_RE = re.compile(r"^[^:]+://[^/?#@]*@")
_URL_PARAM_RE = re.compile(r"[?&;#]([^=&;#?/]{1,64})=")
_URL_KEY_SPLIT_RE = re.compile(r"[_\-.\[\]]+")
_URL_RUN_RE = re.compile(r"[A-Za-z0-9]{20,}", re.ASCII)
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", re.ASCII)
_SECRET_PATH_RE = re.compile(
    r"/(?:reset|reset[-_]?password|password[-_]?reset|verify|verification|confirm|activate|"
    r"activation|invite|invitation|magic[-_]?link|login|signin|sign-in|auth|token|session|"
    r"unsubscribe)/([A-Za-z0-9_-]{16,})",
    re.IGNORECASE | re.ASCII,
)
_LETTER_DIGIT_SWITCH_RE = re.compile(r"[A-Za-z](?=[0-9])|[0-9](?=[A-Za-z])", re.ASCII)
_SECRET_KEY_PARTS = frozenset(
    "token key apikey sig signature session sessionid sid password passwd pwd pass auth "
    "authorization code secret otp jwt credential credentials hmac nonce".split()
)
_SECRET_KEYS = frozenset(
    "accesstoken authtoken idtoken refreshtoken apikey accesskey secretkey clientsecret "
    "sessionid jsessionid phpsessid sessid xsrf csrf".split()
)
_PLAIN_KEYS = frozenset(
    "zip_code postal_code country_code currency_code lang_code language_code promo_code "
    "coupon_code discount_code product_code status_code error_code area_code gift_code".split()
)


def _letter_digit_switches(token: str) -> int:
    return len(_LETTER_DIGIT_SWITCH_RE.findall(token))


def _looks_random(token: str) -> bool:
    """A machine-made token: letters and digits interleaved (slugs and years switch rarely)."""
    switches = _letter_digit_switches(token)
    return switches >= 3 or (len(token) >= 32 and switches >= 1)


def _is_secret_key(key: str) -> bool:
    key = key.lower()
    if key in _PLAIN_KEYS:
        return False
    return key in _SECRET_KEYS or any(p in _SECRET_KEY_PARTS for p in _URL_KEY_SPLIT_RE.split(key))


def _url_carries_secret(url: str) -> bool:
    if _URL_USERINFO_RE.match(url):
        return True
    rest = url[url.index("://") + 3 :]
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return False
    tail = rest[cut:]
    if any(_is_secret_key(key) for key in _URL_PARAM_RE.findall(tail)):
        return True
    if _JWT_RE.search(tail) or any(_looks_random(m) for m in _URL_RUN_RE.findall(tail)):
        return True
    return any(_letter_digit_switches(m) >= 3 for m in _SECRET_PATH_RE.findall(tail))


def _replace_url(match: re.Match[str]) -> str | None:
    url = match.group(0)
    core = url.rstrip(_URL_TRAILING)
    return PLACEHOLDERS["URL"] + url[len(core) :] if _url_carries_secret(core) else None


# --- EMAIL ----------------------------------------------------------------------------------
_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])(?<!\w')[\w.%+-]+(?:'[\w.%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])"
)

# --- IBAN -----------------------------------------------------------------------------------
_IBAN_RE = re.compile(
    r"(?<![\w-])[A-Za-z]{2}[0-9]{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)(?![\w-])",
    re.ASCII,
)
# IBAN length by country, SWIFT IBAN registry.
_IBAN_LENGTHS = {
    **dict.fromkeys(["NO"], 15), **dict.fromkeys(["BE", "BI"], 16),
    **dict.fromkeys(["DK", "FI", "FK", "FO", "GL", "NL", "SD"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK"], 20),
    **dict.fromkeys(["CH", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "IQ", "OM", "SO", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["LY", "PT", "ST"], 25), **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["DJ", "FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HN", "HU", "LB", "NI", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["JO", "KW", "MU", "YE"], 30), **dict.fromkeys(["MT", "SC"], 31),
    "LC": 32, "RU": 33,
}
_IBAN_LETTER_VALUES = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})


def _iban_ok(compact: str) -> bool:
    compact = compact.upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int((compact[4:] + compact[:4]).translate(_IBAN_LETTER_VALUES)) % 97 == 1


def _replace_iban(match: re.Match[str]) -> str | None:
    """Longest valid IBAN among the match and its prefixes ending at a group break, so a
    following 4-character word ("BE68 5390 0754 7034 then") is given back."""
    text = match.group(0)
    ends = [len(text)] + [i for i in range(len(text) - 1, 0, -1) if text[i] == " "]
    for end in ends:
        if _iban_ok(text[:end].replace(" ", "")):
            return PLACEHOLDERS["IBAN"] + text[end:]
    return None


# --- CARD -----------------------------------------------------------------------------------
_CARD_RE = re.compile(
    r"(?<![\w.,/-])(?<![0-9][ -])[2-6][0-9]{3}(?:[0-9]{9,15}"
    r"|(?P<s1>[ -])[0-9]{4}(?P=s1)[0-9]{4}(?P=s1)[0-9]{1,4}(?:(?P=s1)[0-9]{1,3})?"
    r"|(?P<s2>[ -])[0-9]{6}(?P=s2)[0-9]{4,5})(?![\w-]|[.,/][0-9])",
    re.ASCII,
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _replace_card(match: re.Match[str]) -> str | None:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return PLACEHOLDERS["CARD"] if 13 <= len(digits) <= 19 and _luhn_ok(digits) else None


# --- SSN ------------------------------------------------------------------------------------
_SSN_RE = re.compile(
    r"(?<![\w-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![\w-]|[.,/][0-9])", re.ASCII
)


def _replace_ssn(match: re.Match[str]) -> str | None:
    area, group, serial = match.groups()
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    return PLACEHOLDERS["SSN"]


# --- IP -------------------------------------------------------------------------------------
_IPV6_RE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.[0-9])",
    re.ASCII,
)
_IPV6_GROUP_RE = re.compile(r"[0-9A-Fa-f.]+", re.ASCII)
_IPV4_RE = re.compile(
    r"(?<![\w.])([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?![\w]|\.[0-9])", re.ASCII
)
_VERSION_BEFORE_RE = re.compile(
    r"\b(?:version|ver|build|release|firmware|fw|v)\.?:?\s*$", re.IGNORECASE
)


def _replace_ipv6(match: re.Match[str]) -> str | None:
    candidate = match.group(0)
    if len(_IPV6_GROUP_RE.findall(candidate)) < 2 or not any(c.isdigit() for c in candidate):
        return None
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    return PLACEHOLDERS["IP"]


def _replace_ipv4(match: re.Match[str]) -> str | None:
    for octet in match.groups():
        if int(octet) > 255 or (len(octet) > 1 and octet[0] == "0"):
            return None
    start = match.start()
    if _VERSION_BEFORE_RE.search(match.string, max(0, start - 16), start):
        return None
    return PLACEHOLDERS["IP"]


# --- pipeline -------------------------------------------------------------------------------
_ASCII_DIGITS = "0123456789"


@dataclass(frozen=True)
class _Stage:
    kind: str
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str | None]  # the replacement, or None to keep the match
    # Cheap gates that let a text skip the regex scan: it must hold `needs` and at least
    # `min_digits` ASCII digits (the fewest any match of the stage has).
    needs: str = ""
    min_digits: int = 0


def _phone_stage(pattern: re.Pattern[str], replace: PhoneReplacer, min_digits: int) -> _Stage:
    return _Stage("PHONE", pattern, partial(replace, placeholder=PLACEHOLDERS["PHONE"]),
                  min_digits=min_digits)


_STAGES: tuple[_Stage, ...] = (
    _Stage("URL", _URL_RE, _replace_url, needs="://"),
    _Stage("EMAIL", _EMAIL_RE, lambda match: PLACEHOLDERS["EMAIL"], needs="@"),
    _Stage("IBAN", _IBAN_RE, _replace_iban, min_digits=2),
    _Stage("CARD", _CARD_RE, _replace_card, min_digits=13),
    _Stage("SSN", _SSN_RE, _replace_ssn, needs="-", min_digits=9),
    _Stage("IP", _IPV6_RE, _replace_ipv6, needs=":", min_digits=1),
    _Stage("IP", _IPV4_RE, _replace_ipv4, needs=".", min_digits=4),
    *(_phone_stage(*phone_pattern) for phone_pattern in PHONE_PATTERNS),
)


class Redactor:
    """Replaces PII with typed placeholders; ``kinds`` selects the types (default: all)."""

    def __init__(self, kinds: Iterable[str] | None = None) -> None:
        selected = tuple(PLACEHOLDERS) if kinds is None else tuple(kinds)
        unknown = sorted(set(selected) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown PII type(s) {unknown}; known: {list(PLACEHOLDERS)}")
        self.kinds: frozenset[str] = frozenset(selected)
        self._stages = tuple(stage for stage in _STAGES if stage.kind in self.kinds)

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """The redacted text and the number of placeholders inserted, by type."""
        if not isinstance(text, str):
            raise TypeError(f"redact expects str, got {type(text).__name__}")
        counts: Counter[str] = Counter()
        while True:
            total_before = counts.total()
            text = self._one_pass(text, counts)
            if counts.total() == total_before:
                return text, counts

    def _one_pass(self, text: str, counts: Counter[str]) -> str:
        digits = sum(map(text.count, _ASCII_DIGITS))
        for stage in self._stages:
            if digits >= stage.min_digits and stage.needs in text:
                text = _apply(stage, text, counts)
        return text


def _apply(stage: _Stage, text: str, counts: Counter[str]) -> str:
    hits = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal hits
        replacement = stage.replace(match)
        if replacement is None:
            return match.group(0)
        hits += 1
        return replacement

    text = stage.pattern.sub(substitute, text)
    if hits:
        counts[stage.kind] += hits
    return text


def _mask(length: int) -> str:
    """Same-length stand-in for a found span: like a placeholder it holds no digit, ``@`` or
    ``://`` and is bracketed by non-word characters, so later stages see what they would see
    after a real replacement while every offset still points into the original text."""
    return "<" + "Z" * (length - 2) + ">" if length >= 2 else "Z" * length


def find_spans(text: str, kinds: Iterable[str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, type) of every span `redact_text` would replace, as offsets into `text`.

    The same stages in the same order, repeated to a fixed point like `Redactor.redact`; each
    found span is masked rather than replaced, so offsets stay valid. This is what the Presidio
    recogniser of `guideminer.ingest.pii_recognizers` reports for these types."""
    selected = frozenset(PLACEHOLDERS if kinds is None else kinds)
    stages = tuple(stage for stage in _STAGES if stage.kind in selected)
    spans: list[tuple[int, int, str]] = []
    while True:
        found_before = len(spans)
        digits = sum(map(text.count, _ASCII_DIGITS))
        for stage in stages:
            if digits >= stage.min_digits and stage.needs in text:
                text = _mask_stage(stage, text, spans)
        if len(spans) == found_before:
            return sorted(spans)


def _mask_stage(stage: _Stage, text: str, spans: list[tuple[int, int, str]]) -> str:
    hits: list[tuple[int, int]] = []
    for match in stage.pattern.finditer(text):
        replacement = stage.replace(match)
        if replacement is None:
            continue
        kept_tail = len(replacement) - len(PLACEHOLDERS[stage.kind])
        hits.append((match.start(), match.end() - kept_tail))
    for start, end in hits:
        text = text[:start] + _mask(end - start) + text[end:]
        spans.append((start, end, stage.kind))
    return text


_DEFAULT = Redactor()


def redact_text(text: str) -> tuple[str, Counter[str]]:
    """Redact all PII types; see the module docstring for the types and their order."""
    return _DEFAULT.redact(text)
