"""Guideline matching: which conditions hold this turn, and which actions to apply.

Every turn evaluates ALL guidelines of the current department (several can hold at once):

1. Cascade. The cheap scorer scores every guideline. score >= `accept` -> holds (decided by the
   scorer); score <= `reject` -> does not hold; in between the scorer is unsure and the verifier
   (an expensive yes/no model) decides. Without a verifier, unsure guidelines take
   `unsure_default` (False by default: an unneeded instruction in a reply is judged worse than a
   missed one, and a verifier should be bound wherever recall matters). `max_verifier_calls`
   bounds the verifier calls per turn (each costs a model evaluation, and an unbounded number
   is what makes a turn slow): the unsure guidelines whose score is nearest the middle of
   (reject, accept) are verified, the rest take `unsure_default`. The trace records which task
   and model decided each guideline.
2. Relationships (`guideminer.engine.relations`): entailment, dependency, priority.
3. Re-application. An active actionable guideline whose action was applied at an earlier turn is
   applied again only if its condition arose anew:
   (a) the condition did not hold at the previous turn (it lapsed and came back), or
   (b) the latest customer message on its own scores >= `reapply_fresh` (the customer raised
       the matter again explicitly, e.g. a second return request).
   Otherwise it stays active (it still counts for relationships) but its action is not repeated
   and its tools are not called again. Observations have no action and are never "applied".
2b. Best match. An unsure guideline that no verifier decided holds anyway when it is the
   best-scoring guideline of the set for the whole message or for one of its sentences and its
   score reaches `best_match_floor` (None: off). Why: the scorer's absolute thresholds are tuned
   for "this example is a paraphrase of the message"; real messages are often plainly closest to
   one situation without being a paraphrase of any example, and answering them with the fallback
   is a dead end. The best match over the guideline's examples is the nearest-example rule a
   retrieval agent uses, bounded by the floor (an off-topic message matches nothing), and the
   trace says "best match" so a reviewer sees it was not a confident match.
4. Several topics in one message. A message of several sentences ("I need to return this
   laptop. Also, what's your warranty?") is also scored sentence by sentence, and a sentence
   clause by clause at commas that part clauses of >= 4 words (`message_segments`):
   a guideline's score is the best of the whole message and each sentence, and it is attributed
   to the sentence it matches best (the reply follows the customer's order). One agent turn
   makes one move per situation, as agents do: of applied instructions describing the same
   situation (same condition text or a shared example: mined from one condition cluster with
   several action clusters) or the same action, only the most important is applied this turn, the others are
   `deferred` (they may apply at a later turn). This keeps two competing moves for one
   situation (ask for the card digits / check the billing address) out of one reply, while two
   situations raised together, in one sentence or several, each get their answer. (Items 4 and 5
   are applied by `guideminer.engine.moves`.)
5. One move per topic (`moves_per_topic`, off by default in the engine, 1 in the runtime
   config). Mined guidelines of one department often describe neighbouring situations (the
   same request in other words, with other slots already given); several of them hold for one
   sentence, and an agent that answers each is a reply of five canned texts. Agents make one
   move per thing the customer said: per topic (the whole message, or each sentence of a
   several-topic message) and lane (conversation etiquette apart from the need), only the
   `moves_per_topic` best matches of the latest message are applied (`match_strength`), the
   others are deferred. High-criticality guidelines are exempt: a compliance instruction is
   never crowded out.
6. Data-only answers. A message that only gives what the agent asked for ("Sure, LF-123456")
   is answered by the step the agent's question placed, the same situation's next step, a
   rule about the data itself, or etiquette; never by another situation's move
   (`guideminer.engine.moves.data_answers_open_nothing`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guideminer.engine.protocols import ConditionScore, ConditionScorer, ConditionVerifier
from guideminer.engine.relations import RelationOutcome
from guideminer.engine.session import Message, Session, with_latest_text
from guideminer.engine.spec import Guideline
from guideminer.engine.trace import GuidelineDecision, GuidelineStatus

POLICY_MODEL_ID = "policy:unsure_default"
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[^\W_]{2,}")
# English connectors that add a second topic, said with or without punctuation on calls ("my
# smartwatch wont turn on on top of that i need an invoice"); "plus" / "also" only before the
# speaker ("plus i", "also my"): "move me from Plus to Premium" is one topic
_CONNECTOR = (r"on top of that|(?:oh )?and another thing|(?:oh )?one more thing|while i have you|besides that|"
              r"in addition|(?:and )?also(?= (?:i|i'\w+|im|id|my)\b)|plus(?= (?:i|i'\w+|im|id|my)\b)")
_CLAUSE_BREAK = re.compile(rf",\s+|(?<!\band)(?<!\boh)\s+(?=(?:{_CONNECTOR})\b)", re.IGNORECASE)
CLAUSE_MIN_WORDS = 4


@dataclass(frozen=True)
class MatchingPolicy:
    accept: float = 0.7
    reject: float = 0.3
    unsure_default: bool = False
    reapply_fresh: float = 0.85
    max_segments: int = 4  # sentences scored separately; more are merged into the last one
    max_verifier_calls: int | None = None  # per turn; None = every unsure guideline
    moves_per_topic: int | None = None  # item 5; None = no cap beyond one move per situation
    best_match_floor: float | None = None  # module docstring, item 2b; None = off
    # a first routing opens a department on a best match only from this router confidence on
    # (engine/turn.py `_first_routing_matches`); None = `accept`
    first_route_confidence: float | None = None
    latest_message_only: bool = False  # score = the scorer's `fresh` (the etiquette set: see Engine._evaluate)

    def __post_init__(self) -> None:
        if not 0.0 <= self.reject < self.accept <= 1.0:
            raise ValueError(f"need 0 <= reject < accept <= 1, got {self.reject}, {self.accept}")
        if self.best_match_floor is not None and not 0.0 < self.best_match_floor <= self.accept:
            raise ValueError(f"best_match_floor must be in (0, accept], got {self.best_match_floor}")
        if self.max_verifier_calls is not None and self.max_verifier_calls < 0:
            raise ValueError(f"max_verifier_calls must be >= 0 or None, got {self.max_verifier_calls}")

    @property
    def first_route_bar(self) -> float:
        return self.accept if self.first_route_confidence is None else self.first_route_confidence

    def unsure(self, score: float) -> bool:
        return self.reject < score < self.accept


def verification_order(scores: Mapping[str, ConditionScore], policy: MatchingPolicy) -> list[str]:
    """Unsure guideline ids, least certain first (score nearest the middle of reject..accept);
    ties keep spec order. The first `max_verifier_calls` of them go to the verifier."""
    middle = (policy.accept + policy.reject) / 2
    unsure = [gid for gid, s in scores.items() if policy.unsure(s.score)]
    return sorted(unsure, key=lambda gid: abs(scores[gid].score - middle))


def _clauses(sentence: str, min_words: int = CLAUSE_MIN_WORDS) -> list[str]:
    """A sentence cut at its commas and before a connector (`_CONNECTOR`) where every part keeps
    `min_words` words: customers join two needs in one sentence ("I need an update on my
    delivery, and also I need to stop my subscription"); a short aside ("Hi, ...", "Sorry, ...")
    stays with its clause."""
    parts: list[str] = []
    for piece in _CLAUSE_BREAK.split(sentence):
        if parts and (len(_WORD.findall(piece)) < min_words or len(_WORD.findall(parts[-1])) < min_words):
            parts[-1] = f"{parts[-1]}, {piece}"
        else:
            parts.append(piece)
    if len(parts) > 1 and len(_WORD.findall(parts[-1])) < min_words:
        parts[-2:] = [f"{parts[-2]}, {parts[-1]}"]
    return [p.strip() for p in parts]


def message_segments(text: str, max_segments: int = 4) -> list[str]:
    """The sentences (and long clauses, `_clauses`) of a customer message that carry words (a
    lone "ok." is not a topic); one segment means the message is scored whole only."""
    sentences = [p.strip() for p in _SENTENCE_END.split(text.strip()) if _WORD.search(p)]
    parts = [clause for sentence in sentences for clause in _clauses(sentence)]
    if len(parts) > max_segments:
        parts = parts[: max_segments - 1] + [" ".join(parts[max_segments - 1:])]
    return parts if len(parts) > 1 else [text.strip()]


def evaluate_conditions(
    conversation: Sequence[Message],
    guidelines: Sequence[Guideline],
    scorer: ConditionScorer,
    verifier: ConditionVerifier | None,
    policy: MatchingPolicy,
    segments: Sequence[str] = (),
    *,
    whole: bool = True,
) -> list[GuidelineDecision]:
    """Cascade decision per guideline, in spec order.

    With several `segments`, each guideline is decided on the variant (whole message or one
    sentence) where it scores best, and attributed to its best sentence; `whole=False` scores
    the sentences only (another department answering one part of the message)."""
    variants: list[tuple[str | None, list[Message]]] = [(None, list(conversation))] if whole else []
    if len(segments) > 1 or not whole:
        variants += [(s, with_latest_text(conversation, s)) for s in segments]
    if not variants:
        raise ValueError("evaluate_conditions(whole=False) needs at least one segment")
    scored = [(segment, conv, _scores(scorer, conv, guidelines, policy.latest_message_only)) for segment, conv in variants]
    best_of = {g.id: max(scored, key=lambda v: v[2][g.id].score) for g in guidelines}  # first (whole) wins ties
    ordered = verification_order({gid: best[2][gid] for gid, best in best_of.items()}, policy)
    budget = len(ordered) if policy.max_verifier_calls is None else policy.max_verifier_calls
    verified = set(ordered[:budget])
    decisions = []
    for guideline in guidelines:
        best = best_of[guideline.id]
        decision = _decide(best[1], guideline, best[2][guideline.id], scorer,
                           verifier if guideline.id in verified else None, policy,
                           over_budget=verifier is not None and guideline.id not in verified)
        on_segments = [v for v in scored if v[0] is not None]
        if on_segments:
            topic = max(on_segments, key=lambda v: v[2][guideline.id].score)[0]
            whole_score = round(scored[0][2][guideline.id].score, 4) if whole else None
            decision = decision.model_copy(update={"segment": topic, "whole_score": whole_score})
        decisions.append(decision)
    return with_best_matches(decisions, best_matches(scored, guidelines, policy))


def best_matches(scored: list, guidelines: Sequence[Guideline], policy: MatchingPolicy) -> set[str]:
    """Ids of the best-matching guideline of each scored variant (whole message, sentences) whose
    score on the latest message alone reaches the best-match floor (item 2b; a topic the customer
    left does not win on context); empty when the floor is off."""
    if policy.best_match_floor is None or not guidelines:
        return set()
    def latest(score: ConditionScore) -> float:  # the latest message (or sentence) alone
        return score.fresh if score.fresh is not None else score.score

    best = set()
    for _, _, scores in scored:
        top = max(guidelines, key=lambda g: latest(scores[g.id]))  # spec order wins ties
        if latest(scores[top.id]) >= policy.best_match_floor:
            best.add(top.id)
    return best


def with_best_matches(decisions: list[GuidelineDecision], best: set[str]) -> list[GuidelineDecision]:
    """Decisions where a best match that only the unsure default rejected now holds."""
    out = []
    for decision in decisions:
        if decision.guideline_id in best and decision.decided_by == "default" and not decision.condition_holds:
            reasons = [*decision.reasons, "best match of the guidelines for this message or one of its sentences"]
            decision = decision.model_copy(update={"condition_holds": True, "decided_by": "best_match", "reasons": reasons})
        out.append(decision)
    return out


def _scores(scorer: ConditionScorer, conversation: Sequence[Message], guidelines: Sequence[Guideline],
            latest_only: bool = False):
    scores = scorer.score(conversation, guidelines)
    missing = [g.id for g in guidelines if g.id not in scores]
    if missing:
        raise ValueError(f"scorer {scorer.model_id} returned no score for {missing}")
    if latest_only:  # a scorer that cannot separate the latest message (fresh None) keeps its score
        scores = {gid: s if s.fresh is None else ConditionScore(score=s.fresh, fresh=s.fresh, fresh_strength=s.fresh_strength)
                  for gid, s in scores.items()}
    return scores


def _decide(
    conversation: Sequence[Message],
    guideline: Guideline,
    score: ConditionScore,
    scorer: ConditionScorer,
    verifier: ConditionVerifier | None,
    policy: MatchingPolicy,
    *,
    over_budget: bool = False,
) -> GuidelineDecision:
    common = dict(
        guideline_id=guideline.id, actionable=not guideline.is_observation,
        score=round(score.score, 4), fresh_score=None if score.fresh is None else round(score.fresh, 4),
        fresh_strength=None if score.fresh_strength is None else round(score.fresh_strength, 4),
    )
    if score.score >= policy.accept:
        reason = f"score {score.score:.2f} >= accept {policy.accept:.2f}"
        return GuidelineDecision(**common, decided_by="scorer", model_id=scorer.model_id, condition_holds=True, reasons=[reason])
    if score.score <= policy.reject:
        reason = f"score {score.score:.2f} <= reject {policy.reject:.2f}"
        return GuidelineDecision(**common, decided_by="scorer", model_id=scorer.model_id, condition_holds=False, reasons=[reason])
    unsure = f"score {score.score:.2f} unsure ({policy.reject:.2f}, {policy.accept:.2f})"
    if verifier is not None:
        holds = bool(verifier.verify(conversation, guideline))
        reason = f"{unsure}; verifier said {'yes' if holds else 'no'}"
        return GuidelineDecision(**common, decided_by="verifier", model_id=verifier.model_id, condition_holds=holds, reasons=[reason])
    holds = policy.unsure_default
    why = f"verifier budget of {policy.max_verifier_calls} calls spent on less certain guidelines" if over_budget else "no verifier"
    reason = f"{unsure}; {why}, default {'holds' if holds else 'does not hold'}"
    return GuidelineDecision(**common, decided_by="default", model_id=POLICY_MODEL_ID, condition_holds=holds, reasons=[reason])


def assign_statuses(
    decisions: Sequence[GuidelineDecision],
    relations: RelationOutcome,
    guidelines: Mapping[str, Guideline],
    session: Session,
    policy: MatchingPolicy,
) -> list[GuidelineDecision]:
    """Final status and reasons per guideline after relationships and re-application."""
    updated: list[GuidelineDecision] = []
    for decision in decisions:
        gid = decision.guideline_id
        reasons = list(decision.reasons)
        changes: dict = {}
        if gid in relations.entailed_by and not decision.condition_holds:
            changes.update(condition_holds=True, decided_by="entailment")
            reasons.append(f"entailed by {relations.entailed_by[gid]}")
        status, why = _status(decision, relations, guidelines[gid], session, policy)
        if why:
            reasons.append(why)
        updated.append(decision.model_copy(update={**changes, "status": status, "reasons": reasons}))
    return updated


def _status(
    decision: GuidelineDecision,
    relations: RelationOutcome,
    guideline: Guideline,
    session: Session,
    policy: MatchingPolicy,
) -> tuple[GuidelineStatus, str | None]:
    gid = decision.guideline_id
    if gid in relations.suppressed_by:
        return GuidelineStatus.suppressed, f"suppressed by priority of {relations.suppressed_by[gid]}"
    if gid in relations.missing_dependency:
        return GuidelineStatus.dependency_unmet, f"depends on {relations.missing_dependency[gid]}, which is not active"
    if gid not in relations.active:
        return GuidelineStatus.inactive, None
    if guideline.is_observation:
        return GuidelineStatus.observed, "observation: condition holds, no action"
    return _reapplication(decision, session, policy)


def _reapplication(
    decision: GuidelineDecision, session: Session, policy: MatchingPolicy
) -> tuple[GuidelineStatus, str | None]:
    gid = decision.guideline_id
    last = session.last_applied_turn(gid)
    if last is None:
        return GuidelineStatus.applied, "first application"
    if gid not in session.conditions_held_last_turn:
        return GuidelineStatus.applied, f"condition arose anew (did not hold last turn); last applied at turn {last}"
    fresh = decision.fresh_score
    if fresh is not None and fresh >= policy.reapply_fresh:
        return GuidelineStatus.applied, (
            f"latest message alone scores {fresh:.2f} >= reapply {policy.reapply_fresh:.2f}; "
            f"last applied at turn {last}"
        )
    return GuidelineStatus.already_applied, f"already applied at turn {last}; condition held since"
