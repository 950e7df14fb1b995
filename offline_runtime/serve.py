"""`guideminer serve`: the agent over HTTP, with an OpenAI-compatible chat endpoint.

Why OpenAI-compatible: existing chat clients and tools speak `/v1/chat/completions`, so the
air-gapped agent drops in without client work. The engine is stateful (route once, applied
actions), and a chat-completions request maps to a session in one of two ways:
- named: the client names its session (`X-Session-Id` header, else `session_id`, else `user`
  in the body), or asks for a server-issued random one (`POST /v1/sessions`). The server's
  session is authoritative: only the request's last user message is a new turn.
- stateless (no id): the session is rebuilt from the messages the request carries, the agent's
  earlier replies taken as given (`guideminer.offline_runtime.sessions.rebuild_session`), so the
  reply depends only on what that client sent and nothing is stored.
A session id is never derived from content, and a trace is readable only through its session's
id (and the API key when one is set).

Also: content as a string or as OpenAI text content parts, `stream: true` (server-sent events),
`/v1/models`, `/healthz` with the model of each task and turn-latency percentiles. Safety
defaults: loopback only unless `allow_remote`, optional bearer API key (constant-time compare),
request bodies above `max_request_bytes` rejected with 413 before parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from guideminer.engine import Engine, Message, Reply
from guideminer.offline_runtime.sessions import SESSION_ID_PATTERN, SessionNotFound, SessionStore

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
DEFAULT_MODEL_ALIAS = "guideminer"
ROLES = {"user": "customer", "assistant": "agent"}  # system/developer/tool messages are not turns


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text; non-text content parts are refused (the agent reads text only)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        refused = sorted({p.type for p in self.content if p.type != "text"})
        if refused:
            raise HTTPException(400, f"content part type(s) {', '.join(refused)} are not supported: send text parts")
        return "\n".join(p.text or "" for p in self.content)


class ChatCompletionRequest(BaseModel):
    model: str = DEFAULT_MODEL_ALIAS
    messages: list[ChatMessage] = Field(min_length=1)
    user: str | None = Field(None, pattern=SESSION_ID_PATTERN)
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN)
    stream: bool = False


class MessageRequest(BaseModel):
    text: str = Field(min_length=1)


class SessionRequest(BaseModel):
    variables: dict[str, str | int | float | bool] = Field(default_factory=dict)


def check_bind_host(host: str, allow_remote: bool) -> None:
    if host not in LOOPBACK and not allow_remote:
        raise ValueError(f"refusing to listen on {host}: the agent binds to loopback only unless --allow-remote")


def served_model_id(engine: Engine) -> str:
    """The id `/v1/models` lists: the agent's name as a slug (a client may also say "guideminer")."""
    slug = "".join(c if c.isalnum() else "-" for c in engine.spec.name.lower()).strip("-")
    return f"guideminer-{slug}" if slug else DEFAULT_MODEL_ALIAS


def fingerprint(engine: Engine) -> str:
    """`system_fingerprint`: which spec and models answered (changes when either does)."""
    payload = engine.spec.model_dump_json() + json.dumps(engine.model_ids, sort_keys=True)
    return "gm-" + hashlib.sha256(payload.encode()).hexdigest()[:16]


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


def split_request(messages: list[ChatMessage]) -> tuple[list[Message], str]:
    """(earlier customer/agent messages, the new customer text): the trailing user messages
    are the new turn; system, developer and tool messages are not conversation turns."""
    turns = [(ROLES[m.role], m.text()) for m in messages if m.role in ROLES]
    new: list[str] = []
    while turns and turns[-1][0] == "customer":
        new.insert(0, turns.pop()[1])
    text = "\n".join(new).strip()
    if not text:
        raise HTTPException(400, "the last message must be a non-empty user message")
    return [Message(role=role, text=t, turn=0) for role, t in turns if t.strip()], text


def create_app(engine: Engine, *, api_key: str | None = None,
               max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, store: SessionStore | None = None) -> FastAPI:
    """The FastAPI app; `store` defaults to in-memory sessions."""
    app = FastAPI(title=f"guideminer agent: {engine.spec.name}", docs_url=None, redoc_url=None, openapi_url=None)
    sessions = store or SessionStore(engine)
    model_id, system_fingerprint = served_model_id(engine), fingerprint(engine)
    _guard(app, api_key, max_request_bytes)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "agent": engine.spec.name, "model": model_id, "models": engine.model_ids,
                "latency_ms": sessions.latencies.summary(), "sessions": len(sessions)}

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "created": 0, "owned_by": "guideminer"}]}

    @app.post("/v1/sessions")
    def create_session(body: SessionRequest | None = None) -> dict:
        return {"session_id": sessions.create(variables=body.variables if body else None).session_id}

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
    def chat_completions(body: ChatCompletionRequest, request: Request):
        if body.model not in (model_id, DEFAULT_MODEL_ALIAS):
            raise HTTPException(404, f"model {body.model!r} is not served here; /v1/models lists {model_id!r}")
        history, text = split_request(body.messages)
        session_id = _named_session(request, body)
        if session_id is not None:
            sessions.create(session_id)
            reply = _respond(sessions, session_id, text)
        else:
            reply, _ = sessions.respond_stateless(history, text)
        completion = _completion(body.model, system_fingerprint, reply, session_id)
        headers = {"X-Session-Id": session_id} if session_id else {}
        if body.stream:
            return StreamingResponse(_sse(completion, reply.text), media_type="text/event-stream", headers=headers)
        return JSONResponse(completion, headers=headers)

    return app


def _named_session(request: Request, body: ChatCompletionRequest) -> str | None:
    header = request.headers.get("x-session-id")
    if header is not None and not re.fullmatch(SESSION_ID_PATTERN, header):
        raise HTTPException(422, "X-Session-Id may hold 1-128 letters, digits, '-' and '_'")
    return header or body.session_id or body.user


def _completion(model: str, system_fingerprint: str, reply: Reply, session_id: str | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": system_fingerprint,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        # not an OpenAI field (clients ignore it): this turn's trace, this client's data only
        "guideminer": {"session_id": session_id, "trace": reply.trace.model_dump(mode="json")},
    }


def _sse(completion: dict[str, Any], text: str):
    """OpenAI's chunk stream: role, the text in word pieces, the finish reason, [DONE]."""
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict, finish: str | None) -> str:
        return "data: " + json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

    yield chunk({"role": "assistant", "content": ""}, None)
    words = text.split(" ")
    for index, word in enumerate(words):
        yield chunk({"content": word if index == len(words) - 1 else word + " "}, None)
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"


def _respond(sessions: SessionStore, session_id: str, text: str) -> Reply:
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
