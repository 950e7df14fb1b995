"""eval proposals: gold labels and pairs, proposal -> pair mapping, one-to-one scores, chance baseline."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from proposals_world import guideline_world

from guideminer.evaluation import proposals as ev
from guideminer.evaluation.gold import Gold, gold_pairs, labels_gold
from guideminer.mining.guidelines import GuidelineParams, occurrences_and_windows, propose_guidelines
from guideminer.mining.proposals_schema import GuidelineSet

WORLD_MAJORITY = {0: "damaged", 1: "refund", 2: "smalltalk", 3: "refund", 4: "smalltalk", 5: "order",
                  10: "greet", 11: "ask_order", 12: "refund_info", 13: "close", 14: "anything_else"}
WORLD_GOLD = Gold(pl.DataFrame(), pl.DataFrame(),
                  {("damaged", "ask_order"), ("refund", "refund_info"), ("order", "ask_order"), ("order", "apologise")},
                  {"greet", "close"}, {"damaged", "refund", "order"})


def user(intent: str, *acts: str) -> str:
    return json.dumps({"actions": [{"service": "S", "act": a, "slot": "intent"} for a in acts],
                       "active_intents": [{"service": "S", "intent": intent}]})


def system(*acts: tuple[str, str]) -> str:
    return json.dumps({"actions": [{"service": "S", "act": a, "slot": s} for a, s in acts]})


def test_sgd_turn_labels():
    assert ev.sgd_turn_label("customer", user("FindRestaurants", "INFORM_INTENT")) == "FindRestaurants"
    assert ev.sgd_turn_label("customer", json.dumps({"actions": [], "active_intents": [{"intent": "NONE"}]})) is None
    acts = system(("OFFER", "name"), ("INFORM_COUNT", "count"), ("OFFER", "city"))
    assert ev.sgd_turn_label("agent", acts) == "INFORM_COUNT+OFFER"
    assert ev.sgd_turn_label("agent", acts, "act_slot") == "INFORM_COUNT(count)+OFFER(city)+OFFER(name)"


def sgd_tables(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """n dialogues: FindX -> REQUEST(city); then FindX -> OFFER; one odd dialogue ReserveX -> INFORM."""
    rows, convs = [], []
    for i in range(n):
        cid = f"d{i}"
        turns = [("customer", user("FindX", "INFORM_INTENT")), ("agent", system(("REQUEST", "city"))),
                 ("customer", user("FindX", "INFORM")), ("agent", system(("OFFER", "name")))]
        if i == 0:
            turns += [("customer", user("ReserveX", "INFORM_INTENT")), ("agent", system(("INFORM", "time")))]
        rows += [{"conversation_id": cid, "turn_index": k, "role": r, "metadata": m} for k, (r, m) in enumerate(turns)]
        convs.append({"conversation_id": cid, "metadata": json.dumps({"domain": "X_1" if i % 2 else "Y_1"})})
    return pl.DataFrame(rows), pl.DataFrame(convs)


def test_sgd_departments_by_service_or_by_domain():
    from guideminer.ingest.gold_labels import sgd_departments

    conversations = pl.DataFrame({"conversation_id": ["a", "b", "c"], "metadata": [
        json.dumps({"domain": "Events_1"}), json.dumps({"domain": "Events_2"}), json.dumps({"domain": "Media_1"})]})
    assert sgd_departments(conversations)["gold"].to_list() == ["Events_1", "Events_2", "Media_1"]
    assert sgd_departments(conversations, "domain")["gold"].to_list() == ["Events", "Events", "Media"]
    with pytest.raises(ValueError, match="sgd-level"):
        sgd_departments(conversations, "intent")


def test_sgd_gold_pairs_need_support():
    turns, conversations = sgd_tables(12)
    gold = ev.sgd_gold(turns, conversations)
    assert gold.pairs == {("FindX", "REQUEST"), ("FindX", "OFFER")}  # ReserveX -> INFORM: 1 conversation < 10
    assert gold.departments.filter(pl.col("conversation_id") == "d1")["gold"].item() == "X_1"
    assert gold.labels.height == turns.height and not gold.generic_moves and not gold.situations
    assert ev.sgd_gold(*sgd_tables(9)).pairs == set()


def test_gold_pairs_need_the_share_floor():
    """X -> b in 110 conversations, X -> a in 10 (>= 10 conversations but 10/120 < 10% share)."""
    rows = []
    for i in range(120):
        rows += [(f"c{i}", 0, "customer", "X"), (f"c{i}", 1, "agent", "a" if i < 10 else "b")]
    labels = pl.DataFrame(rows, schema=["conversation_id", "turn_index", "role", "label"], orient="row")
    assert gold_pairs(labels) == {("X", "b")}
    rows = [r if r[1] == 0 or int(r[0][1:]) >= 13 else (r[0], 1, "agent", "a") for r in rows]  # 13/120 > 10%
    assert gold_pairs(pl.DataFrame(rows, schema=["conversation_id", "turn_index", "role", "label"],
                                   orient="row")) == {("X", "a"), ("X", "b")}


def labelled_tables(n: int, value=None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """n conversations: customer ["request"] -> agent "inform"; customer [request, inform] -> agent [offer]."""
    rows, convs = [], []
    for i in range(n):
        turns = [("customer", {"intents": ["request"]}), ("agent", {"intents": "inform"}),
                 ("customer", {"intents": ["request", "inform", "request"]}), ("agent", {"intents": ["offer"]}),
                 ("customer", {"intents": []}), ("agent", {}), ("system", {"intents": "x"})]
        if i == 3 and value is not None:
            turns[1] = ("agent", {"intents": value})
        rows += [{"conversation_id": f"c{i}", "turn_index": k, "role": r, "metadata": json.dumps(m)}
                 for k, (r, m) in enumerate(turns)]
        convs.append({"conversation_id": f"c{i}", "metadata": json.dumps({"area": f"dept{i % 2}"})})
    return pl.DataFrame(rows), pl.DataFrame(convs)


def test_labels_gold_reads_strings_and_label_sets():
    turns, conversations = labelled_tables(12)
    gold = labels_gold(turns, conversations, "intents", "intents", domain_key="area")
    assert gold.pairs == {("request", "inform"), ("inform+request", "offer")}
    first = gold.labels.filter(pl.col("conversation_id") == "c0").sort("turn_index")["label"].to_list()
    assert first == ["request", "inform", "inform+request", "offer", None, None, None]
    assert gold.departments.sort("conversation_id")["gold"].to_list()[:2] == ["dept0", "dept1"]
    assert gold.description["condition_key"] == "intents"


def test_labels_gold_errors_name_the_record_and_the_key():
    with pytest.raises(ValueError, match=r"turn c3#1: metadata 'intents' must be a string or a list of strings"):
        labels_gold(*labelled_tables(12, value={"bad": 1}), "intents", "intents")
    with pytest.raises(ValueError, match="no customer turn carries turn metadata key 'acts'"):
        labels_gold(*labelled_tables(12), "acts", "intents")


def test_labels_gold_warns_when_a_key_holds_only_empty_values():
    turns, conversations = labelled_tables(12)
    emptied = turns.with_columns(pl.when(pl.col("role") == "agent").then(pl.lit('{"intents": []}'))
                                 .otherwise(pl.col("metadata")).alias("metadata"))
    gold = labels_gold(emptied, conversations, "intents", "intents")
    assert gold.pairs == set()
    assert gold.description["warnings"] == ["36 agent turns carry 'intents' but every value is empty: no agent labels"]


def mapped(*rows) -> list[ev.MappedProposal]:
    return [ev.MappedProposal(pid, pair, support) for pid, pair, support in rows]


HAND_GOLD = Gold(pl.DataFrame(), pl.DataFrame(), {("A", "x"), ("B", "y"), ("C", "z")}, {"greet"}, {"A", "B", "C"})


def test_duplicates_are_false_positives_and_the_best_supported_claims():
    scores = ev.one_to_one_scores(mapped(
        ("p1", ("A", "x"), 5), ("p2", ("A", "x"), 10), ("p3", ("B", "y"), 3), ("p4", ("D", "w"), 9),
        ("p5", ("smalltalk", "greet"), 4), ("p6", ("thanks", "greet"), 2), ("p7", ("A", "greet"), 8)), HAND_GOLD)
    # targets claimed: (A,x) by p2, (B,y) by p3, (*,greet) by p5; p1 and p6 duplicates; p4, p7 unmatched
    assert scores["precision"] == pytest.approx(3 / 7)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * (3 / 7) * (2 / 3) / (3 / 7 + 2 / 3))
    assert scores["lenient_precision"] == pytest.approx(5 / 7)
    assert scores["redundancy"] == pytest.approx(5 / 3)
    assert (scores["n_matched"], scores["n_duplicates"], scores["n_unmatched"]) == (3, 2, 2)
    assert scores["duplicates"] == [{"proposal_id": "p6", "pair": ["*", "greet"], "claimed_by": "p5"},
                                    {"proposal_id": "p1", "pair": ["A", "x"], "claimed_by": "p2"}]
    assert scores["missed_gold_pairs"] == [["C", "z"]]
    assert scores["wrong_pairs"] == [("A", "greet"), ("D", "w")]


def test_no_duplicates_gives_redundancy_one_and_equal_precisions():
    scores = ev.one_to_one_scores(mapped(("p1", ("A", "x"), 5), ("p2", ("B", "y"), 1), ("p3", ("Q", "x"), 1)),
                                  HAND_GOLD)
    assert scores["precision"] == scores["lenient_precision"] == pytest.approx(2 / 3)
    assert scores["redundancy"] == 1.0 and scores["n_duplicates"] == 0


def test_no_proposals_and_nothing_matched():
    empty = ev.one_to_one_scores([], HAND_GOLD)
    assert (empty["precision"], empty["recall"], empty["f1"], empty["lenient_precision"]) == (0.0, 0.0, 0.0, 0.0)
    assert empty["redundancy"] is None and empty["n_proposals"] == 0 and len(empty["missed_gold_pairs"]) == 3
    unmatched = ev.one_to_one_scores(mapped(("p1", (None, "x"), 5), ("p2", ("A", None), 4), ("p3", ("A", "y"), 3)),
                                     HAND_GOLD)
    assert unmatched["precision"] == 0.0 and unmatched["redundancy"] is None and unmatched["n_unmatched"] == 3
    assert ("None", "x") in unmatched["wrong_pairs"]
    no_gold = ev.one_to_one_scores(mapped(("p1", ("A", "x"), 5)), Gold(pl.DataFrame(), pl.DataFrame(), set()))
    assert no_gold["recall"] == 0.0 and no_gold["precision"] == 0.0 and no_gold["n_gold_pairs"] == 0


def world_guidelines() -> tuple[dict, GuidelineSet]:
    world = guideline_world()
    proposals = propose_guidelines(world["assignments"], world["clusters"])
    return world, GuidelineSet(thresholds={}, ranked_by="support", n_conversations=68, proposals=proposals)


def test_guideline_scores_from_cluster_majorities():
    world, guideline_set = world_guidelines()
    conditions = {ev.proposal_condition_key(p): WORLD_MAJORITY[p.condition.cluster_id] for p in guideline_set.proposals}
    scores = ev.guideline_scores(guideline_set, WORLD_GOLD, WORLD_MAJORITY, conditions)
    pairs = [(WORLD_MAJORITY[p.condition.cluster_id], WORLD_MAJORITY[p.action.cluster_id])
             for p in guideline_set.proposals]
    targets = {m if m in WORLD_GOLD.pairs else ("*", m[1]) for m in pairs
               if m in WORLD_GOLD.pairs or (m[0] == "smalltalk" and m[1] in {"greet", "close"})}
    assert scores["precision"] == pytest.approx(len(targets) / len(pairs))
    assert scores["recall"] == pytest.approx(3 / 4)
    assert scores["missed_gold_pairs"] == [["order", "apologise"]]
    assert "chance_baseline" not in scores


def test_tripling_every_proposal_divides_precision_and_multiplies_redundancy_by_three():
    world, guideline_set = world_guidelines()
    conditions = {ev.proposal_condition_key(p): WORLD_MAJORITY[p.condition.cluster_id] for p in guideline_set.proposals}
    tripled = guideline_set.model_copy(update={"proposals": [
        p.model_copy(update={"guideline_id": f"{p.guideline_id}-{copy}"})
        for p in guideline_set.proposals for copy in range(3)]})
    once = ev.guideline_scores(guideline_set, WORLD_GOLD, WORLD_MAJORITY, conditions)
    thrice = ev.guideline_scores(tripled, WORLD_GOLD, WORLD_MAJORITY, conditions)
    assert once["precision"] > 0
    assert thrice["precision"] == pytest.approx(once["precision"] / 3)
    assert thrice["redundancy"] == pytest.approx(once["redundancy"] * 3)
    assert thrice["recall"] == once["recall"]
    assert thrice["lenient_precision"] == pytest.approx(once["lenient_precision"])
    assert thrice["n_proposals"] == 3 * once["n_proposals"]


def test_chance_baseline_is_every_frequent_first_reply_pair():
    """First replies in the planted world (conversations): c2->a10 45, c0->a11 20, c0->a12 5 (P),
    c1->a12 20, c3->a12 10, c4->a13 68, c5->a11 10, c5->a12 10 (D); E's c0 is noise."""
    world = guideline_world()
    conditions: dict = {}  # no condition carries a gold label here
    baseline = ev.chance_baseline(world["assignments"], WORLD_MAJORITY, conditions)
    assert {(m.proposal_id, m.support) for m in baseline} == {
        ("chance-2-10", 45), ("chance-0-11", 20), ("chance-0-12", 5), ("chance-1-12", 20), ("chance-3-12", 10),
        ("chance-4-13", 68), ("chance-5-11", 10), ("chance-5-12", 10)}
    assert all(m.pair[0] is None for m in baseline)
    frequent = ev.chance_baseline(world["assignments"], WORLD_MAJORITY, conditions, GuidelineParams(min_support=6))
    assert "chance-0-12" not in {m.proposal_id for m in frequent} and len(frequent) == 7
    labelled = {(False, None, c, "any", None): WORLD_MAJORITY[c] for c in range(6)}
    by_id = {m.proposal_id: m.pair for m in ev.chance_baseline(world["assignments"], WORLD_MAJORITY, labelled)}
    assert by_id["chance-0-11"] == ("damaged", "ask_order") and by_id["chance-4-13"] == ("smalltalk", "close")


