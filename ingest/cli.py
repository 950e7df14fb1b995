"""`guideminer ingest`: a thin typer wrapper over `guideminer.ingest.pipeline.ingest_paths`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from guideminer.ingest.normalize import DEFAULT_MAX_TURN_CHARS
from guideminer.ingest.pipeline import DEFAULT_BATCH_SIZE, ingest_paths
from guideminer.ingest.readers import FORMATS, ColumnMapping
from guideminer.ingest.report import IngestReport

_FORMATS_TEXT = ", ".join(FORMATS)
# One string per paragraph: rich re-wraps help text, so hard line breaks inside a paragraph
# would come out ragged.
INGEST_HELP = "\n\n".join(
    [
        "Ingest support conversations into a typed Parquet workspace.",
        "INPUT: files or directories (walked recursively; hidden files skipped). "
        f"Formats ({_FORMATS_TEXT}): canonical JSONL (one per line: "
        '{"conversation_id", "turns": [{"role": customer|agent|system, "text", "timestamp"?, "metadata"?}], "metadata"?}), '
        "one-row-per-turn CSV/Parquet (see the column options), OpenAI chat-messages JSONL, Schema-Guided Dialogue "
        "JSON, ABCD JSON, Zendesk ticket-comment exports, Intercom conversation exports and ConvLab-3 unified-format "
        "datasets (data.zip, read in place, or its data/dialogues.json). 'auto' recognises each "
        "file by extension and keys; unrecognised files are listed in the report as skipped.",
        "OUTPUT in WORKSPACE: conversations.parquet/ and turns.parquet/ (directories of Parquet parts; read them "
        "with guideminer.ingest.workspace.read_conversations / read_turns), quarantine.jsonl (every rejected "
        "record with file, line or record index, reason, detail) and ingest_report.json (counts of this run).",
        "PII in turn text, in metadata strings and in quarantined records is redacted before anything is written, "
        "unless --no-redact is given. Re-running on the same files adds nothing; new files append; a known "
        "conversation id with different content is quarantined, never overwritten. A turn longer than "
        "--max-turn-chars quarantines its conversation as 'turn too long'.",
        "Example: guideminer ingest exports/ tickets.json --out ws",
        "Redaction (Presidio with the packaged spaCy NER and call recognisers) replaces names, addresses, dates of "
        "birth, ids, emails, phones, cards, IBANs... with typed placeholders, numbered per conversation "
        "(<PERSON_1>); --id-patterns adds a deployment's own id shapes (see ingest/pii_id_patterns.yaml), "
        "--allow-terms its organisation, product and catalogue names that are never a person (see ingest/pii_allow_terms.yaml; "
        "`guideminer pii-terms` learns a reviewable list from the corpus). Both are kept in WORKSPACE/pii_settings.json "
        "for later audits.",
        "Example: guideminer ingest chats.csv --out ws --id-column chat_id --role-map user=customer --role-map bot=agent",
    ]
)


def _role_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or target not in ("customer", "agent", "system"):
            raise typer.BadParameter(f"{pair!r}: expected SOURCE=customer|agent|system, e.g. user=customer")
        mapping[source] = target
    return mapping


class RichProgress:
    """Files-done bar plus a running record count; silent when stderr is not a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("ingest", total=None, records=0)

    def file_started(self, path: Path, index: int, total: int) -> None:
        self.progress.update(self.task, total=total, completed=index, description=path.name)

    def records_read(self, count: int) -> None:
        self.progress.update(self.task, records=count)


def _pii_settings(id_patterns: list[Path], allow_terms: list[Path]):
    from guideminer.ingest.pii_settings import PiiSettings

    return PiiSettings.from_files(id_patterns, allow_terms)


