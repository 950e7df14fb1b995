"""Air-gap proof: the whole demo (generate, ingest, mine with the shipped embedder, export,
replay) runs in a network namespace with no interfaces but loopback (`unshare -rn`).

The rest of the suite runs with Python sockets blocked (pytest-socket); this test goes further:
no library can reach a network even through C code. Skipped, with the reason, where user
namespaces are not permitted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}


def _namespace_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not installed")
    for flags in (["-rn"], ["-n"]):
        if subprocess.run([unshare, *flags, "true"], capture_output=True).returncode == 0:
            return [unshare, *flags]
    pytest.skip("network namespaces are not permitted for this user")


def test_demo_runs_without_any_network(tmp_path: Path) -> None:
    prefix = _namespace_prefix()
    env = {**os.environ, **OFFLINE_ENV}
    probe = subprocess.run([*prefix, sys.executable, "-c",
                            "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
                            "except OSError as e:\n    print('no network:', e)\nelse:\n    print('CONNECTED')"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert "no network" in probe.stdout, probe.stdout + probe.stderr
    run = subprocess.run([*prefix, sys.executable, "-m", "guideminer", "demo", "--out", str(tmp_path / "demo"),
                          "--conversations", "200"], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "hidden truth recovered" in run.stdout and "routing_accuracy" in run.stdout
    assert (tmp_path / "demo" / "agent.yaml").is_file() and (tmp_path / "demo" / "mining" / "report.html").is_file()
