"""Slot fillers: words customers use interchangeably that say nothing about what they need.

Why: "nothing happens when I press the power button on the blender" and "... on the winter
jacket" are one need; "my blender arrived broken" is another. A sentence embedder places turns
that name the same product close together, so customer turns clustered on raw text form
situations around products (the demo corpus: "coffee maker / blender" holding returns,
deliveries and power faults alike), departments group by product, and one rule's evidence
mixes needs. Real transcripts have the same shape with plans, cities, models and restaurant
names. Customer turns are therefore clustered on a *canonical* text in which each slot filler
reads as "item" ("the winter jacket won't turn on" -> "the item won't turn on"): the sentence
stays natural for the embedder and the product no longer separates it from its need.

Criterion (no word list of products; the English stop-word list only keeps function words out):
1. Candidate terms: words and two-word phrases of customer turns that agent moves follow
   (non-noise agent turns later in the conversation), stop words and words under three letters left out, in at
   least `min_turns` such turns.
2. Substitutable: each term's profile is the words right before and right after it (tf counts,
   L2-normalised); average-linkage clusters on cosine distance cut at 1 - `context_similarity`
   form classes of terms said in the same frames ("the _ I ordered", "pair the _ with"). Only
   noun phrases stay members (a noun after nouns, adjectives or numbers in at least half of
   their sampled turns, by the shipped spaCy tagger: mining/nouns.py): a slot names a thing,
   while verbs and fillers that share its frames ("update / change / pause") are the need.
3. Inert: within a class, knowing *which* member the customer said must not change what the
   agents do. A turn's answer is the set of agent moves after it in its conversation (each
   weighing 1/|set|): the whole rest of the conversation, not the next turn only, because the
   next agent turn is often the same generic move for every need ("can I have your account
   number?"), which would make need words look interchangeable. Per member, the total
   variation distance between the mean answer of its turns and of the whole class's turns,
   rescaled so that 0 is what as many turns drawn at random from the class show and 1 is a
   disjoint mix: (TV - TV_random) / (1 - TV_random) <= `max_effect`. TV is weak when most of
   an answer is moves every conversation gets, so a second test asks whether the member's turns
   are answered *alike*: the mean pairwise cosine of their answers (moves weighted by inverse
   conversation frequency), rescaled against random draws from the class like TV, must not
   exceed `max_cohesion_gain` with a permutation p below `cohesion_alpha`. A product is said
   in every need; "login screen" (call-style demo: TV effect 0.08, cohesion gain 0.36) names
   one. Members leave one at a time (the largest TV effect first, then the most cohesive), and
   the rest are re-tested, until every member passes: several one-need words in a class make
   its pool a mix that the products differ from as well.
   "cancel my order" / "cancel my subscription" share frames but are answered differently: kept.
4. Exclusive: a member said beside another member in most of its turns leaves ("the wrong
   colour of the toaster"); a customer names one member of a slot per conversation (one product, one plan),
   while verbs and phrasings that share frames ("I want to", "I need to") are said side by
   side. Observed conversations x member pairs present together over what independent members
   would give (N x sum over pairs p_a p_b, p = share of conversations naming a member) <=
   `max_copresence`. A member that is part of a longer member ("coffee" in "coffee maker")
   leaves the class first. A class that fails is tried once more without the members found
   with another member at least as often as independence predicts (`exclusive_members`):
   on SGD a trip names two cities, and the city class became a slot only this way (held-out
   SGD next action 0.337 -> 0.354, fallback 0.451 -> 0.362; docs/results.md, fourteenth session).
5. A class with at least `min_class_terms` inert members that is exclusive is a slot. Its turns
   are rewritten (longest phrases first, whole words, case-insensitive): a class whose members
   are all misspellings of its most frequent member (difflib ratio >= 0.75: transcripts and
   chats are full of "tikcet", "live muisc") is one word and becomes that member; the members
   of a class of things (said after a determiner or possessive in >= `min_determiner_share` of
   their tagged turns: "the blender", "my order") become `placeholder` ("item"), a light word,
   so that turns naming *some* product do not attract each other through a shared heavy word;
   any other class ("good morning / good afternoon", "monday / friday") becomes its canonical
   member, since "item" would erase what its turns say (whole demo, "good morning" as "item":
   one-to-one precision 0.569 -> 0.643 when they keep their word; docs/results.md, fifteenth session).
Clusters are labelled and shown with the raw turns: the canonical text is only geometry.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.nouns import WORD_END, WORD_START, NounPhraseTagger, TermTags, phrase_alternation
from guideminer.mining.slot_inertness import answer_matrix, cohesion_matrix, inert_members

# a word, hyphenated ones whole ("e-reader", "t-shirt"); placeholders such as <PERSON_1> are no candidates (rule 1)
WORD = re.compile(r"[^\W\d_][\w']*(?:-[^\W\d_][\w']*)*", re.UNICODE)
SPELLING_SIMILARITY = 0.75  # difflib ratio above which a member is a misspelling of the canonical one
EDGE = "<edge>"  # the context word of a term at the start or end of a turn


class SlotParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    min_turns: int = Field(8, ge=2)
    max_terms: int = Field(3000, ge=10)  # most frequent candidates profiled (bounds the n^2 linkage)
    context_similarity: float = Field(0.5, ge=0.0, le=1.0)
    max_effect: float = Field(0.10, ge=0.0, le=1.0)
    max_cohesion_gain: float = Field(0.10, ge=0.0, le=1.0)
    cohesion_alpha: float = Field(0.05, gt=0.0, le=1.0)  # permutation p-value below which a gain is real
    nouns_only: bool = True  # rule 2: members are noun phrases (mining/nouns.py)
    noun_samples: int = Field(20, ge=1)  # turns tagged per candidate member
    min_noun_share: float = Field(0.5, ge=0.0, le=1.0)
    min_determiner_share: float = Field(0.5, ge=0.0, le=1.0)  # rule 5: a class of things
    min_class_terms: int = Field(3, ge=2)
    max_copresence: float = Field(0.5, ge=0.0)
    null_draws: int = Field(50, ge=10)
    fit_turns: int = Field(200_000, ge=100)  # classes learned on a seeded sample of customer turns above this
    seed: int = 0
    # what a member is rewritten to: a light generic noun, so that turns naming *some* product do not
    # attract each other through a shared heavy word (None: the class's most frequent member)
    placeholder: str | None = "item"


@dataclass(frozen=True)
class SlotClass:
    """One slot: its members (canonical first), turns per member and each member's effect."""

    canonical: str
    members: tuple[str, ...]
    turns: tuple[int, ...]
    effects: tuple[float, ...]
    names_things: bool = True  # rule 5: rewritten to the placeholder, else to `canonical`

    def as_dict(self) -> dict:
        return {"canonical": self.canonical, "members": list(self.members), "turns": list(self.turns),
                "effects": [round(e, 4) for e in self.effects], "names_things": self.names_things}


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def term_occurrences(texts: Sequence[str], stop: frozenset[str]) -> tuple[dict[str, set[int]], dict[str, Counter]]:
    """(term -> turns it occurs in, term -> context-word counts) over words and word pairs."""
    turns: dict[str, set[int]] = defaultdict(set)
    contexts: dict[str, Counter] = defaultdict(Counter)
    for row, text in enumerate(texts):
        words = [EDGE, *(w.lower() for w in WORD.findall(text)), EDGE]
        for size in (1, 2):
            for start in range(1, len(words) - size):
                gram = words[start:start + size]
                if any(w in stop or len(w) < 3 or not w.replace("'", "").replace("-", "").isalpha() for w in gram):
                    continue
                term = " ".join(gram)
                turns[term].add(row)
                contexts[term]["L:" + words[start - 1]] += 1
                contexts[term]["R:" + words[start + size]] += 1
    return turns, contexts


