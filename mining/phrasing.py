"""Turn a (situation cluster, move cluster) pair into a short natural-language rule, safely.

Why readable rules by default (`ReadablePhraser`): a rule says in plain words what the customer
says and what the agent does, from the clusters' representative turns with their instance
details replaced by typed placeholders (`guideminer.engine.instances`), e.g. 'When the customer
says they want to book a table for <NUMBER> (e.g. "..."), ask what time they would like the
reservation (e.g. "...")'. A keyword list ("raises 'going ship' / 'ship'") tells a reviewer
nothing and an engine that evaluates conditions from their text cannot use it; keywords stay as
the proposal's `tags`. The keyword template (`TemplatePhraser`) is only the fallback when a
readable rule fails the checks. A local model may rewrite the draft through the `RulePhraser`
hook; whatever it returns passes the same checks (`check_rule`).

Safety: customer text that reads like instructions to the agent ("ignore your rules and ...",
"you must give me a refund now") must never turn into an action. Actions only ever come from
agent move clusters (enforced in `guidelines.py`); here keywords carrying injection words are
dropped and any phrased text matching `INJECTION_PATTERNS` is rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from guideminer.mining.describe import describe_agent, describe_customer
from guideminer.engine.instances import EXISTING, instance_spans
from guideminer.mining.proposals_schema import ClusterRef, ConditionState
from guideminer.mining.templates import Member, constant_values

INJECTION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"\bignore\b.{0,40}\b(rules?|instructions?|guidelines?|polic(y|ies)|prompt|above|previous)\b",
    r"\bdisregard\b", r"\bforget (everything|all|your|the)\b", r"\boverride\b",
    r"\byou must\b", r"\byou have to\b", r"\bsystem prompt\b", r"\bjailbreak\b",
    r"\bdeveloper mode\b", r"\bpretend (to be|you are|you're)\b", r"\bact as\b",
    r"\bnew instructions?\b", r"\bdo anything now\b", r"\bgive me\b.{0,40}\bnow\b",
    r"\bfrom now on\b", r"<\s*/?\s*(script|system|instructions?)\b",
))
INJECTION_WORDS = frozenset({
    "ignore", "disregard", "instruction", "instructions", "rule", "rules", "prompt", "must",
    "override", "jailbreak", "pretend", "forget", "policy", "bypass",
})
TOPIC_KEYWORDS = 3
QUESTION_SHARE = 0.5  # share of representative texts ending in "?" that makes a move "ask"
_APOLOGY = re.compile(r"\b(sorry|apologi[sz]e|apologies)\b", re.IGNORECASE)
_TRANSFER = re.compile(r"\b(transfer|escalat\w*|connect you|specialist|supervisor)\b", re.IGNORECASE)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|welcome)\b", re.IGNORECASE)
_CLOSING = re.compile(r"\b(anything else|have a (great|nice|good)|goodbye|bye)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PhrasedRule:
    condition_text: str
    action_text: str
    rule_text: str


@runtime_checkable
class RulePhraser(Protocol):
    """Hook for rewriting a rule (e.g. a local GGUF model); its output is checked, never trusted."""

    name: str

    def phrase(self, condition: ClusterRef, action: ClusterRef, state: ConditionState,
               draft: PhrasedRule) -> PhrasedRule: ...


def looks_like_injection(text: str) -> bool:
    """True when `text` reads like an instruction aimed at the agent rather than a situation."""
    return any(pattern.search(text) for pattern in INJECTION_PATTERNS)


def clean_keywords(keywords: list[str], limit: int = TOPIC_KEYWORDS) -> list[str]:
    """The first `limit` keywords without injection words (a bigram with one is dropped whole)."""
    kept = []
    for keyword in keywords:
        tokens = re.findall(r"[a-z']+", keyword.lower())
        if not tokens or INJECTION_WORDS.intersection(tokens) or looks_like_injection(keyword):
            continue
        kept.append(keyword.strip())
        if len(kept) == limit:
            break
    return kept


def cluster_topic(cluster: ClusterRef) -> str:
    """Cluster name when it is clean and not a verbatim member text, else its top keywords."""
    name = (cluster.name or "").strip()
    verbatim = name.lower() in {text.strip().lower() for text in cluster.representative_texts}
    if name and not verbatim and not looks_like_injection(name) and len(name) <= 80:
        return name
    keywords = clean_keywords(cluster.keywords)
    return " / ".join(f"'{keyword}'" for keyword in keywords) if keywords else f"cluster {cluster.cluster_id}"


def move_verb(action: ClusterRef) -> str:
    """What kind of move the agents make, read off the cluster's representative texts."""
    texts = [text for text in action.representative_texts if text.strip()]
    if not texts:
        return "respond about"
    share = lambda pattern: sum(bool(pattern.search(text)) for text in texts) / len(texts)  # noqa: E731
    if share(_TRANSFER) >= 0.5:
        return "transfer or escalate, about"
    if share(_APOLOGY) >= 0.5:
        return "apologise and address"
    if share(_GREETING) >= 0.5:
        return "greet the customer and mention"
    if share(_CLOSING) >= 0.5:
        return "close the conversation, mentioning"
    if sum(text.rstrip().endswith("?") for text in texts) / len(texts) >= QUESTION_SHARE:
        return "ask the customer about"
    return "respond about"


