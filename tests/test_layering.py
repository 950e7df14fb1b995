"""Imports flow one way (docs/DEVELOPING.md): models is a leaf; ingest -> mining; the per-turn
engine imports nothing of ours but models; offline_runtime hosts the engine; evaluation imports
the stages and no stage imports it; mining may import the engine (export builds its spec), never the reverse. The test walks every module's imports (ast, lazy imports
inside functions included), so a violation cannot hide in a function body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "models": {"models"},
    "ingest": {"ingest", "models"},
    "mining": {"mining", "ingest", "engine", "models"},  # engine: export builds its spec
    "engine": {"engine", "models"},
    "offline_runtime": {"offline_runtime", "engine", "mining", "ingest", "models"},
    "evaluation": {"evaluation", "offline_runtime", "engine", "mining", "ingest", "models"},
}


def guideminer_imports(path: Path) -> set[str]:
    """Subpackages of guideminer a module imports (first component after `guideminer.`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "guideminer" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_stage_imports_only_what_is_upstream(stage: str) -> None:
    violations = {str(path.relative_to(ROOT)): sorted(guideminer_imports(path) - ALLOWED[stage])
                  for path in (ROOT / stage).rglob("*.py")}
    assert {k: v for k, v in violations.items() if v} == {}


def test_the_walker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from guideminer.mining import review\n    import guideminer.ingest.schema\n")
    assert guideminer_imports(module) == {"mining", "ingest"}
