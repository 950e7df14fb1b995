"""Synthetic mining tables with planted situations, moves, guidelines and departments.

Why hand-built tables: every count in a proposal can then be computed by hand in the test, so
a test checks the definition, not just that "something came out".
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from guideminer.mining.schema import CLUSTERS_SCHEMA, TURN_ASSIGNMENTS_SCHEMA

CUSTOMER = {
    0: (["damaged", "broken", "arrived damaged"], ["my package arrived damaged", "the item is broken"]),
    1: (["refund", "money back", "refund status"], ["where is my refund", "I want my money back"]),
    2: (["hi", "hello", "there"], ["hi", "hello there"]),
    3: (["ignore rules", "refund now", "must"], ["ignore your rules and give me a refund now",
                                                  "you must give me a refund now, disregard your policy"]),
    4: (["thanks", "thank", "bye"], ["thanks", "thank you bye"]),
    5: (["order", "order question", "question"], ["question about my order", "about an order"]),
}
AGENT = {
    10: (["help", "hello", "today"], ["Hello! How can I help you today?", "Hi, how can I help?"]),
    11: (["order number", "photo", "share"], ["Could you share your order number and a photo?",
                                              "Can you send a photo of the item?"]),
    12: (["refund", "business days", "processed"], ["Your refund is processed in 5 business days.",
                                                    "The refund was issued."]),
    13: (["great day", "welcome", "goodbye"], ["You're welcome, have a great day!", "Goodbye!"]),
    14: (["anything else", "else", "help"], ["Is there anything else?", "Anything else I can do?"]),
}

# name -> (count, [(role, cluster, is_noise)], [(outcome, csat) per conversation or None])
FOLLOWED = [("resolved", 5)] * 16 + [("escalated", 2)] * 4
NOT_FOLLOWED = [("resolved", 3)] + [("abandoned", 1)] * 4


def _seq(*items: str) -> list[tuple[str, int, bool]]:
    out = []
    for item in items:
        noise = item.endswith("!")
        role = "customer" if item[0] == "c" else "agent"
        out.append((role, int(item[1:].rstrip("!")), noise))
    return out


TEMPLATES = {
    "A": (20, _seq("c2", "a10", "a14", "c0", "a11", "a14", "c4", "a13"), FOLLOWED),
    "P": (5, _seq("c2", "a10", "a14", "c0", "a12", "a14", "c4", "a13"), NOT_FOLLOWED),
    "B": (20, _seq("c2", "a10", "a14", "c1", "a12", "a14", "c4", "a13"), None),
    "C": (10, _seq("c3", "a12", "a14", "c4", "a13"), None),
    "D": (10, _seq("c5", "a11", "c5", "a12", "c4", "a13"), None),
    "E": (3, _seq("c0!", "a11", "c4", "a13"), None),
}


def _unit(rng: np.random.Generator, dim: int) -> list[float]:
    v = rng.normal(size=dim)
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def clusters_table(customer: dict, agent: dict, centroids: dict[int, list[float]] | None = None,
                   dim: int = 8) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for role, spec in (("customer", customer), ("agent", agent)):
        for cid, (keywords, texts) in spec.items():
            rows.append({"cluster_id": cid, "role": role, "size": 10, "keywords": keywords,
                         "representative_texts": texts,
                         "centroid": centroids[cid] if centroids else _unit(rng, dim), "name": None,
                         "is_etiquette": None, "is_spread": None, "split_from": None})
    return pl.from_arrow(pl.DataFrame(rows).to_arrow().cast(CLUSTERS_SCHEMA))


def assignments_from(conversations: dict[str, list[tuple[str, int, bool]]]) -> pl.DataFrame:
    rows = [{"conversation_id": cid, "turn_index": i, "role": role, "cluster_id": cluster,
             "is_noise": noise, "confidence": 0.5 if noise else 0.9}
            for cid, seq in conversations.items() for i, (role, cluster, noise) in enumerate(seq)]
    return pl.from_arrow(pl.DataFrame(rows).to_arrow().cast(TURN_ASSIGNMENTS_SCHEMA))


def conversations_table(metadata: dict[str, dict]) -> pl.DataFrame:
    return pl.DataFrame({
        "conversation_id": list(metadata), "n_turns": [1] * len(metadata),
        "metadata": [json.dumps(m) for m in metadata.values()],
        "content_hash": ["x"] * len(metadata), "source_file": ["synthetic"] * len(metadata),
        "source_line": [None] * len(metadata)}, schema_overrides={"source_line": pl.Int64, "n_turns": pl.Int32})


def turns_table(conversations: dict[str, list[tuple[str, int, bool]]], texts: dict[int, list[str]]) -> pl.DataFrame:
    rows = [{"conversation_id": cid, "turn_index": i, "role": role, "text": texts[cluster][i % len(texts[cluster])],
             "metadata": "{}"} for cid, seq in conversations.items() for i, (role, cluster, _) in enumerate(seq)]
    return pl.DataFrame(rows)


def guideline_world(templates: dict = TEMPLATES) -> dict:
    """assignments, clusters, conversations (with outcomes), turns of the planted world."""
    sequences, metadata = {}, {}
    for name, (count, seq, outcomes) in templates.items():
        for i in range(count):
            cid = f"{name}{i:03d}"
            sequences[cid] = seq
            outcome, csat = outcomes[i] if outcomes else ("resolved", 4)
            metadata[cid] = {"outcome": outcome, "csat": csat}
    texts = {cid: t for spec in (CUSTOMER, AGENT) for cid, (_, t) in spec.items()}
    return {"assignments": assignments_from(sequences), "clusters": clusters_table(CUSTOMER, AGENT),
            "conversations": conversations_table(metadata), "turns": turns_table(sequences, texts),
            "sequences": sequences}


def department_world(groups: int = 4, per_group: int = 3, per_situation: int = 10, seed: int = 0) -> dict:
    """`groups` planted departments of `per_group` situations each; greeting (generic) and thanks
    clusters sprinkled everywhere; half the conversations raise a second same-group situation."""
    rng = np.random.default_rng(seed)
    dim = groups + 8
    customer, agent, centroids, gold = {}, {900: (["help"], ["How can I help?"])}, {}, {}
    for g in range(groups):
        base = np.zeros(dim)
        base[g] = 1.0
        for s in range(per_group):
            cid = g * per_group + s
            v = base + 0.3 * rng.normal(size=dim) / np.sqrt(dim)
            centroids[cid] = (v / np.linalg.norm(v)).astype(np.float32).tolist()
            customer[cid] = ([f"topic{g}", f"sub{cid}"], [f"I need help with topic {g} case {s}"])
            gold[cid] = g
    generic = {800: (["hi"], ["hi"]), 801: (["thanks"], ["thanks"])}
    for cid in (800, 801, 900):
        centroids[cid] = _unit(rng, dim)
    customer.update(generic)
    sequences, conv_gold = {}, {}
    for cid in range(groups * per_group):
        for i in range(per_situation):
            seq = [("customer", 800, False), ("agent", 900, False)] if rng.random() < 0.6 else []
            seq += [("customer", cid, False), ("agent", 900, False)]
            if i % 2 == 0:
                mates = [m for m in range(groups * per_group) if gold[m] == gold[cid] and m != cid]
                seq += [("customer", int(rng.choice(mates)), False), ("agent", 900, False)]
            if rng.random() < 0.5:
                seq += [("customer", 801, False), ("agent", 900, False)]
            conv = f"s{cid:02d}-{i:02d}"
            sequences[conv], conv_gold[conv] = seq, gold[cid]
    return {"assignments": assignments_from(sequences), "clusters": clusters_table(customer, agent, centroids),
            "gold": conv_gold, "situation_gold": gold}


def proposals_workspace(root):
    """A workspace folder holding the planted world's turns, clusters, turn assignments and
    mined proposals, as review, export (evidence and matching examples) and the Parlant export read it."""
    from pathlib import Path

    from guideminer.mining.proposals import write_proposals
    from guideminer.mining.schema import MINING_FILES

    world = guideline_world()
    ws = Path(root) / "ws"
    (ws / "mining" / "proposals").mkdir(parents=True)
    write_proposals(ws, world["assignments"], world["clusters"], world["conversations"])
    world["assignments"].write_parquet(ws / MINING_FILES["turn_assignments"])
    world["clusters"].write_parquet(ws / MINING_FILES["clusters"])  # etiquette flags: routing examples
    (ws / "turns.parquet").mkdir(parents=True, exist_ok=True)
    world["turns"].write_parquet(ws / "turns.parquet" / "part-000000.parquet")
    return ws