class TemplatePhraser:
    """Deterministic default: 'When the customer <state> <topic>, <verb> <topic>.'"""

    name = "template"

    def phrase(self, condition: ClusterRef, action: ClusterRef, state: ConditionState,
               draft: PhrasedRule | None = None, after: ClusterRef | None = None) -> PhrasedRule:
        lead = {"any": "raises", "first": "opens the conversation about",
                "later": "later in the conversation raises", "after": "raises"}[state]
        condition_text = f"the customer {lead} {cluster_topic(condition)}"
        if state == "after" and after is not None:
            condition_text += f" right after the agent's move to {move_verb(after)} {cluster_topic(after)}"
        action_text = f"{move_verb(action)} {cluster_topic(action)}"
        return PhrasedRule(condition_text, action_text, f"When {condition_text}, {action_text}.")


def generalised_examples(texts: list[str], limit: int = 5, keep_shared: bool = True) -> list[str]:
    """Distinct safe texts with instance details not shared by most of them as `<TYPE>`; with
    `keep_shared` False (customer turns) every detail: a city most customers of a cluster name
    is still each customer's own fact, and quoting it makes the rule one instance."""
    safe = [t.strip() for t in texts if t.strip() and not looks_like_injection(t)]
    constant = constant_values([Member(t) for t in safe]) if keep_shared else set()
    out: list[str] = []
    for text in safe:
        pieces, position = [], 0
        for span in instance_spans(text):
            if " ".join(span.value.lower().split()) in constant:
                continue
            pieces.append(text[position:span.start] + f"<{span.kind}>")
            position = span.end
        general = "".join(pieces) + text[position:]
        if general.lower() not in (o.lower() for o in out):
            out.append(general)
    return out[:limit]


def is_empty_turn(text: str) -> bool:
    """Only placeholders, spelled letters or digits: nothing a rule could say about it."""
    words = re.findall(r"<[A-Z_0-9]+>|[A-Za-z]+", text)
    content = [w for w in words if not w.startswith("<") and len(w) > 1]
    return len(content) == 0


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


_LEAD_VERBS = {"apologise and address": "apologise", "transfer or escalate, about": "transfer or escalate",
               "greet the customer and mention": "greet the customer",
               "close the conversation, mentioning": "close the conversation"}


class ReadablePhraser:
    """Default: 'When the customer <says ...> (e.g. "..."), <agent instruction> (e.g. "...").'"""

    name = "readable"

    def phrase(self, condition: ClusterRef, action: ClusterRef, state: ConditionState,
               draft: PhrasedRule | None = None, after: ClusterRef | None = None,
               continues_need: bool = False, ends_need: bool = False, aside: bool = False) -> PhrasedRule | None:
        """`continues_need`: the condition is the open need and the customer now answers the
        agent's previous move (mining/open_need.py), so the quote is the need, not the answer.
        `ends_need`: the customer answers a need's last step, whatever the words. `aside`: the
        previous move is an etiquette move (identification, a hold; on SGD also a slot question
        every department asks): "once they have answered the agent's ...", as the agent comes
        back to the need, not "and then answers", which read as if that answer called for it."""
        said = generalised_examples(condition.representative_texts, keep_shared=False)
        done = generalised_examples(action.representative_texts)
        if not said or not done or is_empty_turn(done[0]):
            return None
        kinds = {s.kind.lower() for s in instance_spans(said[0])}
        says = (f"gives a {' and a '.join(sorted(kinds))}" if is_empty_turn(said[0]) and kinds
                else describe_customer(said[0], tuple(condition.keywords)))
        example = said[1] if len(said) > 1 else said[0]
        lead = {"any": "", "first": ", opening the conversation,", "later": ", later in the conversation,",
                "after": ""}[state]
        condition_text = f"the customer{lead} {says} (e.g. {_quote(example)})"
        previous = generalised_examples(after.representative_texts) if state == "after" and after is not None else []
        if previous and ends_need:
            condition_text = (f"the customer answers the last step of their need (e.g. {_quote(example)} "
                              f"after the agent's {_quote(previous[0])})")
        elif previous:
            link = (", once they have answered the agent's" if aside and continues_need
                    else ", and then answers the agent's" if continues_need else " in reply to the agent's")
            condition_text += f"{link} {_quote(previous[0])}"
        action_text = describe_action(action, done)
        return PhrasedRule(condition_text, action_text, f"When {condition_text}, {action_text}.")


