"""A local GGUF model through llama.cpp, for narrow tasks: scored choices and validated JSON.

Why these two operations only: small models (the shipped Gemma 3 270M is a *base* model) are
reliable when the answer space is closed. `choice_logprobs` reads the model's log-probability of
each allowed answer (no sampling, nothing to parse); `complete_json` constrains decoding with a
grammar built from a pydantic schema and then validates the text with that same model, raising
`ModelOutputError` when it does not validate — never a silent fallback to free text.

Latency: one `Llama` per loaded file, a fixed thread count, and callers put the fixed part of a
prompt (instructions, department guidelines) first, so llama.cpp's prefix cache re-uses its
evaluated tokens across calls. llama.cpp objects are not thread-safe: every call holds `lock`.
Nothing is downloaded: the path comes from `guideminer.models.registry.resolve_gguf`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from guideminer.models.loading import default_num_threads
from guideminer.models.registry import resolve_gguf

Schema = TypeVar("Schema", bound=BaseModel)


class ModelOutputError(ValueError):
    """The model's output did not validate against the requested schema."""


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class LlamaModel:
    """One llama.cpp model; `model_id` names the file and its sha256 prefix for traces."""

    def __init__(self, llama: Any, model_id: str) -> None:
        self.llama = llama
        self.model_id = model_id
        self.lock = threading.Lock()

    def tokenize(self, text: str, *, bos: bool) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=bos, special=False)

    def choice_logprobs(self, prompt: str, options: list[str]) -> dict[str, float]:
        """log P(option | prompt) of each option (summed over its tokens), greedy-free scoring."""
        if not options:
            raise ValueError("choice_logprobs needs at least one option")
        prompt_tokens = self.tokenize(prompt, bos=True)
        scores: dict[str, float] = {}
        with self.lock:
            for option in options:
                option_tokens = self.tokenize(prompt + option, bos=True)[len(prompt_tokens):]
                if not option_tokens:
                    raise ValueError(f"option {option!r} adds no token after the prompt")
                scores[option] = self._sequence_logprob(prompt_tokens, option_tokens)
        return scores

    def _sequence_logprob(self, prompt_tokens: list[int], option_tokens: list[int]) -> float:
        """Evaluate prompt + option once (prefix cache keeps the shared prompt) and sum the
        log-probabilities the model gave each option token at its position."""
        llama = self.llama
        tokens = prompt_tokens + option_tokens
        common = _common_prefix(list(llama._input_ids), tokens)
        if common == len(tokens):  # identical sequence evaluated last time: re-evaluate its last token
            common -= 1
        llama.n_tokens = common
        llama.eval(tokens[common:])
        start = len(prompt_tokens) - 1
        total = 0.0
        for offset, token in enumerate(option_tokens):
            total += float(_log_softmax(np.asarray(llama.scores[start + offset], dtype=np.float64))[token])
        return total

    def complete_json(self, prompt: str, schema: type[Schema], *, max_tokens: int = 256) -> Schema:
        """Grammar-constrained completion parsed and validated as `schema`."""
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_json_schema(json.dumps(schema.model_json_schema()), verbose=False)
        with self.lock:
            output = self.llama.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, grammar=grammar)
        text = output["choices"][0]["text"]
        try:
            return schema.model_validate_json(text)
        except ValidationError as error:
            raise ModelOutputError(f"{self.model_id} produced output that is not a valid {schema.__name__}: "
                                   f"{text[:200]!r} ({error.errors()[0]['msg']})") from error


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def load_gguf(path_or_name: str | Path | None = None, *, n_ctx: int = 2048, n_threads: int | None = None,
              seed: int = 0) -> LlamaModel:
    """Load a registered GGUF (default: the shipped Gemma 3 270M) or a local .gguf file."""
    from llama_cpp import Llama

    entry = resolve_gguf(path_or_name)
    llama = Llama(model_path=str(entry.path), n_ctx=n_ctx, n_threads=n_threads or default_num_threads(),
                  n_threads_batch=n_threads or default_num_threads(), seed=seed, logits_all=True, verbose=False)
    return LlamaModel(llama, f"{entry.name}@{entry.sha256[:12]}")
