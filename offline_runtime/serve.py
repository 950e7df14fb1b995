"""`guideminer serve`: the agent over HTTP, with an OpenAI-compatible chat endpoint.

Why OpenAI-compatible: existing chat clients and tools speak `/v1/chat/completions`, so the
air-gapped agent drops in without client work. The engine is stateful (route-once, applied
actions), so a chat-completions request maps to a session: the `user` field (or
`session_id`) names it; without one, the session key is a hash of the first user message, so a
client that resends the growing history keeps landing in the same session.

Safety defaults: loopback only unless `allow_remote`, optional bearer API key (constant-time
compare), request bodies above `max_request_bytes` rejected with 413 before parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from guideminer.engine import Engine
from guideminer.offline_runtime.sessions import SessionNotFound, SessionStore

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
SESSION_ID = r"^[A-Za-z0-9_-]{1,128}$"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | None = None


class ChatCompletionRequest(BaseModel):
    model: str = "guideminer"
    messages: list[ChatMessage] = Field(min_length=1)
    user: str | None = Field(None, pattern=SESSION_ID)
    session_id: str | None = Field(None, pattern=SESSION_ID)
    stream: bool = False


class MessageRequest(BaseModel):
    text: str = Field(min_length=1)


def check_bind_host(host: str, allow_remote: bool) -> None:
    if host not in LOOPBACK and not allow_remote:
        raise ValueError(f"refusing to listen on {host}: the agent binds to loopback only unless --allow-remote")


def history_key(messages: list[ChatMessage]) -> str:
    """Session key of a client that resends the whole history: its first user message (clients
    whose conversations can open identically must send `user`)."""
    first = next(m.content for m in messages if m.role == "user")
    return "h" + hashlib.sha256(json.dumps(first).encode()).hexdigest()[:24]


def _guard(app: FastAPI, api_key: str | None, max_request_bytes: int) -> None:
    @app.middleware("http")
    async def limits(request: Request, call_next):
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_request_bytes:
            return JSONResponse({"detail": f"request body over {max_request_bytes} bytes"}, status_code=413)
        body = await request.body()
        if len(body) > max_request_bytes:
            return JSONResponse({"detail": f"request body over {max_request_bytes} bytes"}, status_code=413)
        if api_key is not None and request.url.path != "/healthz":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return JSONResponse({"detail": "missing or wrong API key"}, status_code=401)
        return await call_next(request)


def create_app(engine: Engine, *, api_key: str | None = None,
               max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, store: SessionStore | None = None) -> FastAPI:
    """The FastAPI app; `store` defaults to in-memory sessions."""
    app = FastAPI(title=f"guideminer agent: {engine.spec.name}", docs_url=None, redoc_url=None, openapi_url=None)
    sessions = store or SessionStore(engine)
    _guard(app, api_key, max_request_bytes)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "agent": engine.spec.name}

    @app.post("/v1/sessions")
    def create_session() -> dict:
        return {"session_id": sessions.create().session_id}

    @app.post("/v1/sessions/{session_id}/messages")
    def post_message(session_id: str, message: MessageRequest) -> dict:
        reply = _respond(sessions, session_id, message.text)
        return {"session_id": session_id, "reply": reply.text, "trace": reply.trace.model_dump(mode="json")}

    @app.get("/v1/sessions/{session_id}/trace")
    def get_trace(session_id: str) -> dict:
        try:
            session = sessions.get(session_id)
        except SessionNotFound:
            raise HTTPException(404, f"no session {session_id!r}") from None
        return {"session_id": session_id, "department_id": session.department_id,
                "traces": [t.model_dump(mode="json") for t in session.traces]}

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatCompletionRequest) -> dict:
        if body.stream:
            raise HTTPException(400, "stream=true is not supported: send stream=false")
        last = body.messages[-1]
        if last.role != "user" or not (last.content or "").strip():
            raise HTTPException(400, "the last message must be a non-empty user message")
        session_id = body.session_id or body.user or history_key(body.messages)
        sessions.create(session_id)
        reply = _respond(sessions, session_id, last.content or "")
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": body.model, "system_fingerprint": session_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    return app


def _respond(sessions: SessionStore, session_id: str, text: str):
    try:
        return sessions.respond(session_id, text)
    except SessionNotFound:
        raise HTTPException(404, f"no session {session_id!r}") from None


def serve(engine: Engine, *, host: str = "127.0.0.1", port: int = 8080, allow_remote: bool = False,
          api_key: str | None = None, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
    import uvicorn

    check_bind_host(host, allow_remote)
    uvicorn.run(create_app(engine, api_key=api_key, max_request_bytes=max_request_bytes),
                host=host, port=port, log_level="info")
