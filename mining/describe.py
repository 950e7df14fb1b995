"""Plain-words descriptions of a customer turn and an agent turn, without a model.

Why: a rule a reviewer (or a condition-evaluating engine) can use says what the customer says and
what the agent does: "When the customer says they want to book a table for <NUMBER> ..., ask what
time they would like the reservation ...", not a keyword list. Here a representative turn,
already generalised (instance details as `<TYPE>` placeholders, `guideminer.engine.instances`),
is put into reported speech by a few deterministic rewrites of English chat: first person of the
speaker to third person ("I want" -> "they want"), the usual question shapes ("Could you X?" ->
"ask the customer to X", "What time would you like X?" -> "ask what time they would like X"),
and short acknowledgements ("yes please" -> "agrees"). A turn no rewrite fits is quoted
("says: ..."), which is still readable and never wrong. Everything returned is lower-case-led
so it slots into "When the customer ..., ...".
"""

from __future__ import annotations

import re

_HELLO = (r"(?:(?:hi|hello|hey|hiya|howdy)(?: there| all| team| guys| folks)?|good (?:morning|afternoon|evening|day)"
          r"|dear (?:support|customer service|sir or madam|sir|madam)(?: team)?|greetings)")
# a leading <NAME>/<PERSON_n> is a greeting word the placeholders took for a name ("Hiya!") or a
# vocative ("Sam, ..."): not part of the need
_FILLER = re.compile(rf"^(?:(?:<NAME>|<PERSON_\d+>|(?:{_HELLO}|ok|okay|oh|um+|uh+|hmm+|so|well|alright|great|perfect|also|actually|"
                     r"basically|anyway|unfortunately|(?:oh )?one more thing|before you go|sorry to (?:bother|trouble) you|"
                     r"(?:i'?m|i am) (?:so |really |very )?(?:frustrated|annoyed|upset)(?: right now)?|"
                     r"thanks|thank you|cool|right)\b)[\s,.!:)(-]*)+", re.IGNORECASE)
# Whole sentences of small talk around the need ("Hope your day's going well :)", "Sorry to bother
# you."): the need is in another sentence; a rule quoting them reads as a rule about manners.
_SOCIAL = re.compile(r"^(?:(?:i )?hope (?:you(?:'re| are)?|your|all is)\b.*|how are you\b.*|sorry to (?:bother|trouble) you\b.*"
                     r"|(?:i )?hope (?:this|that) (?:finds|is)\b.*|thanks? (?:you )?in advance\b.*|sorry\W*|"
                     r"(?:i'?m|i am) (?:so |really |very )?(?:frustrated|annoyed|upset|fed up)(?: right now)?\W*)$", re.IGNORECASE)
_AGREE = re.compile(r"^(?:yes|yeah|yep|yup|sure|ok|okay|correct|right|that'?s (?:right|correct|fine|great|perfect)|"
                    r"sounds (?:good|great|perfect)|that works|perfect|great|please do|go ahead)\b", re.IGNORECASE)
# "yes so basically ...", "yeah so ...", "okay so ...": how callers start telling their need, no
# agreement with anything (the condition read "the customer agrees" for a plan change)
_OPENER = re.compile(r"^(?:yes|yeah|yep|yup|ok|okay|right|alright|sure)[\s,]+so\b[\s,]*", re.IGNORECASE)
_DECLINE = re.compile(r"^(?:no|nope|nah|not really|no thanks?|no,? thank you)\b", re.IGNORECASE)
_THANKS = re.compile(r"^(?:thanks|thank you|thx|cheers|much appreciated)\b", re.IGNORECASE)
_DONE = re.compile(r"\b(?:that'?s all|that is all|nothing else|that'?s it|all set)\b", re.IGNORECASE)
_GREETING = re.compile(rf"^{_HELLO}\W*$", re.IGNORECASE)