def print_report(console: Console, report: IngestReport) -> None:
    table = Table(title=f"ingest -> {report.workspace}", show_header=False)
    rows = [
        ("files read", report.files_read),
        ("files skipped", len(report.files_skipped)),
        ("records read", report.records_read),
        ("conversations written", report.conversations_written),
        ("turns written", report.turns_written),
        ("quarantined", report.quarantined),
        ("skipped (identical content)", report.skipped_identical),
        ("redacted", "yes" if report.redacted else "NO (--no-redact)"),
        ("seconds", report.seconds),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    for reason, count in sorted(report.quarantined_by_reason.items()):
        table.add_row(f"  quarantined: {reason}", str(count))
    for reason, count in sorted(report.excluded_turns_by_reason.items()):
        table.add_row(f"  not a turn: {reason}", str(count))
    for kind, count in sorted(report.redactions_by_type.items()):
        table.add_row(f"  redacted: {kind}", str(count))
    for skipped in report.files_skipped:
        table.add_row("  skipped file", f"{skipped.file}: {skipped.reason}")
    if report.quarantined:
        table.add_row("quarantine", str(Path(report.workspace) / "quarantine.jsonl"))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the `ingest`, `pii-terms` and `audit-pii` commands to the root app."""

    @app.command("ingest", help=INGEST_HELP)
    def ingest(
        inputs: list[Path] = typer.Argument(..., help="Files or directories to ingest."),
        out: Path = typer.Option(..., "--out", "-o", help="Workspace directory (created if missing)."),
        fmt: str = typer.Option("auto", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
        no_redact: bool = typer.Option(False, "--no-redact", help="Store text unredacted (PII stays in the workspace)."),
        id_column: str = typer.Option("conversation_id", help="CSV/Parquet: conversation id column."),
        role_column: str = typer.Option("role", help="CSV/Parquet: role column."),
        text_column: str = typer.Option("text", help="CSV/Parquet: text column."),
        timestamp_column: str = typer.Option("timestamp", help="CSV/Parquet: timestamp column ('' for none)."),
        order_column: str = typer.Option("", help="CSV/Parquet: numeric turn order column (default: file order)."),
        conversation_column: list[str] = typer.Option([], help="CSV/Parquet: column lifted into conversation metadata (repeatable)."),
        role_map: list[str] = typer.Option([], help="CSV/Parquet: map a role value, e.g. --role-map user=customer (repeatable)."),
        max_turn_chars: int = typer.Option(DEFAULT_MAX_TURN_CHARS, help="Quarantine conversations with a longer turn."),
        batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, help="Conversations per Parquet row group (bounds memory)."),
        id_patterns: list[Path] = typer.Option([], "--id-patterns", help="YAML of extra id patterns redacted as <ID> (repeatable; added to the shipped ones)."),
        allow_terms: list[Path] = typer.Option([], "--allow-terms", help="YAML of organisation/product/catalogue terms never redacted as PERSON (repeatable; see `guideminer pii-terms`)."),
        redact_processes: int = typer.Option(1, "--redact-processes", min=1, help="Worker processes for the redaction's NER (each loads its own model, ~170 MiB; worth it on large corpora with free cores)."),
    ) -> None:
        if fmt not in FORMATS:
            raise typer.BadParameter(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", param_hint="--format")
        columns = ColumnMapping(
            conversation_id=id_column,
            role=role_column,
            text=text_column,
            timestamp=timestamp_column or None,
            turn_order=order_column or None,
            conversation_columns=tuple(conversation_column),
            role_values=_role_map(role_map),
        )
        console = Console(stderr=True)
        columns_shown = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[records]} records"), TimeElapsedColumn()]
        try:
            with Progress(*columns_shown, console=console, disable=not console.is_terminal, transient=True) as progress:
                pii = _pii_settings(id_patterns, allow_terms)
                report = ingest_paths(
                    inputs, out, fmt, redact=not no_redact, columns=columns, pii=pii, redact_processes=redact_processes,
                    max_turn_chars=max_turn_chars, batch_size=batch_size, progress=RichProgress(progress),
                )
        except (FileNotFoundError, RuntimeError, ValueError) as exc:  # missing input, workspace locked, bad id patterns
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from None
        print_report(Console(), report)

    from guideminer.ingest import audit_cli, pii_cli

    pii_cli.register(app)
    audit_cli.register(app)
