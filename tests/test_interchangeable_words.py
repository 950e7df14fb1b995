"""Interchangeable words (mined slot fillers) read at run time as mining read them."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from engine_fakes import HashedBagOfWordsEmbedder

from guideminer.engine import Guideline, Message
from guideminer.engine.embedding import EmbeddingConditionScorer, RewritingEmbedder
from guideminer.engine.spec import InterchangeableWords
from guideminer.mining.export_spec import interchangeable_words
from guideminer.mining.match_examples import near_agent_clusters

PRODUCTS = InterchangeableWords(replacement="item", members=("toaster", "smartwatch", "air fryer"))


def test_members_are_read_as_the_replacement_whole_words_any_case_longest_first():
    inner = HashedBagOfWordsEmbedder()
    words = RewritingEmbedder(inner, [PRODUCTS, InterchangeableWords(replacement="air", members=("aire",))])
    words.embed(["My AIR  FRYER and the Toaster broke", "toasters are not a member", "aire"])
    assert inner.calls[-1] == ["My item and the item broke", "toasters are not a member", "air"]
    assert words.model_id.endswith("+interchangeable-words") and words.dimension == inner.dimension


def test_a_need_about_another_product_matches_once_products_are_one_word():
    damaged = Guideline(id="damaged", condition="the item arrived damaged",
                        examples=("the smartwatch broke",), action="offer a replacement")
    message = [Message(role="customer", text="The toaster broke", turn=1)]
    plain = EmbeddingConditionScorer(HashedBagOfWordsEmbedder()).score(message, [damaged])["damaged"]
    read = EmbeddingConditionScorer(RewritingEmbedder(HashedBagOfWordsEmbedder(), [PRODUCTS])).score(message, [damaged])
    assert read["damaged"].fresh > plain.fresh and read["damaged"].fresh == 1.0


def test_export_reads_slot_classes_as_mining_rewrote_them(tmp_path):
    (tmp_path / "mining").mkdir()
    classes = [{"canonical": "toaster", "members": ["toaster", "smartwatch", "toastr"], "turns": [9, 8, 3],
                "effects": [0.0, 0.0, 0.0]},
               {"canonical": "ticket", "members": ["ticket", "tikcet", "tickett"], "turns": [9, 4, 3],
                "effects": [0.0, 0.0, 0.0]}]
    (tmp_path / "mining" / "slot_classes.json").write_text(json.dumps({"classes": classes,
                                                                        "params": {"placeholder": "item"}}))
    words = interchangeable_words(tmp_path)
    assert words == (InterchangeableWords(replacement="item", members=("toaster", "smartwatch", "toastr")),
                     InterchangeableWords(replacement="ticket", members=("tikcet", "tickett")))
    assert interchangeable_words(tmp_path / "nowhere") == ()


def testnear_agent_clusters_are_one_move_phrased_apart():
    a, b, c = np.eye(3)[0], np.eye(3)[0] * 0.9 + np.eye(3)[1] * 0.3, np.eye(3)[2]
    clusters = pl.DataFrame({"cluster_id": [10, 11, 12, 1], "role": ["agent", "agent", "agent", "customer"],
                             "centroid": [a.tolist(), b.tolist(), c.tolist(), a.tolist()]})
    assert near_agent_clusters(clusters) == {10: {10, 11}, 11: {10, 11}, 12: {12}}


def test_export_adds_head_words_the_ingested_corpus_never_uses_apart(tmp_path):
    from ingest_helpers import conversation, no_redaction, write_jsonl

    from guideminer.ingest.pipeline import ingest_paths

    records = [conversation(f"c{i}", f"my electric kettle broke {i}", "Sorry to hear that.") for i in range(4)]
    ingest_paths([write_jsonl(tmp_path / "in.jsonl", records)], tmp_path / "ws", redactor=no_redaction)
    (tmp_path / "ws" / "mining").mkdir()
    classes = [{"canonical": "toaster", "members": ["toaster", "electric kettle"], "turns": [9, 8],
                "effects": [0.0, 0.0]}]
    (tmp_path / "ws" / "mining" / "slot_classes.json").write_text(json.dumps({"classes": classes,
                                                                              "params": {"placeholder": "item"}}))
    (words,) = interchangeable_words(tmp_path / "ws")
    assert words.members == ("toaster", "electric kettle", "kettle")
