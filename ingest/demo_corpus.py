"""The embedded demo corpus: seeded, realistic support conversations with a hidden ground truth.

`guideminer demo` must have data on a fresh machine without network, and mining needs a corpus
whose truth is known to be evaluated against. Conversations are generated from the catalog
(`demo_catalog*.py`) with stdlib `random` only, one `random.Random` per conversation seeded from
(seed, index): the same seed gives byte-identical files, and conversation i does not depend on
how many conversations are generated. Labels (departments, situations, guidelines) are written
to `truth.json` / `truth_turns.jsonl` beside the corpus, never into the corpus itself.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from guideminer.ingest import demo_calls as calls
from guideminer.ingest import demo_catalog as cat
from guideminer.ingest.demo_builder import ETIQUETTE_LABELS, Builder, Scenario, Step, run_steps
from guideminer.ingest.demo_catalog_index import (
    CatalogIndex,
    DemoDepartment,
    DemoGuideline,
    DemoMove,
    DemoSituation,
    catalog_index,
    catalog_truth,
)
from guideminer.ingest.demo_truth import (
    DEMO_DIR_NAME,
    DemoConversationTruth,
    DemoCorpusPaths,
    DemoTruth,
    DemoTurnLabel,
    load_truth,
)

__all__ = [
    "DemoConversationTruth",
    "DemoCorpusPaths",
    "DemoDepartment",
    "DemoGuideline",
    "DemoMove",
    "DemoSituation",
    "DemoTruth",
    "DemoTurnLabel",
    "generate_conversation",
    "generate_demo_conversations",
    "load_truth",
    "write_demo_corpus",
]

MIXED_RATE = 0.15  # conversations with two situations
QUALIFIED_RATE = 0.3  # situations with a qualified guideline open with the qualifier this often
DEVIATION_RATE = 0.12  # agent skips one situation guideline
MAX_TURNS, MIN_TURNS = 14, 4
MAX_CALL_TURNS = 34  # calls add greetings, identification, a hold and "anything else?"
PLAIN_CALL_RATE = 0.7  # transcribed speech: lower case, no punctuation
CHANNEL_WEIGHTS = {"chat": 0.6, "email": 0.2, "phone": 0.2}
OUTCOME_WEIGHTS = {  # (resolved, escalated, abandoned) by whether the agent followed the guidelines
    True: (0.78, 0.12, 0.10),
    False: (0.35, 0.30, 0.35),
}
CSAT_WEIGHTS = {"resolved": (2, 3, 10, 35, 50), "escalated": (15, 25, 30, 20, 10), "abandoned": (50, 30, 15, 5, 0)}
ESCALATING_MOVES = frozenset({"escalate_supervisor", "escalate_fraud"})

Outcome = Literal["resolved", "escalated", "abandoned"]


# --- one conversation --------------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(tuple(weights), tuple(weights.values()))[0]


def _pick_scenario(rng: random.Random, index: CatalogIndex, channel: str | None = None) -> Scenario:
    channel = channel or _weighted(rng, CHANNEL_WEIGHTS)
    style = _weighted(rng, cat.STYLE_WEIGHTS[channel])
    primary = rng.choices(index.situation_ids, index.situation_weights)[0]
    if rng.random() < MIXED_RATE:
        budget = 3 - len(index.steps[primary])
        department = index.situations[primary].department_id
        same_department = rng.random() < 0.35
        candidates = [
            s for s in index.situation_ids
            if s != primary and len(index.steps[s]) <= budget
            and (index.situations[s].department_id == department) == same_department
        ]  # fmt: skip
        if candidates:
            mix = "together" if rng.random() < 0.5 else "later"
            return Scenario((primary, rng.choice(candidates)), None, mix, channel, style)
    qualified = index.qualified[primary]
    chosen = rng.choice(qualified) if qualified and rng.random() < QUALIFIED_RATE else None
    return Scenario((primary,), chosen, "single", channel, style)


def _situation_steps(situation_id: str, qualified: cat.Guideline | None, index: CatalogIndex) -> list[Step]:
    steps = [Step(g.move_id, (g.id,)) for g in index.steps[situation_id]]
    if qualified is None:
        return steps
    replaced = [i for i, step in enumerate(steps) if step.guideline_ids == (qualified.replaces,)]
    step = Step(qualified.move_id, (qualified.id,))
    if replaced:
        steps[replaced[0]] = step
    else:
        steps.append(step)
    return steps


def _plan_segments(scenario: Scenario, index: CatalogIndex) -> list[list[Step]]:
    """Steps per topic segment; two situations in one message share a move applied once."""
    first = _situation_steps(scenario.situation_ids[0], scenario.qualified, index)
    if scenario.mix == "single":
        return [first]
    second = _situation_steps(scenario.situation_ids[1], None, index)
    if scenario.mix == "later":
        return [first, second]
    for step in second:
        same = next((s for s in first if s.move_id == step.move_id), None)
        if same is None:
            first.append(step)
        else:
            same.guideline_ids += step.guideline_ids
    return [first]


def _deviate(rng: random.Random, segments: list[list[Step]]) -> tuple[str, ...]:
    """Skip one guideline step; sometimes the agent says something vague in its place."""
    slots = [(seg, i) for seg in segments for i in range(len(seg))]
    segment, position = rng.choice(slots)
    skipped = segment[position]
    if len(segment) == 1 or rng.random() < 0.5:
        segment[position] = Step("off_script", ())
    else:
        del segment[position]
    return skipped.guideline_ids


def _opening_core(situation_id: str, qualified: cat.Guideline | None, rng: random.Random, index: CatalogIndex) -> str:
    pool = qualified.qualified_openings if qualified else index.situations[situation_id].openings
    return rng.choice(pool)


def _opening_core_text(scenario: Scenario, rng: random.Random, index: CatalogIndex) -> str:
    """The need clause(s) of the opening: one situation, or two joined ("together")."""
    core = _opening_core(scenario.situation_ids[0], scenario.qualified, rng, index)
    if scenario.mix == "together":
        other = _opening_core(scenario.situation_ids[1], None, rng, index)
        core = rng.choice(cat.TOGETHER_JOINS).format(a=core, b=other)
    return core


def _opening_text(scenario: Scenario, rng: random.Random, index: CatalogIndex) -> str:
    core = _opening_core_text(scenario, rng, index)
    frame = rng.choice(cat.STYLE_FRAMES[scenario.style])
    # Slots stay as `{name}` placeholders; the builder fills them.
    return frame.replace("{Core}", core[0].upper() + core[1:]).replace("{core}", core)


def _outcome(rng: random.Random, followed: bool, segments: list[list[Step]]) -> Outcome:
    if any(step.move_id in ESCALATING_MOVES for seg in segments for step in seg):
        return "abandoned" if rng.random() < 0.1 else "escalated"
    return rng.choices(("resolved", "escalated", "abandoned"), OUTCOME_WEIGHTS[followed])[0]


def _finish(b: Builder, outcome: Outcome, segments: list[list[Step]], index: CatalogIndex, call: bool) -> None:
    already_escalated = any(step.move_id in ESCALATING_MOVES for seg in segments for step in seg)
    if outcome == "escalated" and not already_escalated:
        b.customer(b.rng.choice(cat.CUSTOMER_UNHAPPY), "unhappy")
        b.agent(index.moves["escalate_supervisor"], ("g_escalate_unhappy",))
        b.reply("ack")
        return
    if call:
        calls.finish_call(b, index)
        return
    b.agent(index.moves["close"], ("g_close",))
    b.reply("thanks")


def _open(b: Builder, scenario: Scenario, index: CatalogIndex, call: bool) -> None:
    """Greeting and the need statement, in the order the channel has them."""
    first = scenario.situation_ids[0]
    stated = scenario.situation_ids if scenario.mix == "together" else (first,)
    if call:
        calls.open_call(b, index)
        b.customer(calls.need_text(_opening_core_text(scenario, b.rng, index), scenario, b), first, stated)
        return
    opening = _opening_text(scenario, b.rng, index)
    if scenario.channel == "email":  # emails open with the customer's message, then the greeting
        b.customer(opening, first, stated)
        b.agent(index.moves["greet"], ("g_greet",), cat.EMAIL_GREETINGS)
    else:
        if scenario.mix == "single" and b.rng.random() < 0.2:
            b.customer(b.rng.choice(cat.CUSTOMER_HELLO), "smalltalk")
        b.agent(index.moves["greet"], ("g_greet",))
        b.customer(opening, first, stated)


def _build_turns(
    b: Builder, scenario: Scenario, segments: list[list[Step]], outcome: Outcome, index: CatalogIndex,
    call: bool = False,
) -> None:  # fmt: skip
    first = scenario.situation_ids[0]
    _open(b, scenario, index, call)
    if scenario.style == "angry":
        b.agent(index.moves["apologize"], ("g_apologize_angry",))
    if call:
        calls.identify(b, index)
    hold = calls.plan_hold(b, segments) if call else None
    cut_at = None
    if outcome == "abandoned":  # silent after one of the agent's steps on the last topic raised
        cut_at = sum(len(seg) for seg in segments[:-1]) + b.rng.randrange(len(segments[-1]))
    for number, steps in enumerate(segments):
        if number == 1:
            second = scenario.situation_ids[1]
            core = _opening_core(second, None, b.rng, index)
            b.customer(b.rng.choice(cat.LATER_FRAMES).format(core=core), second, (second,))
            if index.situations[second].department_id != index.situations[first].department_id:
                b.slots["team"] = index.team_by_department[index.situations[second].department_id]
                b.agent(index.moves["transfer"], ("g_transfer",))
        hold_at = hold[1] if hold is not None and hold[0] == number else None
        if run_steps(b, steps, cut_at, index, hold_at):
            return
        if cut_at is not None:
            cut_at -= len(steps)
    _finish(b, outcome, segments, index, call)


def _fit_turn_budget(turns: list[Any], conversation_id: str, max_turns: int = MAX_TURNS) -> None:
    """Drop small talk (never the last turn) until the conversation fits `max_turns` turns."""
    while len(turns) > max_turns:
        droppable = [i for i, turn in enumerate(turns[:-1]) if turn[0] == "customer" and turn[2] == "smalltalk"]
        if not droppable:
            raise ValueError(f"demo conversation {conversation_id} has {len(turns)} turns; too many catalog steps")
        del turns[droppable[0]]
    if len(turns) < MIN_TURNS:
        raise ValueError(f"demo conversation {conversation_id} has only {len(turns)} turns")


def _csat(rng: random.Random, outcome: Outcome, followed: bool) -> int | None:
    if rng.random() < (0.6 if outcome == "abandoned" else 0.3):
        return None
    score = rng.choices((1, 2, 3, 4, 5), CSAT_WEIGHTS[outcome])[0]
    return max(1, score - 1) if not followed and rng.random() < 0.5 else score


def _timestamps(rng: random.Random, channel: str, n: int) -> list[str]:
    t = 1_704_067_200 + rng.randrange(366 * 86_400)  # sometime in 2024, UTC
    low, high = {"chat": (8, 120), "email": (600, 36_000), "phone": (4, 45)}[channel]
    stamps = []
    for _ in range(n):
        stamps.append(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
        t += rng.randrange(low, high)
    return stamps


def _is_etiquette(role: str, label: str, index: CatalogIndex) -> bool:
    """Truth of conversation management: etiquette moves, and customer small talk / identity."""
    return index.moves[label].etiquette if role == "agent" else label in ETIQUETTE_LABELS


def _truth_record(
    conversation_id: str, scenario: Scenario, expected: tuple[str, ...], skipped: tuple[str, ...],
    turns: list[Any], index: CatalogIndex,
) -> dict[str, Any]:  # fmt: skip
    departments = tuple(dict.fromkeys(index.situations[s].department_id for s in scenario.situation_ids))
    return {
        "conversation_id": conversation_id,
        "department_id": departments[0],
        "department_ids": departments,
        "situation_ids": scenario.situation_ids,
        "mix": scenario.mix,
        "transfer": scenario.mix == "later" and len(departments) == 2,
        "style": scenario.style,
        "expected_guideline_ids": expected,
        "skipped_guideline_ids": skipped,
        "followed": not skipped,
        "turns": [
            {"turn_index": i, "role": t[0], "label": t[2], "situation_ids": t[3], "guideline_ids": t[4],
             "etiquette": _is_etiquette(t[0], t[2], index)}
            for i, t in enumerate(turns)
        ],
    }


def generate_conversation(seed: int, number: int, call_style: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Conversation `number` for `seed`: (canonical conversation record, its truth record).
    `call_style`: a transcribed phone call (see `demo_calls`); otherwise chat, email or phone."""
    index = catalog_index()
    rng = random.Random(seed * 1_000_003 + number)
    scenario = _pick_scenario(rng, index, "phone" if call_style else None)
    segments = _plan_segments(scenario, index)
    expected = tuple(g for seg in segments for step in seg for g in step.guideline_ids)
    skipped = _deviate(rng, segments) if rng.random() < DEVIATION_RATE else ()
    outcome = _outcome(rng, not skipped, segments)
    typo_rate = {"terse": 0.04, "angry": 0.04, "formal": 0.005}.get(scenario.style, 0.02)
    typo_rate += 0.05 if rng.random() < 0.2 else 0.0  # a sloppy typist
    plain = rng.random() < ({"phone": 0.5, "chat": 0.15, "email": 0.03}[scenario.channel]
                            if not call_style else PLAIN_CALL_RATE)
    builder = Builder(rng, cat.make_slots(rng), typo_rate, plain)
    conversation_id = f"demo-{number:06d}"
    _build_turns(builder, scenario, segments, outcome, index, call_style)
    _fit_turn_budget(builder.turns, conversation_id, MAX_CALL_TURNS if call_style else MAX_TURNS)
    stamps = _timestamps(rng, scenario.channel, len(builder.turns))
    metadata: dict[str, Any] = {"channel": scenario.channel, "outcome": outcome}
    csat = _csat(rng, outcome, not skipped)
    if csat is not None:
        metadata["csat"] = csat
    conversation = {
        "conversation_id": conversation_id,
        "turns": [{"role": t[0], "text": t[1], "timestamp": s} for t, s in zip(builder.turns, stamps, strict=True)],
        "metadata": metadata,
    }
    return conversation, _truth_record(conversation_id, scenario, expected, skipped, builder.turns, index)


