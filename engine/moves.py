"""Which of the applied instructions one agent reply makes: one move per situation and topic,
and endings that never share a reply with a department step (items 4 and 5 of
`guideminer.engine.matching`'s docstring, which decides which conditions hold)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from guideminer.engine.router import gives_data_only
from guideminer.engine.spec import Criticality, Guideline
from guideminer.engine.trace import GuidelineDecision, GuidelineStatus

UNBACKED_MARGIN = 0.1  # docs/results.md "No weaker substitute answer" (eighteenth session): `near_unbacked`


def situation_groups(guidelines: Sequence[Guideline]) -> dict[str, int]:
    """Guideline id -> situation group: guidelines with the same condition text or a shared
    example describe one situation (mined: one condition cluster with several action clusters);
    guidelines with the same action text are one move (saying it twice is not two answers)."""
    parent = {g.id: g.id for g in guidelines}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    owner: dict[str, str] = {}
    for guideline in guidelines:
        texts = {("condition", t) for t in (guideline.condition, *guideline.examples)}
        texts |= {("action", guideline.action)} if guideline.action else set()
        for kind, text in texts:
            key = kind + ":" + " ".join(text.lower().split())
            if key in owner:
                parent[root(guideline.id)] = root(owner[key])
            else:
                owner[key] = guideline.id
    roots = sorted({root(g.id) for g in guidelines})
    return {g.id: roots.index(root(g.id)) for g in guidelines}


def match_strength(decision: GuidelineDecision, uncapped: bool = False) -> float:
    """How well the guideline matched the latest message: its fresh score where the scorer gives
    one (the windowed score also credits earlier messages, so a topic the customer left keeps
    scoring), else its score; `uncapped`: before the calibration's cap at 1 where the scorer
    gives it (`fresh_strength`). Used to rank moves, never to decide whether a condition holds."""
    if uncapped and decision.fresh_strength is not None:
        return decision.fresh_strength
    return decision.fresh_score if decision.fresh_score is not None else (decision.score or 0.0)


def one_move_per_situation(decisions: Sequence[GuidelineDecision], guidelines: Mapping[str, Guideline],
                           applied_before: frozenset[str] = frozenset(), *,
                           lanes: Mapping[str, str] | None = None,
                           moves_per_topic: int | None = None,
                           unbacked: frozenset[str] = frozenset(),
                           just_made: frozenset[str] = frozenset(),
                           unbacked_margin: float = UNBACKED_MARGIN) -> list[GuidelineDecision]:
    """Defer all but the most important applied instruction per situation (module docstring,
    item 4): two moves for one situation are alternatives or steps, not two answers. A move
    not made yet goes before one `applied_before` (the conversation moves on, not round).
    With `moves_per_topic`, at most that many moves answer one topic (a sentence of the message,
    or the whole message) per lane (`lanes`: guideline id -> "etiquette" | "department"; a
    greeting and the answer to the need are two lanes); high-criticality guidelines are never
    deferred by this cap (module docstring, item 5). `unbacked` moves (compose.unbacked_moves:
    only replies claiming an outcome, no tool; not a `placed_step`) rank after every other
    move of their situation, and, across situations of one topic, after a sayable move matching
    within `unbacked_margin` of them (`near_unbacked`), and a move `just_made`
    (the agent's previous reply) after those: saying the same thing again in answer to a new
    message is a loop ("I'll need the order number" once more after the customer gave it), and
    an honest hand-off for an unbacked move beats it."""
    applied = [d for d in decisions if d.status is GuidelineStatus.applied]
    group = situation_groups([guidelines[d.guideline_id] for d in applied])
    last = unbacked | just_made
    winners = _best_per(applied, lambda d: group[d.guideline_id], 1, guidelines, applied_before, last, just_made)
    reasons = {d.guideline_id: f"deferred: {winners[group[d.guideline_id]][0]} answers the same situation this turn"
               for d in applied if d.guideline_id not in {w for ws in winners.values() for w in ws}}
    if moves_per_topic is not None:
        # the identification question holds at a point of the conversation (the first need),
        # not on a topic: a greeting answering the same message does not defer it
        capped = [d for d in applied if d.guideline_id not in reasons
                  and guidelines[d.guideline_id].position != "first_need"
                  and guidelines[d.guideline_id].criticality is not Criticality.high]
        topic = {d.guideline_id: ((lanes or {}).get(d.guideline_id, "department"), d.segment) for d in capped}
        # across situations the best match of the latest message wins, made before or not, by
        # its uncapped strength where every move of the topic has one: two situations' moves
        # that both clearly hold rank by closeness (within a situation, alternatives and steps
        # rank by habit, capped; a need's next step scored on context alone has no strength)
        measured = {t for t in set(topic.values())
                    if all(d.fresh_strength is not None for d in capped if topic[d.guideline_id] == t)}
        def in_measured(d: GuidelineDecision) -> bool:
            return topic[d.guideline_id] in measured

        yielding = near_unbacked(capped, lambda d: topic[d.guideline_id], unbacked, guidelines, unbacked_margin,
                                 in_measured)
        kept = _best_per(capped, lambda d: topic[d.guideline_id], moves_per_topic, guidelines, frozenset(),
                         yielding | just_made, just_made, uncapped=in_measured)
        for d in capped:
            if d.guideline_id not in kept[topic[d.guideline_id]]:
                reasons[d.guideline_id] = f"deferred: {kept[topic[d.guideline_id]][0]} is the move for this topic this turn"
    out = []
    for decision in decisions:
        if decision.guideline_id in reasons and decision.status is GuidelineStatus.applied:
            decision = decision.model_copy(update={"status": GuidelineStatus.deferred,
                                                   "reasons": [*decision.reasons, reasons[decision.guideline_id]]})
        out.append(decision)
    return out


def endings_yield(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline],
                  lanes: Mapping[str, str]) -> list[GuidelineDecision]:
    """An ending and a department move never answer one message together ("That's everything on
    my side" + the department's next step contradict each other). A department step placed by
    the agent's previous move (`after_examples`: the flow goes on from here), or a department
    move matching the latest message better than the ending does, defers the ending: an ending
    is one habit over every need's last step, judged on the previous move, so after "Could you
    share the order number and a photo?" it also held where that was not this need's last step
    ("LF-555555, photo attached" got "that's everything on my side" instead of the replacement
    or refund question). Otherwise the ending, placed by the need's last step, defers the
    department moves that matched the same sentence on its words alone (an answer to a last step
    read as a new need)."""
    applied = [d for d in decisions if d.status is GuidelineStatus.applied]
    endings = [d for d in applied if guidelines[d.guideline_id].ends_flow]
    moves = [d for d in applied if lanes.get(d.guideline_id) == "department"]
    if not endings or not moves:
        return decisions
    if any(guidelines[d.guideline_id].after_examples for d in moves):
        deferred = {d.guideline_id: "deferred: a department step continues the need, so its flow does not end here"
                    for d in endings}
    elif max(map(match_strength, moves)) > max(map(match_strength, endings)):
        deferred = {d.guideline_id: "deferred: a department move matches the message better than the ending"
                    for d in endings}
    else:
        ending_topics = {d.segment for d in endings}
        deferred = {d.guideline_id: "deferred: the need's last step was answered; an ending, not a new move, follows"
                    for d in moves if d.segment in ending_topics}
    return [d.model_copy(update={"status": GuidelineStatus.deferred, "reasons": [*d.reasons, deferred[d.guideline_id]]})
            if d.status is GuidelineStatus.applied and d.guideline_id in deferred else d for d in decisions]


def positional_moves(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline], *,
                     agent_spoke: bool, need_opens: bool, first_segment: str | None = None) -> list[GuidelineDecision]:
    """A positional move (`Guideline.position`, mined: mining/openers.py) holds at its point of
    the conversation only, whatever the message's words: "conversation_start" while the agent has
    not said anything yet (the greeting before the answer to any first message), "first_need" on
    the turn the customer's message opens a department (`need_opens`: the identification question
    callers get whatever their need). It answers the message's first part (`first_segment`, None
    for a one-part message), where a greeting the customer opens with is, so one move per topic
    keeps one greeting, not two."""
    at_point = {"conversation_start": not agent_spoke, "first_need": need_opens}
    out = []
    for decision in decisions:
        guideline = guidelines.get(decision.guideline_id)
        if guideline is None or guideline.position is None:
            out.append(decision)
        elif not at_point[guideline.position]:
            out.append(decision.model_copy(update={
                "condition_holds": False, "status": GuidelineStatus.inactive, "decided_by": "default",
                "reasons": [f"not held: a {guideline.position.replace('_', ' ')} move holds at that point only"]}))
        else:
            out.append(decision.model_copy(update={
                "condition_holds": True, "status": GuidelineStatus.observed if guideline.is_observation
                else GuidelineStatus.applied, "decided_by": "default", "score": 1.0, "fresh_score": None, "fresh_strength": None,
                "whole_score": None, "segment": first_segment,
                "reasons": [f"holds: {_POINTS[guideline.position]}"]}))
    return out


_POINTS = {"conversation_start": "the conversation starts (the agent has not spoken yet)",
           "first_need": "the customer has just stated their need"}


ANSWER_ONLY = "deferred: the message only gives what the agent asked for; a new situation's move waits for words of a need"


def data_answers_open_nothing(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline],
                              lanes: Mapping[str, str], latest_text: str, asked: str,
                              just_made: frozenset[str] = frozenset()) -> list[GuidelineDecision]:
    """A message that only gives what the agent asked (`router.gives_data_only`: "Sure,
    LF-123456" after "I'll need the order number") is answered by the step the agent's previous
    move placed (`after_examples`) or the etiquette set only. A department move of another
    situation, held by the earlier messages' context or by an id's chance likeness to an
    example, is no answer to it: after "my parcel never arrived" -> "I'll need the order
    number", "LF-123456" got the change-of-address question, the move that had lost the need's
    topic the turn before. A guideline whose own examples give data ("card: <CARD>" -> "never
    share a full card number") is about the answer, and one of the situation the agent's
    previous reply answered (`just_made`: its next step) goes on with it: both hold as the
    matcher decided."""
    if not gives_data_only(latest_text, asked):
        return decisions
    group = situation_groups([guidelines[g] for g in {d.guideline_id for d in decisions} | just_made if g in guidelines])
    answered = {group[g] for g in just_made if g in group}

    def no_answer(d: GuidelineDecision) -> bool:
        guideline = guidelines[d.guideline_id]
        return (d.status is GuidelineStatus.applied and lanes.get(d.guideline_id) == "department"
                and not guideline.after_examples and not any(map(gives_data_only, guideline.examples))
                and group[d.guideline_id] not in answered)
    return _defer(decisions, no_answer, ANSWER_ONLY)


WAITS = "deferred: the agents say the etiquette move alone and wait for the customer"
IDENTIFY_FIRST = "deferred: the agents identify the customer first; the need's move follows"
CLOSED = "deferred: the agent closes the need's flow with a move said alone"


def _defer(decisions: list[GuidelineDecision], waits, reason: str) -> list[GuidelineDecision]:
    """`decisions` with those `waits(decision)` picks deferred for `reason` (`still_waiting` reads it)."""
    return [d.model_copy(update={"status": GuidelineStatus.deferred, "reasons": [*d.reasons, reason]}) if waits(d) else d
            for d in decisions]


def need_waits_for_identification(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline],
                                  lanes: Mapping[str, str]) -> list[GuidelineDecision]:
    """When the move after the first need applies (the agents' identification question, mined by
    position), the department's moves wait: agents ask who is calling first and serve the need
    after ("Can I start with your name?", not that question and the order-number request in one
    reply); a deferred move may apply at a later turn."""
    applied = {d.guideline_id for d in decisions if d.status is GuidelineStatus.applied}
    if not any(guidelines[g].position == "first_need" for g in applied):
        return decisions
    return _defer(decisions, lambda d: d.guideline_id in applied and lanes.get(d.guideline_id) == "department",
                  IDENTIFY_FIRST)


def resume_waiting(decisions: list[GuidelineDecision], waiting: Sequence[str],
                   lanes: Mapping[str, str]) -> list[GuidelineDecision]:
    """Department moves deferred on earlier turns (`Session.waiting`) apply on the first turn no
    department move applies by itself: the agents come back to the need after the detour
    (identification, read-back, hold), as in "Thank you for holding. Could you share your order
    number?"; a move applied by the customer's words this turn means they moved on."""
    if not waiting or any(d.status is GuidelineStatus.applied and lanes.get(d.guideline_id) == "department"
                          for d in decisions):
        return decisions
    pending = set(waiting)
    return [d.model_copy(update={"status": GuidelineStatus.applied, "condition_holds": True,
                                 "reasons": [*d.reasons, "resumed: the move the agents make after the detour"]})
            if d.guideline_id in pending and lanes.get(d.guideline_id) == "department" else d for d in decisions]


def still_waiting(decisions: list[GuidelineDecision]) -> list[str]:
    """The department moves this turn deferred for a detour (`need_waits_for_identification`,
    `department_waits`), for `Session.waiting`."""
    return [d.guideline_id for d in decisions if d.status is GuidelineStatus.deferred
            and d.reasons and d.reasons[-1] in (WAITS, IDENTIFY_FIRST)]


def department_waits(decisions: list[GuidelineDecision], guidelines: Mapping[str, Guideline],
                     lanes: Mapping[str, str], accept: float) -> list[GuidelineDecision]:
    """When an etiquette move the agents say alone applies (`Guideline.stands_alone`: a
    read-back, a hold), the department's moves that hold by context only (the latest message's
    own score below `accept`) wait for a later turn: "So that's Smith spelled S M I T H,
    correct?" is not followed by the order-number question in one reply, nor "I'll place you on
    a short hold" by a question. A department move the latest message asks for itself ("thanks!
    also, what's your warranty?") is answered. When the move said alone closes the need's flow
    (`closes_flow`: "that's everything on my side, anything else?"), the moves do not wait: the
    customer's "no, that's all" had resumed the delivery-date move of three turns before."""
    applied = {d.guideline_id for d in decisions if d.status is GuidelineStatus.applied}
    alone = [g for g in applied if lanes.get(g) == "etiquette" and guidelines[g].stands_alone]
    if not alone:
        return decisions
    closing = any(closes_flow(guidelines[g], guidelines) for g in alone)
    return _defer(decisions, lambda d: d.guideline_id in applied and lanes.get(d.guideline_id) == "department"
                  and (d.fresh_score is None or d.fresh_score < accept), CLOSED if closing else WAITS)


def closes_flow(guideline: Guideline, guidelines: Mapping[str, Guideline]) -> bool:
    """An ending (`ends_flow`), or a rule of the same agent move as one (`Guideline.move`: the
    agreement rule that says "that's everything on my side" too)."""
    endings = {g.move for g in guidelines.values() if g.ends_flow and g.move is not None}
    return guideline.ends_flow or (guideline.move is not None and guideline.move in endings)


def placed_step(guideline: Guideline) -> bool:
    """A step of the open need that holds only after one agent move (`continues_need` and
    `after_examples`): when it applies, the agent's previous move placed the conversation at it.
    It is not ranked after the other moves for being `unbacked` (only a claim, no tool): a weaker
    match would answer in its place ("its jane@example.com" after "could you confirm the email?"
    in a password reset got the question for the email again, or the closing), where the honest
    hand-off is the answer until a tool sends the link. (Ranking placed steps before every other
    move was measured too: docs/results.md.)"""
    return guideline.continues_need and bool(guideline.after_examples)


def near_unbacked(decisions: list[GuidelineDecision], key, unbacked: frozenset[str], guidelines: Mapping[str, Guideline],
                  margin: float, uncapped: Callable[[GuidelineDecision], bool]) -> frozenset[str]:
    """The `unbacked` decisions that yield to a sayable one of the same `key` (topic) matching at
    least their strength - `margin`.

    Why not all of them: across situations, the sayable move that wins is another situation's
    answer. Whole demo: "No thanks, I just want to cancel." after the retention offer matched
    the cancellation confirmation 1.00 (a claim, no tool) and the pause question 0.85; the pause
    question was said ("How long would you like to pause for?") to a customer who had just
    asked to cancel. A clearly better match that cannot be said gets the honest hand-off (or,
    with its tool bound, is said); within a situation, steps and alternatives still put the
    sayable one first ("please confirm: 2 tickets" before the unbacked "booked")."""
    strength = {d.guideline_id: match_strength(d, uncapped(d)) for d in decisions}
    sayable: dict = {}
    for d in decisions:
        if d.guideline_id not in unbacked or placed_step(guidelines[d.guideline_id]):
            sayable[key(d)] = max(sayable.get(key(d), float("-inf")), strength[d.guideline_id])
    return frozenset(d.guideline_id for d in decisions if d.guideline_id in unbacked
                     and sayable.get(key(d), float("-inf")) >= strength[d.guideline_id] - margin)


def _best_per(decisions: list[GuidelineDecision], key, keep: int, guidelines: Mapping[str, Guideline],
              applied_before: frozenset[str], unbacked: frozenset[str] = frozenset(),
              just_made: frozenset[str] = frozenset(), *,
              uncapped: Callable[[GuidelineDecision], bool] | None = None) -> dict:
    """key -> ids of the `keep` most important decisions with that key, most important first
    (`uncapped(decision)`: rank it by its uncapped match strength)."""
    ranked: dict = {}
    def rank(d: GuidelineDecision) -> tuple:
        demoted = d.guideline_id in unbacked and not placed_step(guidelines[d.guideline_id])
        return d.guideline_id in just_made, demoted, _importance(d, guidelines, applied_before,
                                                                   uncapped is not None and uncapped(d))

    for decision in sorted(decisions, key=rank):
        ranked.setdefault(key(decision), [])
        if len(ranked[key(decision)]) < keep:
            ranked[key(decision)].append(decision.guideline_id)
    return ranked


def _importance(decision: GuidelineDecision, guidelines: Mapping[str, Guideline], applied_before: frozenset[str],
                uncapped: bool = False) -> tuple:
    """Sort key, most important first: not made yet, criticality, match to the latest message,
    priority, then id."""
    guideline = guidelines[decision.guideline_id]
    return (guideline.id in applied_before, -guideline.criticality.rank, -round(match_strength(decision, uncapped), 2),
            -guideline.priority, guideline.id)


def runner_ups(decisions: list[GuidelineDecision], unsaid: set[str]) -> list[GuidelineDecision]:
    """A move chosen but not said (its tool failed, its template misses a field) yields to the
    best move deferred for it: "Which city?" when the search could not run without a city,
    rather than the hand-off. `unsaid` are the instructions the composition did not say; each
    gives way to the first decision (in trace order: most important first) whose one-move
    reason names it. None deferred for it: it stays, and the reply stands."""
    promoted: dict[str, str] = {}
    for withheld in sorted(unsaid):
        markers = (f"deferred: {withheld} answers the same situation", f"deferred: {withheld} is the move for this topic")
        candidates = sorted((d for d in decisions if d.status is GuidelineStatus.deferred
                             and d.guideline_id not in promoted and any(m in r for r in d.reasons for m in markers)),
                            key=lambda d: -match_strength(d))
        if candidates:
            promoted[candidates[0].guideline_id] = withheld
    if not promoted:
        return decisions
    yielded = set(promoted.values())
    out = []
    for d in decisions:
        if d.guideline_id in promoted:
            d = d.model_copy(update={"status": GuidelineStatus.applied, "reasons": [
                *d.reasons, f"applied: {promoted[d.guideline_id]} could not be said this turn; the next move answers"]})
        elif d.guideline_id in yielded:
            d = d.model_copy(update={"status": GuidelineStatus.deferred, "reasons": [
                *d.reasons, "deferred: nothing approved of it could be said this turn"]})
        out.append(d)
    return out
