"""Call-style pools of the demo corpus: how phone calls manage the conversation around the need.

Real service calls do not open with the need. They open with greetings in their own turns
("hello, is this customer service?", "I'm fine, how are you doing today?"), then the need, then
identification (a spelled-out name, a callback number, "is that correct?"), holds while the agent
looks things up, and "anything else?" before the goodbye. `guideminer demo --call-style`
generates such calls so the miner's etiquette detection (mining/etiquette.py) and its
departments have a development test with a hidden truth. Every move and customer reply here is
conversation etiquette; the truth marks it (`DemoMove.is_etiquette`, `DemoTurnLabel.etiquette`).
"""

from __future__ import annotations

from guideminer.ingest.demo_catalog import Guideline, Move

# The `greet` move when the agent answers the phone (same move, spoken wording).
CALL_GREETINGS: tuple[str, ...] = (
    "Thank you for calling {company}, my name is {agent}. How can I help you today?",
    "{company} customer service, this is {agent} speaking. How may I help you?",
    "Good {daypart}, thank you for calling {company}. You're speaking with {agent}, how can I help?",
    "Hi, thanks for calling {company}, this is {agent}. How are you doing today?",
)

CALL_MOVES: tuple[Move, ...] = (
    Move("pleasantry", "return the customer's pleasantry and invite the reason for the call", (
        "I'm doing well, thank you for asking! What can I do for you today?",
        "I'm good, thanks. What's the reason for your call today?",
        "Doing great, thank you. How can I help you?",
    ), None, etiquette=True),
    Move("ask_name", "ask for the customer's name", (
        "Sure, I can help with that. Can I have your first and last name please?",
        "Okay. Before we start, may I have the name on the account?",
        "I can look into that for you. Could I get your full name please?",
    ), "spelled_name", etiquette=True),
    Move("confirm_spelling", "read the spelled name back and ask the customer to confirm it", (
        "Let me make sure I have that right: {last_spelled}. Is that correct?",
        "So that's {last} spelled {last_spelled}, correct?",
        "Thank you. I have {first} {last}, {last_spelled}. Did I get that right?",
    ), "confirm", etiquette=True),
    Move("ask_callback", "ask for a callback number in case the call drops", (
        "And can I get a good callback number in case we get disconnected?",
        "Thank you. What's the best phone number to reach you on?",
        "Perfect. Could I also have a phone number for the account?",
    ), "callback", etiquette=True),
    Move("hold", "ask the customer to hold while the agent looks something up", (
        "Let me put you on a brief hold while I look into that, okay?",
        "Can you hold for just a moment while I pull that up?",
        "Bear with me for a minute, I'm going to place you on a short hold.",
    ), "hold_ok", etiquette=True),
    Move("resume", "thank the customer for holding", (
        "Thank you so much for holding.",
        "Thanks for your patience, I'm back with you.",
        "Sorry about the wait, and thank you for holding.",
    ), None, etiquette=True),
    Move("anything_else", "ask whether the customer needs anything else", (
        "Is there anything else I can help you with today?",
        "Was there anything else I can do for you?",
        "Okay, that's all set. Anything else I can help with today?",
    ), "nothing_else", etiquette=True),
    Move("goodbye", "thank the customer for calling and say goodbye", (
        "Thank you for calling {company}, have a great {daypart}!",
        "You're very welcome. Thanks for calling, bye now.",
        "My pleasure. Take care, goodbye.",
    ), "bye", etiquette=True),
)


def _g(guideline_id: str, move_id: str, condition: str, action: str) -> Guideline:
    return Guideline(id=guideline_id, situation_id=None, move_id=move_id, condition=condition, action=action)


_ACTION = {m.id: m.description for m in CALL_MOVES}
CALL_GUIDELINES: tuple[Guideline, ...] = tuple(_g(i, m, c, _ACTION[m]) for i, m, c in (
    ("g_pleasantry", "pleasantry", "the caller opens with a greeting or small talk instead of the need"),
    ("g_ask_name", "ask_name", "the caller has stated the reason for the call"),
    ("g_confirm_spelling", "confirm_spelling", "the caller spells out a name"),
    ("g_ask_callback", "ask_callback", "the caller confirmed the spelling of the name"),
    ("g_hold", "hold", "the agent must look something up before answering"),
    ("g_resume", "resume", "the agent comes back from a hold"),
    ("g_anything_else", "anything_else", "the caller's need has been handled"),
    ("g_goodbye", "goodbye", "the caller has nothing else"),
))

# The `pleasantry` move when the caller asked whether they reached the right place.
CALL_RIGHT_PLACE: tuple[str, ...] = (
    "Yes, you've reached {company} customer service. How can I help you today?",
    "Yes it is! What can I do for you?",
    "You're in the right place. How can I help?",
)
# Customer turns that open a call without a need (greeting-only), and answers to "how are you?".
CALL_HELLO: tuple[str, ...] = ("hello?", "Yes, hi. Good {daypart}.", "hello, can you hear me?", "hi there", "Hi!")
CALL_RIGHT_PLACE_QUESTIONS: tuple[str, ...] = (
    "Hello, is this customer service?", "hi, is this {company} customer service?",
    "Oh hi, is this the right number for support?", "hello, am I through to customer service?",
)
CALL_PLEASANTRY: tuple[str, ...] = (
    "I'm fine, how are you doing today?", "Good, thanks. How are you?", "I'm doing okay, thank you for asking.",
    "Not too bad, yourself?", "I'm good, how's your day going?", "I'm well thank you, and you?",
)
# How a caller states the need once the greetings are done; `{core}` is the situation clause.
CALL_NEED_FRAMES: tuple[str, ...] = (
    "yeah so {core}", "um, {core}", "I'm calling because {core}", "I'm calling about {core}",
    "well, {core}", "yes, so basically {core}", "okay so {core}. Can you help me with that?",
)

# Customer replies to the call moves above, by the move's `expects` (labels in CALL_REPLY_LABELS).
CALL_REPLIES: dict[str, tuple[str, ...]] = {
    "spelled_name": (
        "Sure, it's {first} {last}. That's {last_spelled}.",
        "{first} {last}, last name spelled {last_spelled}.",
        "yes it's {first}, {first_spelled}, and the last name is {last}, {last_spelled}",
        "It's {last}, {last_spelled}, first name {first}.",
    ),
    "confirm": ("Yes, that's correct.", "yep, that's right", "Correct.", "yes", "That's it, yes."),
    "callback": ("It's {phone}.", "sure, {phone}", "my number is {phone}", "You can reach me on {phone}."),
    "hold_ok": ("Sure, no problem.", "okay", "Sure, take your time.", "That's fine."),
    "nothing_else": ("No, that's all, thank you.", "nope, that's everything", "No, that was it. Thanks so much!",
                     "I think that's it, thanks."),
    "bye": ("You too, bye.", "thanks, bye bye", "bye", "Thank you, you too."),
}
CALL_REPLY_LABELS = {"spelled_name": "identity", "callback": "identity", "confirm": "confirm"}  # else smalltalk

HOLD_RATE = 0.5  # calls where the agent puts the caller on hold once, before a step
IDENTIFY_RATE = 0.8  # calls where the agent takes the caller's name (and a callback number)
CALLER_OPENS_RATE = 0.35  # calls where the caller speaks first ("hello?")
PLEASANTRY_RATE = 0.6  # calls with a "how are you?" exchange before the need
