"""`eval agent` and `eval split`: every score checked on hand-made cases, then the CLI end to end.

The scores are computed from small frames and replays written here by hand, so each assertion
checks a definition (unrouted = wrong, fallback = wrong, first applied guideline decides, the
retrieval peer takes the nearest FIT turn's answer), not just that numbers come out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from engine_fakes import FixedRouter, FixedScorer, FreeTextComposer, HashedBagOfWordsEmbedder, one_department_spec
from runtime_world import mined_workspace
from typer.testing import CliRunner

from guideminer.cli import app
from guideminer.engine import Engine, Guideline
from guideminer.evaluation.agent import FitLabels, routing_score, score_replays, turn_outcome
from guideminer.evaluation.agent_gold import LABEL_SCHEMA, AgentGold, demo_reader, gold_reader, labels_reader
from guideminer.evaluation.agent_peers import answered_turns, knn_labels, majority_label
from guideminer.evaluation.agent_replay import AgentTurn, ConversationReplay, replay_conversation
from guideminer.evaluation.split import split_ids, split_workspace
from guideminer.ingest.schema import CONVERSATIONS_SCHEMA, TURNS_SCHEMA
from guideminer.ingest.workspace import read_conversations, read_turns


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mined_workspace(tmp_path_factory.mktemp("agent") / "ws")


# --- split ---------------------------------------------------------------------------------

def test_split_is_a_seeded_permutation_of_sorted_ids_disjoint_and_complete(world: Path, tmp_path: Path) -> None:
    report = split_workspace(world, tmp_path / "fit", tmp_path / "test", test_share=0.2, seed=0)
    ids = sorted(read_conversations(world)["conversation_id"].to_list())
    expected_test = sorted(ids[i] for i in np.random.default_rng(0).permutation(len(ids))[:round(len(ids) * 0.2)])
    fit_ids = set(read_conversations(tmp_path / "fit")["conversation_id"].to_list())
    test_ids = sorted(read_conversations(tmp_path / "test")["conversation_id"].to_list())
    assert test_ids == expected_test and report.n_test == len(test_ids) == 14
    assert fit_ids.isdisjoint(test_ids) and fit_ids | set(test_ids) == set(ids)
    turns = read_turns(world)
    for side, keep in (("fit", fit_ids), ("test", set(test_ids))):
        written = read_turns(tmp_path / side).sort("conversation_id", "turn_index")
        original = turns.filter(pl.col("conversation_id").is_in(keep)).sort("conversation_id", "turn_index")
        assert written.select("conversation_id", "turn_index", "text").equals(
            original.select("conversation_id", "turn_index", "text"))
        assert json.loads((tmp_path / side / "split.json").read_text())["side"] == side
    again = split_ids(ids[::-1], 0.2, 0)
    assert again[1] == test_ids and split_ids(ids, 0.2, 1)[1] != test_ids


def test_split_refuses_bad_shares_and_used_folders(world: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="strictly between"):
        split_ids(["a", "b"], 1.0, 0)
    with pytest.raises(ValueError, match="both sides non-empty"):
        split_ids(["a", "b"], 0.1, 0)
    (tmp_path / "fit").mkdir()
    (tmp_path / "fit" / "x").write_text("taken")
    with pytest.raises(FileExistsError, match="not empty"):
        split_workspace(world, tmp_path / "fit", tmp_path / "test")
    result = CliRunner().invoke(app, ["eval", "split", str(world), "--fit", str(tmp_path / "f"), "--test",
                                      str(tmp_path / "f"), "--test-share", "0.2"])
    assert result.exit_code != 0 and "different folders" in result.output


# --- routing and per-turn outcomes ---------------------------------------------------------

def test_routing_counts_unrouted_and_unlabelled_departments_as_wrong() -> None:
    firsts = {"a": "d1", "b": "d1", "c": None, "d": "d9", "e": "d2"}
    domains = {"a": "x", "b": "y", "c": "x", "d": "x"}  # e has no gold domain: not counted
    accuracy, n, unrouted = routing_score(firsts, domains, {"d1": "x", "d2": "y"})
    assert (accuracy, n, unrouted) == (pytest.approx(1 / 4), 4, 1)


FIT = FitLabels(department_labels={"main": "x"}, action_labels={"g1": "REQUEST", "g2": "OFFER"},
                condition_labels={"g1": "find", "g2": "book"})


def _turn(applied: Sequence[str] = (), source: str = "canned", department: str | None = "main",
          conversation: str = "c", index: int = 0, said: Sequence[str] | None = None) -> AgentTurn:
    return AgentTurn(conversation, index, department, source, tuple(applied), 1.0,
                     None if said is None else tuple(said))


def test_turn_outcome_first_applied_guideline_decides_and_fallback_is_wrong() -> None:
    assert turn_outcome(_turn(["g1"]), "REQUEST", FIT) == "correct"
    assert turn_outcome(_turn(["g2", "g1"]), "REQUEST", FIT) == "wrong_guideline"
    assert turn_outcome(_turn([], source="fallback"), "REQUEST", FIT) == "no_guideline"
    assert turn_outcome(_turn([], source="clarify", department=None), "REQUEST", FIT) == "clarify"
    assert turn_outcome(_turn(["g3"]), "REQUEST", FIT) == "unmapped"
    # a move chosen but withheld (its reply claims what no tool did): the hand-off went out
    assert turn_outcome(_turn(["g1"], source="fallback", said=[]), "REQUEST", FIT) == "applied_unsaid"
    # the first guideline was withheld, the second one's text was sent: the second one answers
    assert turn_outcome(_turn(["g2", "g1"], said=["g1"]), "REQUEST", FIT) == "correct"


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LABEL_SCHEMA, orient="row")


def test_scores_from_hand_made_replays() -> None:
    spec = one_department_spec([Guideline(id=g, condition=g, action=g) for g in ("g1", "g2", "g3")])
    replays = [
        ConversationReplay("c1", "main", (_turn(["g1"], conversation="c1", index=1),
                                          _turn(["g2", "g1"], conversation="c1", index=3))),
        ConversationReplay("c2", None, (_turn([], "clarify", None, "c2", 0), _turn([], "clarify", None, "c2", 2))),
        ConversationReplay("c3", "main", (_turn([], "fallback", conversation="c3", index=0),
                                          _turn(["g3"], "fallback", conversation="c3", index=2))),
    ]
    answered = pl.DataFrame({"conversation_id": ["c1", "c1", "c2", "c2", "c3", "c3"], "turn_index": [1, 3, 0, 2, 0, 2],
                             "action": ["REQUEST", "REQUEST", "OFFER", "REQUEST", "REQUEST", "OFFER"]})
    gold = AgentGold(_frame([("c1", 1, "find", ["find", "book"]), ("c1", 3, "find", ["find", "book"]),
                             ("c3", 2, "find", ["find", "pay"]), ("c3", 0, "find", ["find"])]),
                     {"c1": "x", "c2": "x", "c3": "y"})
    knn = ["REQUEST", "OFFER", "OFFER", "OFFER", "REQUEST", "REQUEST"]
    scores = score_replays(replays, answered, gold, FIT, knn, "REQUEST", spec)
    assert scores["routing_accuracy"] == pytest.approx(1 / 3)  # c1 right, c2 unrouted, c3 mapped to x not y
    assert scores["n_unrouted_conversations"] == 1
    assert scores["next_action_accuracy"] == pytest.approx(1 / 6)  # only c1's first turn
    assert scores["knn_next_action_accuracy"] == pytest.approx(3 / 6)  # turns 1, 3 and 5 agree
    assert scores["majority_next_action_accuracy"] == pytest.approx(4 / 6)
    assert scores["fallback_rate"] == pytest.approx(2 / 6)
    assert scores["fallback_after_move_rate"] == pytest.approx(1 / 6)  # c3/2: g3 applied, nothing sayable
    assert scores["clarify_rate"] == pytest.approx(2 / 6)
    assert scores["breakdown"] == {"correct": 1, "clarify": 2, "no_guideline": 1, "applied_unsaid": 1,
                                   "unmapped": 0, "wrong_guideline": 1}
    # multi-topic turns: c1/1 (g1 covers find only), c1/3 (g2 + g1 cover find and book), c3/2 (g3 has no label)
    assert scores["n_multi_topic_turns"] == 3 and scores["multi_topic_coverage"] == pytest.approx(1 / 3)
    assert scores["diagnostics"]["wrong_guideline_gold_label_applied_later"] == 1  # c1/3: g1 came second
    assert scores["diagnostics"]["wrong_in_misrouted_conversations"] == 4  # c2 (2 turns) and c3 (2 turns)
    assert scores["n_conversations"] == 3 and scores["n_turns"] == 6


# --- answered turns and peers --------------------------------------------------------------

def test_answered_turns_pair_each_customer_turn_with_its_first_answer() -> None:
    turns = pl.DataFrame({
        "conversation_id": ["c0"] * 6 + ["c1"] * 3,
        "turn_index": [0, 1, 2, 3, 4, 5, 0, 1, 2],
        "role": ["customer", "agent", "agent", "customer", "customer", "agent", "agent", "customer", "agent"],
        "text": ["hi", "a", "b", "first", "second", "c", "welcome", "help", "d"]})
    labels = _frame([("c0", 0, "greet", ["greet"]), ("c0", 1, "A", []), ("c0", 2, "B", []), ("c0", 5, None, []),
                     ("c1", 0, "G", []), ("c1", 2, "C", [])])
    answered, unlabelled = answered_turns(turns, labels)
    assert answered.select("conversation_id", "turn_index", "action").rows() == [("c0", 0, "A"), ("c1", 1, "C")]
    assert unlabelled == 1  # c0 turn 4 is answered by an unlabelled agent turn; turn 3 is not answered
    assert answered["label_set"].to_list() == [["greet"], []]


def test_knn_peer_takes_the_answer_of_the_nearest_fit_turn_and_majority_breaks_ties_by_name() -> None:
    fit = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 2]], dtype=np.float32)  # rows 0 and 2 are the same text
    test = np.array([[0.9, 0.1, 0], [0.2, 0.9, 0.1], [0.1, 0.3, 0.8]], dtype=np.float32)
    assert knn_labels(fit, ["R1", "O", "R2", "X"], test) == ["R1", "O", "X"]  # a tie goes to the first FIT turn
    assert majority_label(["b", "a", "b", "a", "c"]) == "a" and majority_label(["b", "b", "a"]) == "b"
    with pytest.raises(ValueError, match="no answered"):
        knn_labels(np.zeros((0, 3)), [], test)


# --- gold readers --------------------------------------------------------------------------

def test_demo_reader_gives_label_sets_of_multi_situation_turns(tmp_path: Path) -> None:
    from guideminer.ingest.demo_corpus import write_demo_corpus
    from guideminer.ingest.pipeline import ingest_paths

    corpus = write_demo_corpus(tmp_path, 60, 3)
    ingest_paths([corpus.conversations], tmp_path, fmt="jsonl")
    gold = demo_reader(corpus.truth)(tmp_path)
    assert len(gold.domains) == 60 and gold.turns["label"].null_count() == 0
    multi = gold.turns.filter(pl.col("label_set").list.len() >= 2)
    assert multi.height > 0 and all(label in labels for label, labels in multi.select("label", "label_set").rows())


def test_labels_reader_and_its_errors(world: Path, tmp_path: Path) -> None:
    workspace = _labelled_copy(world, tmp_path / "ws")
    gold = labels_reader("intent", "act")(workspace)
    first = gold.turns.sort("conversation_id", "turn_index").row(0, named=True)
    assert first["label"] == "s2" and first["label_set"] == ["s2"]
    assert gold.domains["A000"] == "returns"
    with pytest.raises(ValueError, match="--condition-key and --action-key"):
        gold_reader("labels")
    with pytest.raises(ValueError, match="--truth"):
        gold_reader("demo")
    _rewrite_turns(workspace, lambda role, cluster, cid: {"intent": {"bad": 1}} if role == "customer" else {})
    with pytest.raises(ValueError, match=r"conversation 'A000' turn 0 metadata 'intent'"):
        labels_reader("intent", "act")(workspace)


# --- teacher forcing -----------------------------------------------------------------------

class RecordingScorer(FixedScorer):
    def __init__(self, scores, fresh):
        super().__init__(scores, fresh)
        self.seen: list[list[tuple[str, str]]] = []

    def score(self, conversation, guidelines):
        self.seen.append([(m.role, m.text) for m in conversation])
        return super().score(conversation, guidelines)


def test_teacher_forcing_puts_the_real_agent_turns_into_the_history() -> None:
    spec = one_department_spec([Guideline(id="low", condition="x", action="do low", priority=1),
                                Guideline(id="high", condition="y", action="do high", priority=5)])
    scorer = RecordingScorer({"low": 0.9, "high": 0.9}, fresh={"low": 0.5, "high": 0.5})  # held, not raised anew
    engine = Engine(spec, router=FixedRouter("main"), scorer=scorer, composer=FreeTextComposer())
    turns = [{"turn_index": 0, "role": "agent", "text": "Welcome"}, {"turn_index": 1, "role": "customer", "text": "hi"},
             {"turn_index": 2, "role": "agent", "text": "real 1"}, {"turn_index": 3, "role": "system", "text": "sys"},
             {"turn_index": 4, "role": "agent", "text": "real 1b"}, {"turn_index": 5, "role": "customer", "text": "more"}]
    replay = replay_conversation(engine, "c", turns)
    assert scorer.seen[1] == [("agent", "Welcome"), ("customer", "hi"), ("agent", "real 1"), ("agent", "real 1b"),
                              ("customer", "more")]
    assert replay.department_id == "main" and [t.turn_index for t in replay.turns] == [1, 5]
    assert replay.turns[0].applied == ("high", "low") and replay.turns[1].applied == ()  # already applied
    assert replay.turns[1].source == "composer" and replay.turns[0].ms > 0


# --- the CLI end to end --------------------------------------------------------------------

DOMAINS = {"A": "returns", "P": "returns", "E": "returns", "B": "refunds", "C": "refunds", "D": "orders"}


def _rewrite_turns(workspace: Path, metadata_of) -> None:
    from guideminer.mining.schema import MINING_FILES

    clusters = pl.read_parquet(workspace / MINING_FILES["turn_assignments"]) if (
        workspace / MINING_FILES["turn_assignments"]).is_file() else None
    turns = read_turns(workspace).with_columns(pl.col("role").cast(pl.String))
    if clusters is not None:
        turns = turns.join(clusters.select("conversation_id", "turn_index", "cluster_id"),
                           on=["conversation_id", "turn_index"], how="left")
    metadata = [json.dumps(metadata_of(r["role"], r.get("cluster_id"), r["conversation_id"]))
                for r in turns.iter_rows(named=True)]
    turns = turns.with_columns(pl.Series("metadata", metadata))
    for part in (workspace / "turns.parquet").glob("part-*.parquet"):
        part.unlink()
    pq.write_table(turns.select(TURNS_SCHEMA.names).to_arrow().cast(TURNS_SCHEMA), workspace / "turns.parquet" / "part-1.parquet")


def _labels(role: str, cluster: int, conversation_id: str) -> dict:
    if role == "customer":  # the damaged-item turns of template A also raise a refund: a label set
        return {"intent": ["s0", "s1"] if cluster == 0 and conversation_id.startswith("A") else f"s{cluster}"}
    return {"act": f"m{cluster}"}


def _labelled_copy(world: Path, out: Path, prefix: str = "") -> Path:
    """`world` with turn labels and conversation domains in metadata (ids prefixed, if asked)."""
    import shutil

    shutil.copytree(world, out)
    _rewrite_turns(out, _labels)
    conversations = read_conversations(out).with_columns(pl.Series("metadata", [
        json.dumps({**json.loads(m), "domain": DOMAINS[c[0]]}) for c, m in
        read_conversations(out).select("conversation_id", "metadata").iter_rows()]))
    turns = read_turns(out).with_columns(pl.col("role").cast(pl.String))
    if prefix:
        conversations = conversations.with_columns(pl.lit(prefix) + pl.col("conversation_id"))
        turns = turns.with_columns(pl.lit(prefix) + pl.col("conversation_id"))
    for name, frame, schema in (("conversations", conversations, CONVERSATIONS_SCHEMA), ("turns", turns, TURNS_SCHEMA)):
        for part in (out / f"{name}.parquet").glob("part-*.parquet"):
            part.unlink()
        pq.write_table(frame.select(schema.names).to_arrow().cast(schema), out / f"{name}.parquet" / "part-1.parquet")
    return out


def test_eval_agent_cli_last_line_holds_every_score(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fit = _labelled_copy(world, tmp_path / "fit")
    test = _labelled_copy(world, tmp_path / "test", prefix="T")
    mined = []
    monkeypatch.setattr("guideminer.mining.pipeline.mine_workspace", lambda ws, *a, **k: mined.append(Path(ws)))
    monkeypatch.setattr("guideminer.models.load_embedder", lambda *a, **k: HashedBagOfWordsEmbedder())
    result = CliRunner().invoke(app, ["eval", "agent", "--fit", str(fit), "--test", str(test), "--gold", "labels",
                                      "--condition-key", "intent", "--action-key", "act", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    assert mined == [fit]
    required = {"routing_accuracy", "next_action_accuracy", "knn_next_action_accuracy", "majority_next_action_accuracy",
                "fallback_rate", "clarify_rate", "multi_topic_coverage", "n_multi_topic_turns", "p50_ms", "p95_ms",
                "n_conversations", "n_turns"}
    assert required <= set(scores)
    turns = read_turns(test).with_columns(pl.col("role").cast(pl.String)).sort("conversation_id", "turn_index")
    rows = turns.select("conversation_id", "role", "metadata").rows()
    answers = [json.loads(rows[i + 1][2])["act"] for i in range(len(rows) - 1)
               if rows[i][1] == "customer" and rows[i + 1][1] == "agent" and rows[i + 1][0] == rows[i][0]]
    most_common = sorted(Counter(answers).items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert scores["n_conversations"] == 68 and scores["n_turns"] == len(answers)
    assert scores["majority_label"] == most_common[0]
    assert scores["majority_next_action_accuracy"] == pytest.approx(most_common[1] / len(answers))
    assert scores["n_multi_topic_turns"] == 20  # one damaged-item turn in each of the 20 A conversations
    assert sum(scores["breakdown"].values()) == scores["n_turns"]
    for key in ("routing_accuracy", "next_action_accuracy", "knn_next_action_accuracy", "multi_topic_coverage"):
        assert 0.0 <= scores[key] <= 1.0
    assert scores["p95_ms"] >= scores["p50_ms"] > 0