def substitutable_classes(terms: list[str], contexts: dict[str, Counter], similarity: float) -> list[list[str]]:
    """Average-linkage classes of terms by the cosine of their context profiles (rule 2)."""
    from sklearn.cluster import AgglomerativeClustering

    if len(terms) < 2:
        return []
    columns: dict[str, int] = {}
    for term in terms:
        for feature in contexts[term]:
            columns.setdefault(feature, len(columns))
    profiles = np.zeros((len(terms), len(columns)), dtype=np.float32)
    for i, term in enumerate(terms):
        for feature, count in contexts[term].items():
            profiles[i, columns[feature]] = count
    profiles /= np.maximum(np.linalg.norm(profiles, axis=1, keepdims=True), 1e-12)
    distance = np.clip(1.0 - profiles @ profiles.T, 0.0, 2.0)
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=1.0 - similarity).fit_predict(distance)
    groups: dict[int, list[str]] = defaultdict(list)
    for term, label in zip(terms, labels, strict=True):
        groups[int(label)].append(term)
    return [g for g in groups.values() if len(g) > 1]


def without_parts(members: list[str]) -> list[str]:
    """Members that are not a word run inside another member ("coffee" of "coffee maker")."""
    padded = [f" {m} " for m in members]
    return [m for m in members if not any(f" {m} " in other and other != f" {m} " for other in padded)]


