"""Tools at run time: the tools file binds spec tool names to callables; end to end over serve."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from engine_fakes import FAKE_CALIBRATION, HashedBagOfWordsEmbedder
from fastapi.testclient import TestClient

from guideminer.engine import AgentSpec, EmbeddingConditionScorer, EmbeddingRouter, Engine, Session
from guideminer.offline_runtime.serve import create_app
from guideminer.offline_runtime.template_composer import TemplateComposer
from guideminer.offline_runtime.tools_extract import LlamaToolArguments, VariablesThenExtractor
from guideminer.offline_runtime.tools_file import ToolsFileError, engine_with_tools, load_tools_file

STATUS_TEMPLATE = "Your order {order_id} is {status}."
QUESTION = "where is my order, has it shipped yet"


def order_spec() -> AgentSpec:
    return AgentSpec.model_validate({"name": "orders", "composition_mode": "canned_fluid", "departments": [{
        "id": "orders", "name": "Orders", "description": "order status", "routing_examples": [QUESTION],
        "tools": [{"name": "order_status", "description": "status of an order",
                   "params": [{"name": "order_id", "type": "string", "pattern": r"^\d{4}$"}]}],
        "guidelines": [{"id": "g_status", "condition": "the customer asks where the order is",
                        "examples": [QUESTION], "action": "tell the order status", "tools": ["order_status"]}],
        "canned_responses": [{"id": "c_status", "template": STATUS_TEMPLATE, "guideline_ids": ["g_status"]}]}]})


def base_engine(spec: AgentSpec) -> Engine:
    embedder = HashedBagOfWordsEmbedder()
    return Engine(spec, router=EmbeddingRouter(embedder, spec, calibration=FAKE_CALIBRATION),
                  scorer=EmbeddingConditionScorer(embedder, spec, calibration=FAKE_CALIBRATION),
                  composer=TemplateComposer())


def tools_yaml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tools.yaml"
    path.write_text(body)
    return path


def test_order_status_tool_end_to_end_over_serve(tmp_path: Path) -> None:
    spec = order_spec()
    path = tools_yaml(tmp_path, "tools:\n  order_status:\n    python: tool_fakes:order_status\n"
                                "    arguments: tool_fakes:OrderQuery\n")
    bound = load_tools_file(path, spec)
    assert bound.unbound == [] and bound.registry.names() == ["order_status"]
    client = TestClient(create_app(engine_with_tools(base_engine(spec), bound)))
    known = client.post("/v1/sessions", json={"variables": {"order_id": "1002"}}).json()["session_id"]
    reply = client.post(f"/v1/sessions/{known}/messages", json={"text": QUESTION}).json()
    assert reply["reply"] == "Your order 1002 is delayed."
    (call,) = reply["trace"]["tool_calls"]
    assert call["arguments"] == {"order_id": "1002"} and call["result"]["status"] == "delayed"
    unknown = client.post("/v1/sessions", json={"variables": {"order_id": "4242"}}).json()["session_id"]
    failed = client.post(f"/v1/sessions/{unknown}/messages", json={"text": QUESTION}).json()
    assert failed["trace"]["tool_calls"][0]["error"]["kind"] == "execution"
    assert "4242" not in failed["reply"] and "LookupError" not in failed["reply"]  # never raw to the customer
    assert failed["reply"] == spec.fallback_message
    missing = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    error = missing["guideminer"]["trace"]["tool_calls"][0]["error"]
    assert error["kind"] == "arguments" and "missing argument(s) order_id" in error["message"]
    assert "{" not in missing["choices"][0]["message"]["content"]


def test_tools_file_problems_are_named_at_load(tmp_path: Path) -> None:
    spec = order_spec()
    cases = {
        "tools:\n  shipping_quote:\n    python: tool_fakes:order_status\n": "declares no tool 'shipping_quote'",
        "tools:\n  order_status:\n    python: tool_fakes:nope\n": "cannot import 'tool_fakes:nope'",
        "tools:\n  order_status:\n    python: tool_fakes:needs_more\n": "needs undeclared parameter(s) region",
        "tools:\n  order_status:\n    http: {url: 'http://10.0.0.8/status'}\n": "on localhost",
        "tools:\n  order_status: {}\n": "exactly one of",
        "tool:\n  order_status: {}\n": "tool: Extra inputs",
    }
    for body, fragment in cases.items():
        with pytest.raises(ToolsFileError, match="tools.yaml") as error:
            load_tools_file(tools_yaml(tmp_path, body), spec)
        assert fragment in str(error.value), (body, str(error.value))
    assert load_tools_file(None, spec).unbound == ["order_status"]


class _FakeLlama:
    """complete_json answers a scripted JSON object, validated by the requested schema."""

    model_id = "fake-llama"

    def __init__(self, answer: dict) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def complete_json(self, prompt, schema, *, max_tokens=256):
        self.prompts.append(prompt)
        return schema.model_validate_json(json.dumps(self.answer))


def test_llama_extraction_takes_stated_arguments_and_refuses_invented_ones(tmp_path: Path) -> None:
    spec = order_spec()
    bound = load_tools_file(tools_yaml(tmp_path, "tools:\n  order_status:\n    python: tool_fakes:order_status\n"), spec)
    engine = engine_with_tools(base_engine(spec), bound)
    stated = Engine(spec, router=engine.router, scorer=engine.scorer, composer=engine.composer, tools=engine.tools,
                    argument_extractor=VariablesThenExtractor(LlamaToolArguments(_FakeLlama({"order_id": "1001"}))))
    reply = stated.respond(Session(), f"{QUESTION}? it is order 1001")
    assert reply.text == "Your order 1001 is shipped."
    invented = Engine(spec, router=engine.router, scorer=engine.scorer, composer=engine.composer, tools=engine.tools,
                      argument_extractor=VariablesThenExtractor(LlamaToolArguments(_FakeLlama({"order_id": "1002"}))))
    call = invented.respond(Session(), QUESTION).trace.tool_calls[0]
    assert call.error.kind == "arguments" and "does not appear in the customer's messages" in call.error.message


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_http_tool_on_localhost(tmp_path: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            arguments = json.loads(self.rfile.read(int(self.headers["content-length"])))
            body = json.dumps({"order_id": arguments["order_id"], "status": "out for delivery"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = order_spec()
        url = f"http://127.0.0.1:{server.server_port}/status"
        bound = load_tools_file(tools_yaml(tmp_path, f"tools:\n  order_status:\n    http: {{url: '{url}'}}\n"), spec)
        reply = engine_with_tools(base_engine(spec), bound).respond(Session(variables={"order_id": "1001"}), QUESTION)
        assert reply.text == "Your order 1001 is out for delivery."
    finally:
        server.shutdown()


def unwired_spec() -> AgentSpec:
    """As exported by `guideminer export`: templates with fields and a claim, no tool listed anywhere."""
    return AgentSpec.model_validate({"name": "orders", "composition_mode": "canned_strict", "departments": [{
        "id": "orders", "name": "Orders", "description": "order status", "routing_examples": [QUESTION],
        "guidelines": [
            {"id": "g_status", "condition": "the customer asks where the order is", "examples": [QUESTION],
             "action": "tell the order status"},
            {"id": "g_cancel", "condition": "the customer wants to stop a purchase",
             "examples": ["stop that purchase now"], "action": "cancel it"},
            {"id": "g_hours", "condition": "the customer asks the opening hours",
             "examples": ["when are you open"], "action": "give the hours"}],
        "canned_responses": [
            {"id": "c_status", "template": STATUS_TEMPLATE, "guideline_ids": ["g_status"]},
            {"id": "c_cancel", "template": "I've cancelled it.", "guideline_ids": ["g_cancel"], "needs_tool": True},
            {"id": "c_hours", "template": "We are open 9 to 5.", "guideline_ids": ["g_hours"]}]}]})


def test_tools_file_attaches_a_tool_by_field_and_by_claim(tmp_path: Path) -> None:
    spec = unwired_spec()
    body = ("tools:\n  order_status:\n    python: tool_fakes:order_status\n    fills: [status]\n    backs_claims: true\n"
            "    description: status of an order\n    params: [{name: order_id, type: string}]\n")
    bound = load_tools_file(tools_yaml(tmp_path, body), spec)
    assert bound.attached == {"order_status": ["g_cancel", "g_status"]}
    wired = {g.id: g.tools for g in bound.spec.departments[0].guidelines}
    assert wired == {"g_status": ("order_status",), "g_cancel": ("order_status",), "g_hours": ()}
    assert [t.name for t in bound.spec.departments[0].tools] == ["order_status"]
    engine = engine_with_tools(base_engine(bound.spec), bound)
    reply = engine.respond(Session(variables={"order_id": "1001"}), QUESTION)
    assert reply.text == "Your order 1001 is shipped." and reply.trace.tool_calls[0].requested_by == ["g_status"]
    before = base_engine(spec).respond(Session(variables={"order_id": "1001"}), QUESTION)
    assert before.text == spec.fallback_message  # unwired: {status} has nothing to fill it
    claim = engine.respond(Session(variables={"order_id": "1002"}), "stop that purchase now")
    assert claim.text == "I've cancelled it." and claim.trace.tool_calls[0].requested_by == ["g_cancel"]
    unbacked = base_engine(spec).respond(Session(variables={"order_id": "1002"}), "stop that purchase now")
    assert unbacked.text == spec.fallback_message  # no tool ran: nothing may claim the cancellation


def test_tools_file_attachment_problems_are_named(tmp_path: Path) -> None:
    spec = unwired_spec()
    cases = {"    serves: [g_nope]\n": "tools.order_status.serves: no guideline 'g_nope'",
             "    fills: [delivery_date]\n": "no canned response has field(s) 'delivery_date'"}
    for extra, fragment in cases.items():
        body = "tools:\n  order_status:\n    python: tool_fakes:order_status\n" + extra
        with pytest.raises(ToolsFileError, match="tools.yaml") as error:
            load_tools_file(tools_yaml(tmp_path, body), spec)
        assert fragment in str(error.value), (extra, str(error.value))
