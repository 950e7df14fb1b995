"""llama.cpp backend on a tiny random GGUF: scored choices, validated JSON, the engine Protocols,
and thread safety; one slow test with the shipped Gemma 3 270M."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from engine_fakes import FixedRouter, FixedScorer, one_department_spec
from pydantic import BaseModel
from tiny_gguf import build_tiny_gguf

from guideminer.engine import (
    CompositionRequest, ConditionScorer, Guideline, ConditionVerifier, DepartmentRouter, Engine, Message, ReplyComposer, Session,
)
from guideminer.models.gguf import LlamaModel, ModelOutputError, load_gguf
from guideminer.models.registry import ModelNotAvailableError
from guideminer.offline_runtime.llama_backend import (
    LlamaComposer, LlamaConditionScorer, LlamaConditionVerifier, LlamaRouter,
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
