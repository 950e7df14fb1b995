"""The redaction finder over a pool of processes: NER on both cores of a small machine.

Why a pool of our own and not `nlp.pipe(n_process=2)`: spaCy starts its worker processes on every
`pipe` call, and ingest calls it once per read-ahead window (256 conversations), so the model
would be loaded again for every window. Here each worker loads the model once, keeps its own
sentence cache, and analyses a share of each window; the main process keeps reading, scoping
and writing. Texts go to workers by a hash of the text, so a recurring turn meets the worker
that already cached its sentences. Workers are started with "spawn" (forking a process whose
BLAS threads are running can deadlock) and without torch (see `_start_worker`).

The results are the same as with one process (each text is analysed on its own, and the NER
result of a sentence does not depend on the batch it is in); `tests/test_pii_allow.py` checks it.
"""

from __future__ import annotations

import multiprocessing
import sys
import weakref
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from guideminer.ingest.pii_allow import AllowList
from guideminer.ingest.pii_types import Found

_COUNTERS = ("analysed", "ner_runs", "ner_sentences", "ner_cached")
_worker_finder: Any = None


def _start_worker(build: Any, args: tuple) -> None:
    """Build the worker's finder. torch and transformers are kept out of the worker: spaCy and
    Presidio import them when installed (for engines we do not use), which costs each worker
    ~350 MiB and ~10 s; the small spaCy pipeline runs on thinc's numpy ops without them."""
    global _worker_finder
    for name in ("torch", "transformers"):
        sys.modules.setdefault(name, None)  # `import torch` now raises ImportError, which both handle
    _worker_finder = build(*args)


def _ready(_: int) -> bool:
    import time

    time.sleep(0.5)  # long enough that every worker takes one: all have loaded their model
    return _worker_finder is not None


def _find_in_worker(texts: list[str]) -> tuple[list[list[Found]], dict[str, int]]:
    before = {name: getattr(_worker_finder, name) for name in _COUNTERS}
    found = _worker_finder.find(texts)
    return found, {name: getattr(_worker_finder, name) - before[name] for name in _COUNTERS}


class PoolFinder:
    """A `SpanFinder` whose `find` is shared out over `processes` workers, each running the
    finder `build(*args)` returns (a module-level function, so it can be sent to a spawned
    process). `allow` and `id_recognizer` are the main process's copies for the redactor."""

    def __init__(self, build: Any, args: tuple, processes: int, allow: AllowList, id_recognizer: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(processes, initializer=_start_worker, initargs=(build, args))
        if not all(self._pool.map(_ready, range(processes), chunksize=1)):
            raise RuntimeError("a redaction worker did not build its finder")
        # A cached redactor's pool lives until exit: stop it while the interpreter is whole
        # (atexit time), not in module teardown, where the pool's queue threads fail noisily.
        self._stop = weakref.finalize(self, _stop_pool, self._pool)
        self.processes = processes
        self.allow = allow
        self.id_recognizer = id_recognizer
        for name in _COUNTERS:
            setattr(self, name, 0)

    def find(self, texts: Sequence[str]) -> list[list[Found]]:
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Callable[[], list[list[Found]]]:
        """Send the shares out now; the callable waits for them and merges (counters included)."""
        shares: list[list[int]] = [[] for _ in range(self.processes)]
        for index, text in enumerate(texts):
            shares[zlib.crc32(text.encode("utf-8")) % self.processes].append(index)
        work = [(share, [texts[i] for i in share]) for share in shares if share]
        running = self._pool.map_async(_find_in_worker, [chunk for _, chunk in work]) if work else None

        def result() -> list[list[Found]]:
            out: list[list[Found]] = [[] for _ in texts]
            for (share, _), (found, counts) in zip(work, running.get() if running else []):
                for index, item in zip(share, found):
                    out[index] = item
                for name, value in counts.items():
                    setattr(self, name, getattr(self, name) + value)
            return out

        return result

    def worker_pids(self) -> list[int]:
        return [process.pid for process in self._pool._pool]  # for peak-memory measurement only

    def close(self) -> None:
        self._stop()


def _stop_pool(pool: Any) -> None:
    pool.close()
    pool.join()
