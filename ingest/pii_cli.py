"""`guideminer pii-terms`: learn a reviewable allow-terms file from the corpus (`pii_allow`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def pii_terms_command(
    inputs: Annotated[list[Path], typer.Argument(help="Files or directories, as for `guideminer ingest`.")],
    out: Annotated[Path, typer.Option("--out", help="The allow-terms YAML to write (review it, then pass it to ingest --allow-terms).")],
    fmt: Annotated[str, typer.Option("--format", help="Input format, as for ingest (default: recognised per file).")] = "auto",
    min_share: Annotated[float, typer.Option(help="Least share of conversations in which agents say the word.")] = 0.01,
    max_cue_share: Annotated[float, typer.Option(help="Largest share of those conversations with the word in a name slot.")] = 0.05,
) -> None:
    """Learn the organisation and product words the NER must not redact as PERSON.

    A word agents say, capitalised inside a sentence, in at least --min-share of all conversations
    (and at least 10), and that sits in a name slot ("Hi X,", "This is X from", "my name is X") in
    at most --max-cue-share of them, is the company's vocabulary, not one customer's name; agents'
    own first names fail the second test. Writes OUT with each term's evidence. Nothing is
    redacted differently until ingest is given the file.

    Example: guideminer pii-terms exports/ --out allow_terms.yaml && guideminer ingest exports/ --out ws --allow-terms allow_terms.yaml
    """
    from rich.console import Console

    from guideminer.ingest.pii_allow import corpus_turns, learn_allow_terms, write_allow_terms

    console = Console()
    learned = learn_allow_terms(corpus_turns(inputs, fmt), min_share=min_share, max_cue_share=max_cue_share)
    write_allow_terms(out, learned, ", ".join(str(p) for p in inputs))
    console.print(f"wrote {out}: {len(learned)} term(s)" + (": " + ", ".join(t.term for t in learned[:20]) if learned else ""))


def register(app: typer.Typer) -> None:
    app.command("pii-terms")(pii_terms_command)
