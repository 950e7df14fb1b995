"""Sessions for chat and serve: one lock per session, and no lock around the engine.

Why per session only: a session must see its turns in order (two requests on one session would
otherwise interleave half-turns), while different sessions share nothing but the engine's
models. The engine itself keeps no per-conversation state, and every model that is not
thread-safe serialises its own calls (`guideminer.models.gguf.LlamaModel.lock`, the embedder
memo in `guideminer.engine.embedding.MemoizingEmbedder`), so a slow turn of one customer does
not hold every other customer's turn behind it.

Session ids are never derived from content: a client names its session, or asks the server
for one (`create()`: 144 random bits), or sends none and is served statelessly
(`respond_stateless`: the session is rebuilt from the history the request carries, so the
reply depends only on what that client sent).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guideminer.engine import Engine, Message, Reply, Session

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"


class SessionNotFound(KeyError):
    pass


class LatencyWindow:
    """The last `size` turn latencies (ms), for percentiles in health checks."""

    def __init__(self, size: int = 2048) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, milliseconds: float) -> None:
        with self._lock:
            self._values.append(milliseconds)

    def summary(self) -> dict[str, float | int | None]:
        with self._lock:
            values = np.asarray(self._values, dtype=np.float64)
        if values.size == 0:
            return {"count": 0, "p50": None, "p95": None, "p99": None}
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return {"count": int(values.size), "p50": round(float(p50), 2), "p95": round(float(p95), 2),
                "p99": round(float(p99), 2)}


def new_session_id() -> str:
    """A server-issued id nobody can guess (24 URL-safe characters, 144 random bits)."""
    return secrets.token_urlsafe(18)


class SessionStore:
    def __init__(self, engine: Engine, directory: Path | None = None) -> None:
        self.engine = engine
        self.directory = Path(directory) if directory is not None else None
        self.latencies = LatencyWindow()
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, session_id: str | None = None, variables: dict[str, Any] | None = None) -> Session:
        """A session under `session_id` (created if new) or under a fresh random id."""
        with self._guard:
            session_id = session_id or new_session_id()
            session = self._sessions.get(session_id) or self._load(session_id) or Session(session_id=session_id)
            if variables:
                session.variables.update(variables)
            self._sessions[session_id] = session
            self._locks.setdefault(session_id, threading.Lock())
            return session

    def get(self, session_id: str) -> Session:
        with self._guard:
            session = self._sessions.get(session_id) or self._load(session_id)
            if session is None:
                raise SessionNotFound(session_id)
            self._sessions[session_id] = session
            self._locks.setdefault(session_id, threading.Lock())
            return session

    def respond(self, session_id: str, text: str) -> Reply:
        """One turn of a stored session; turns of one session run one at a time."""
        session = self.get(session_id)
        with self._locks[session_id]:
            started = time.perf_counter()
            reply = self.engine.respond(session, text)
            self.latencies.add((time.perf_counter() - started) * 1000.0)
            self._save(session)
        return reply

    def respond_stateless(self, history: Sequence[Message], text: str,
                          variables: dict[str, Any] | None = None) -> tuple[Reply, Session]:
        """Answer `text` after `history` (what the client sent) in a throw-away session: see
        `rebuild_session`. Nothing is stored, so nothing of it is readable later."""
        session = rebuild_session(self.engine, history, variables)
        started = time.perf_counter()
        reply = self.engine.respond(session, text)
        self.latencies.add((time.perf_counter() - started) * 1000.0)
        return reply, session

    def _load(self, session_id: str) -> Session | None:
        path = self._path(session_id)
        return Session.from_json(path.read_text()) if path is not None and path.is_file() else None

    def _save(self, session: Session) -> None:
        path = self._path(session.session_id)
        if path is not None:
            path.write_text(session.to_json())

    def _path(self, session_id: str) -> Path | None:
        if self.directory is None:
            return None
        if not session_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"session id {session_id!r} may only hold letters, digits, '-' and '_'")
        return self.directory / f"{session_id}.json"


def rebuild_session(engine: Engine, history: Sequence[Message], variables: dict[str, Any] | None = None) -> Session:
    """A session holding `history`, each customer turn routed and matched as the engine would
    have, with the agent's replies taken as given (`Engine.restore`: no tool runs again, no
    composer). Consecutive messages of one role are joined; agent messages before the first
    customer message stay as an opening agent turn."""
    session = Session(session_id=f"stateless-{new_session_id()}", variables=dict(variables or {}))
    merged: list[tuple[str, str]] = []
    for message in history:
        if merged and merged[-1][0] == message.role:
            merged[-1] = (message.role, merged[-1][1] + "\n" + message.text)
        else:
            merged.append((message.role, message.text))
    if merged and merged[0][0] == "agent":
        session.messages.append(Message(role="agent", text=merged.pop(0)[1], turn=0))
    for index in range(0, len(merged), 2):
        customer = merged[index][1]
        agent = merged[index + 1][1] if index + 1 < len(merged) else ""
        engine.restore(session, customer, agent)
    return session
