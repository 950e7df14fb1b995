"""Turn-by-turn assembly of one demo conversation, shared by the chat/email and call styles.

Apart from `demo_corpus` (which picks scenarios and writes files) so the call style
(`demo_calls`) can reuse the same builder and agent-step runner without a circular import.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from guideminer.ingest import demo_catalog as cat
from guideminer.ingest.demo_catalog_calls import CALL_REPLIES, CALL_REPLY_LABELS
from guideminer.ingest.demo_catalog_index import CatalogIndex

# Customer turn labels that manage the conversation rather than state or serve a need.
ETIQUETTE_LABELS = frozenset({"smalltalk", "identity", "confirm"})


@dataclass
class Step:
    move_id: str
    guideline_ids: tuple[str, ...]


@dataclass
class Scenario:
    situation_ids: tuple[str, ...]
    qualified: cat.Guideline | None
    mix: Literal["single", "together", "later"]
    channel: str
    style: str


@dataclass
class Builder:
    """Accumulates turns and their truth labels; customer text gets roughened on the way in."""

    rng: random.Random
    slots: dict[str, str]
    typo_rate: float
    plain: bool
    turns: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    def customer(self, template: str, label: str, situation_ids: tuple[str, ...] = ()) -> None:
        text = cat.add_typos(template.format_map(self.slots), self.typo_rate, self.rng)
        if self.plain:
            text = cat.plain_variant(text)
        self.turns.append(("customer", text, label, situation_ids, ()))

    def agent(self, move: cat.Move, guideline_ids: tuple[str, ...], paraphrases: tuple[str, ...] = ()) -> None:
        text = self.rng.choice(paraphrases or move.paraphrases).format_map(self.slots)
        self.turns.append(("agent", text, move.id, (), guideline_ids))

    def reply(self, kind: str) -> None:
        if kind in CALL_REPLIES:
            self.customer(self.rng.choice(CALL_REPLIES[kind]), CALL_REPLY_LABELS.get(kind, "smalltalk"))
            return
        self.customer(self.rng.choice(cat.REPLIES[kind]), "smalltalk" if kind in cat.ACK_KINDS else "details")


def run_steps(b: Builder, steps: list[Step], cut_at: int | None, index: CatalogIndex,
              hold_at: int | None = None) -> bool:
    """Emit agent steps and the customer's replies; True when the customer went silent.
    `hold_at`: the step before which the agent puts the caller on hold (call style)."""
    for position, step in enumerate(steps):
        move = index.moves[step.move_id]
        if position == hold_at:
            b.agent(index.moves["hold"], ("g_hold",))
            b.reply("hold_ok")
            b.agent(index.moves["resume"], ("g_resume",))
        b.agent(move, step.guideline_ids)
        if position == cut_at:
            b.agent(index.moves["check_in"], ("g_check_in",))
            return True
        if move.expects is None:
            continue
        kind = "full_card" if move.expects == "last4" and b.rng.random() < 0.3 else move.expects
        b.reply(kind)
        if kind == "full_card":
            b.agent(index.moves["warn_card"], ("g_warn_card",))
    return False
