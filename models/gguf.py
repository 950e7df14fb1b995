"""A local GGUF model through llama.cpp, for narrow tasks: scored choices and validated JSON.

Why these operations only: small models (the shipped Gemma 3 270M is a *base* model) are
reliable when the answer space is closed. `choice_logprobs` reads the model's log-probability of
each allowed answer (no sampling, nothing to parse); `complete_json` constrains decoding with a
grammar built from a pydantic schema and then validates the text with that same model, raising
`ModelOutputError` when it does not validate — never a silent fallback to free text.
`chat_json` is the same for instruct models, through the chat template stored in the GGUF.

Latency: one `Llama` per loaded file, a fixed thread count, logits computed only where a score
is read (the last prompt token and an option's own tokens; Gemma's vocabulary is 262k, so
logits for every prompt token cost as much as the transformer itself), and callers put the
fixed part of a prompt first, so the evaluated prefix in the KV cache is re-used across calls.
llama.cpp objects are not thread-safe: every call holds `lock`.

Portability: llama.cpp's "extra buffer types" pick weight layouts for special kernels (AMX
tiles, repacked AVX2 blocks). A library with AMX compiled in selects AMX kernels that die with
SIGILL where the CPU (or the hypervisor) does not enable AMX, so `extra_buffer_types_enabled`
turns them off for such a library unless $GUIDEMINER_LLAMA_EXTRA_BUFTS says otherwise.
Nothing is downloaded: the path comes from `guideminer.models.registry.resolve_gguf`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from guideminer.models.loading import default_num_threads
from guideminer.models.registry import resolve_gguf

Schema = TypeVar("Schema", bound=BaseModel)
EXTRA_BUFTS_ENV = "GUIDEMINER_LLAMA_EXTRA_BUFTS"  # "1"/"on": always, "0"/"off": never, unset: decide
_AMX_FEATURE = re.compile(r"\bAMX\w*\s*=\s*1")
_PARAMS_LOCK = threading.Lock()


class ModelOutputError(ValueError):
    """The model's output did not validate against the requested schema."""


def extra_buffer_types_enabled(system_info: str, override: str | None) -> bool:
    """Whether llama.cpp may use extra buffer types, from its system info and the env override.

    Off when the library reports AMX compiled in (its AMX buffer type is then chosen for
    quantized matmuls and SIGILLs on CPUs or VMs without AMX tiles); on otherwise, where they
    only select repacked layouts for instructions the build already requires.
    """
    if override is not None and override.strip():
        value = override.strip().lower()
        if value in ("1", "on", "true", "yes"):
            return True
        if value in ("0", "off", "false", "no"):
            return False
        raise ValueError(f"${EXTRA_BUFTS_ENV}={override!r}: use 1/on or 0/off (unset: decided from the library)")
    return _AMX_FEATURE.search(system_info) is None


