"""The shipped GGUFs through the product's own loader, on this machine's llama.cpp build.

Why slow tests: a llama.cpp wheel built with native CPU flags once selected AMX kernels that
crash (SIGILL) on the next machine; only loading a real quantized model and running its
matmuls catches that. Q4_K_M Gemma 3 270M: a scored choice and a grammar-constrained JSON
call; SmolLM2-135M-Instruct: a chat-template JSON call. Each runs in a few seconds.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from guideminer.engine import Message
from guideminer.models.gguf import llama_system_info, load_gguf
from guideminer.offline_runtime.config import load_runtime_config
from guideminer.offline_runtime.llama_backend import LlamaConditionVerifier

pytestmark = pytest.mark.slow
Q4_K_M = 15  # llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_M, the shipped Gemma's general.file_type


class Department(BaseModel):
    department: Literal["returns", "delivery", "billing"]


def test_the_library_has_no_amx_or_avx512_compiled_in() -> None:
    info = llama_system_info()
    assert "AVX2 = 1" in info, info
    assert not re.search(r"\b(AMX\w*|AVX512\w*) = 1", info), info


@pytest.fixture(scope="module")
def gemma():
    return load_gguf("default", n_ctx=1024)


def test_shipped_gemma_is_q4_k_and_scores_the_right_choice(gemma) -> None:
    assert int(gemma.llama.metadata["general.file_type"]) == Q4_K_M
    verifier = LlamaConditionVerifier(gemma)
    conversation = [Message(role="customer", text="Hi, my parcel arrived today but the lamp inside is broken.", turn=1)]
    damaged = verifier.log_odds(conversation, "the customer reports a damaged item")
    refund = verifier.log_odds(conversation, "the customer asks about a refund")
    assert damaged > refund


def test_shipped_gemma_writes_schema_valid_json(gemma) -> None:
    prompt = ("Route the customer message to a department (returns, delivery or billing).\n"
              "Message: I was charged twice for my order.\nJSON: ")
    assert gemma.complete_json(prompt, Department, max_tokens=24).department in ("returns", "delivery", "billing")


def test_shipped_smollm2_answers_through_its_chat_template() -> None:
    smol = load_gguf("smollm2-135m-instruct-q4_1", n_ctx=1024)
    assert smol.has_chat_template
    messages = [{"role": "system", "content": "Pick the department for the customer's message: returns, delivery or billing."},
                {"role": "user", "content": "I was charged twice for my order."}]
    assert smol.chat_json(messages, Department, max_tokens=24).department in ("returns", "delivery", "billing")


def test_readme_runtime_config_verifier_loads_the_shipped_gemma(tmp_path: Path) -> None:
    from guideminer.offline_runtime.assemble import ModelPool

    path = tmp_path / "rt.yaml"
    path.write_text(textwrap.dedent("""\
        distilled_dir: demo-workspace/distilled   # guideminer distill demo-workspace --out demo-workspace/distilled
        router: {kind: classifier}
        scorer: {kind: classifier}
        verifier: {kind: llama, gguf: default}    # or the path of any .gguf you own
        composer: {kind: template}
    """))
    config = load_runtime_config(path)
    model = ModelPool(config).llama(config.verifier.gguf)
    assert model.model_id.startswith("gemma-3-270m-q4_k_m@")