def labelled_workspace(root: Path) -> Path:
    """The planted world as an ingested workspace whose turns carry their cluster's gold label,
    mined tables written by hand (assignments, clusters, proposals, one department)."""
    from guideminer.ingest.pipeline import ingest_paths
    from guideminer.mining.schema import MINING_FILES

    world = guideline_world()
    records = []
    turns = world["turns"].sort("conversation_id", "turn_index")
    for cid, seq in world["sequences"].items():
        texts = turns.filter(pl.col("conversation_id") == cid)["text"].to_list()
        records.append({"conversation_id": cid, "metadata": {"area": "shop"}, "turns": [
            {"role": role, "text": text, "metadata": {"gold": [WORLD_MAJORITY[cluster]]}}
            for (role, cluster, _), text in zip(seq, texts, strict=True)]})
    root.mkdir(parents=True)
    source = root.parent / "conversations.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    ingest_paths([source], root, fmt="jsonl", redact=False)
    (root / "mining" / "proposals").mkdir(parents=True, exist_ok=True)
    world["assignments"].write_parquet(root / MINING_FILES["turn_assignments"])
    world["clusters"].write_parquet(root / MINING_FILES["clusters"])
    pl.DataFrame({"conversation_id": list(world["sequences"]), "department_id": "d-shop", "confidence": 1.0}).cast(
        {"confidence": pl.Float32}).write_parquet(root / MINING_FILES["conversation_departments"])
    _, guideline_set = world_guidelines()
    (root / MINING_FILES["guidelines"]).write_text(guideline_set.model_dump_json())
    return root