# speaker's first person -> third person ("they"); `they` takes the verb forms of `I` except these
_CUSTOMER_PRONOUNS = {
    "i": "they", "i'm": "they're", "im": "they're", "i'd": "they'd", "i've": "they've", "i'll": "they'll",
    "me": "them", "my": "their", "mine": "theirs", "myself": "themselves", "we": "they", "we're": "they're",
    "we'd": "they'd", "we've": "they've", "we'll": "they'll", "us": "them", "our": "their", "ours": "theirs",
    # "a charge from you", "your app", "your warranty": the customer means the company
    "you": "the company", "your": "the company's",
}
# verb forms that change with "I" -> "they" only right after "I" ("I was charged" -> "they were
# charged"; "that was it" stays: it had read "says that were it")
_AFTER_I = re.compile(r"\b(?P<i>i)(?P<space>\s+)(?P<verb>am|was|wasn't|wasnt)\b", re.IGNORECASE)
_THEY_FORMS = {"am": "are", "was": "were", "wasn't": "weren't", "wasnt": "werent"}
_AGENT_PRONOUNS = {"me": "the agent", "you": "they", "your": "their", "yours": "theirs", "yourself": "themselves",
                   "you're": "they're", "you've": "they've", "you'll": "they'll", "you'd": "they'd"}
_WORD = re.compile(r"<[A-Z_0-9]+>|[A-Za-z]+(?:'[A-Za-z]+)?")

_ASK_TO = re.compile(r"^(?:could|can|would|will) you (?:please )?(?P<rest>.+?)\??$", re.IGNORECASE)
_ASK_FOR = re.compile(r"^(?:can|could|may) (?:i|we) (?:please )?(?:get|have|take|know) (?P<rest>.+?)\??$", re.IGNORECASE)
_ASK_WANT = re.compile(r"^(?:would you like|do you want|do you need|shall i|should i|would you prefer) (?P<rest>.+?)\??$",
                       re.IGNORECASE)
_ASK_WH = re.compile(r"^(?P<wh>(?:what|which|when|where|who|how)(?: \w+)?)\s+(?P<aux>would|will|can|could|should|do|are|were)"
                     r" you (?P<rest>.+?)\??$", re.IGNORECASE)
_ASK_IS = re.compile(r"^(?P<wh>(?:what|which|when|where|who|how)(?: \w+)?)\s+(?P<aux>is|are|was) (?P<rest>.+?)\??$",
                     re.IGNORECASE)
_SUGGEST = re.compile(r"^(?:how about|what about|i (?:can )?(?:recommend|suggest)|there is|there's) (?:a |an )?(?P<rest>.+?)[?.!]*$",
                      re.IGNORECASE)
_ASK_ANYTHING = re.compile(r"^(?:is there |was there |can i help (?:you )?with |do you need |)anything else\b", re.IGNORECASE)
_ASK_WHETHER = re.compile(r"^(?P<aux>is|are|was|were|have|has) (?P<subject>you|that|this|it|everything|there) (?P<rest>.+?)\??$",
                          re.IGNORECASE)
_CUSTOMER_ASK = re.compile(r"^(?:can|could|would|will) you (?:please )?(?P<rest>.+?)\??$", re.IGNORECASE)
_IMPERATIVE = re.compile(r"^(?:please )?(?P<rest>(?:cancel|refund|send|change|update|check|help|book|find|reset|stop|remove|"
                         r"close|delete|return|ship|call|tell|show|give|add|upgrade|downgrade|renew|unsubscribe|"
                         r"fix|replace|resend|confirm|transfer|pause|reactivate|unlock|track)\b.*?)(?:,? please)?[.!]*$",
                         re.IGNORECASE)
_ENDS_DECLINED = re.compile(r"(?:^|\W)(?:but )?(?:no|nope|nah|no thanks?|no,? thank you)\W*$", re.IGNORECASE)
_CUSTOMER_WANT = re.compile(r"^(?:i(?:'d| would) like|i want|i need|i'm looking for|i am looking for|"
                            r"i'd love|looking for|i wish) (?P<rest>.+?)[.!?]*$", re.IGNORECASE)