def generate_demo_conversations(
    n_conversations: int, seed: int = 7, call_style: bool = False
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (conversation, truth) records without touching the disk."""
    for number in range(n_conversations):
        yield generate_conversation(seed, number, call_style)


# --- files ---------------------------------------------------------------------------------------------


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_demo_corpus(out_dir: Path, n_conversations: int = 1500, seed: int = 7,
                      call_style: bool = False) -> DemoCorpusPaths:
    """Write `out_dir/demo_corpus/{conversations.jsonl, truth.json, truth_turns.jsonl}`
    (`call_style`: transcribed phone calls, `demo_calls`)."""
    if n_conversations < 1:
        raise ValueError(f"n_conversations must be at least 1, got {n_conversations}")
    root = Path(out_dir) / DEMO_DIR_NAME
    root.mkdir(parents=True, exist_ok=True)
    paths = DemoCorpusPaths(
        root=root,
        conversations=root / "conversations.jsonl",
        truth=root / "truth.json",
        truth_turns=root / "truth_turns.jsonl",
    )
    with (
        paths.conversations.open("w", encoding="utf-8", newline="\n") as conversations,
        paths.truth_turns.open("w", encoding="utf-8", newline="\n") as truths,
    ):
        for conversation, truth in generate_demo_conversations(n_conversations, seed, call_style):
            conversations.write(_dumps(conversation) + "\n")
            truths.write(_dumps(truth) + "\n")
    header = {"seed": seed, "n_conversations": n_conversations, "call_style": call_style,
              "turns_file": paths.truth_turns.name}
    paths.truth.write_text(json.dumps(header | catalog_truth(), indent=2) + "\n", encoding="utf-8")
    return paths
