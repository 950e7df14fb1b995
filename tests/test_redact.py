"""PII redaction: each type on realistic support text, look-alikes that must stay, a labelled set
scored for precision/recall per type, and properties (idempotence, digit-free text untouched)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guideminer.ingest.redact import PLACEHOLDERS, Redactor, redact_text

# --- labelled set -----------------------------------------------------------------------------
# Positives mark each PII span inline as [[TYPE:value]]; the expected output has the placeholder
# there. Negatives have no marks and must come back unchanged.
LABELLED_POSITIVES = [
    "Hi, you can reach me at [[EMAIL:jane.doe@gmail.com]] for the refund confirmation.",
    "Please send the label to [[EMAIL:mark_o'neil+returns@outlook.co.uk]] thanks",
    "my email is [[EMAIL:J.Smith1987@yahoo.com]], order #4839201 still missing",
    "Contact: [[EMAIL:support-team@shop-example.com]] or [[EMAIL:anna.k@mail.example.de]].",
    "Email (work) [[EMAIL:li.wei@company.io]] - please cc my partner too",
    "Call me back on [[PHONE:(555) 123-4567]] after 6pm please",
    "my number is [[PHONE:555-123-4567]] and the order is ORD-2024-118822",
    "You can text [[PHONE:555.123.4567]] if the courier is late",
    "The store line is [[PHONE:1-800-555-0199]], open until 17:30.",
    "Reach me on [[PHONE:+1 415 555 0132]] or [[PHONE:+1-212-555-0187]]",
    "I'm in London, my mobile is [[PHONE:+44 7700 900123]] and office [[PHONE:020 7946 0958]]",
    "UK number: [[PHONE:+44 (0)20 7946 0958]], best after 10:00",
    "Appelez-moi au [[PHONE:01 23 45 67 89]] ou au [[PHONE:+33 6 12 34 56 78]] svp",
    "Meine Nummer ist [[PHONE:030 12345678]], Bestellung 2024-03-15",
    "mobile [[PHONE:07946 095800]] - the parcel was for flat 4",
    "Call [[PHONE:+49 170 1234567]] or write to [[EMAIL:k.mueller@web.de]]",
    "please phone me: [[PHONE:5551234567]]",
    "ring me on [[PHONE:07946095800]] tomorrow morning",
    "Dutch customer, bel [[PHONE:+31 6 12345678]] of [[PHONE:06-12345678]]",
    "Irish office [[PHONE:+353 1 234 5678]], Italian one [[PHONE:+39 02 1234 5678]]",
    "I paid with card [[CARD:4111 1111 1111 1111]] exp 12/26",
    "card number [[CARD:5500-0000-0000-0004]] was declined twice",
    "Amex [[CARD:3782 822463 10005]] please refund to that",
    "the full number is [[CARD:4012888888881881]] and CVV I won't share",
    "Discover [[CARD:6011 1111 1111 1117]] charged $1,299.00 on 03/15/2024",
    "my visa [[CARD:4242424242424242]] got charged twice for order #55012",
    "Refund to IBAN [[IBAN:DE89 3704 0044 0532 0130 00]] please",
    "IBAN: [[IBAN:GB82WEST12345698765432]] (Barclays)",
    "my account [[IBAN:NL91 ABNA 0417 1643 00]], name on it is J. de Vries",
    "bank details [[IBAN:FR14 2004 1010 0505 0001 3M02 606]] for the reimbursement",
    "Belgian IBAN [[IBAN:BE68 5390 0754 7034]] then the BIC",
    "lowercase works too: [[IBAN:ch9300762011623852957]]",
    "For the credit check my SSN is [[SSN:123-45-6789]].",
    "SSN [[SSN:078-05-1121]] and DOB 04/12/1980",
    "social security number: [[SSN:536-22-1984]] is on file",
    "The login came from [[IP:192.168.1.24]] which was not me",
    "blocked IP [[IP:203.0.113.7]]: please unblock, I'm on [[IP:10.0.0.1]] at home",
    "server says client [[IP:2001:db8:85a3::8a2e:370:7334]] was rate limited",
    "my router is at [[IP:fe80::1ff:fe23:4567:890a]] if that matters",
    "the ip was [[IP:1.2.3.4]] according to the email",
    "I clicked [[URL:https://shop.example.com/reset?token=ab12cd34ef56gh78]] and it expired",
    "link: [[URL:https://api.example.com/v1/orders?api_key=sk_live_51Hc2a9]] from the dev",
    "[[URL:https://cdn.example.com/invoice.pdf?X-Amz-Signature=9f8e7d6c5b4a&X-Amz-Expires=300]]",
    "Verify here: [[URL:https://example.com/verify/3f9a2c7e81b04d5fa6e2c19b7d8e4f01]].",
    "Here's the magic link [[URL:https://app.example.com/login?session=XYZ123abc]]",
    "oauth redirect [[URL:https://example.com/callback?code=4/0AX4XfWh&state=abc]] failed",
    "admin page [[URL:http://admin:hunter2@192.168.0.10/setup]] asks again",
    "sent from [[EMAIL:bob@example.org]], IP [[IP:198.51.100.23]], call [[PHONE:(212) 555-0199]]",
    "card [[CARD:4111111111111111]], SSN [[SSN:219-09-9999]], email [[EMAIL:x.y@z.com]]",
    "The reset [[URL:https://example.com/reset-password/a1B2c3D4e5F6g7H8i9J0]] and "
    "[[EMAIL:me@example.com]]",
    "Hey, it's Sam, my cell is [[PHONE:555 867 5309]], text anytime.",
    "Reply to <[[EMAIL:priya.patel@example.in]]> not the noreply address.",
    "My phone # is [[PHONE:(415)555-0132]].",
    "my IP is [[IP:172.16.254.1]] per whatismyip, and [[IP:1.1.1.1]] is the DNS I use",
    "Refund to [[IBAN:ES91 2100 0418 4502 0005 1332]] (Santander).",
    "The reset email had [[URL:https://accounts.example.com/recover?t=1&reset_token=Zx9Qw8Er7Ty6]]",
    "share link [[URL:https://docs.google.com/document/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit]]",
    "call [[PHONE:020-7946-0958]] or [[PHONE:+44 161 496 0000]] for the Manchester depot",
    "My wife's number is [[PHONE:+61 412 345 678]] (Australia)",
    "card no [[CARD:5105 1051 0510 5100]] please cancel it",
]
LABELLED_NEGATIVES = [
    "Where is my order #4839201? It was supposed to arrive on 2024-03-15.",
    "Order ORD-2024-118822 was placed on 03/15/2024 at 14:32.",
    "The total was $1,299.00 plus $12.50 shipping, paid 15.03.2024.",
    "Tracking number 1Z999AA10123456784 shows in transit since 10:30:45.",
    "USPS tracking 9400 1000 0000 0000 0000 00 has not updated in 3 days",
    "My zip code is 90210-1234 and the box is 30 x 20 x 15 cm.",
    "The reference 1234567812345678 is on the invoice (16 digits).",
    "Order number 4539 1488 0343 6468 was shipped in 2023, not 2024.",
    "App version 1.2.3.4 crashes, and version 2.10.0 too.",
    "The IP 300.1.2.3 in the log looks wrong, and 192.168.1.256 too.",
    "IBAN DE89 3704 0044 0532 0130 01 has a typo, they said.",
    "Invalid SSNs: 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000",
    "See https://shop.example.com/returns for the return policy.",
    "The FAQ at https://help.example.com/articles/how-to-track-your-order-2024 helped.",
    "Use promo https://shop.example.com/sale?promo_code=SPRING10&utm_source=email",
    "Store hours are 9:00-17:30, closed on 12/25 and 01/01.",
    "It cost 1 299,00 EUR and weighed 2.5 kg; the voucher was 25% off.",
    "Meeting at 10:30 on 2024-03-15, call ID 88213 ended after 45 minutes.",
    "Ticket #555-123-4567 was closed without an answer.",
    "Please quote order number 5551234567 when you write back.",
    "Invoice 2024/03/15-0007 and credit note CN-20240315-12 were both issued.",
    "The serial is SN-4839-2017-AX and the model is X1000-2.",
    "My account balance went from 12,450.75 to 11,999.99 overnight.",
    "Between 03-15-2024 10:30 and 03-16-2024 11:45 nothing happened.",
    "MAC address 00:1A:2B:3C:4D:5E is on the sticker.",
    "The coordinates are 51.5074, -0.1278 near the warehouse.",
    "In 2023 I bought 3 items for 49.99 each, in 2024 only 2.",
    "Card ending in 4242, expiring 08/27, was charged 2 times.",
    "Flight BA 2490 leaves at 07:45 from gate 23, seat 14C.",
    "I called 3 times between 9 and 5 but nobody picked up.",
    "ISBN 978-3-16-148410-0 is the book I ordered",
    "Amazon order 112-1234567-1234567 arrived damaged",
    "EAN 4006381333931 on the box",
    "The parcel was 45.5 x 30 x 12 cm and 2.4 kg",
    "Call back between 2-4pm, 555 times I asked!",
    "Windows build 10.0.19045.2965 after update KB5034441",
    "Batch 2024-0315-118 expires 2026-03",
    "Quote reference Q-2024-03-15-001 total 1 234,56 EUR",
    "Ticket # 555-867-5309 and order no. 020 7946 0958 are both closed.",
]


def _expected_and_input(labelled: str) -> tuple[str, str, Counter[str]]:
    marks = list(re.finditer(r"\[\[([A-Z]+):(.+?)\]\]", labelled))
    raw = re.sub(r"\[\[[A-Z]+:(.+?)\]\]", lambda m: m.group(1), labelled)
    expected = re.sub(r"\[\[([A-Z]+):.+?\]\]", lambda m: PLACEHOLDERS[m.group(1)], labelled)
    return raw, expected, Counter(m.group(1) for m in marks)


def _score(cases: list[str]) -> tuple[dict[str, tuple[int, int, int]], int]:
    """Per type (true positives, false positives, false negatives) and exact-output count."""
    tallies = {kind: [0, 0, 0] for kind in PLACEHOLDERS}
    exact = 0
    for labelled in cases:
        raw, expected, expected_counts = _expected_and_input(labelled)
        redacted, counts = redact_text(raw)
        exact += redacted == expected
        for kind in PLACEHOLDERS:
            found = redacted.count(PLACEHOLDERS[kind])
            assert found == counts[kind], (raw, redacted, counts)
            # A detection of the right type counts only if the text around it is what it
            # should be; otherwise every placeholder is scored as wrong and every label missed.
            hits = min(found, expected_counts[kind]) if redacted == expected else 0
            tallies[kind][0] += hits
            tallies[kind][1] += found - hits
            tallies[kind][2] += expected_counts[kind] - hits
    return {kind: (tp, fp, fn) for kind, (tp, fp, fn) in tallies.items()}, exact


def test_labelled_set_precision_and_recall() -> None:
    assert len(LABELLED_POSITIVES) + len(LABELLED_NEGATIVES) >= 60
    tallies, exact = _score(LABELLED_POSITIVES + LABELLED_NEGATIVES)
    print(f"\n{'type':6} {'P':>6} {'R':>6}  tp fp fn")
    for kind, (tp, fp, fn) in tallies.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{kind:6} {precision:6.3f} {recall:6.3f}  {tp:2} {fp:2} {fn:2}")
        assert tp + fn > 0, f"labelled set has no {kind} example"
    tp, fp, fn = (sum(t[i] for t in tallies.values()) for i in range(3))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"{'all':6} {precision:6.3f} {recall:6.3f}  {tp:2} {fp:2} {fn:2}; "
          f"exact output {exact}/{len(LABELLED_POSITIVES) + len(LABELLED_NEGATIVES)}")
    assert precision >= 0.95 and recall >= 0.95


@pytest.mark.parametrize("text", LABELLED_NEGATIVES)
def test_look_alikes_stay_untouched(text: str) -> None:
    assert redact_text(text) == (text, Counter())


# --- per-type behaviour -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # card needs Luhn: the same shape with the last digit changed is an order number
        ("card 4111 1111 1111 1111 ok", "card <CARD> ok"),
        ("card 4111 1111 1111 1112 ok", "card 4111 1111 1111 1112 ok"),
        ("order 1234567812345678", "order 1234567812345678"),
        # IBAN: mod-97 and the country's length; a following 4-letter word is given back
        ("GB82 WEST 1234 5698 7654 32", "<IBAN>"),
        ("GB82 WEST 1234 5698 7654 33", "GB82 WEST 1234 5698 7654 33"),
        ("BE68 5390 0754 7034 then", "<IBAN> then"),
        ("DE89370400440532013000", "<IBAN>"),
        ("DE8937040044053201300", "DE8937040044053201300"),  # one digit short for DE
        # SSN ranges
        ("ssn 123-45-6789", "ssn <SSN>"),
        ("ssn 666-45-6789", "ssn 666-45-6789"),
        ("ssn 987-65-4321", "ssn 987-65-4321"),
        # IPv4: a bare dotted quad is an address, a version string is not
        ("ip 1.2.3.4.", "ip <IP>."),
        ("version 1.2.3.4", "version 1.2.3.4"),
        ("v1.2.3.4", "v1.2.3.4"),
        ("ip 10.0.0.256", "ip 10.0.0.256"),
        ("ip 010.0.0.1", "ip 010.0.0.1"),
        ("mapped ::ffff:192.0.2.128 here", "mapped <IP> here"),
        ("at 12:30:45 or 12:30", "at 12:30:45 or 12:30"),
        # URL: secret-bearing only; trailing punctuation stays
        ("(see https://x.example.com/a?access_token=abc.)", "(see <URL>.)"),
        ("https://x.example.com/a?ref=bob@x.com", "https://x.example.com/a?ref=<EMAIL>"),
        ("https://www.example.com/search?q=blue+shoes&page=2", "https://www.example.com/search?q=blue+shoes&page=2"),
        # phone shapes and their limits
        ("+1 555 123 4567 2 items", "<PHONE> 2 items"),
        ("123-456-7890", "123-456-7890"),  # NANP area codes never start with 1
        ("my order number is 5551234567", "my order number is 5551234567"),
        ("call 5551234567", "call <PHONE>"),
        ("5551234567", "5551234567"),  # a bare run without a phone cue
        ("dial 0044 20 7946 0958 now", "dial <PHONE> now"),
    ],
)
def test_type_rules(text: str, expected: str) -> None:
    assert redact_text(text)[0] == expected


def test_counts_by_type() -> None:
    text = "a@b.com c@d.org 555-123-4567 4111111111111111 8.8.8.8 https://e.com/?token=x"
    redacted, counts = redact_text(text)
    assert counts == Counter({"EMAIL": 2, "PHONE": 1, "CARD": 1, "IP": 1, "URL": 1})
    assert redacted == "<EMAIL> <EMAIL> <PHONE> <CARD> <IP> <URL>"


def test_a_secret_url_is_one_placeholder_even_with_an_email_or_ip_inside() -> None:
    text = "go to https://10.1.2.3/reset?user=ann@example.com&token=q1w2e3r4t5 now"
    assert redact_text(text) == ("go to <URL> now", Counter({"URL": 1}))


def test_neighbours_exposed_by_a_replacement_are_redacted() -> None:
    redacted, counts = redact_text("01 23 45 67 89 020 7946 0958")
    assert redacted == "<PHONE> <PHONE>"
    assert counts == Counter({"PHONE": 2})


def test_redactor_selects_types() -> None:
    redactor = Redactor(["EMAIL"])
    assert redactor.redact("a@b.com 555-123-4567") == ("<EMAIL> 555-123-4567", Counter({"EMAIL": 1}))
    assert Redactor().redact("a@b.com")[0] == redact_text("a@b.com")[0]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="NAME"):
        Redactor(["EMAIL", "NAME"])
    with pytest.raises(TypeError, match="bytes"):
        redact_text(b"a@b.com")  # type: ignore[arg-type]


def test_placeholders_are_typed_and_ordered() -> None:
    assert list(PLACEHOLDERS) == ["URL", "EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE"]
    assert all(value == f"<{key}>" for key, value in PLACEHOLDERS.items())


# --- properties -------------------------------------------------------------------------------
_PII_PIECES = [
    re.sub(r"\[\[[A-Z]+:(.+?)\]\]", lambda m: m.group(1), t)
    for t in LABELLED_POSITIVES + LABELLED_NEGATIVES
] + ["4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "01 23 45 67 89", "<PHONE>", "<IP>"]
_GLUE = st.text(alphabet=" .,-:/@#+()<>0123456789abcXYZ\n", max_size=6)
_PIECE = st.one_of(
    st.sampled_from(_PII_PIECES),
    st.from_regex(r"[0-9]{1,4}([ .:/-][0-9]{1,4}){0,5}", fullmatch=True),
    st.text(max_size=12),
)
_MIXED_TEXT = st.lists(st.tuples(_PIECE, _GLUE), max_size=8).map(
    lambda parts: "".join(piece + glue for piece, glue in parts)
)


@settings(max_examples=400, deadline=None)
@given(_MIXED_TEXT)
def test_redacting_twice_equals_redacting_once(text: str) -> None:
    once, _ = redact_text(text)
    assert redact_text(once) == (once, Counter())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_text_without_digits_at_or_scheme_is_unchanged(text: str) -> None:
    text = re.sub(r"[0-9@]", "", text)
    while "://" in text:
        text = text.replace("://", "")
    assert redact_text(text) == (text, Counter())
