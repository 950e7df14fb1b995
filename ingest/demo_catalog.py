"""Catalog of the embedded demo corpus: record types, departments, text pools and slot fillers.

The demo company ("Larkfield", an imaginary home-goods retailer with subscription boxes) is
described entirely as Python data so `guideminer demo` works offline on a fresh machine. The
situations live in `demo_catalog_situations`, agent moves in `demo_catalog_moves` and the hidden
ground-truth guidelines in `demo_catalog_guidelines`; this module holds what they share.
Every template is a plain `str.format` string over the slot names produced by `make_slots`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

COMPANY = "Larkfield"


@dataclass(frozen=True)
class Department:
    """A top-level area a receptionist would route a conversation to."""

    id: str
    name: str
    team: str  # how agents name it when transferring ("our billing team")


@dataclass(frozen=True)
class Situation:
    """A customer situation; `openings` are clauses ("my {product} arrived damaged")."""

    id: str
    name: str
    department_id: str
    description: str
    openings: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    """An agent move with paraphrases; `expects` names the customer reply pool (None: no reply).
    `etiquette`: the move manages the conversation (greeting, apology, hold, transfer, closing)
    rather than serving a need; the hidden truth the etiquette detector is scored against."""

    id: str
    description: str
    paraphrases: tuple[str, ...]
    expects: str | None
    etiquette: bool = False


@dataclass(frozen=True)
class Guideline:
    """Hidden truth: condition (situation, optionally qualified) -> action (a move).

    `situation_id` None marks a generic guideline (greeting, closing, ...). A qualified guideline
    applies only when the customer opened with one of its `qualified_openings`; it then replaces
    the step whose guideline id is `replaces`, or is appended after the situation's steps.
    """

    id: str
    situation_id: str | None
    move_id: str
    condition: str
    action: str
    qualifier: str | None = None
    qualified_openings: tuple[str, ...] = ()
    replaces: str | None = None


DEPARTMENTS: tuple[Department, ...] = (
    Department("orders", "Orders & Delivery", "delivery"),
    Department("returns", "Returns & Refunds", "returns"),
    Department("billing", "Billing & Payments", "billing"),
    Department("tech", "Technical Support & Warranty", "technical support"),
    Department("account", "Account & Security", "account security"),
    Department("subscriptions", "Subscriptions", "subscriptions"),
)

# The `greet` move when the customer wrote first (email): same move, reply-style wording.
EMAIL_GREETINGS: tuple[str, ...] = (
    "Hello {first}, thank you for contacting {company}. My name is {agent} and I'll be helping you today.",
    "Hi {first}, thanks for your email. This is {agent} from {company} support.",
    "Dear {first}, thank you for getting in touch with {company}. I'm {agent}, happy to help.",
)

# --- customer text pools ------------------------------------------------------------------------

STYLE_WEIGHTS: dict[str, dict[str, float]] = {
    "chat": {"neutral": 0.3, "formal": 0.1, "terse": 0.25, "angry": 0.15, "chatty": 0.2},
    "email": {"neutral": 0.25, "formal": 0.45, "terse": 0.05, "angry": 0.12, "chatty": 0.13},
    "phone": {"neutral": 0.35, "formal": 0.1, "terse": 0.15, "angry": 0.15, "chatty": 0.25},
}

# `{core}` is the situation clause as written, `{Core}` the same with a capital first letter.
STYLE_FRAMES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "{Core}.",
        "Hi, {core}.",
        "Hello, {core}. Can you help?",
        "Hi there. {Core}.",
        "{Core}, can you help me with that?",
    ),
    "formal": (
        "Good morning. I am writing because {core}. I would appreciate your assistance.",
        "Dear support team, {core}. Could you please look into this?",
        "Hello, I hope you are well. Unfortunately {core}. Kind regards, {name}",
        "Good afternoon, {core}. Please advise on the next steps.",
    ),
    "terse": ("{core}", "{Core}. help", "{Core}. what now?", "{core}, pls help"),
    "angry": (
        "This is ridiculous. {Core}!!",
        "{Core} and honestly I'm fed up. Sort it out.",
        "Seriously?? {Core}. Worst service ever.",
        "I am so frustrated right now. {Core}. Fix this please.",
        "Unbelievable. {Core} AGAIN.",
    ),
    "chatty": (
        "Hiya! Hope your day's going well :) So {core}, and I wasn't sure who to ask, so here I am!",
        "Hey there, quick one (well, maybe not so quick haha): {core}. Any ideas?",
        "Hi! Sorry to bother you, {core}. My partner said I should just message you guys.",
        "Hello hello! Long story short, {core}. Would love some help!",
    ),
}

# Two situations in one message: joined into one clause before the style frame is applied.
TOGETHER_JOINS: tuple[str, ...] = (
    "{a}, and also {b}",
    "{a}. On top of that, {b}",
    "{a}, plus {b}",
    "{a}. Oh and another thing, {b}",
)

# A second topic raised after the first one was handled.
LATER_FRAMES: tuple[str, ...] = (
    "Oh, one more thing: {core}.",
    "Actually, while I have you, {core}.",
    "Also, {core}. Can you help with that too?",
    "Before you go, {core}.",
    "One other thing, {core}.",
)

CUSTOMER_HELLO: tuple[str, ...] = ("hi", "hello?", "Hi there", "hey", "Good morning", "hello")

CUSTOMER_UNHAPPY: tuple[str, ...] = (
    "That's not good enough, honestly.",
    "I've already waited long enough. I want to speak to someone more senior.",
    "No, that doesn't solve anything.",
    "This is the third time I'm contacting you about this.",
    "I'm not happy with that at all.",
)

# Replies to an agent move, by the move's `expects`. Kinds in ACK_KINDS carry no details.
REPLIES: dict[str, tuple[str, ...]] = {
    "thanks": (
        "No, that's all. Thanks!",
        "thanks, bye",
        "That's everything, thank you so much.",
        "nope all good",
        "Great, thanks for your help {agent}!",
        "No thank you, have a nice day.",
    ),
    "vague": ("Okay...?", "So what happens now?", "ok", "Hello? Any update?"),
    "ack": ("Okay, thanks.", "ok", "Sounds good.", "Alright, that works.", "great thank you", "Perfect."),
    "order": ("It's {order}.", "order number is {order}", "{order}", "Sure, {order}", "I think it's {order}."),
    "order_photo": (
        "Order {order}. I've attached a photo of the damage.",
        "{order}, photo attached",
        "Here you go: {order} [image attached]",
        "The order number is {order} and I just uploaded two photos.",
    ),
    "email": (
        "{email}",
        "It's {email}",
        "my account email is {email}",
        "Sure, {email}. You can also call me on {phone}.",
    ),
    "last4": ("It ends in {last4}.", "{last4}", "the card ending {last4}", "Visa ending {last4}"),
    "full_card": ("My card number is {card}, expiry 08/27", "it's {card}", "card: {card}"),
    "address": (
        "The new address is {street}, {city} {zip}.",
        "{street}, {city}",
        "Please send it to {street}, {city} {zip}. My phone is {phone} if the driver needs it.",
    ),
    "device": ("It's a {device}, app version {version}.", "{device}, version {version}", "{device} on {version} I think"),
    "promo": ("The code is {promo}.", "{promo}", "I tried {promo} at checkout."),
    "purchase": ("I bought it on {date}, order {order}.", "{order}, purchased {date}", "around {date}, order {order}"),
    "choice": ("A replacement please.", "I'd rather have a refund.", "refund pls", "Replacement would be great, thanks."),
    "tried": (
        "I already tried that, still nothing.",
        "Okay, did that and it's still the same.",
        "Tried it twice. No luck.",
        "Hang on... done. It works now!",
        "Oh, that did it. Thanks!",
        "ok it's working again",
    ),
    "phone": ("My number is {phone}. The last order was {order}.", "{phone}, and my last order was {order}"),
    "retention": ("No thanks, I just want to cancel.", "Hmm, tempting, but no. Cancel it please.", "Not interested, cancel please."),
    "plan": ("I'll go with {plan} then.", "Can you switch me to {plan}?", "{plan} sounds right."),
    "size": ("Do you have it in {size}?", "{size} please.", "{size} in the same colour would be great."),
    "duration": ("Two months please.", "Just one month.", "Until {date} if possible."),
}
ACK_KINDS = frozenset({"ack", "thanks", "vague"})

# --- slot fillers ---------------------------------------------------------------------------------

PRODUCTS = (
    "wireless headphones", "blender", "coffee maker", "robot vacuum", "desk lamp", "smartwatch",
    "air fryer", "running shoes", "backpack", "tablet", "bluetooth speaker", "electric kettle",
    "office chair", "winter jacket", "yoga mat", "toaster", "e-reader", "fitness tracker",
    "standing desk", "hair dryer",
)
DEVICES = ("Pixel 8", "iPhone 13", "Galaxy S23", "iPad Air", "Windows 11 laptop", "MacBook Air", "Moto G")
CARRIERS = ("UPS", "FedEx", "DHL", "USPS", "our courier partner")
PLANS = ("Basic", "Plus", "Premium", "Family")
SIZES = ("small", "medium", "large", "XL", "size 9", "size 42")
PROMOS = ("SPRING20", "WELCOME10", "FREESHIP", "SAVE15NOW", "VIP25", "BDAY-5OFF")
FIRST_NAMES = (
    "Jane", "Omar", "Priya", "Lukas", "Mei", "Carlos", "Aisha", "Tom", "Sofia", "Daniel", "Grace",
    "Mateo", "Hannah", "Kenji", "Olivia", "Samir", "Chloe", "Ivan", "Nora", "Ben",
)
LAST_NAMES = (
    "Smith", "Haddad", "Patel", "Becker", "Chen", "Garcia", "Okafor", "Walsh", "Rossi", "Kim",
    "Murphy", "Silva", "Novak", "Tanaka", "Brown", "Dubois", "Jensen", "Lopez",
)
AGENT_NAMES = ("Sam", "Alex", "Jordan", "Taylor", "Riley", "Morgan", "Casey", "Jamie", "Robin", "Kai")
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "example.com", "icloud.com", "proton.me")
STREETS = ("Elm Street", "Maple Avenue", "High Street", "Oak Lane", "Station Road", "Park Drive")
CITIES = ("Springfield", "Riverton", "Fairview", "Lakewood", "Brookside", "Ashford")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEST_CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881")


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits + check` pass the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def make_card_number(rng: random.Random) -> str:
    """A Luhn-valid 16-digit card number, grouped the way customers type them."""
    if rng.random() < 0.3:
        return rng.choice(TEST_CARDS)
    body = f"{rng.choice('45')}{rng.randrange(10**14):014d}"
    number = body + luhn_check_digit(body)
    separator = rng.choice((" ", "-", ""))
    return separator.join(number[i : i + 4] for i in range(0, 16, 4))


def make_order_number(rng: random.Random) -> str:
    """Order numbers look like numbers (even phone-like ones) but are not personal data."""
    form = rng.randrange(3)
    if form == 0:
        return f"#{rng.randrange(1_000_000, 9_999_999)}"
    if form == 1:
        return f"LF-{rng.randrange(100_000, 999_999)}"
    return f"40{rng.randrange(10_000_000, 99_999_999)}"


def make_phone(rng: random.Random) -> str:
    """Phone numbers in fictional ranges (555-01xx, UK 07700 900xxx), in several layouts."""
    tail = rng.randrange(100)
    form = rng.randrange(4)
    if form == 0:
        return f"({rng.randrange(201, 989)}) 555-01{tail:02d}"
    if form == 1:
        return f"+1 {rng.randrange(201, 989)} 555 01{tail:02d}"
    if form == 2:
        return f"+44 7700 900{rng.randrange(1000):03d}"
    return f"07700 900{rng.randrange(1000):03d}"


def make_date(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return f"{rng.choice(MONTHS)} {rng.randrange(1, 29)}"
    if form == 1:
        return f"last {rng.choice(WEEKDAYS)}"
    return f"{rng.randrange(1, 13)}/{rng.randrange(1, 29)}"


def make_slots(rng: random.Random) -> dict[str, str]:
    """Every slot any template may use, so formatting never depends on which template was drawn."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    card = make_card_number(rng)
    email_user = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randrange(10, 99)}"))
    return {
        "company": COMPANY,
        "agent": rng.choice(AGENT_NAMES),
        "name": f"{first} {last}",
        "first": first,
        "last": last,
        "first_spelled": "-".join(first.upper()),  # how callers spell names out: "J-A-N-E"
        "last_spelled": "-".join(last.upper()),
        "email": f"{email_user.lower()}@{rng.choice(EMAIL_DOMAINS)}",
        "phone": make_phone(rng),
        "card": card,
        "last4": card.replace(" ", "").replace("-", "")[-4:],
        "order": make_order_number(rng),
        "product": rng.choice(PRODUCTS),
        "device": rng.choice(DEVICES),
        "version": f"{rng.randrange(3, 7)}.{rng.randrange(10)}.{rng.randrange(20)}",
        "carrier": rng.choice(CARRIERS),
        "plan": rng.choice(PLANS),
        "size": rng.choice(SIZES),
        "promo": rng.choice(PROMOS),
        "amount": f"${rng.randrange(9, 500)}.{rng.choice(('99', '49', '00', '95'))}",
        "date": make_date(rng),
        "eta": f"{rng.choice(WEEKDAYS)} {rng.choice(MONTHS)} {rng.randrange(1, 29)}",
        "street": f"{rng.randrange(1, 250)} {rng.choice(STREETS)}",
        "city": rng.choice(CITIES),
        "zip": f"{rng.randrange(10000, 99999)}",
        "daypart": rng.choice(("morning", "afternoon", "evening")),
        "team": "",  # filled in when a transfer happens
    }


# --- customer roughness ---------------------------------------------------------------------------

_SENTENCE_PUNCT = re.compile(r"[.,!?;:]+(?=\s|$)")


def add_typos(text: str, rate: float, rng: random.Random) -> str:
    """Swap or drop one inner letter in a few longer words; never touches numbers or emails."""
    if rate <= 0:
        return text
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) >= 4 and word.isalpha() and rng.random() < rate:
            j = rng.randrange(1, len(word) - 2)
            if rng.random() < 0.5:
                words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
            else:
                words[i] = word[:j] + word[j + 1 :]
    return " ".join(words)


def plain_variant(text: str) -> str:
    """Lowercase, without sentence punctuation or apostrophes (phone transcripts, hurried chat)."""
    return _SENTENCE_PUNCT.sub("", text.lower()).replace("'", "")
