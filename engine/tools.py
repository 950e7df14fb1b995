"""Tools: declared in the spec, implemented as plain Python callables, called only when needed.

A tool runs only when a guideline being applied this turn lists it (each tool at most once per
turn). Arguments come from a `ToolArgumentExtractor` (default: session variables by parameter
name) and are validated by a pydantic model built from the tool's declared parameters. Every
problem - extractor failure, invalid arguments, unregistered implementation, exception inside
the tool, non-JSON result - becomes a `ToolError` in the trace and in the composer's context;
none is swallowed and none escapes the turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from guideminer.engine.protocols import ToolArgumentExtractor, ToolOutcome
from guideminer.engine.session import Message
from guideminer.engine.spec import Guideline, ToolParam, ToolSpec
from guideminer.engine.trace import ToolCallTrace, ToolError

_PY_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


class ToolRegistry:
    """Name -> implementation. Implementations take the declared params as keyword arguments."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._functions: dict[str, Callable[..., Any]] = dict(functions or {})

    def register(self, name: str, function: Callable[..., Any]) -> None:
        if name in self._functions:
            raise ValueError(f"tool {name!r} is already registered")
        self._functions[name] = function

    def get(self, name: str) -> Callable[..., Any] | None:
        return self._functions.get(name)

    def names(self) -> list[str]:
        return sorted(self._functions)


class SessionVariableArguments:
    """ToolArgumentExtractor that reads each parameter from the session variable of that name."""

    model_id = "session-variables"

    def extract(
        self, tool: ToolSpec, conversation: Sequence[Message], variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {p.name: variables[p.name] for p in tool.params if p.name in variables}


@lru_cache(maxsize=512)
def arguments_model(tool: ToolSpec) -> type[BaseModel]:
    """A pydantic model validating a call's arguments exactly as the spec declares them."""
    fields: dict[str, Any] = {p.name: _field(p) for p in tool.params}
    return create_model(  # type: ignore[call-overload]
        f"{tool.name}_arguments", __config__=ConfigDict(extra="forbid", frozen=True), **fields
    )


def _field(param: ToolParam) -> tuple[Any, Any]:
    annotation: Any = Literal[param.enum] if param.enum else _PY_TYPES[param.type]
    constraints = dict(description=param.description or None, pattern=param.pattern,
                       ge=param.minimum, le=param.maximum)
    constraints = {k: v for k, v in constraints.items() if v is not None}
    if param.required:
        return annotation, Field(..., **constraints)
    return annotation | None, Field(None, **constraints)


def tools_to_call(instructions: Sequence[Guideline]) -> dict[str, list[str]]:
    """Tool name -> ids of the guidelines requesting it, in instruction order."""
    requested: dict[str, list[str]] = {}
    for guideline in instructions:
        for tool in guideline.tools:
            requested.setdefault(tool, []).append(guideline.id)
    return requested


def run_tools(
    instructions: Sequence[Guideline],
    tool_specs: Mapping[str, ToolSpec],
    registry: ToolRegistry,
    extractor: ToolArgumentExtractor,
    conversation: Sequence[Message],
    variables: Mapping[str, Any],
) -> list[ToolCallTrace]:
    calls: list[ToolCallTrace] = []
    for name, requested_by in tools_to_call(instructions).items():
        start = time.perf_counter()
        call = _call_one(tool_specs[name], requested_by, registry, extractor, conversation, variables)
        call.duration_ms = round((time.perf_counter() - start) * 1000.0, 3)
        calls.append(call)
    return calls


def _call_one(
    tool: ToolSpec,
    requested_by: list[str],
    registry: ToolRegistry,
    extractor: ToolArgumentExtractor,
    conversation: Sequence[Message],
    variables: Mapping[str, Any],
) -> ToolCallTrace:
    call = ToolCallTrace(tool=tool.name, requested_by=requested_by, arguments={})
    function = registry.get(tool.name)
    if function is None:
        call.error = ToolError(kind="not_registered", message=f"no implementation registered for {tool.name!r}")
        return call
    try:
        call.arguments = dict(extractor.extract(tool, conversation, variables))
    except Exception as exc:  # a model failing to produce arguments is a reported tool problem
        call.error = ToolError(kind="arguments", message=f"{extractor.model_id}: {type(exc).__name__}: {exc}")
        return call
    missing = [p.name for p in tool.params if p.required and call.arguments.get(p.name) is None]
    if missing:
        call.error = ToolError(kind="arguments", message=(
            f"missing argument(s) {', '.join(missing)}: neither a session variable nor {extractor.model_id} "
            "provided them (nothing is guessed)"))
        return call
    try:
        validated = arguments_model(tool).model_validate(call.arguments)
    except ValidationError as exc:
        call.error = ToolError(kind="validation", message=_describe_validation(exc))
        return call
    try:
        result = function(**validated.model_dump(exclude_unset=True))
        call.result = _json_ready(result)
    except Exception as exc:  # the tool's own failure is reported, the turn goes on
        call.error = ToolError(kind="execution", message=f"{type(exc).__name__}: {exc}")
    return call


def _describe_validation(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}" for e in exc.errors()
    )


def _json_ready(result: Any) -> Any:
    """Tool results are stored in traces and sessions, so they must be JSON data."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    json.dumps(result)  # raises TypeError for non-JSON results -> reported as execution error
    return result


def outcomes(calls: Sequence[ToolCallTrace]) -> list[ToolOutcome]:
    return [
        ToolOutcome(tool=c.tool, result=c.result, error=f"{c.error.kind}: {c.error.message}" if c.error else None)
        for c in calls
    ]


def render_fields(calls: Sequence[ToolCallTrace], variables: Mapping[str, Any]) -> dict[str, Any]:
    """Values canned templates may use: session variables, overridden by top-level keys of
    successful dict results of this turn's tool calls (later calls win)."""
    fields = dict(variables)
    for call in calls:
        if call.error is None and isinstance(call.result, dict):
            fields.update(call.result)
    return fields
