"""The embedded demo corpus: deterministic, canonical, realistic, and with a consistent hidden truth."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from guideminer.ingest.demo_catalog import luhn_check_digit
from guideminer.ingest.demo_corpus import (
    DemoCorpusPaths,
    DemoTruth,
    generate_conversation,
    load_truth,
    write_demo_corpus,
)
from guideminer.ingest.schema import Conversation

N = 1500
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"(?:\+\d{1,2} ?)?\(?\d{3,5}\)?[ -]\d{3}[ -]?\d{3,4}")
CARD = re.compile(r"\b(?:\d{4}[ -]?){3}\d{4}\b")


def _luhn_valid(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return len(digits) == 16 and luhn_check_digit(digits[:-1]) == digits[-1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoCorpusPaths, list[dict], DemoTruth, float]:
    started = time.perf_counter()
    paths = write_demo_corpus(tmp_path_factory.mktemp("demo"), n_conversations=N, seed=7)
    elapsed = time.perf_counter() - started
    conversations = [json.loads(line) for line in paths.conversations.read_text(encoding="utf-8").splitlines()]
    return paths, conversations, load_truth(paths.truth), elapsed


def test_writes_the_documented_files_quickly(corpus) -> None:
    paths, conversations, truth, elapsed = corpus
    assert paths.root.name == "demo_corpus"
    assert paths.conversations == paths.root / "conversations.jsonl"
    assert paths.truth.is_file() and paths.truth_turns.is_file()
    assert len(conversations) == N == truth.n_conversations == len(truth.conversations)
    assert elapsed < 5.0, f"{N} conversations took {elapsed:.2f}s"


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_demo_corpus(tmp_path / "a", n_conversations=300, seed=11)
    second = write_demo_corpus(tmp_path / "b", n_conversations=300, seed=11)
    other = write_demo_corpus(tmp_path / "c", n_conversations=300, seed=12)
    for name in ("conversations", "truth", "truth_turns"):
        assert getattr(first, name).read_bytes() == getattr(second, name).read_bytes(), name
    assert first.conversations.read_bytes() != other.conversations.read_bytes()


def test_a_conversation_does_not_depend_on_corpus_size(corpus) -> None:
    _, conversations, _, _ = corpus
    assert generate_conversation(7, 42)[0] == conversations[42]


def test_every_line_is_a_canonical_conversation(corpus) -> None:
    paths, _, _, _ = corpus
    ids = set()
    for line_number, line in enumerate(paths.conversations.read_text(encoding="utf-8").splitlines(), start=1):
        conversation = Conversation.model_validate_json(line)
        ids.add(conversation.conversation_id)
        assert 4 <= len(conversation.turns) <= 14, line_number
        assert {t.role for t in conversation.turns} == {"customer", "agent"}, line_number
        assert all(t.text.strip() and t.timestamp for t in conversation.turns), line_number
    assert len(ids) == N


def test_metadata_carries_outcomes_but_no_labels(corpus) -> None:
    _, conversations, truth, _ = corpus
    hidden = {s.id for s in truth.situations} | {d.id for d in truth.departments} | {g.id for g in truth.guidelines}
    csat_missing = 0
    for conversation in conversations:
        metadata = conversation["metadata"]
        assert set(metadata) <= {"outcome", "csat", "channel"}
        assert metadata["outcome"] in {"resolved", "escalated", "abandoned"}
        assert metadata["channel"] in {"chat", "email", "phone"}
        csat_missing += "csat" not in metadata
        assert metadata.get("csat", 3) in {1, 2, 3, 4, 5}
        assert not hidden & set(map(str, metadata.values()))
    assert 0.1 * N < csat_missing < 0.6 * N
    assert len({c["metadata"]["outcome"] for c in conversations}) == 3


def test_truth_has_the_catalog_sizes(corpus) -> None:
    _, _, truth, _ = corpus
    assert len(truth.departments) == 6
    assert len(truth.situations) == 30
    assert all(len(d.situation_ids) == 5 for d in truth.departments)
    assert 35 <= len(truth.guidelines) <= 55
    move_ids = {m.id for m in truth.moves}
    situation_ids = {s.id for s in truth.situations}
    for guideline in truth.guidelines:
        assert guideline.action_move_id in move_ids
        assert guideline.condition_situation_id in situation_ids | {None}
    covered = {g.condition_situation_id for g in truth.guidelines}
    assert situation_ids <= covered, "every situation has at least one guideline"
    assert any(g.condition_situation_id is None for g in truth.guidelines), "generic guidelines exist"
    assert any(g.qualifier for g in truth.guidelines), "qualified guidelines exist"
    situations_per_move = Counter(
        m for m, s in {(g.action_move_id, g.condition_situation_id) for g in truth.guidelines} if s
    )
    assert sum(1 for n in situations_per_move.values() if n >= 2) >= 3, "some moves are shared across situations"


def test_mixed_topic_share_is_about_fifteen_percent(corpus) -> None:
    _, _, truth, _ = corpus
    mixed = [c for c in truth.conversations if len(c.situation_ids) == 2]
    assert 0.11 * N <= len(mixed) <= 0.19 * N
    assert {c.mix for c in mixed} == {"together", "later"}
    assert any(c.transfer for c in mixed)
    assert any(len(set(c.department_ids)) == 1 for c in mixed)
    for conversation in truth.conversations:
        assert (conversation.mix == "single") == (len(conversation.situation_ids) == 1)


def test_truth_labels_align_with_turns(corpus) -> None:
    _, conversations, truth, _ = corpus
    guideline_move = {g.id: g.action_move_id for g in truth.guidelines}
    move_ids = {m.id for m in truth.moves}
    for conversation, labels in zip(conversations, truth.conversations, strict=True):
        assert conversation["conversation_id"] == labels.conversation_id
        assert [t.turn_index for t in labels.turns] == list(range(len(conversation["turns"])))
        assert [t.role for t in labels.turns] == [t["role"] for t in conversation["turns"]]
        stated: list[str] = []
        for label in labels.turns:
            if label.role == "agent":
                assert label.label in move_ids
                assert all(guideline_move[g] == label.label for g in label.guideline_ids)
            else:
                assert label.label in {"smalltalk", "details", "unhappy", *labels.situation_ids}
                assert (label.label in labels.situation_ids) == bool(label.situation_ids)
                stated += label.situation_ids
        assert tuple(stated) == labels.situation_ids, labels.conversation_id
        applied = {g for t in labels.turns for g in t.guideline_ids}
        assert not applied & set(labels.skipped_guideline_ids)
        assert "g_greet" in applied


def test_turns_contain_pii_looking_strings(corpus) -> None:
    _, conversations, _, _ = corpus
    texts = [t["text"] for c in conversations for t in c["turns"] if t["role"] == "customer"]
    emails = sum(bool(EMAIL.search(t)) for t in texts)
    phones = sum(bool(PHONE.search(t)) for t in texts)
    cards = [m.group() for t in texts for m in CARD.finditer(t)]
    assert emails > 50 and phones > 10
    assert cards and all(_luhn_valid(card) for card in cards)
    assert any("4111 1111 1111 1111" in t for t in texts) or len(cards) >= 5


def test_customer_text_varies_in_wording_and_form(corpus) -> None:
    _, conversations, truth, _ = corpus
    openings: dict[str, set[str]] = {}
    for conversation, labels in zip(conversations, truth.conversations, strict=True):
        for turn, label in zip(conversation["turns"], labels.turns, strict=True):
            if label.situation_ids:
                openings.setdefault(label.label, set()).add(turn["text"])
    assert min(len(texts) for texts in openings.values()) >= 10
    customer = [t["text"] for c in conversations for t in c["turns"] if t["role"] == "customer"]
    plain = [t for t in customer if len(t) > 40 and t == t.lower() and not re.search(r"[.!?]$", t)]
    assert len(plain) > 0.05 * len(customer) / 3


def test_outcome_correlates_with_following_guidelines(corpus) -> None:
    _, conversations, truth, _ = corpus
    resolved = {True: [], False: []}
    for conversation, labels in zip(conversations, truth.conversations, strict=True):
        resolved[labels.followed].append(conversation["metadata"]["outcome"] == "resolved")
    deviated = len(resolved[False]) / N
    assert 0.08 <= deviated <= 0.17
    followed_rate = sum(resolved[True]) / len(resolved[True])
    deviated_rate = sum(resolved[False]) / len(resolved[False])
    assert followed_rate > deviated_rate + 0.2


def test_load_truth_accepts_the_folder_and_rejects_a_missing_one(corpus, tmp_path: Path) -> None:
    paths, _, truth, _ = corpus
    assert load_truth(paths.root) == truth
    assert load_truth(paths.root.parent) == truth
    with pytest.raises(FileNotFoundError):
        load_truth(tmp_path / "nowhere")


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], DemoTruth]:
    paths = write_demo_corpus(tmp_path_factory.mktemp("calls"), n_conversations=600, seed=7, call_style=True)
    conversations = [json.loads(line) for line in paths.conversations.read_text(encoding="utf-8").splitlines()]
    return conversations, load_truth(paths.truth)


def test_call_style_wraps_needs_in_etiquette(calls) -> None:
    conversations, truth = calls
    assert truth.call_style and {c["metadata"]["channel"] for c in conversations} == {"phone"}
    etiquette_moves = {m.id for m in truth.moves if m.is_etiquette}
    assert {"greet", "pleasantry", "ask_name", "confirm_spelling", "hold", "resume", "anything_else",
            "goodbye"} <= etiquette_moves
    assert not {"ask_order_number", "check_tracking"} & etiquette_moves
    first_customer = [next(t for t in c.turns if t.role == "customer") for c in truth.conversations]
    assert sum(not t.situation_ids for t in first_customer) > 0.3 * len(first_customer)  # greeting-only openings
    texts = [t["text"] for c in conversations for t in c["turns"]]
    assert sum(bool(re.search(r"\b(?:[A-Za-z]-){3,}[A-Za-z]\b", t)) for t in texts) > 300  # spelled names
    moves = Counter(t.label for c in truth.conversations for t in c.turns if t.role == "agent")
    assert moves["hold"] > 150 and moves["anything_else"] > 300
    two_needs = [t for c in truth.conversations for t in c.turns if len(t.situation_ids) == 2]
    assert two_needs and all(t.label == t.situation_ids[0] for t in two_needs)
    for conversation in truth.conversations:
        for turn in conversation.turns:
            if turn.role == "agent":
                assert turn.etiquette == (turn.label in etiquette_moves)
            else:
                assert turn.etiquette == (turn.label in {"smalltalk", "identity", "confirm"})
                assert not (turn.etiquette and turn.situation_ids)


def test_chat_corpus_has_no_call_moves(corpus) -> None:
    _, _, truth, _ = corpus
    used = {t.label for c in truth.conversations for t in c.turns if t.role == "agent"}
    assert not used & {"pleasantry", "ask_name", "confirm_spelling", "hold", "resume", "anything_else", "goodbye"}
    assert not truth.call_style
