"""llama.cpp backend on a tiny random GGUF: scored choices (equal to a full-logits reference),
validated JSON, chat templates, the engine Protocols, thread safety, and the extra-buffer-type
decision; one slow test with the shipped Gemma 3 270M (more in test_slow_llama.py)."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from engine_fakes import FixedRouter, FixedScorer, one_department_spec
from pydantic import BaseModel
from tiny_gguf import build_tiny_gguf

from guideminer.engine import (
    CompositionRequest, ConditionScorer, Guideline, ConditionVerifier, DepartmentRouter, Engine, Message, ReplyComposer, Session,
)
from guideminer.models import gguf as gguf_module
from guideminer.models.gguf import LlamaModel, ModelOutputError, extra_buffer_types_enabled, load_gguf
from guideminer.models.registry import ModelNotAvailableError
from guideminer.offline_runtime.llama_backend import (
    LlamaBatchJudge, LlamaComposer, LlamaConditionScorer, LlamaConditionVerifier, LlamaRouter, batch_prompt,
    chat_messages,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LlamaModel:
    path = build_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    return load_gguf(path, n_ctx=1024, n_threads=1)


CONVERSATION = [Message(role="customer", text="my parcel is broken", turn=1)]


def test_scored_choice_is_finite_and_cache_consistent(tiny: LlamaModel) -> None:
    first = tiny.choice_logprobs("is the customer a b? answer:", [" yes", " no", " maybe not"])
    assert set(first) == {" yes", " no", " maybe not"} and all(math.isfinite(v) and v < 0 for v in first.values())
    tiny.choice_logprobs("something else entirely", [" yes"])
    again = tiny.choice_logprobs("is the customer a b? answer:", [" yes", " no", " maybe not"])
    assert again == pytest.approx(first, abs=1e-4)  # the prefix cache never changes a score


def test_json_output_is_validated_never_free_text(tiny: LlamaModel) -> None:
    class Answer(BaseModel):
        reply: str

    with pytest.raises(ModelOutputError, match="not a valid Answer"):
        tiny.complete_json("reply:", Answer, max_tokens=3)  # the grammar cannot close the object in 3 tokens

    class Fake:  # a completion that ignores the grammar must still be rejected
        def create_completion(self, *args, **kwargs):
            return {"choices": [{"text": '{"answer": 1}'}]}

    with pytest.raises(ModelOutputError):
        LlamaModel(Fake(), "fake").complete_json("x", Answer)


def test_backends_satisfy_the_engine_protocols_and_plug_in(tiny: LlamaModel) -> None:
    verifier, router, composer = LlamaConditionVerifier(tiny), LlamaRouter(tiny), LlamaComposer(tiny, max_tokens=2)
    assert isinstance(verifier, ConditionVerifier) and isinstance(router, DepartmentRouter)
    assert isinstance(composer, ReplyComposer) and isinstance(LlamaConditionScorer(tiny), ConditionScorer)
    spec = one_department_spec([Guideline(id="damaged", condition="the item is broken", action="ask for a photo"),
                                Guideline(id="late", condition="the parcel is late", action="check tracking")])
    decision = router.route(CONVERSATION, spec.departments)
    assert decision.department_id == spec.departments[0].id and sum(decision.scores.values()) == pytest.approx(1)
    guideline = spec.departments[0].guidelines[0]
    assert isinstance(verifier.verify(CONVERSATION, guideline), bool)
    scores = LlamaConditionScorer(tiny).score(CONVERSATION, spec.departments[0].guidelines)
    assert all(0 < s.score < 1 for s in scores.values())
    engine = Engine(spec, router=FixedRouter(spec.departments[0].id), scorer=FixedScorer({guideline.id: 0.5}),
                    composer=composer, verifier=verifier)
    try:
        reply = engine.respond(Session(), "my parcel is broken")
        assert reply.trace.decision(guideline.id).decided_by == "verifier"
    except ModelOutputError as error:  # 2 tokens rarely close a JSON object: the error surfaces
        assert "not a valid ComposedReply" in str(error)
    request = CompositionRequest(department=spec.departments[0], conversation=CONVERSATION,
                                 instructions=spec.departments[0].guidelines[:1], observations=(), tool_outcomes=(),
                                 variables={})
    assert "Follow these instructions" in composer.prompt(request)


def test_calls_from_two_threads_are_serialised(tiny: LlamaModel) -> None:
    results: list[dict] = []

    def ask() -> None:
        for _ in range(5):
            results.append(tiny.choice_logprobs("is the customer a b? answer:", [" yes", " no"]))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 10 and all(r == pytest.approx(results[0], abs=1e-4) for r in results)


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="never downloads"):
        load_gguf(tmp_path / "missing.gguf")


@pytest.mark.slow
def test_shipped_gemma_prefers_the_right_condition() -> None:
    verifier = LlamaConditionVerifier(load_gguf())
    conversation = [Message(role="customer", text="Hi, my parcel arrived today but the lamp inside is broken.", turn=1)]
    damaged = verifier.log_odds(conversation, "the customer reports a damaged item")
    refund = verifier.log_odds(conversation, "the customer asks about a refund")
    assert damaged > refund


AMX_BUILD = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |"
PORTABLE_BUILD = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | REPACK = 1 |"


def test_extra_buffer_types_are_off_for_a_library_with_amx_unless_asked() -> None:
    assert extra_buffer_types_enabled(PORTABLE_BUILD, None) is True
    assert extra_buffer_types_enabled(AMX_BUILD, None) is False
    assert extra_buffer_types_enabled(AMX_BUILD, "") is False  # an empty variable is unset
    assert extra_buffer_types_enabled(AMX_BUILD, "1") is True and extra_buffer_types_enabled(AMX_BUILD, "on") is True
    assert extra_buffer_types_enabled(PORTABLE_BUILD, "0") is False
    assert extra_buffer_types_enabled("CPU : AMX_INT8 = 0 | AVX2 = 1 |", None) is True  # listed but not built
    with pytest.raises(ValueError, match="GUIDEMINER_LLAMA_EXTRA_BUFTS"):
        extra_buffer_types_enabled(PORTABLE_BUILD, "sometimes")


def test_load_gguf_passes_the_decision_into_the_model_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    path = build_tiny_gguf(tmp_path / "t.gguf")
    seen: list[bool] = []

    class RecordingLlama:  # builds its params the way llama-cpp-python's Llama does
        def __init__(self, **kwargs) -> None:
            seen.append(llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts)

    monkeypatch.setattr(llama_cpp, "Llama", RecordingLlama)
    monkeypatch.delenv(gguf_module.EXTRA_BUFTS_ENV, raising=False)
    monkeypatch.setattr(gguf_module, "llama_system_info", lambda: AMX_BUILD)
    load_gguf(path)
    monkeypatch.setattr(gguf_module, "llama_system_info", lambda: PORTABLE_BUILD)
    load_gguf(path)
    monkeypatch.setenv(gguf_module.EXTRA_BUFTS_ENV, "0")
    load_gguf(path)
    assert seen == [False, True, False]
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True  # restored after loading


def test_tiny_model_loads_with_extra_buffer_types_off(tmp_path: Path) -> None:
    model = load_gguf(build_tiny_gguf(tmp_path / "t.gguf"), n_ctx=256, n_threads=1, extra_buffer_types=False)
    assert all(math.isfinite(v) for v in model.choice_logprobs("the customer", [" yes", " no"]).values())


def test_scores_equal_a_full_logits_reference(tiny: LlamaModel, tmp_path: Path) -> None:
    """Logits only where a score is read must give what evaluating every position gives."""
    from llama_cpp import Llama

    reference = Llama(model_path=str(build_tiny_gguf(tmp_path / "ref.gguf")), n_ctx=256, n_threads=1,
                      logits_all=True, verbose=False)
    prompt, options = "is the customer a b? answer:", [" yes", " no", " maybe not", " the customer"]
    expected = {}
    for option in options:
        prompt_tokens = reference.tokenize(prompt.encode(), add_bos=True, special=False)
        tokens = reference.tokenize((prompt + option).encode(), add_bos=True, special=False)
        reference.reset()
        reference.eval(tokens)
        expected[option] = sum(
            float(gguf_module._log_softmax(np.asarray(reference.scores[i - 1]))[tokens[i]])
            for i in range(len(prompt_tokens), len(tokens)))
    assert any(len(tiny.tokenize(o, bos=False)) > 1 for o in options)  # multi-token options are covered
    assert tiny.choice_logprobs(prompt, options) == pytest.approx(expected, abs=1e-3)


CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"


class Pick(BaseModel):
    answer: Literal["yes", "no"]


def test_chat_json_uses_the_gguf_template_and_validates(tmp_path: Path) -> None:
    chat = load_gguf(build_tiny_gguf(tmp_path / "chat.gguf", chat_template=CHAT_TEMPLATE), n_ctx=512, n_threads=1)
    assert chat.has_chat_template
    picked = chat.chat_json([{"role": "user", "content": "is the parcel broken?"}], Pick, max_tokens=64)
    assert picked.answer in ("yes", "no")

    class Fake:  # a reply that ignores the schema is rejected, and the request carries it
        metadata = {"tokenizer.chat_template": CHAT_TEMPLATE}
        requests: list[dict] = []

        def create_chat_completion(self, **kwargs):
            self.requests.append(kwargs)
            return {"choices": [{"message": {"content": '{"answer": "perhaps"}'}}]}

    fake = Fake()
    with pytest.raises(ModelOutputError, match="not a valid Pick"):
        LlamaModel(fake, "fake").chat_json([{"role": "user", "content": "x"}], Pick)
    assert fake.requests[0]["response_format"] == {"type": "json_object", "schema": Pick.model_json_schema()}


def test_chat_json_needs_a_chat_template(tiny: LlamaModel) -> None:
    with pytest.raises(ModelOutputError, match="no chat template"):
        tiny.chat_json([{"role": "user", "content": "x"}], Pick)


def test_chat_composer_sends_briefing_then_turns(tmp_path: Path) -> None:
    spec = one_department_spec([Guideline(id="damaged", condition="the item is broken", action="ask for a photo")])
    conversation = [Message(role="customer", text="it is broken", turn=1), Message(role="agent", text="sorry!", turn=1),
                    Message(role="customer", text="what now?", turn=2)]
    request = CompositionRequest(department=spec.departments[0], conversation=conversation,
                                 instructions=spec.departments[0].guidelines, observations=(), tool_outcomes=(), variables={})
    messages = chat_messages(request)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "ask for a photo" in messages[0]["content"] and messages[-1]["content"] == "what now?"
    with pytest.raises(ValueError, match="completion' or 'chat"):
        LlamaComposer(None, prompt="free")  # type: ignore[arg-type]


def test_batch_judge_returns_one_verdict_per_guideline(tiny: LlamaModel) -> None:
    guidelines = [Guideline(id=f"g{i}", condition=f"the customer a {c}", action="x") for i, c in enumerate("abcdefg")]
    judge = LlamaBatchJudge(tiny, batch_size=3)
    scores = judge.score(CONVERSATION, guidelines)
    assert set(scores) == {g.id for g in guidelines} and {s.score for s in scores.values()} <= {0.0, 1.0}
    sheet = batch_prompt(CONVERSATION, ["x", "y"])
    assert sheet.index("my parcel is broken") < sheet.index("c1: x") < sheet.index("c2: y") and sheet.endswith("Answers:\n")
    asked: list[str] = []

    class Scripted:  # the answer sheet grows by each verdict before the next is read
        model_id = "scripted"

        def choice_logprobs(self, prompt, options):
            asked.append(prompt[prompt.index("Answers:"):])
            return {" yes": -1.0, " no": -2.0} if len(asked) == 1 else {" yes": -3.0, " no": -0.5}

    assert LlamaBatchJudge(Scripted()).judge(CONVERSATION, ["x", "y"]) == [True, False]  # type: ignore[arg-type]
    assert asked == ["Answers:\nc1:", "Answers:\nc1: yes\nc2:"]


def test_tool_arguments_follow_the_tools_own_schema(tmp_path: Path) -> None:
    from guideminer.engine import ToolArgumentExtractor
    from guideminer.engine.spec import ToolParam, ToolSpec
    from guideminer.offline_runtime.llama_backend import LlamaToolArguments

    tool = ToolSpec(name="lookup", description="find an order", params=(ToolParam(name="kind", enum=("a", "b")),))
    chat = load_gguf(build_tiny_gguf(tmp_path / "chat.gguf", chat_template=CHAT_TEMPLATE), n_ctx=512, n_threads=1)
    for extractor in (LlamaToolArguments(chat, prompt="chat", max_tokens=48), LlamaToolArguments(chat, max_tokens=48)):
        assert isinstance(extractor, ToolArgumentExtractor)
        assert extractor.extract(tool, CONVERSATION, {"order": 7})["kind"] in ("a", "b")
    assert "order: 7" in LlamaToolArguments(chat).instruction(tool, {"order": 7})


def test_runtime_config_binds_an_instruct_gguf_per_task(tmp_path: Path) -> None:
    from guideminer.engine.tools import SessionVariableArguments
    from guideminer.offline_runtime.assemble import build_engine
    from guideminer.offline_runtime.config import RuntimeConfig
    from guideminer.offline_runtime.llama_backend import LlamaToolArguments

    path = build_tiny_gguf(tmp_path / "inst.gguf", chat_template=CHAT_TEMPLATE)
    spec = one_department_spec([Guideline(id="damaged", condition="the item is broken", action="ask for a photo")])
    from engine_fakes import HashedBagOfWordsEmbedder

    config = RuntimeConfig.model_validate({"composer": {"kind": "llama", "gguf": str(path), "prompt": "chat"},
                                           "tool_arguments": {"kind": "llama", "gguf": str(path), "prompt": "chat"},
                                           "verifier": {"kind": "llama", "gguf": str(path), "max_calls": 3}, "n_ctx": 512})
    engine = build_engine(spec, config, embedder=HashedBagOfWordsEmbedder())
    assert engine.composer.style == "chat" and isinstance(engine.argument_extractor, LlamaToolArguments)
    assert engine.composer.model is engine.argument_extractor.model is engine.verifier.model  # one loaded instance
    assert engine.settings.matching.max_verifier_calls == 3
    plain = build_engine(spec, RuntimeConfig(), embedder=HashedBagOfWordsEmbedder())
    assert isinstance(plain.argument_extractor, SessionVariableArguments) and plain.settings.matching.max_verifier_calls == 8
