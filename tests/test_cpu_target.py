"""Numba compiles for one documented x86-64 target, not the host CPU (guideminer/__init__.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
def test_importing_guideminer_pins_numbas_target_unless_the_user_chose_one():
    probe = "import guideminer, numba.core.config as c; print(c.CPU_NAME)"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CPU_NAME"}
    pinned = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert pinned.stdout.strip() == "haswell"
    chosen = subprocess.run([sys.executable, "-c", probe], env={**env, "NUMBA_CPU_NAME": "generic"},
                            capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "generic"
