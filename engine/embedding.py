"""Embedding-based router and condition scorer: the cheap first stage of every turn.

Both compare the customer's words with texts from the spec by cosine similarity of
`TextEmbedder` vectors. Spec-side vectors (guideline conditions, department profiles) are
computed once per spec and cached by text; customer messages are memoised, so a turn embeds only
the new customer message, which keeps 100-guideline matching within about a millisecond beyond
that one embedding.

Raw cosine similarities are not probabilities; `LinearCalibration` maps them onto [0, 1] so the
engine's accept/reject thresholds mean the same thing whatever the embedder. The defaults are a
starting point for all-MiniLM-L6-v2 (paraphrases land around 0.6-0.8, unrelated texts below 0.2)
and should be re-fitted on labelled conversations when they exist.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from guideminer.engine.protocols import ConditionScore, RouteDecision
from guideminer.engine.session import Message
from guideminer.engine.spec import AgentSpec, Department, Guideline, InterchangeableWords
from guideminer.models.embedder import TextEmbedder


@dataclass(frozen=True)
class LinearCalibration:
    """cosine <= low -> 0, cosine >= high -> 1, linear in between."""

    low: float = 0.2
    high: float = 0.7

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"calibration needs high > low, got low={self.low} high={self.high}")

    def __call__(self, cosine: np.ndarray) -> np.ndarray:
        return np.minimum(self.uncapped(cosine), 1.0)

    def uncapped(self, cosine: np.ndarray) -> np.ndarray:
        """The same line without the cap at 1 (floored at 0): for ranking matches that hold."""
        return np.maximum((cosine - self.low) / (self.high - self.low), 0.0)


MINILM_CALIBRATION = LinearCalibration(low=0.2, high=0.7)
_WORDS = re.compile(r"[^\W_]+")


def _phrase_pattern(phrases: Sequence[str], between: str = r"\s+", apostrophes: bool = False) -> str:
    """Alternatives matching each phrase's words (longest phrase first) with `between` between
    them; `apostrophes`: a word also matches with apostrophes in it ("wasnt" matches "wasn't")."""
    ordered = sorted({" ".join(p.lower().split()) for p in phrases}, key=lambda p: (-len(p), p))

    def word(part: str) -> str:
        return "'?".join(map(re.escape, part)) if apostrophes else re.escape(part)

    return "|".join(between.join(word(part) for part in p.split()) for p in ordered)


class FillerPhrases:
    """Strips a corpus's filler phrases ("yes so basically", "im calling because", "can you help
    me with that": mining/fillers.py) from the start and end of a text. Shared by the engine's
    embedder and by mining's rule wording, so a rule describes the need the way it is matched."""

    def __init__(self, phrases: Sequence[str] = ()) -> None:
        # "yes, so basically" reads as "yes so basically"; mined phrases have no apostrophes
        fill = _phrase_pattern(phrases, r"[^\w']+", apostrophes=True)
        self._lead = re.compile(rf"^[^\w']*(?:{fill})(?![\w'])[^\w']*", re.IGNORECASE) if fill else None
        self._tail = re.compile(rf"[^\w']*(?<![\w'])(?:{fill})[^\w']*$", re.IGNORECASE) if fill else None

    def strip(self, text: str) -> str:
        """`text` without leading and trailing filler phrases, never down to fewer than 2 words."""
        if self._lead is None:
            return text
        while True:
            shorter = self._tail.sub("", self._lead.sub("", text, count=1), count=1)
            if shorter == text or len(_WORDS.findall(shorter)) < 2:
                return text
            text = shorter


class RewritingEmbedder:
    """TextEmbedder wrapper that reads each `InterchangeableWords` member as its replacement
    (whole words, any case, longest member first) and drops the spec's filler phrases at the
    start and end of a text (while words remain) before embedding; same dimension. Why the
    fillers: "im calling because my parcel never arrived" was nearer "im calling because I want
    to update the shipping address" (cosine 0.64) than without its opener (0.46)."""

    def __init__(self, embedder: TextEmbedder, words: Sequence[InterchangeableWords],
                 fillers: Sequence[str] = ()) -> None:
        self.inner = embedder
        self.model_id = f"{embedder.model_id}+interchangeable-words" + ("+fillers" if fillers else "")
        self.dimension = embedder.dimension
        self._replacement = {" ".join(m.lower().split()): w.replacement for w in words for m in w.members}
        alternatives = _phrase_pattern(list(self._replacement))
        # whole words, a hyphen between letters inside one (as mining/nouns.py WORD_START / WORD_END)
        self._pattern = (re.compile(rf"(?<![\w'])(?<![\w']-)({alternatives})(?![\w'])(?!-[\w'])", re.IGNORECASE)
                         if alternatives else None)
        self._fillers = FillerPhrases(fillers)

    def strip_fillers(self, text: str) -> str:
        return self._fillers.strip(text)

    def rewrite(self, text: str) -> str:
        text = self.strip_fillers(text)
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._replacement[" ".join(m.group(0).lower().split())], text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed([self.rewrite(t) for t in texts])


