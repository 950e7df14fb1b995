"""Read and write agent specs as YAML, with errors that name the file, field path and line.

Why a separate module: the models in `spec.py` stay free of I/O, and every loading problem
(unreadable file, bad YAML, wrong types, dangling references) becomes one `SpecLoadError`
whose message a reviewer can act on, e.g.
`agent.yaml: departments.1.guidelines.3.priority: Input should be a valid integer (line 42)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from guideminer.engine.spec import AgentSpec, SpecReferenceError


class SpecLoadError(ValueError):
    """The spec file could not be turned into an `AgentSpec`; `problems` lists every reason."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path.name}: {problem}" for problem in problems))


def load_agent_spec(path: str | Path) -> AgentSpec:
    """Parse and validate a YAML agent spec; raises `SpecLoadError` naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecLoadError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
        root_node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecLoadError(path, [f"invalid YAML: {getattr(exc, 'problem', exc)}{where}"]) from exc
    if not isinstance(data, dict):
        raise SpecLoadError(path, ["the top level must be a mapping with `name` and `departments`"])
    try:
        return AgentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecLoadError(path, _describe_errors(exc, root_node)) from None


def dump_agent_spec(spec: AgentSpec, path: str | Path) -> Path:
    """Write the spec as YAML in field order (stable diffs); `load_agent_spec` reads it back equal."""
    path = Path(path)
    data = spec.model_dump(mode="json", exclude_none=True)
    path.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    return path


def _describe_errors(exc: ValidationError, root_node: yaml.Node | None) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SpecReferenceError):
            for field_path, message in cause.problems:
                problems.append(_with_line(field_path, message, root_node))
            continue
        field_path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(_with_line(field_path, error["msg"], root_node))
    return problems


def _with_line(field_path: str, message: str, root_node: yaml.Node | None) -> str:
    line = _line_of(root_node, field_path.split(".")) if root_node is not None else None
    suffix = f" (line {line})" if line else ""
    return f"{field_path}: {message}{suffix}"


def _line_of(node: Any, parts: list[str]) -> int | None:
    """1-based line of the deepest YAML node reachable along `parts` (a pydantic error loc)."""
    for part in parts:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
        if child is None:
            break
        node = child
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None
