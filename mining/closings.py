"""The customer's last words: a goodbye for the turns that end conversations.

Why: most chats end on the customer's turn ("nope all good", "No, that's all. Thanks!"; 1290 of
the demo corpus's 1500 conversations; on calls "bye" after the agent's goodbye). Nothing answers
it, so no rule can be mined for it, and the exported agent answered "no, that's all" with the
fallback hand-off ("I'm sorry, I can't help with that right now. Let me connect you with a
colleague."): a dead end at the happiest point of the conversation.

Criterion (by position, no word list): a customer cluster of the etiquette set (spread over the
needs, mining/etiquette.py) whose turns are the last of their conversation in at least
`FINAL_SHARE` of its `MIN_TURNS` or more occurrences. Their representative turns become the
examples of one etiquette guideline, "the customer ends the conversation", answered by
`CLOSING_MESSAGE`: a product default like the fallback message (the agents said nothing that
could be mined), marked as such in its provenance and in the export summary, and edited or
removed in the spec like any guideline. SGD's agents always speak last: no closing is added.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from guideminer.engine.spec import AgentSpec, CannedResponse, Guideline
from guideminer.mining.schema import MINING_FILES
from guideminer.mining.slots import is_spelling_of

FINAL_SHARE = 0.8
MIN_TURNS = 5
MAX_EXAMPLES = 24
PER_CLUSTER = 3
CLOSING_ID = "g-closing"
CLOSING_MESSAGE = "Thank you for contacting us. Have a great day!"
CLOSING_PROVENANCE = "default: customer turns that end conversations (mining/closings.py)"


def final_turns(assignments: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """The conversation-ending customer turns of the etiquette clusters whose turns end their
    conversation (module docstring): conversation_id, turn_index, cluster_id, cluster_turns."""
    last = assignments.group_by("conversation_id").agg(pl.col("turn_index").max().alias("last_index"))
    customer = (assignments.filter((pl.col("role") == "customer") & ~pl.col("is_noise"))
                .join(last, on="conversation_id").with_columns((pl.col("turn_index") == pl.col("last_index")).alias("final")))
    shares = customer.group_by("cluster_id").agg(pl.col("final").mean().alias("share"), pl.len().alias("cluster_turns"))
    etiquette = clusters.filter((pl.col("role") == "customer") & pl.col("is_etiquette")).select("cluster_id")
    ending = shares.join(etiquette, on="cluster_id").filter((pl.col("share") >= FINAL_SHARE)
                                                             & (pl.col("cluster_turns") >= MIN_TURNS))
    return (customer.filter("final").join(ending, on="cluster_id")
            .select("conversation_id", "turn_index", "cluster_id", "cluster_turns"))


def closing_examples(workspace: Path) -> tuple[str, ...]:
    """The customer's conversation-ending turns of the workspace, most said first, a cluster's
    own spelling variants once (none without mining tables)."""
    from guideminer.ingest.workspace import scan_turns

    paths = (Path(workspace) / MINING_FILES["turn_assignments"], Path(workspace) / MINING_FILES["clusters"])
    if not all(p.is_file() for p in paths):
        return ()
    ending = final_turns(pl.read_parquet(paths[0]), pl.read_parquet(paths[1]))
    if ending.is_empty():
        return ()
    texts = scan_turns(workspace).select("conversation_id", "turn_index", "text").collect()
    said = (ending.join(texts, on=["conversation_id", "turn_index"])
            .with_columns(pl.col("text").str.strip_chars())
            .group_by("cluster_id", "cluster_turns", "text").agg(pl.len().alias("n"))
            .sort(["cluster_turns", "cluster_id", "n", "text"], descending=[True, False, True, False]))
    examples: list[str] = []
    for (_cluster,), group in said.group_by("cluster_id", maintain_order=True):
        taken: list[str] = []
        for text in group["text"].to_list():
            spelled = any(is_spelling_of(text.lower(), other.lower()) for other in taken + examples)
            if text and len(taken) < PER_CLUSTER and not spelled:
                taken.append(text)  # "nope all god" is "nope all good" misspelled: no second example
        examples += taken
    return tuple(examples[:MAX_EXAMPLES])


def with_closing(spec: AgentSpec, examples: tuple[str, ...], message: str = CLOSING_MESSAGE) -> AgentSpec:
    """`spec` whose etiquette set also answers the customer's last words with `message` (module
    docstring); unchanged without examples."""
    if not examples:
        return spec
    guideline = Guideline(id=CLOSING_ID, condition="the customer ends the conversation (nothing more to ask)",
                          examples=examples, action=f"say goodbye: \u201c{message}\u201d", stands_alone=True,
                          ends_flow=True, provenance=CLOSING_PROVENANCE, tags=("closing",))
    canned = CannedResponse(id="c-closing", template=message, guideline_ids=(CLOSING_ID,))
    etiquette = spec.etiquette.model_dump() if spec.etiquette is not None else {
        "id": "etiquette", "name": "Conversation etiquette",
        "description": "Greetings, thanks, holds, confirmations and closings: applies in every department."}
    etiquette["guidelines"] = [*etiquette.get("guidelines", []), guideline.model_dump()]
    etiquette["canned_responses"] = [*etiquette.get("canned_responses", []), canned.model_dump()]
    return AgentSpec.model_validate({**spec.model_dump(), "etiquette": etiquette})  # ids checked unique
