"""Suite-wide setup: the product must never need the network.

Sockets are disabled for every test by pytest-socket (see addopts in pyproject.toml); these
variables additionally keep hub-aware libraries from even trying.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public labelled data beside the repo; tests that need it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    """One small demo run with the real default embedder and redactor (the notebooks and the
    personal-data checks of the demo outputs share it; it takes a few minutes)."""
    from guideminer.evaluation.demo import run_demo
    from guideminer.models import load_embedder

    return run_demo(tmp_path_factory.mktemp("demo"), embedder=load_embedder(), n_conversations=300)


@pytest.fixture(scope="session")
def demo_workspace(demo_run) -> Path:
    return demo_run.workspace