def copresence_ratio(members: list[str], turns: dict[str, set[int]], conversation_of: np.ndarray) -> float:
    """Observed conversation x member-pair co-presences over the independence expectation (rule 4)."""
    present = [set(conversation_of[sorted(turns[m])].tolist()) for m in members]
    n_conversations = max(len(np.unique(conversation_of)), 1)
    shares = np.array([len(p) for p in present], dtype=np.float64) / n_conversations
    expected = n_conversations * (shares.sum() ** 2 - (shares ** 2).sum()) / 2.0
    per_conversation = Counter(c for p in present for c in p)
    observed = sum(k * (k - 1) / 2.0 for k in per_conversation.values())
    return observed / max(expected, 1e-9)


def alone_in_their_turns(members: list[str], effects: list[float],
                         turns: dict[str, set[int]]) -> tuple[list[str], list[float]]:
    """The members not said beside another member in most of their turns (rule 4): a turn fills
    a slot once, while "you sent the wrong colour of the toaster" names a fault and a product."""
    kept = []
    for k, member in enumerate(members):
        others = set().union(*(turns[m] for j, m in enumerate(members) if j != k))
        if len(turns[member] & others) <= len(turns[member]) / 2:
            kept.append(k)
    return [members[k] for k in kept], [effects[k] for k in kept]


def exclusive_members(members: list[str], effects: list[float], turns: dict[str, set[int]],
                      conversation_of: np.ndarray) -> tuple[list[str], list[float]]:
    """The members said *instead of* the others (rule 4, per member): present in a conversation
    with another member less often than independence predicts. SGD: "new york" and "phoenix"
    are each one trip's city, while the members a trip names together kept the whole city
    class from being a slot."""
    present = [set(conversation_of[sorted(turns[m])].tolist()) for m in members]
    n_conversations = max(len(np.unique(conversation_of)), 1)
    kept = []
    for k, mine in enumerate(present):
        others = set().union(*(p for j, p in enumerate(present) if j != k))
        expected = len(mine) * len(others) / n_conversations
        if len(mine & others) < max(expected, 1e-9):
            kept.append(k)
    return [members[k] for k in kept], [effects[k] for k in kept]


def tag_members(groups: list[list[str]], turns: dict[str, set[int]], texts: Sequence[str],
                nouns: NounPhraseTagger | None, params: SlotParams) -> dict[str, TermTags] | None:
    """`TermTags` of every member of `groups` over up to `noun_samples` of its turns (rules 2
    and 5); None when `nouns_only` is off."""
    if not params.nouns_only:
        return None
    if nouns is None:
        raise ValueError("slot learning with nouns_only needs a part-of-speech tagger "
                         "(guideminer.mining.nouns.load_noun_tagger), or SlotParams(nouns_only=False)")
    return nouns.tag_terms({m: [texts[i] for i in sorted(turns[m])[: params.noun_samples]] for g in groups for m in g})


def names_things(members: Sequence[str], turns: dict[str, set[int]], tags: dict[str, TermTags] | None,
                 params: SlotParams) -> bool:
    """Whether the class's turns mostly say its members after a determiner (rule 5); without
    tags (`nouns_only` off) every class is taken to name things."""
    if tags is None:
        return True
    weights = np.array([len(turns[m]) for m in members], dtype=np.float64)
    shares = np.array([tags[m].after_determiner for m in members])
    return float(np.average(shares, weights=weights)) >= params.min_determiner_share