def llama_system_info() -> str:
    """llama.cpp's compiled-in CPU features, e.g. 'CPU : SSE3 = 1 | AVX2 = 1 | ...'."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")


@contextlib.contextmanager
def _model_params(use_extra_bufts: bool) -> Iterator[None]:
    """Make `Llama(...)` build its model params with `use_extra_bufts` set.

    llama-cpp-python 0.3.36 has no constructor argument for it and loads the model inside
    `__init__` from `llama_model_default_params()`, so that factory is wrapped for the duration
    of one construction (under a lock: other loads in this process see the unwrapped one).
    """
    from llama_cpp import llama_cpp as low

    original = low.llama_model_default_params

    def params():
        value = original()
        value.use_extra_bufts = use_extra_bufts
        return value

    with _PARAMS_LOCK:
        low.llama_model_default_params = params
        try:
            yield
        finally:
            low.llama_model_default_params = original


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class LlamaModel:
    """One llama.cpp model; `model_id` names the file and its sha256 prefix for traces."""

    def __init__(self, llama: Any, model_id: str) -> None:
        self.llama = llama
        self.model_id = model_id
        self.lock = threading.Lock()

    def tokenize(self, text: str, *, bos: bool) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=bos, special=False)

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.llama, "metadata", {}).get("tokenizer.chat_template"))

    def choice_logprobs(self, prompt: str, options: Sequence[str]) -> dict[str, float]:
        """log P(option | prompt) of each option (summed over its tokens), greedy-free scoring."""
        if not options:
            raise ValueError("choice_logprobs needs at least one option")
        prompt_tokens = self.tokenize(prompt, bos=True)
        continuations = {}
        for option in options:
            tokens = self.tokenize(prompt + option, bos=True)[len(prompt_tokens):]
            if not tokens:
                raise ValueError(f"option {option!r} adds no token after the prompt")
            continuations[option] = tokens
        with self.lock:
            first = _log_softmax(self._eval_prompt(prompt_tokens))
            return {option: self._option_logprob(prompt_tokens, tokens, first)
                    for option, tokens in continuations.items()}

    def _eval_prompt(self, prompt_tokens: list[int]) -> np.ndarray:
        """Evaluate the prompt past the cached common prefix; the logits after its last token."""
        common = _common_prefix(list(self.llama._input_ids), prompt_tokens)
        if common == len(prompt_tokens):  # all cached: re-evaluate the last token for its logits
            common -= 1
        self.llama.n_tokens = common
        return self._decode(prompt_tokens[common:], all_logits=False)[-1]

    def _option_logprob(self, prompt_tokens: list[int], tokens: list[int], first: np.ndarray) -> float:
        total = float(first[tokens[0]])
        if len(tokens) > 1:
            self.llama.n_tokens = len(prompt_tokens)
            rows = self._decode(tokens[:-1], all_logits=True)
            total += sum(float(_log_softmax(row)[token]) for row, token in zip(rows, tokens[1:]))
        return total

    def _decode(self, tokens: list[int], *, all_logits: bool) -> np.ndarray:
        """Append `tokens` at `llama.n_tokens` (dropping any KV cache past it); returns the logits
        of the last token, or of every token when `all_logits`, as rows of the vocabulary."""
        llama = self.llama
        llama._ctx.kv_cache_seq_rm(-1, llama.n_tokens, -1)
        rows: list[np.ndarray] = []
        for start in range(0, len(tokens), llama.n_batch):
            batch = tokens[start:start + llama.n_batch]
            n_past = llama.n_tokens
            llama._batch.set_batch(batch=batch, n_past=n_past, logits_all=all_logits)
            llama._ctx.decode(llama._batch)
            llama.input_ids[n_past:n_past + len(batch)] = batch
            llama.n_tokens += len(batch)
            n_rows = len(batch) if all_logits else 1
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(n_rows, llama.n_vocab()))
            rows.extend(np.array(row) for row in logits)
        return np.stack(rows[-len(tokens):] if all_logits else rows[-1:])

    def complete_json(self, prompt: str, schema: type[Schema], *, max_tokens: int = 256) -> Schema:
        """Grammar-constrained completion parsed and validated as `schema`."""
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_json_schema(json.dumps(schema.model_json_schema()), verbose=False)
        with self.lock:
            output = self.llama.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, grammar=grammar)
        return self._validated(output["choices"][0]["text"], schema)

    def chat_json(self, messages: Sequence[dict[str, str]], schema: type[Schema], *, max_tokens: int = 256) -> Schema:
        """An instruct model's reply, formatted with the GGUF's own chat template, decoded under
        the schema's grammar and validated as `schema`."""
        if not self.has_chat_template:
            raise ModelOutputError(f"{self.model_id} has no chat template in its GGUF metadata "
                                   "(tokenizer.chat_template): bind it with prompt: completion")
        with self.lock:
            output = self.llama.create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=0.0,
                response_format={"type": "json_object", "schema": schema.model_json_schema()})
        return self._validated(output["choices"][0]["message"]["content"] or "", schema)

    def _validated(self, text: str, schema: type[Schema]) -> Schema:
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
              seed: int = 0, extra_buffer_types: bool | None = None) -> LlamaModel:
    """Load a registered GGUF ("default"/None: the shipped Gemma 3 270M) or a local .gguf file.

    `extra_buffer_types` None = `extra_buffer_types_enabled(llama_system_info(), $GUIDEMINER_LLAMA_EXTRA_BUFTS)`.
    """
    from llama_cpp import Llama

    entry = resolve_gguf(path_or_name)
    if extra_buffer_types is None:
        extra_buffer_types = extra_buffer_types_enabled(llama_system_info(), os.environ.get(EXTRA_BUFTS_ENV))
    threads = n_threads or default_num_threads()
    with _model_params(use_extra_bufts=extra_buffer_types):
        llama = Llama(model_path=str(entry.path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                      seed=seed, logits_all=False, verbose=False)
    return LlamaModel(llama, f"{entry.name}@{entry.sha256[:12]}")
