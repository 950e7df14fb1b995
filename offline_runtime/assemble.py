"""Agent spec + runtime config -> a ready `Engine`, with each task bound to its model.

Heavy libraries load only for the kinds a config names; one llama.cpp instance per distinct
GGUF is shared by the tasks that name it (llama.cpp models are large and not thread-safe, and
`LlamaModel` serialises calls with its own lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guideminer.engine import (
    AgentSpec,
    ConditionScorer,
    ConditionVerifier,
    DepartmentRouter,
    EmbeddingConditionScorer,
    EmbeddingRouter,
    Engine,
    EngineSettings,
    MatchingPolicy,
    MemoizingEmbedder,
    ReplyComposer,
    ToolArgumentExtractor,
)
from guideminer.engine.context_gate import OpenNeedScorer, PreviousMoveGate, continues_needs, has_after_examples
from guideminer.engine.embedding import RewritingEmbedder
from guideminer.engine.spec import InterchangeableWords
from guideminer.models.embedder import TextEmbedder
from guideminer.offline_runtime.pii_reading import LazyRedactor, PiiEchoes, RedactingEmbedder
from guideminer.offline_runtime.config import RuntimeConfig
from guideminer.offline_runtime.template_composer import TemplateComposer


@dataclass
class ModelPool:
    """Loaded models by key, so tasks naming the same model share one instance."""

    config: RuntimeConfig
    embedder: TextEmbedder | None = None
    words: tuple[InterchangeableWords, ...] = ()  # the spec's interchangeable words, read by every embedding
    fillers: tuple[str, ...] = ()  # the spec's filler phrases, read away by every embedding
    llamas: dict[str, Any] = field(default_factory=dict)
    distilled: Any = None

    def text_embedder(self) -> TextEmbedder:
        if self.embedder is None:
            from guideminer.models import load_embedder

            self.embedder = _reading(load_embedder(self.config.embedder, self.config.embedder_backend),  # type: ignore[arg-type]
                                     self.words, self.fillers)
        return self.embedder

    def llama(self, gguf: str):
        if gguf not in self.llamas:
            from guideminer.models.gguf import load_gguf

            self.llamas[gguf] = load_gguf(gguf, n_ctx=self.config.n_ctx, n_threads=self.config.n_threads,
                                          seed=self.config.seed)
        return self.llamas[gguf]

    def distilled_models(self, spec: AgentSpec):
        """Distilled heads; guidelines without one are scored by the embedding scorer."""
        if self.distilled is None:
            from guideminer.offline_runtime.distill import load_distilled

            self.distilled = load_distilled(self.config.distilled_dir, self.text_embedder(),
                                            EmbeddingConditionScorer(self.text_embedder(), spec))
        return self.distilled


def _router(pool: ModelPool, spec: AgentSpec) -> DepartmentRouter:
    kind = pool.config.router.kind
    if kind == "embedding":
        return EmbeddingRouter(pool.text_embedder(), spec)
    if kind == "classifier":
        router = pool.distilled_models(spec).router
        if router is None:
            raise ValueError(f"{pool.config.distilled_dir} holds no distilled router (re-run `guideminer distill`)")
        return router
    from guideminer.offline_runtime.llama_backend import LlamaRouter

    return LlamaRouter(pool.llama(pool.config.router.gguf))


def _scorer(pool: ModelPool, spec: AgentSpec) -> ConditionScorer:
    """The configured scorer, gated by previous agent moves when any guideline names them."""
    if pool.config.scorer.kind == "embedding":
        scorer: ConditionScorer = EmbeddingConditionScorer(pool.text_embedder(), spec)
    else:
        scorer = pool.distilled_models(spec).scorer
        if scorer is None:
            raise ValueError(f"{pool.config.distilled_dir} holds no distilled condition scorer")
    if continues_needs(spec):
        scorer = OpenNeedScorer(scorer)
    return PreviousMoveGate(scorer, pool.text_embedder(), spec) if has_after_examples(spec) else scorer


def _verifier(pool: ModelPool) -> ConditionVerifier | None:
    if pool.config.verifier.kind == "none":
        return None
    from guideminer.offline_runtime.llama_backend import LlamaConditionVerifier

    return LlamaConditionVerifier(pool.llama(pool.config.verifier.gguf))


def _composer(pool: ModelPool) -> ReplyComposer:
    if pool.config.composer.kind == "template":
        return TemplateComposer()
    from guideminer.offline_runtime.llama_backend import LlamaComposer

    return LlamaComposer(pool.llama(pool.config.composer.gguf), prompt=pool.config.composer.prompt)


def _argument_extractor(pool: ModelPool) -> ToolArgumentExtractor | None:
    binding = pool.config.tool_arguments
    if binding.kind == "session":
        return None  # the engine's default: SessionVariableArguments
    from guideminer.offline_runtime.llama_backend import LlamaToolArguments

    return LlamaToolArguments(pool.llama(binding.gguf), prompt=binding.prompt)


REDACTOR = LazyRedactor()  # one PII recogniser per process, loaded on first use (offline_runtime/pii_reading.py)


def _reading(embedder: TextEmbedder, words: tuple[InterchangeableWords, ...],
             fillers: tuple[str, ...] = ()) -> MemoizingEmbedder:
    """The engine's one shared embedder: memoised, reading personal data as placeholders,
    interchangeable words and filler phrases as the spec says."""
    reading = RewritingEmbedder(embedder, words, fillers) if words or fillers else embedder
    return MemoizingEmbedder(RedactingEmbedder(reading, REDACTOR))


def build_engine(spec: AgentSpec, config: RuntimeConfig | None = None, *,
                 embedder: TextEmbedder | None = None) -> Engine:
    """An engine for `spec`; `embedder` overrides the configured one (tests, shared instances)."""
    config = config or RuntimeConfig()
    words, fillers = spec.interchangeable_words, spec.filler_phrases
    pool = ModelPool(config, _reading(embedder, words, fillers) if embedder is not None else None,
                     words=words, fillers=fillers)
    matching = config.matching
    settings = EngineSettings(matching=MatchingPolicy(
        accept=matching.accept, reject=matching.reject, best_match_floor=matching.best_match_floor,
        moves_per_topic=matching.moves_per_topic, first_route_confidence=matching.first_route_confidence,
        max_verifier_calls=config.verifier.max_calls))
    return Engine(spec, router=_router(pool, spec), scorer=_scorer(pool, spec), composer=_composer(pool),
                  verifier=_verifier(pool), argument_extractor=_argument_extractor(pool), echo_finder=PiiEchoes(REDACTOR),
                  settings=settings)