def test_eval_proposals_command_with_label_gold(tmp_path: Path):
    from typer.testing import CliRunner

    from guideminer.cli import app

    workspace = labelled_workspace(tmp_path / "ws")
    args = ["eval", "proposals", str(workspace), "--gold", "labels", "--condition-key", "gold", "--action-key", "gold",
            "--domain-key", "area"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    guidelines = report["guidelines"]
    for key in ("precision", "recall", "f1", "redundancy", "lenient_precision", "n_proposals", "n_gold_pairs"):
        assert key in guidelines and key in guidelines["chance_baseline"]
    assert report["departments"]["n_gold"] == 1 and report["departments"]["n_conversations"] == 68
    assert "unavailable" in report["departments"]["peers"]  # hand-written tables: no stored vectors, said so
    assert guidelines["n_gold_pairs"] > 0 and guidelines["redundancy"] >= 1.0
    assert guidelines["precision"] <= guidelines["lenient_precision"]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0 and "one-to-one precision" in text.output and "chance:" in text.output
    missing = CliRunner().invoke(app, ["eval", "proposals", str(workspace), "--gold", "labels"])
    assert missing.exit_code != 0 and "--condition-key" in missing.output


def test_department_peer_is_kmeans_told_k_on_each_conversations_mean_turn():
    import numpy as np

    from guideminer.evaluation.department_peer import kmeans_departments

    rng = np.random.default_rng(0)
    areas = rng.normal(size=(3, 16)) * 3
    vectors = np.stack([areas[i % 3] + rng.normal(size=16) for i in range(60)])  # 20 conversations x 3 turns
    # conversation c<j>: three turns of area j % 3
    keys = pl.DataFrame({"conversation_id": [f"c{j:02d}" for j in range(20) for _ in range(3)],
                         "text_row": [3 * t + j % 3 for j in range(20) for t in range(3)]})
    gold = pl.DataFrame({"conversation_id": [f"c{j:02d}" for j in range(20)], "gold": [f"area{j % 3}" for j in range(20)]})
    scores = kmeans_departments(keys, vectors, gold)
    assert scores["k"] == 3 and scores["n_conversations"] == 20 and scores["nmi"] == pytest.approx(1.0)
    shuffled = gold.with_columns(pl.Series("gold", [f"area{(j * 7) % 2}" for j in range(20)]))
    assert kmeans_departments(keys, vectors, shuffled)["nmi"] < 0.5


def test_cluster_majority_ignores_noise_and_unlabelled_turns():
    assignments = pl.DataFrame({"conversation_id": ["a", "a", "a", "b"], "turn_index": [0, 1, 2, 0],
                                "cluster_id": [7, 7, 7, 7], "is_noise": [False, False, True, False]})
    labels = pl.DataFrame({"conversation_id": ["a", "a", "a", "b"], "turn_index": [0, 1, 2, 0],
                           "label": ["x", None, "y", "y"]})
    assert ev.cluster_majority(assignments, labels) == {7: "x"}  # tie x:1, y:1 -> alphabetical


def test_condition_majority_follows_department_and_previous_move():
    """A "yes" cluster means different things after different agent moves and in different
    departments; a proposal is labelled by the turns its own condition matches."""
    rows, labels, routed = [], [], []
    for i in range(8):
        cid, asked, intent = f"c{i}", 10 + i % 2, ("PlaySong", "BuyTickets")[i % 2]
        turns = [("customer", 1, "Find"), ("agent", asked, None), ("customer", 0, intent), ("agent", 12, None)]
        rows += [{"conversation_id": cid, "turn_index": k, "role": r, "cluster_id": c, "is_noise": False,
                  "confidence": 1.0} for k, (r, c, _) in enumerate(turns)]
        labels += [{"conversation_id": cid, "turn_index": k, "label": lab} for k, (_, _, lab) in enumerate(turns)]
        routed.append({"conversation_id": cid, "department_id": "d-music" if i < 6 else "d-events"})
    assignments, labels, routed = pl.DataFrame(rows), pl.DataFrame(labels), pl.DataFrame(routed)
    overall = ev.condition_majority(assignments, labels, None)
    scoped = ev.condition_majority(assignments, labels, routed)
    assert overall[(None, 0, "any", None)] == "BuyTickets"  # tie 4:4 -> alphabetical
    assert overall[(None, 0, "after", 10)] == "PlaySong" and overall[(None, 0, "after", 11)] == "BuyTickets"
    assert scoped[("d-music", 0, "any", None)] == "BuyTickets"  # c0..c5: 3:3
    assert scoped[("d-events", 0, "after", 10)] == "PlaySong"  # c6
    assert (None, 0, "after", 10) not in scoped


def test_need_view_skips_etiquette_detours_and_keeps_the_real_previous_move():
    """Need -> "your name?" -> spelled name -> read-back -> the need's answer: on the need view
    the answer is the need turn's first reply; the "after" state keeps the agent move really
    said before the customer's turn, etiquette or not."""
    turns = [("customer", 1), ("agent", 20), ("customer", 2), ("agent", 21), ("agent", 10), ("agent", 22),
             ("customer", 3), ("agent", 11)]
    rows = [{"conversation_id": "c", "turn_index": k, "role": r, "cluster_id": c, "is_noise": False, "confidence": 1.0}
            for k, (r, c) in enumerate(turns)]
    assignments = pl.DataFrame(rows)
    etiquette = {2, 20, 21, 22}  # spelled name; "your name?", read-back, "anything else?"
    # open_need off: cluster 3 never opens a conversation here, so it would take need 1's place
    occurrences, windows = occurrences_and_windows(assignments, 2, None, etiquette, open_need=False)
    first = windows.filter(pl.col("rank") == 1).join(occurrences, on=["conversation_id", "block"])
    replies = dict(first.select("condition_cluster", "agent_cluster").iter_rows())
    assert replies == {1: 10, 3: 11}  # on the whole conversation: 1 -> 20
    after = dict(occurrences.select("condition_cluster", "previous_move").iter_rows())
    assert after == {1: None, 3: None}  # a need's own turn after "anything else?" (etiquette) is placed by no move
    kept, _ = occurrences_and_windows(assignments, 2, None, {2, 20, 21}, open_need=False)
    assert dict(kept.select("condition_cluster", "previous_move").iter_rows()) == {1: None, 3: 22}  # 22 a need's move
    whole, whole_windows = occurrences_and_windows(assignments, 2, None)
    assert set(whole["condition_cluster"]) == {1, 2, 3}
    assert whole_windows.filter(pl.col("rank") == 1).join(whole, on=["conversation_id", "block"]).filter(
        pl.col("condition_cluster") == 1)["agent_cluster"].to_list() == [20]
