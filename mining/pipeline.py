"""`guideminer mine`: resumable, manifest-recorded mining steps over a workspace.

Why steps + manifest: mining a big workspace takes minutes to hours, and most re-runs change
one parameter. Each `Step` declares its output files; the runner keys a step by
sha256(step name, its parameters, the hashes of its inputs) and skips it when
`mining/run_manifest.json` holds the same key and every output still has its recorded sha256.
Inputs are the turns table (content hash) or the outputs of earlier steps, so a change anywhere
re-runs exactly the steps downstream of it. Outputs are written to a temp file and renamed.

Steps: clustering (`mine_steps`), then proposals and the report (`proposals.proposal_steps`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from guideminer.mining.cluster import ClusterParams
from guideminer.mining.customer_space import CustomerSpaceParams
from guideminer.mining.etiquette import EtiquetteParams
from guideminer.mining.nouns import NounPhraseTagger, load_noun_tagger
from guideminer.mining.context_split import ContextSplitParams
from guideminer.mining.proposals_config import ProposalConfig
from guideminer.mining.slots import SlotParams
from guideminer.mining.schema import MINING_FILES
from guideminer.models.embedder import TextEmbedder

MANIFEST_VERSION = 1
# Bump when every step's algorithm changes what it writes for the same inputs and parameters, so
# existing workspaces re-run instead of keeping results of the old code (4: exact kNN for UMAP;
# 5: vectors stored per distinct text, keywords counted per text); a change to one step bumps
# that `Step.version` instead.
ALGORITHM_VERSION = 5
TURNS_INPUT = "turns"  # the pseudo-input naming the workspace turns table
CONVERSATIONS_INPUT = "conversations"  # ... and the conversations table (metadata: outcomes)


class MineConfig(BaseModel):
    """Everything that changes what `mine` produces (recorded in the manifest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_params: ClusterParams = ClusterParams()
    agent_params: ClusterParams = ClusterParams()
    top_keywords: int = 8
    representatives: int = 5
    slots: SlotParams = SlotParams()  # words customers use interchangeably (mining/slots.py)
    agent_facts_masked: bool = True  # agent turns cluster with their instance facts masked (mine_steps._agent_space)
    etiquette: EtiquetteParams = EtiquetteParams()  # which clusters manage the conversation (mining/etiquette.py)
    customer_space: CustomerSpaceParams = CustomerSpaceParams()  # what customer turns cluster on (mining/customer_space.py)
    context_split: ContextSplitParams = ContextSplitParams()  # clusters split by their context (mining/context_split.py)
    proposals: ProposalConfig = ProposalConfig()
    # Texts embedded (and persisted to the workspace cache) per chunk: a killed run keeps every
    # finished chunk. Changes memory and resume granularity, never the vectors.
    embed_chunk_size: int = 4096
    # Rows per role above which clusters are fitted on a seeded sample and the rest assigned
    # to the nearest centroid (mining/cluster_sample.py).
    fit_rows: int = Field(500_000, ge=100)
    # "ray": the embedding stage runs on Ray Data workers (see mining/ray_engine.py); same vectors.
    engine: Literal["local", "ray"] = "local"


@dataclass
class MineContext:
    """What steps share: the workspace, config, embedder and a lazily read turns table."""

    workspace: Path
    config: MineConfig
    embedder: TextEmbedder
    read_turns: Callable[[Path], pl.DataFrame]
    read_conversations: Callable[[Path], pl.DataFrame | None] = lambda _: None
    embedder_factory: Callable[[], TextEmbedder] | None = None  # engine "ray": loads one per worker
    noun_tagger: Callable[[], NounPhraseTagger] = load_noun_tagger  # slots step (mining/nouns.py)
    _turns: pl.DataFrame | None = None
    _conversations: pl.DataFrame | None = None

    @property
    def turns(self) -> pl.DataFrame:
        if self._turns is None:
            self._turns = self.read_turns(self.workspace)
        return self._turns

    @property
    def conversations(self) -> pl.DataFrame | None:
        """The conversations table, or None when the workspace has none (outcomes are skipped)."""
        if self._conversations is None:
            self._conversations = self.read_conversations(self.workspace)
        return self._conversations

    def release_turns(self) -> None:
        """Drop the cached turns table (millions of texts) until a later step asks for it."""
        self._turns = None

    def path(self, relative: str) -> Path:
        return self.workspace / relative


@dataclass(frozen=True)
class Step:
    """One resumable unit: reads `inputs` (TURNS_INPUT or earlier outputs), writes `outputs`.

    `params(ctx)` returns the JSON-able parameters that change the outputs; `run(ctx)` writes
    every output (use `atomic_path`) and may return extra facts for the manifest.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: Callable[[MineContext], dict[str, Any]]
    run: Callable[[MineContext], dict[str, Any] | None]
    version: int = 1  # bump when this step's code changes its outputs (see ALGORITHM_VERSION)


@dataclass
class StepReport:
    name: str
    skipped: bool
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def turns_content_hash(turns: pl.DataFrame) -> str:
    """sha256 over (conversation_id, turn_index, role, text) of every row, in table order.

    Content, not file bytes: re-writing an identical table must not invalidate the run.
    """
    digest = hashlib.sha256()
    frame = turns.select(
        pl.col("conversation_id").cast(pl.String), pl.col("turn_index").cast(pl.Int64),
        pl.col("role").cast(pl.String), pl.col("text").cast(pl.String),
    )
    for batch in frame.iter_slices(50_000):
        for row in batch.iter_rows():
            digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()


def atomic_path(target: Path) -> Path:
    """A hidden temp path beside `target`; pass it to `commit_atomic` when fully written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".tmp-{os.getpid()}-{target.name}")


