"""Content hashes of model files and directories, with a small sidecar cache.

A model's content hash goes into every embedding cache key, so it must change whenever a weight
byte changes. Hashing ~90 MB on each run would cost about a second, so the digest is cached in a
JSON sidecar keyed by absolute path plus a stat fingerprint (relative path, size and mtime of
every file): any edit, added or removed file changes the fingerprint and forces a re-hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

_BLOCK = 1 << 20
SIDECAR_NAME = "content-hashes.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _directory_files(directory: Path) -> list[Path]:
    """Every regular file below `directory`, sorted by POSIX relative path (stable across OSes)."""
    files = [p for p in directory.rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def sha256_directory(directory: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file below `directory`.

    Each file contributes its relative path, a NUL, its byte length and its bytes, so moving bytes
    between files or renaming a file changes the digest.
    """
    digest = hashlib.sha256()
    for path in _directory_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        digest.update(str(path.stat().st_size).encode("ascii") + b"\0")
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def stat_fingerprint(path: Path) -> str:
    """Cheap fingerprint (no reads): relative path, size and mtime_ns of each file."""
    if path.is_file():
        stat = path.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    parts = []
    for file in _directory_files(path):
        stat = file.stat()
        parts.append(f"{file.relative_to(path).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _read_sidecar(sidecar: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a missing or torn sidecar only costs a re-hash
    return data if isinstance(data, dict) else {}


def _write_sidecar(sidecar: Path, data: dict[str, dict[str, str]]) -> None:
    """Atomic replace so a concurrent reader never sees half a file."""
    try:
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=sidecar.parent, prefix=".hashes-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, sidecar)
    except OSError:
        pass  # read-only cache dir: the digest is still correct, just recomputed next run


def content_sha256(path: Path, sidecar: Path | None) -> str:
    """sha256 of a file or directory, reusing the sidecar's digest while the fingerprint holds."""
    path = path.resolve()
    fingerprint = stat_fingerprint(path)
    cached = _read_sidecar(sidecar) if sidecar is not None else {}
    entry = cached.get(str(path))
    if entry and entry.get("fingerprint") == fingerprint and entry.get("sha256"):
        return entry["sha256"]
    digest = sha256_file(path) if path.is_file() else sha256_directory(path)
    if sidecar is not None:
        cached = _read_sidecar(sidecar)  # re-read: another process may have added entries
        cached[str(path)] = {"fingerprint": fingerprint, "sha256": digest}
        _write_sidecar(sidecar, cached)
    return digest