def _swap(text: str, table: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        return table.get(word.lower(), word)
    if table is _CUSTOMER_PRONOUNS:
        text = _AFTER_I.sub(lambda m: m["i"] + m["space"] + _THEY_FORMS[m["verb"].lower()], text)
    return _WORD.sub(one, text)


def _first_sentence(text: str, keywords: tuple[str, ...] = ()) -> str:
    """The sentence that says the need: of the sentences that are not a greeting, filler or small
    talk (leading fillers cut), the first naming one of the cluster's `keywords` (else the first).
    Why keywords: they are the cluster's class-based tf-idf words, the ones that tell its turns from
    other clusters', so a sentence of style every cluster's customers say ("This is ridiculous.")
    names none of them; no word list of one corpus's manners is needed. A leading or trailing
    clause that names none is cut when the rest of the sentence names one: a lead of at most three
    words ("Long story short, ..."; not a detail, a yes or a no) or a trailing question ("..., can
    you help me with that?")."""
    parts = [p for p in re.split(r"(?<=[.!?)])\s+", text.strip()) if p]
    cut = [_clean(_FILLER.sub("", p)) for p in parts]
    meaningful = [c for p, c in zip(parts, cut) if c and not _GREETING.match(p) and not _SOCIAL.match(c)]
    candidates = meaningful or [c for c in cut if c] or parts
    words = {w for k in keywords for w in k.lower().split()}
    if not words:
        return candidates[0].strip()
    best = next((c for c in candidates if _names(c, words)), candidates[0])
    lead, comma, rest = best.partition(", ")
    if (comma and len(lead.split()) <= 3 and "<" not in lead and not _AGREE.match(lead) and not _DECLINE.match(lead)
            and not _names(lead, words) and _names(rest, words)):
        best = rest[0].upper() + rest[1:] if lead[:1].isupper() and not rest[:2].isupper() else rest
    head, comma, tail = best.rpartition(", ")
    if comma and tail.rstrip().endswith("?") and not _names(tail, words) and _names(head, words):
        best = head  # "..., can you help me with that?": the request for help, not the need
    return best.strip()


def _names(text: str, words: set[str]) -> int:
    return len({w.lower() for w in _WORD.findall(text)} & words)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ,")


def describe_customer(text: str, keywords: tuple[str, ...] = ()) -> str:
    """What the customer says, in reported speech ("says they want ...", "agrees", "asks ...");
    `keywords` (the cluster's) pick the sentence that says the need (`_first_sentence`)."""
    whole = _clean(text)
    short = len(whole.split()) <= 4
    if _DONE.search(whole):
        return "says they need nothing else"
    if _GREETING.match(whole) or (short and re.fullmatch(r"(?:hi|hello|hey)\b.*", whole, re.IGNORECASE)):
        return "greets the agent"
    if short and _THANKS.match(whole):
        return "thanks the agent"
    if short and _AGREE.match(whole):
        return "agrees"
    if short and _DECLINE.match(whole):
        return "declines"
    sentence = _first_sentence(whole, keywords)
    opener = _OPENER.match(sentence)
    if opener and (rest := _clean(_FILLER.sub("", sentence[opener.end():]))):
        return describe_customer(rest, keywords)  # "yes so basically my app crashes": no agreement
    agreement = _AGREE.match(sentence) or _DECLINE.match(sentence)
    if agreement:
        rest = _clean(re.sub(r"^[^,.!]*[,.!]\s*(?:and |but )?", "", sentence, count=1))
        if rest == sentence:  # no punctuation after the "yes": what follows it is the rest
            rest = _clean(re.sub(r"^(?:and|but)\b", "", sentence[agreement.end():].strip(), flags=re.IGNORECASE))
        lead = "agrees" if _AGREE.match(sentence) else "declines"
        said = describe_customer(rest, keywords) if rest and rest != sentence else lead
        return lead if said == lead else f"{lead} and {said}"  # "Yes, that works.": agrees, once
    if len(sentence.split()) <= 5 and _ENDS_DECLINED.search(sentence):  # "tempting, but no. Cancel it please."
        rest = _clean(whole[whole.find(sentence) + len(sentence):]) if sentence in whole else ""
        return f"declines and {describe_customer(rest, keywords)}" if rest else "declines"
    ask = _CUSTOMER_ASK.match(sentence)
    if ask:
        return f"asks the agent to {_swap(ask.group('rest'), _CUSTOMER_PRONOUNS)}"
    order = _IMPERATIVE.match(sentence)
    if order:
        rest = order.group("rest")
        return f"asks the agent to {_swap(rest[0].lower() + rest[1:], _CUSTOMER_PRONOUNS)}"
    want = _CUSTOMER_WANT.match(sentence)
    if want:
        return f"says they want {_swap(want.group('rest'), _CUSTOMER_PRONOUNS)}"
    if sentence.endswith("?") or re.match(r"^(?:what|which|when|where|who|how|is|are|do|does|can)\b", sentence,
                                          re.IGNORECASE):
        return f"asks \u201c{sentence}\u201d"
    if re.match(r"^(?:i|i'm|i've|i'd|i'll|my|we|our|we're)\b", sentence, re.IGNORECASE) or (
            len(sentence.split()) >= 4 and re.match(r"^(?:the|this|that|it|it's|its|there's|your|these|those)\b", sentence,
                                                     re.IGNORECASE)):
        said = _swap(sentence, _CUSTOMER_PRONOUNS).rstrip(".!")
        return f"says {said[0].lower() + said[1:] if said[:1].isupper() and not said[:2].isupper() else said}"
    return f"says \u201c{sentence}\u201d"


ACKNOWLEDGEMENT_WORDS = 4  # a lead statement this short ("Of course.", "Thanks!", "I can do that.") is joined to the next


def describe_agent(text: str, verb: str | None = None) -> str:
    """What the agent does, as an instruction ("ask the customer to ...", "ask what time ...").
    `verb` (e.g. "apologise") leads when the turn fits no rewrite. A lead statement of at most
    ACKNOWLEDGEMENT_WORDS words is said with the sentence after it: "say “Of course.”" told a
    reviewer nothing of the reply that emails the invoice."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", _clean(text)) if s and not _GREETING.match(s)] or [_clean(text)]
    index = next((i for i, s in enumerate(sentences) if s.endswith("?")), None)
    statement = sentences[0] if index != 0 else None
    if statement is not None and len(_WORD.findall(statement)) <= ACKNOWLEDGEMENT_WORDS and index != 1 and len(sentences) > 1:
        statement = f"{statement} {sentences[1]}"  # "Of course." says nothing; the next sentence does
    said = (f"{verb}: \u201c{statement}\u201d" if verb else f"say \u201c{statement}\u201d") if statement else ""
    if index is None:
        return said
    question = sentences[index]
    asked = _describe_question(question) or f"ask \u201c{question}\u201d"
    return f"{said} and {asked}" if said else asked


def _describe_question(question: str) -> str | None:
    q = _clean(_FILLER.sub("", question) or question)
    for pattern, build in (
        (_ASK_ANYTHING, lambda m: "ask whether they need anything else"),
        (_SUGGEST, lambda m: f"suggest {m.group('rest')}"),
        (_ASK_WHETHER, lambda m: f"ask whether {m.group('subject')} {m.group('aux').lower()} {m.group('rest')}"),
        (_ASK_WANT, lambda m: f"ask whether they would like {m.group('rest')}"),
        (_ASK_TO, lambda m: f"ask the customer to {m.group('rest')}"),
        (_ASK_FOR, lambda m: f"ask for {m.group('rest')}"),
        (_ASK_WH, lambda m: f"ask {m.group('wh').lower()} they {'' if m.group('aux').lower() == 'do' else m.group('aux').lower() + ' '}{m.group('rest')}"),
        (_ASK_IS, lambda m: f"ask {m.group('wh').lower()} {m.group('rest')} {m.group('aux').lower()}"),
    ):
        match = pattern.match(q)
        if match:
            return re.sub(r",? please$", "", _clean(_swap(build(match), _AGENT_PRONOUNS)))
    return None