class MemoizingEmbedder:
    """TextEmbedder wrapper remembering the last `max_entries` texts' vectors.

    Why: within one turn the router and the condition scorer both embed the latest customer
    message; wrapping the embedder once and passing the wrapper to both embeds it once. Misses
    are embedded together in a single batch. Same `model_id`: the vectors are identical.
    """

    def __init__(self, embedder: TextEmbedder, max_entries: int = 256) -> None:
        self.inner = embedder
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension
        self.max_entries = max_entries
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Thread-safe: sessions served concurrently share this wrapper, and neither the memo nor
        the tokenizers behind most embedders tolerate concurrent use, so calls hold `lock`."""
        with self.lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
            if missing:
                for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                    self._memo[text] = np.asarray(vector, dtype=np.float32)
            for text in texts:
                self._memo.move_to_end(text)
            result = np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
            while len(self._memo) > self.max_entries:
                self._memo.popitem(last=False)
            return result


class TextVectorCache:
    """Embeds each distinct text once; spec texts never change during a session."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def ensure(self, texts: Sequence[str]) -> None:
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        self.ensure(texts)
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


def customer_messages(conversation: Sequence[Message], window: int) -> list[str]:
    """The last `window` customer messages, oldest first (the latest is last).

    Agent messages are left out on purpose: they paraphrase guideline actions and would make
    conditions look satisfied by the agent's own words.
    """
    said = [m.text for m in conversation if m.role == "customer"]
    if not said:
        raise ValueError("the conversation has no customer message to score against")
    return said[-window:]


def condition_texts(guideline: Guideline) -> tuple[str, ...]:
    return (guideline.condition, *guideline.examples)


