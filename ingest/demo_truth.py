"""The hidden truth of the demo corpus: its records and how to load them.

Apart from the generator (`demo_corpus`) because evaluation and replay only read the truth; they
should not import the generator and its catalog to do so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from guideminer.ingest.demo_catalog_index import (
    DemoDepartment,
    DemoGuideline,
    DemoMove,
    DemoSituation,
    FrozenModel,
)

DEMO_DIR_NAME = "demo_corpus"


class DemoTurnLabel(FrozenModel):
    """Customer turns: label is a situation id, 'smalltalk', 'details', 'unhappy', or in calls
    'identity' (a spelled name, a callback number) and 'confirm' ("yes, that's correct");
    situation_ids lists every situation the turn states (two when one turn carries two needs).
    Agent turns: label is the move id and guideline_ids the guidelines it applied (empty for
    off-script moves). `etiquette`: the turn manages the conversation rather than a need
    (customer small talk / identity / confirm, or an etiquette move)."""

    turn_index: int
    role: Literal["customer", "agent"]
    label: str
    situation_ids: tuple[str, ...] = ()
    guideline_ids: tuple[str, ...] = ()
    etiquette: bool = False


class DemoConversationTruth(FrozenModel):
    conversation_id: str
    department_id: str
    department_ids: tuple[str, ...]
    situation_ids: tuple[str, ...]
    mix: Literal["single", "together", "later"]
    transfer: bool
    style: str
    expected_guideline_ids: tuple[str, ...]  # situation guidelines whose conditions held
    skipped_guideline_ids: tuple[str, ...]  # the agent's deviation, if any
    followed: bool
    turns: tuple[DemoTurnLabel, ...]


class DemoTruth(FrozenModel):
    seed: int
    n_conversations: int
    call_style: bool = False
    departments: tuple[DemoDepartment, ...]
    situations: tuple[DemoSituation, ...]
    moves: tuple[DemoMove, ...]
    guidelines: tuple[DemoGuideline, ...]
    conversations: tuple[DemoConversationTruth, ...]


class DemoCorpusPaths(FrozenModel):
    root: Path
    conversations: Path
    truth: Path
    truth_turns: Path


def load_truth(path: Path) -> DemoTruth:
    """Load the hidden truth from `truth.json`, its folder, or the folder holding `demo_corpus/`."""
    path = Path(path)
    candidates = [path] if path.is_file() else [path / "truth.json", path / DEMO_DIR_NAME / "truth.json"]
    truth_file = next((p for p in candidates if p.is_file()), None)
    if truth_file is None:
        raise FileNotFoundError(f"no demo truth.json at {path}")
    header = json.loads(truth_file.read_text(encoding="utf-8"))
    turns_file = truth_file.parent / header.pop("turns_file")
    conversations = []
    with turns_file.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            try:
                conversations.append(DemoConversationTruth.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{turns_file}:{line_number}: bad truth record: {exc}") from exc
    return DemoTruth.model_validate(header | {"conversations": conversations})
