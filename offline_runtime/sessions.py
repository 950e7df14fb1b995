"""Sessions for chat and serve: one lock per session, one lock around the engine's models.

Why two levels: a session must see its turns in order (two requests on one session would
otherwise interleave half-turns), while different sessions may proceed concurrently up to the
point where they share a model; the engine's model calls (llama.cpp, ONNX sessions shared by
every session) are serialised by `engine_lock`, which is what makes concurrent sessions safe on
a 2-core machine without a pool of model copies.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from guideminer.engine import Engine, Reply, Session


class SessionNotFound(KeyError):
    pass


class SessionStore:
    def __init__(self, engine: Engine, directory: Path | None = None) -> None:
        self.engine = engine
        self.directory = Path(directory) if directory is not None else None
        self.engine_lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def create(self, session_id: str | None = None) -> Session:
        with self._guard:
            session_id = session_id or uuid.uuid4().hex
            session = self._sessions.get(session_id) or self._load(session_id) or Session(session_id=session_id)
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
        session = self.get(session_id)
        with self._locks[session_id], self.engine_lock:
            reply = self.engine.respond(session, text)
        self._save(session)
        return reply

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