class EmbeddingConditionScorer:
    """ConditionScorer: calibrated cosine between each condition and the customer's words.

    score = max(fresh, window_weight * windowed). `fresh` compares the latest customer message;
    `windowed` compares the normalised mean vector of the last `window_messages` customer
    messages, discounted so that older context alone needs a clearer match than what the
    customer just said. Message vectors are memoised, so each turn embeds only the new message
    (one short text), which is what keeps a turn within the latency budget.
    """

    def __init__(
        self,
        embedder: TextEmbedder,
        spec: AgentSpec | None = None,
        *,
        calibration: LinearCalibration = MINILM_CALIBRATION,
        window_messages: int = 3,
        window_weight: float = 0.85,
    ) -> None:
        self.model_id = f"embedding-scorer:{embedder.model_id}"
        self.calibration = calibration
        self.window_messages = window_messages
        self.window_weight = window_weight
        self._cache = TextVectorCache(embedder)
        self._messages = embedder if isinstance(embedder, MemoizingEmbedder) else MemoizingEmbedder(embedder)
        self._matrices: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        if spec is not None:
            self._cache.ensure([t for d in spec.departments for g in d.guidelines for t in condition_texts(g)])

    def score(
        self, conversation: Sequence[Message], guidelines: Sequence[Guideline]
    ) -> Mapping[str, ConditionScore]:
        if not guidelines:
            return {}
        vectors = self._messages.embed(customer_messages(conversation, self.window_messages))
        window = vectors.mean(axis=0)
        window /= max(float(np.linalg.norm(window)), 1e-12)
        matrix, starts = self._condition_matrix(guidelines)
        similarities = np.maximum.reduceat(matrix @ np.stack([vectors[-1], window]).T, starts, axis=0)
        fresh = self.calibration(similarities[:, 0])
        strength = self.calibration.uncapped(similarities[:, 0])
        combined = np.maximum(fresh, self.calibration(similarities[:, 1]) * self.window_weight)
        return {
            g.id: ConditionScore(score=float(combined[i]), fresh=float(fresh[i]), fresh_strength=float(strength[i]))
            for i, g in enumerate(guidelines)
        }

    def _condition_matrix(self, guidelines: Sequence[Guideline]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of every guideline's condition texts, and where each guideline's rows start
        (a guideline scores the best of its condition and examples)."""
        key = tuple(t for g in guidelines for t in (g.id, *condition_texts(g)))
        cached = self._matrices.get(key)
        if cached is None:
            texts = [condition_texts(g) for g in guidelines]
            starts = np.cumsum([0] + [len(t) for t in texts[:-1]])
            cached = (self._cache.matrix([t for group in texts for t in group]), starts)
            self._matrices[key] = cached
        return cached


ROUTER_C = 10.0  # inverse regularisation of the department classifier (C = 1 / 10: demo 0.840 / 0.843, calls 0.704 / 0.718)


def department_profile(department: Department, shared: frozenset[str] = frozenset()) -> list[str]:
    """Texts that describe what a department handles: its description, routing examples, and
    its guidelines' conditions and examples except `shared` ones.

    Texts shared with other departments are left out: mined per department, guidelines also
    cover follow-ups ("yes, thanks") that every department sees, which say nothing about
    where a conversation belongs."""
    conditions = [t for g in department.guidelines for t in condition_texts(g) if t not in shared]
    return [f"{department.name}: {department.description}", *department.routing_examples, *conditions]


def shared_texts(departments: Sequence[Department]) -> frozenset[str]:
    """Condition texts (and examples) that appear in more than one of `departments`."""
    counts = Counter(t for d in departments for t in {t for g in d.guidelines for t in condition_texts(g)})
    return frozenset(t for t, n in counts.items() if n > 1)


class EmbeddingRouter:
    """DepartmentRouter: a linear classifier over department profile texts chooses the
    department; its confidence is the best calibrated cosine between the latest customer message
    and any text of that department's profile (`department_profile`); `scores` holds that cosine
    for every department.

    Why a classifier chooses: nearest texts are dominated by words every department shares (the
    product, the order, "I want to"), so the department owning the single most similar text is
    often not the one whose texts are alike in what tells departments apart; a logistic
    regression over all profile texts weighs the dimensions that separate them (the demo's 300
    held-out routing messages, one spec: 0.770 -> 0.843; docs/results.md). Why the cosine stays the
    confidence: "is this message like anything the department handles?" is what the clarify and
    transfer thresholds ask, and a classifier's probability is high for gibberish too. With a
    single department, or `classifier=False`, the best cosine chooses (the method before).
    """

    def __init__(
        self,
        embedder: TextEmbedder,
        spec: AgentSpec | None = None,
        *,
        calibration: LinearCalibration = MINILM_CALIBRATION,
        classifier: bool = True,
    ) -> None:
        self.model_id = f"embedding-router:{embedder.model_id}"
        self.calibration = calibration
        self.classifier = classifier
        self._cache = TextVectorCache(embedder)
        self._matrices: dict[tuple[str, ...], list[np.ndarray]] = {}
        self._models: dict[tuple[str, ...], object | None] = {}
        self._lock = threading.Lock()
        if spec is not None:
            self._cache.ensure([t for d in spec.departments for t in department_profile(d)])
            if classifier:
                self._model(spec.departments)

    def _profile_matrices(self, departments: Sequence[Department]) -> list[np.ndarray]:
        """Per department, its profile's vectors (shared texts left out), stacked once per
        department list: routing runs per message and per sentence, the profiles never change."""
        key = tuple(d.id for d in departments)
        with self._lock:
            if key not in self._matrices:
                shared = shared_texts(departments)
                self._matrices[key] = [self._cache.matrix(department_profile(d, shared)) for d in departments]
            return self._matrices[key]

    def _model(self, departments: Sequence[Department]):
        """The fitted classifier for this department list (cached), or None when it cannot choose."""
        key = tuple(d.id for d in departments)
        matrices = self._profile_matrices(departments)
        with self._lock:
            if key not in self._models:
                self._models[key] = fit_department_classifier(matrices)
            return self._models[key]

    def route(
        self, conversation: Sequence[Message], departments: Sequence[Department]
    ) -> RouteDecision:
        if not departments:
            raise ValueError("cannot route without departments")
        query = self._cache.embedder.embed(customer_messages(conversation, 1))[0]
        scores = {department.id: float(self.calibration(np.max(matrix @ query)))
                  for department, matrix in zip(departments, self._profile_matrices(departments), strict=True)}
        model = self._model(departments) if self.classifier else None
        if model is None:
            best = max(departments, key=lambda d: scores[d.id])  # first department wins ties
        else:
            best = departments[int(model.predict(np.asarray(query, dtype=np.float64)[None, :])[0])]
        return RouteDecision(department_id=best.id, confidence=scores[best.id], scores=scores)


def fit_department_classifier(matrices: Sequence[np.ndarray]):
    """Multinomial logistic regression (scikit-learn, lbfgs: deterministic) from a profile
    text's vector to its department's index (`matrices`: each department's profile vectors);
    None with fewer than two departments with texts."""
    labels = np.concatenate([np.full(len(m), i) for i, m in enumerate(matrices)])
    if len(set(labels.tolist())) < 2:
        return None
    from sklearn.linear_model import LogisticRegression

    vectors = np.concatenate(matrices).astype(np.float64)
    return LogisticRegression(C=ROUTER_C, max_iter=2000).fit(vectors, labels)