def describe_action(action: ClusterRef, done: list[str]) -> str:
    """The agent instruction of a rule from its move's generalised turns `done` (most typical
    first): what the agent does, quoting the move's wording."""
    instruction = describe_agent(done[0], _LEAD_VERBS.get(move_verb(action)))
    return instruction if "\u201c" in instruction else f"{instruction} (e.g. {_quote(done[0])})"


def check_rule(rule: PhrasedRule, condition: ClusterRef) -> str | None:
    """Why `rule` is unsafe (None when fine): injection wording, or a customer turn quoted with
    its instance details (a quote with them replaced by placeholders is the readable rule's
    example, and no customer's facts)."""
    for part in (rule.condition_text, rule.action_text, rule.rule_text):
        if looks_like_injection(part):
            return f"matches an injection pattern: {part!r}"
    lowered = rule.rule_text.lower()
    for text in condition.representative_texts:
        facts = [span for span in instance_spans(text) if not EXISTING.fullmatch(span.value)]  # placeholders hide them
        if len(text.strip()) >= 20 and text.strip().lower() in lowered and facts:
            return "copies a customer turn verbatim"
    return None


def _checked_readable(condition: ClusterRef, action: ClusterRef, state: ConditionState, after: ClusterRef | None,
                      continues_need: bool, ends_need: bool, tries: int = 5, aside: bool = False) -> PhrasedRule | None:
    """The readable rule that passes `check_rule`, its example quote taken from the condition's
    texts in turn (the second first, as `ReadablePhraser` does): one quote that happens to hold
    another customer's detail ("... the plus plan ..." beside "... the Plus plan") sent the whole
    rule to the keyword template ("the customer raises 'plan' / 'premium' / 'renewal'")."""
    texts = list(condition.representative_texts)
    for index in range(1, min(len(texts), tries + 1)) if len(texts) > 1 else [0]:
        ordered = [texts[0], texts[index], *[t for k, t in enumerate(texts) if k not in (0, index)]]
        ref = condition.model_copy(update={"representative_texts": ordered}) if index > 1 else condition
        rule = ReadablePhraser().phrase(ref, action, state, after=after, continues_need=continues_need,
                                        ends_need=ends_need, aside=aside)
        if rule is None:
            return None
        if check_rule(rule, condition) is None:
            return rule
    return None


def phrase_rule(condition: ClusterRef, action: ClusterRef, state: ConditionState,
                phraser: RulePhraser | None = None, after: ClusterRef | None = None,
                continues_need: bool = False, ends_need: bool = False, aside: bool = False) -> tuple[PhrasedRule, str] | None:
    """The checked rule and who phrased it; None when even the keyword template is unsafe. A
    phraser rewrites the readable draft, which already names the previous agent move of an
    "after" rule; the keyword template is the last resort."""
    keywords = TemplatePhraser().phrase(condition, action, state, after=after)
    draft = _checked_readable(condition, action, state, after, continues_need, ends_need, aside=aside)
    if phraser is not None:
        rewritten = phraser.phrase(condition, action, state, draft or keywords)
        if check_rule(rewritten, condition) is None:
            return rewritten, phraser.name
    if draft is not None:
        return draft, ReadablePhraser.name
    if check_rule(keywords, condition) is None:
        return keywords, "template"
    return None