def learn_slot_classes(texts: Sequence[str], answers: Sequence[Sequence[int]], conversations: Sequence[str],
                       params: SlotParams | None = None, nouns: NounPhraseTagger | None = None) -> list[SlotClass]:
    """Slot classes of customer turns `texts` (of `conversations`), given the agent moves
    (non-noise clusters) after each in its conversation; a turn with none is left out.
    `nouns` tags candidates (rule 2; required unless `params.nouns_only` is off).
    Criterion: module docstring."""
    params = params or SlotParams()
    if not params.enabled:
        return []
    answered = [i for i, a in enumerate(answers) if len(a)]
    matrix = answer_matrix([answers[i] for i in answered])
    conversation_of = np.unique([conversations[i] for i in answered], return_inverse=True)[1]
    cohesive = cohesion_matrix([answers[i] for i in answered], conversation_of)
    turns, contexts = term_occurrences([texts[i] for i in answered], _stop_words())
    frequent = sorted((t for t in turns if len(turns[t]) >= params.min_turns), key=lambda t: (-len(turns[t]), t))
    rng = np.random.default_rng(params.seed)
    classes = []
    groups = substitutable_classes(frequent[: params.max_terms], contexts, params.context_similarity)
    tags = tag_members(groups, turns, [texts[i] for i in answered], nouns, params)
    for group in groups:
        group = [m for m in without_parts(sorted(group)) if tags is None or tags[m].noun_phrase >= params.min_noun_share]
        if len(group) < params.min_class_terms:
            continue
        members, effects = alone_in_their_turns(*inert_members(group, turns, matrix, cohesive, params, rng), turns)
        if len(members) >= params.min_class_terms and \
                copresence_ratio(members, turns, conversation_of) > params.max_copresence:
            members, effects = exclusive_members(members, effects, turns, conversation_of)  # rule 4's second try
        if len(members) < params.min_class_terms or \
                copresence_ratio(members, turns, conversation_of) > params.max_copresence:
            continue
        order = sorted(range(len(members)), key=lambda k: (-len(turns[members[k]]), members[k]))
        classes.append(SlotClass(canonical=members[order[0]], members=tuple(members[k] for k in order),
                                 turns=tuple(len(turns[members[k]]) for k in order),
                                 effects=tuple(effects[k] for k in order),
                                 names_things=names_things(members, turns, tags, params)))
    return sorted(classes, key=lambda c: (-sum(c.turns), c.canonical))


def is_spelling_of(member: str, canonical: str) -> bool:
    """A misspelling of the canonical member ("tikcet" of "ticket"): a class of them is one word,
    not a slot of many, so it is normalised to its canonical spelling rather than to 'item'."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, member, canonical).ratio() >= SPELLING_SIMILARITY


def class_targets(slot: SlotClass, placeholder: str | None) -> dict[str, str]:
    """Member -> what it is rewritten to: a class of misspellings of one word is that word; in a
    class of distinct words naming things every member (the canonical one and its misspellings
    too) is `placeholder`; in any other class, or with `placeholder` None, every member is the
    canonical one."""
    spelled = {m: is_spelling_of(m, slot.canonical) for m in slot.members}
    if placeholder is None or all(spelled.values()) or not slot.names_things:
        return {m: slot.canonical for m in slot.members}
    return {m: placeholder for m in slot.members}


class SlotRewriter:
    """Rewrites texts: each slot member becomes `placeholder`, or its class's canonical member when
    it is a misspelling of it or `placeholder` is None (rule 5)."""

    def __init__(self, classes: Sequence[SlotClass], placeholder: str | None = None):
        canonical = {m: r for c in classes for m, r in class_targets(c, placeholder).items() if r != m}
        self._canonical = canonical
        self._pattern = (re.compile(f"{WORD_START}({phrase_alternation(list(canonical))}){WORD_END}", re.IGNORECASE)
                         if canonical else None)

    def rewrite(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._canonical[" ".join(m.group(0).lower().split())], text)


__all__ = ["SlotClass", "SlotParams", "SlotRewriter", "learn_slot_classes"]
