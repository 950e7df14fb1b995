"""Which model does which per-turn task: the runtime config (YAML or JSON, `--runtime-config`).

Why per task: routing, cheap condition scoring, verification and reply writing are different
narrow tasks; each is bound to its own model and the cheapest that is right wins (a distilled
classifier before an SLM call). Several tasks naming the same GGUF share one loaded instance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_GGUF = "default"  # the shipped Gemma 3 270M Q4_K_M (guideminer.models.registry resolves it)
PromptStyle = Literal["completion", "chat"]  # chat: the GGUF's own chat template (instruct models)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouterBinding(_Strict):
    kind: Literal["embedding", "classifier", "llama"] = "embedding"
    gguf: str = DEFAULT_GGUF  # kind llama: a GGUF path or "default"


class ScorerBinding(_Strict):
    kind: Literal["embedding", "classifier"] = "embedding"


class VerifierBinding(_Strict):
    kind: Literal["none", "llama"] = "none"
    gguf: str = DEFAULT_GGUF
    # Verifier calls per turn, given to the guidelines the scorer is least sure of (the rest take
    # the policy's unsure default); null = every unsure guideline, however many. 8 bounds a turn
    # to 8 short condition evaluations after one conversation evaluation (idle 2-core machine,
    # exported demo and call-style agents: p95 0.88 / 0.94 s per turn; docs/results.md).
    max_calls: int | None = Field(8, ge=0)


class ComposerBinding(_Strict):
    kind: Literal["template", "llama"] = "template"
    gguf: str = DEFAULT_GGUF
    prompt: PromptStyle = "completion"  # chat for an instruct GGUF (docs/runtime.md)


class ToolArgumentsBinding(_Strict):
    kind: Literal["session", "llama"] = "session"  # session: each parameter from the session variable
    gguf: str = DEFAULT_GGUF
    prompt: PromptStyle = "completion"


class MatchingBinding(_Strict):
    """The condition cascade's thresholds on the scorer's calibrated score (engine/matching.py)."""

    accept: float = Field(0.7, gt=0.0, le=1.0)  # holds without a verifier
    reject: float = Field(0.3, ge=0.0, lt=1.0)  # does not hold; in between: the verifier decides
    # the best-scoring guideline of a message / sentence holds from this score on when no
    # verifier decided it (engine/matching.py, item 2b); null: only accept/verifier decide
    # 0.3 = the reject threshold: measured best of 0.2 / 0.3 / 0.5 / off on SGD and demo held-out
    # splits (docs/results.md, "An agent that answers")
    best_match_floor: float | None = Field(0.3, gt=0.0, le=1.0)
    # a first routing opens a department on a best match only from this router confidence on
    # (greetings the router barely places get the receptionist's question instead); 0.5, not the
    # accept threshold 0.7: "my kettle arrived broken" (router 0.63) got that question; held-out
    # demo / calls routing 0.833 / 0.803 -> 0.837 / 0.817 (0.6: 0.837 / 0.813; docs/results.md)
    first_route_confidence: float = Field(0.5, gt=0.0, le=1.0)
    # moves per topic (whole message or one sentence) and lane; the rest are deferred
    # (engine/matching.py, item 5); null: every holding situation gets its move
    moves_per_topic: int | None = Field(1, ge=1)


class RuntimeConfig(_Strict):
    embedder: str | None = None  # a local sentence-transformers name or directory; None = MiniLM
    embedder_backend: str = "auto"
    distilled_dir: Path | None = None  # written by `guideminer distill`; needed by kind classifier
    router: RouterBinding = RouterBinding()
    scorer: ScorerBinding = ScorerBinding()
    verifier: VerifierBinding = VerifierBinding()
    composer: ComposerBinding = ComposerBinding()
    tool_arguments: ToolArgumentsBinding = ToolArgumentsBinding()
    matching: MatchingBinding = MatchingBinding()
    n_threads: int | None = Field(None, ge=1)  # llama.cpp threads; None = physical cores
    n_ctx: int = Field(2048, ge=256)
    seed: int = 0

    @model_validator(mode="after")
    def _classifier_needs_models(self) -> RuntimeConfig:
        if "classifier" in (self.router.kind, self.scorer.kind) and self.distilled_dir is None:
            raise ValueError("router/scorer kind 'classifier' needs distilled_dir (run `guideminer distill`)")
        return self


def load_runtime_config(path: Path | None) -> RuntimeConfig:
    """The config at `path` (YAML or JSON), or the defaults; errors name the file and field."""
    if path is None:
        return RuntimeConfig()
    path = Path(path)
    try:
        raw = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
        config = RuntimeConfig.model_validate(raw or {})
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read runtime config {path}: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in error.errors())
        raise ValueError(f"runtime config {path}: {problems}") from error
    if config.distilled_dir is not None and not config.distilled_dir.is_absolute():
        config = config.model_copy(update={"distilled_dir": (path.parent / config.distilled_dir).resolve()})
    return config
