"""Zendesk ticket-comment exports (the public API JSON shapes).

Accepted layouts: `{"tickets": [ticket, ...], "users": [...]}` where each ticket carries its
`comments` list (as merged from /api/v2/tickets + /tickets/{id}/comments?include=users); a
single `{"ticket": {...}, "comments": [...], "users": [...]}` response; a JSON array of
tickets; or JSONL with one ticket (with `comments`) per line.

Role: the comment's embedded `author.role`, else the sideloaded user's `role`, else the
ticket's requester is the customer; end-user -> customer, agent/admin -> agent. A comment whose
author role cannot be established makes the ticket a Rejection naming the author id.
Comments with `public: false` are internal notes: excluded and counted, never shown as turns.
Bodies: `html_body` converted to text with the stdlib HTML parser, else `plain_body`/`body`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guideminer.ingest.readers.base import (
    DEFAULT_OPTIONS,
    Location,
    RawConversation,
    ReaderItem,
    ReaderOptions,
    Rejection,
    html_to_text,
    iter_jsonl,
    load_json_document,
)

ZENDESK_ROLES = {"end-user": "customer", "end_user": "customer", "agent": "agent", "admin": "agent"}
TICKET_METADATA_KEYS = ("subject", "status", "priority", "type", "tags", "created_at", "updated_at", "group_id", "brand_id")
INTERNAL_NOTE = "zendesk internal note (public=false)"


def comment_text(comment: dict[str, Any]) -> Any:
    """Text of a comment, preferring the HTML body (plain_body loses list/paragraph breaks)."""
    if isinstance(comment.get("html_body"), str):
        return html_to_text(comment["html_body"])
    return comment.get("plain_body", comment.get("body"))


def author_role(comment: dict[str, Any], users: dict[Any, str], requester_id: Any) -> str | None:
    """Canonical role of a comment's author, or None when no source says who wrote it."""
    author = comment.get("author")
    author_id = comment.get("author_id", author.get("id") if isinstance(author, dict) else None)
    source_role = author.get("role") if isinstance(author, dict) else None
    source_role = source_role or users.get(author_id)
    if source_role is not None:
        return ZENDESK_ROLES.get(source_role, source_role)
    if author_id is not None and author_id == requester_id:
        return "customer"
    return None


def ticket_payload(ticket: dict[str, Any], comments: list[Any], users: dict[Any, str]) -> tuple[dict[str, Any], Counter[str]] | tuple[str, str]:
    """Canonical dict for one ticket and the count of excluded notes, or (reason, detail)."""
    excluded: Counter[str] = Counter()
    turns: list[Any] = []
    for index, comment in enumerate(comments):
        if not isinstance(comment, dict):
            return ("unrecognised record shape", f"comment {index} is not an object")
        if comment.get("public") is False:
            excluded[INTERNAL_NOTE] += 1
            continue
        role = author_role(comment, users, ticket.get("requester_id"))
        if role is None:
            return ("unknown role", f"comment {index}: author {comment.get('author_id')!r} has no role (not embedded, not in users, not the requester)")
        via = comment.get("via") if isinstance(comment.get("via"), dict) else {}
        metadata = {"comment_id": comment.get("id"), "author_id": comment.get("author_id"), "channel": via.get("channel")}
        turns.append({"role": role, "text": comment_text(comment), "timestamp": comment.get("created_at"), "metadata": metadata})
    metadata = {key: ticket[key] for key in TICKET_METADATA_KEYS if key in ticket}
    metadata["source_format"] = "zendesk"
    return {"conversation_id": ticket.get("id"), "turns": turns, "metadata": metadata}, excluded


def _user_roles(users: Any) -> dict[Any, str]:
    return {user.get("id"): user.get("role") for user in users or [] if isinstance(user, dict)}


def _document_records(path: Path) -> Iterator[tuple[Location, Any, dict[Any, str]] | Rejection]:
    """Records of the file with the users sideloaded beside them (top-level `users`)."""
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        for item in iter_jsonl(path):
            yield item if isinstance(item, Rejection) else (*item, {})
        return
    document = load_json_document(path)
    if isinstance(document, Rejection):
        yield document
        return
    shared: dict[Any, str] = {}
    records: Any = [document]
    if isinstance(document, list):
        records = document
    elif isinstance(document, dict) and isinstance(document.get("tickets"), list):
        records, shared = document["tickets"], _user_roles(document.get("users"))
    for index, record in enumerate(records):
        yield Location(str(path), record=index), record, shared


def _tickets(path: Path) -> Iterator[tuple[Location, Any, dict[str, Any], Any, dict[Any, str]] | Rejection]:
    """Yield (location, record, ticket, comments, user roles) from any accepted layout."""
    for item in _document_records(path):
        if isinstance(item, Rejection):
            yield item
            continue
        location, record, shared = item
        if not isinstance(record, dict):
            yield Rejection(location, "unrecognised record shape", record, "not a Zendesk ticket object")
            continue
        ticket = record["ticket"] if isinstance(record.get("ticket"), dict) else record
        users = {**shared, **_user_roles(record.get("users"))}
        yield location, record, ticket, record.get("comments", ticket.get("comments")), users


def read_zendesk(path: Path, options: ReaderOptions = DEFAULT_OPTIONS) -> Iterator[ReaderItem]:
    """Yield one RawConversation per ticket (public comments as turns)."""
    for item in _tickets(path):
        if isinstance(item, Rejection):
            yield item
            continue
        location, record, ticket, comments, users = item
        if not isinstance(comments, list):
            yield Rejection(location, "missing field", record, f"ticket {ticket.get('id')!r} has no 'comments' list")
            continue
        result = ticket_payload(ticket, comments, users)
        if isinstance(result[0], str):
            yield Rejection(location, result[0], record, f"ticket {ticket.get('id')!r}: {result[1]}")
            continue
        payload, excluded = result
        yield RawConversation(location, payload, source=record, excluded=excluded)
