"""Offline runtime: config, assembly, template composer, sessions, chat, serve, replay.

All of it runs with sockets blocked (pytest-socket), except the one test that starts a real
server on 127.0.0.1 and talks to it with a plain HTTP client.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from engine_fakes import HashedBagOfWordsEmbedder
from fastapi.testclient import TestClient
from runtime_world import mined_workspace
from typer.testing import CliRunner

import guideminer.offline_runtime.cli as runtime_cli
from guideminer.cli import app
from guideminer.engine import load_agent_spec
from guideminer.offline_runtime.assemble import build_engine
from guideminer.offline_runtime.config import RuntimeConfig, load_runtime_config
from guideminer.evaluation.replay import replay_workspace, routing_accuracy
from guideminer.offline_runtime.serve import check_bind_host, create_app
from guideminer.offline_runtime.template_composer import TemplateComposer


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mined_workspace(tmp_path_factory.mktemp("runtime") / "ws")


@pytest.fixture
def engine(workspace: Path):
    return build_engine(load_agent_spec(workspace / "agent.yaml"), RuntimeConfig(), embedder=HashedBagOfWordsEmbedder())


@pytest.fixture
def fake_engine_cli(monkeypatch: pytest.MonkeyPatch):
    """CLI commands build their engine with the hashed fake embedder instead of MiniLM."""
    original = runtime_cli._engine
    monkeypatch.setattr(runtime_cli, "_engine", lambda spec, config, embedder=None, **kwargs:
                        original(spec, config, embedder or HashedBagOfWordsEmbedder(), **kwargs))
    monkeypatch.setattr("guideminer.models.load_embedder", lambda *a, **k: HashedBagOfWordsEmbedder())


def test_runtime_config_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "rt.yaml"
    path.write_text("verifier: {kind: llama, gguf: /models/x.gguf}\nscorer: {kind: telepathy}\n")
    with pytest.raises(ValueError, match=r"rt\.yaml: scorer\.kind"):
        load_runtime_config(path)
    path.write_text("router: {kind: classifier}\n")
    with pytest.raises(ValueError, match="distilled_dir"):
        load_runtime_config(path)
    path.write_text("verifier: {kind: llama, gguf: /models/x.gguf}\nn_threads: 2\n")
    assert load_runtime_config(path).verifier.gguf == "/models/x.gguf"


def test_llama_tasks_share_one_model_instance(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []

    class FakeLlama:
        def __init__(self, path):
            loads.append(path)

    import guideminer.offline_runtime.llama_backend as backend

    monkeypatch.setattr("guideminer.models.gguf.load_gguf", lambda path=None, **kw: FakeLlama(path))
    monkeypatch.setattr(backend, "LlamaConditionVerifier", lambda model: ("verifier", model))
    monkeypatch.setattr(backend, "LlamaComposer", lambda model, **kw: ("composer", model))
    config = RuntimeConfig.model_validate({"verifier": {"kind": "llama"}, "composer": {"kind": "llama"}})
    engine = build_engine(load_agent_spec(workspace / "agent.yaml"), config, embedder=HashedBagOfWordsEmbedder())
    assert loads == ["default"] and engine.verifier[1] is engine.composer[1]


def test_template_composer_uses_canned_text_then_plain_actions(engine) -> None:
    from guideminer.engine import CompositionRequest

    department = next(d for d in engine.spec.departments if d.guidelines)
    guideline = department.guidelines[0]
    request = CompositionRequest(department=department, conversation=(), instructions=(guideline,), observations=(),
                                 tool_outcomes=(), variables={}, canned_hints=department.canned_responses)
    canned = next(c for c in department.canned_responses if guideline.id in c.guideline_ids)
    assert TemplateComposer().compose(request) == canned.template.replace("{{", "{").replace("}}", "}")
    bare = CompositionRequest(department=department, conversation=(), instructions=(guideline,), observations=(),
                              tool_outcomes=(), variables={})
    assert TemplateComposer().compose(bare) == f"({guideline.action})"


def test_template_composer_never_falls_back_to_the_action_text_of_an_unfillable_template() -> None:
    from guideminer.engine import CannedResponse, CompositionRequest, Department, Guideline

    guideline = Guideline(id="events", condition="customer asks for events", action="say “I found 2 upcoming events.”")
    other = Guideline(id="city", condition="customer wants events", action="ask for the city")
    canned = (CannedResponse(id="c-events", template="I found {count} upcoming events.", guideline_ids=("events",)),
              CannedResponse(id="c-city", template="Which city?", guideline_ids=("city",)))
    department = Department(id="d", name="d", description="events", guidelines=(guideline, other), canned_responses=canned)

    def reply(variables):
        return TemplateComposer().compose(CompositionRequest(
            department=department, conversation=(), instructions=(guideline, other), observations=(),
            tool_outcomes=(), variables=variables, canned_hints=canned))

    assert reply({}) == "Which city?"  # not "(say “I found 2 upcoming events.”)"
    assert reply({"count": 3}) == "I found 3 upcoming events.\n\nWhich city?"


def test_replay_scores_routing_guidelines_and_latency(workspace: Path, engine) -> None:
    report = replay_workspace(engine, workspace, gold_key="outcome")
    from guideminer.ingest.workspace import read_conversations

    assert report.conversations == read_conversations(workspace).height and report.turns > report.conversations
    assert report.routing_gold_conversations > 0 and 0.0 <= report.routing_accuracy <= 1.0
    assert report.events > 0 and report.guideline_recall is not None
    assert report.p95_ms >= report.p50_ms > 0
    assert set(report.summary()) == {"routing_accuracy", "guideline_precision", "guideline_recall", "p50_ms",
                                     "p95_ms", "turns"}


def test_routing_accuracy_maps_each_department_to_its_majority_label_and_unrouted_is_wrong() -> None:
    routed = {"a": "d1", "b": "d1", "c": "d1", "d": "d2", "e": None, "f": None, "g": "d2"}
    gold = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "z", "f": "z"}  # g has no gold label
    accuracy, labels, n = routing_accuracy(routed, gold)
    # the never-routed e and f vote for no department and count as wrong (they used to form a
    # pseudo-department "None" labelled z, and so counted as correct)
    assert labels == {"d1": "x", "d2": "y"} and n == 6 and accuracy == pytest.approx(3 / 6)


def test_replay_cli_last_line_is_json(workspace: Path, fake_engine_cli) -> None:
    result = CliRunner().invoke(app, ["replay", str(workspace / "agent.yaml"), str(workspace), "--json",
                                      "--limit", "10", "--gold-key", "outcome"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert payload["turns"] > 0 and set(payload) >= {"routing_accuracy", "p50_ms", "p95_ms"}


def test_chat_reads_lines_and_shows_the_trace(workspace: Path, fake_engine_cli) -> None:
    result = CliRunner().invoke(app, ["chat", str(workspace / "agent.yaml"), "--trace"],
                                input="my package arrived damaged\n/quit\nnever read\n")
    assert result.exit_code == 0, result.output
    assert "agent>" in result.output and "department" in result.output and "ms" in result.output
    assert result.output.count("agent>") == 1


def test_http_api_sessions_chat_completions_and_limits(engine) -> None:
    client = TestClient(create_app(engine, api_key="s3cret", max_request_bytes=2048))
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["models"]["router"].startswith("embedding-router")
    assert client.post("/v1/sessions").status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    session_id = client.post("/v1/sessions", headers=auth).json()["session_id"]
    assert len(session_id) >= 24
    answer = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "my package arrived damaged"}, headers=auth)
    assert answer.status_code == 200 and answer.json()["reply"]
    assert client.get(f"/v1/sessions/{session_id}/trace").status_code == 401  # the key guards traces too
    trace = client.get(f"/v1/sessions/{session_id}/trace", headers=auth).json()
    assert len(trace["traces"]) == 1
    body = {"messages": [{"role": "user", "content": "where is my refund"}], "user": "u1"}
    completion = client.post("/v1/chat/completions", json=body, headers=auth).json()
    assert completion["object"] == "chat.completion" and completion["choices"][0]["message"]["role"] == "assistant"
    assert completion["system_fingerprint"] != "u1" and completion["guideminer"]["session_id"] == "u1"
    follow = {"messages": body["messages"] + [completion["choices"][0]["message"], {"role": "user", "content": "thanks"}],
              "user": "u1"}
    client.post("/v1/chat/completions", json=follow, headers=auth)
    assert len(client.get("/v1/sessions/u1/trace", headers=auth).json()["traces"]) == 2
    assert client.post("/v1/chat/completions", content=b"x" * 4096, headers=auth).status_code == 413
    assert client.post("/v1/sessions/nope/messages", json={"text": "hi"}, headers=auth).status_code == 404
    models = client.get("/v1/models", headers=auth).json()["data"]
    assert [m["object"] for m in models] == ["model"]
    wrong = client.post("/v1/chat/completions", json={**body, "model": "gpt-4o"}, headers=auth)
    assert wrong.status_code == 404 and models[0]["id"] in wrong.json()["detail"]
    health = client.get("/healthz").json()["latency_ms"]
    assert health["count"] == 3 and health["p95"] >= health["p50"] > 0


def test_identical_openings_stay_apart_and_no_session_id_comes_from_content(engine) -> None:
    client = TestClient(create_app(engine))
    opening = {"messages": [{"role": "user", "content": "hello"}]}
    first = client.post("/v1/chat/completions", json=opening, headers={"X-Session-Id": "alice-1"}).json()
    second = client.post("/v1/chat/completions", json=opening, headers={"X-Session-Id": "bob-1"}).json()
    assert first["guideminer"]["session_id"] == "alice-1" and second["guideminer"]["session_id"] == "bob-1"
    client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "my package arrived damaged"}]},
                headers={"X-Session-Id": "alice-1"})
    alice = client.get("/v1/sessions/alice-1/trace").json()["traces"]
    bob = client.get("/v1/sessions/bob-1/trace").json()["traces"]
    assert (len(alice), len(bob)) == (2, 1)
    stateless = client.post("/v1/chat/completions", json=opening).json()
    assert stateless["guideminer"]["session_id"] is None and "system_fingerprint" in stateless
    assert client.get(f"/v1/sessions/{stateless['system_fingerprint']}/trace").status_code == 404
    assert client.post("/v1/chat/completions", json=opening, headers={"X-Session-Id": "../etc"}).status_code == 422


def test_stateless_request_answers_as_a_fresh_server_would(workspace: Path) -> None:
    def fresh_engine():
        return build_engine(load_agent_spec(workspace / "agent.yaml"), RuntimeConfig(), embedder=HashedBagOfWordsEmbedder())

    turns = ["hello", "my package arrived damaged", "thanks"]
    named = TestClient(create_app(fresh_engine()))
    history: list[dict] = []
    for text in turns:
        history.append({"role": "user", "content": text})
        reply = named.post("/v1/chat/completions", json={"messages": history, "session_id": "s1"}).json()
        history.append(reply["choices"][0]["message"])
    busy = TestClient(create_app(fresh_engine()))  # a server that has served other customers first
    for other in ("I want a refund", "where is my order"):
        busy.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": other}], "user": "x"})
    parts = [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]} for m in history[:-1]]
    stateless = busy.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "be nice"}, *parts]})
    assert stateless.status_code == 200
    assert stateless.json()["choices"][0]["message"]["content"] == history[-1]["content"]
    last = stateless.json()["guideminer"]["trace"]
    expected = named.get("/v1/sessions/s1/trace").json()["traces"][-1]
    assert last["routing"]["department_id"] == expected["routing"]["department_id"]
    assert [d["status"] for d in last["guidelines"]] == [d["status"] for d in expected["guidelines"]]
    image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert busy.post("/v1/chat/completions", json=image).status_code == 400


def test_stream_true_sends_openai_chunks(engine) -> None:
    client = TestClient(create_app(engine))
    body = {"messages": [{"role": "user", "content": "my package arrived damaged"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    plain = client.post("/v1/chat/completions", json={**body, "stream": False}).json()
    assert streamed == plain["choices"][0]["message"]["content"]


def test_concurrent_sessions_each_keep_their_turns(engine) -> None:
    client = TestClient(create_app(engine))
    ids = [client.post("/v1/sessions").json()["session_id"] for _ in range(4)]

    def talk(session_id: str) -> None:
        for text in ("hello", "my package arrived damaged", "thanks"):
            assert client.post(f"/v1/sessions/{session_id}/messages", json={"text": text}).status_code == 200

    threads = [threading.Thread(target=talk, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(client.get(f"/v1/sessions/{i}/trace").json()["traces"]) == 3 for i in ids)


def test_remote_bind_needs_explicit_permission() -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        check_bind_host("0.0.0.0", allow_remote=False)
    check_bind_host("0.0.0.0", allow_remote=True)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_real_server_answers_a_plain_http_client(engine) -> None:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 20
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                              json={"messages": [{"role": "user", "content": "where is my refund"}]}, timeout=20)
        assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_export_leaves_departments_without_guidelines_out_of_routing(workspace: Path) -> None:
    from guideminer.mining.export_spec import export_workspace

    result = export_workspace(workspace, None, auto_accept=True, name="test agent")
    assert all(d.guidelines for d in result.spec.departments)
    omitted = {k for k in result.skipped if k.startswith("department:")}
    exported = {d.id for d in result.spec.departments}
    assert not omitted & {f"department:{d}" for d in exported}


def test_chat_with_a_missing_or_broken_spec_names_the_file_and_the_problem(tmp_path):
    from typer.testing import CliRunner

    from guideminer.cli import app

    wide = {"COLUMNS": "1000"}  # the error box must not wrap the long tmp path
    missing = CliRunner().invoke(app, ["chat", str(tmp_path / "agent.yaml")], input="hi\n", env=wide)
    assert missing.exit_code == 2 and "cannot read file" in missing.output and "Traceback" not in missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ndepartments: [1]\n")
    result = CliRunner().invoke(app, ["chat", str(broken)], input="hi\n", env=wide)
    assert result.exit_code == 2 and "broken.yaml" in result.output and "departments" in result.output