def commit_atomic(temporary: Path, target: Path) -> None:
    os.replace(temporary, target)


def write_json_atomic(target: Path, data: Any) -> None:
    temporary = atomic_path(target)
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")
    commit_atomic(temporary, target)


def load_manifest(workspace: Path) -> dict[str, Any]:
    path = Path(workspace) / MINING_FILES["manifest"]
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "steps": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it to re-run every step") from error
    if manifest.get("version") != MANIFEST_VERSION:
        return {"version": MANIFEST_VERSION, "steps": {}}
    return manifest


CODE_PACKAGES = ("guideminer.mining", "guideminer.engine", "guideminer.models")


@lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 over the Python source of the packages the steps run (`CODE_PACKAGES`).

    Why in every step key: a step re-runs when the code that made its outputs changed, not only
    when someone remembered to bump its version. Workspaces re-mined step by step across many
    code changes had kept outputs of older code, so the same corpus and code gave different
    held-out figures depending on the workspace's history (docs/results.md, sixteenth session).
    """
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _step_key(step: Step, params: dict[str, Any], input_hashes: dict[str, str]) -> str:
    algorithm = ALGORITHM_VERSION if step.version == 1 else [ALGORITHM_VERSION, step.version]
    payload = json.dumps({"step": step.name, "params": params, "inputs": input_hashes, "algorithm": algorithm,
                          "code": code_hash()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _outputs_intact(ctx: MineContext, record: dict[str, Any]) -> bool:
    recorded = record.get("outputs", {})
    return all(ctx.path(rel).is_file() and sha256_of_file(ctx.path(rel)) == digest
               for rel, digest in recorded.items()) and bool(recorded)


def conversations_content_hash(conversations: pl.DataFrame | None) -> str:
    """sha256 over (conversation_id, metadata) rows; "" when there is no conversations table."""
    if conversations is None:
        return ""
    digest = hashlib.sha256()
    frame = conversations.select(pl.col("conversation_id").cast(pl.String), pl.col("metadata").cast(pl.String))
    for row in frame.iter_rows():
        digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def _input_hashes(step: Step, produced: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    hashes = {}
    for name in step.inputs:
        if name in base:
            hashes[name] = base[name]
        elif name in produced:
            hashes[name] = produced[name]
        else:
            raise ValueError(f"step {step.name!r} needs {name!r}, which no earlier step produces")
    return hashes


def run_steps(ctx: MineContext, steps: Sequence[Step], *, force: bool = False,
              log: Callable[[str], None] = lambda _: None) -> list[StepReport]:
    """Run `steps` in order, skipping those whose key and outputs match the manifest."""
    manifest = load_manifest(ctx.workspace)
    turns_hash = turns_content_hash(ctx.turns)
    base = {TURNS_INPUT: turns_hash}
    if any(CONVERSATIONS_INPUT in step.inputs for step in steps):
        base[CONVERSATIONS_INPUT] = conversations_content_hash(ctx.conversations)
    manifest.update(input_hash=turns_hash, model_id=ctx.embedder.model_id)
    produced: dict[str, str] = {}
    reports: dict[str, StepReport] = {}
    for step in steps:
        params = step.params(ctx)
        inputs = _input_hashes(step, produced, base)
        key = _step_key(step, params, inputs)
        record = manifest["steps"].get(step.name, {})
        if not force and record.get("key") == key and _outputs_intact(ctx, record):
            produced.update(record["outputs"])
            reports[step.name] = StepReport(step.name, True, 0.0, record.get("info", {}))
            log(f"{step.name}: up to date, skipped")
            continue
        info, seconds = _timed_run(ctx, step)
        outputs = {rel: sha256_of_file(ctx.path(rel)) for rel in step.outputs}
        produced.update(outputs)
        manifest["steps"][step.name] = {
            "key": key, "params": params, "inputs": inputs, "outputs": outputs,
            "info": info, "seconds": seconds, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_json_atomic(ctx.path(MINING_FILES["manifest"]), manifest)  # progress survives a crash
        reports[step.name] = StepReport(step.name, False, seconds, info)
        log(f"{step.name}: done in {seconds:.1f} s")
    return [reports[step.name] for step in steps]


def _timed_run(ctx: MineContext, step: Step) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    info = step.run(ctx) or {}
    return info, round(time.perf_counter() - started, 3)


def default_read_turns(workspace: Path) -> pl.DataFrame:
    from guideminer.ingest.workspace import read_turns  # the ingest stage owns the table layout

    return read_turns(workspace)


def default_read_conversations(workspace: Path) -> pl.DataFrame | None:
    from guideminer.ingest.workspace import read_conversations

    return read_conversations(workspace)


def mine_workspace(
    workspace: Path, embedder: TextEmbedder, config: MineConfig | None = None, *,
    read_turns: Callable[[Path], pl.DataFrame] = default_read_turns,
    read_conversations: Callable[[Path], pl.DataFrame | None] = default_read_conversations, force: bool = False,
    embedder_factory: Callable[[], TextEmbedder] | None = None,
    steps: Sequence[Step] | None = None, log: Callable[[str], None] = lambda _: None,
    noun_tagger: Callable[[], NounPhraseTagger] = load_noun_tagger,
) -> list[StepReport]:
    """Run the mining steps over `workspace` (see module docstring); returns one report per step."""
    from guideminer.mining.mine_steps import default_steps

    workspace = Path(workspace)
    if not workspace.is_dir():
        raise FileNotFoundError(f"workspace {workspace} does not exist; run `guideminer ingest` first")
    ctx = MineContext(workspace, config or MineConfig(), embedder, read_turns, read_conversations, embedder_factory,
                      noun_tagger)
    if ctx.config.engine == "ray" and embedder_factory is None:
        raise ValueError("engine 'ray' needs an embedder_factory (workers load their own model)")
    if ctx.turns.height == 0:
        raise ValueError(f"workspace {workspace} holds no turns: nothing to mine (see its ingest_report.json)")
    return run_steps(ctx, steps if steps is not None else default_steps(), force=force, log=log)
