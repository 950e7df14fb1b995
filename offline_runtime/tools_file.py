"""The tools file (`--tools tools.yaml`): which implementation runs each tool the spec names.

The spec declares tools (name, description, typed parameters); the tools file binds each name
to a Python callable by import path, or to an HTTP endpoint on this machine:

```yaml
extractor: {kind: none}              # or {kind: llama, gguf: default}: arguments from the conversation
tools:
  lookup_order:
    python: my_company.orders:lookup_order      # module:attribute, called with keyword arguments
    arguments: my_company.orders:OrderQuery     # optional pydantic model the arguments must also pass
  refund_status:
    http: {url: "http://127.0.0.1:9100/refund-status", timeout_s: 2.0}   # POST JSON, JSON back
```

Everything is checked when the file loads, not when a customer is waiting: unknown keys, tool
names the spec does not declare, imports that fail, callables whose signature does not accept
the declared parameters, endpoints off localhost. Arguments are validated against the spec's
parameters by the engine (`guideminer.engine.tools`) and, when given, the `arguments` model.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from guideminer.engine import AgentSpec, ToolRegistry, ToolSpec
from guideminer.offline_runtime.tools_attach import ToolAttachment, attach_tools

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}
IMPORT_PATH = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HttpEndpoint(_Strict):
    url: str
    timeout_s: float = Field(2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _local_only(self) -> HttpEndpoint:
        parsed = urlparse(self.url)
        if parsed.scheme not in ("http", "https") or parsed.hostname not in LOCAL_HOSTS:
            raise ValueError(f"{self.url!r}: tool endpoints must be http(s) on localhost (the agent is air-gapped)")
        return self


class ToolBinding(ToolAttachment):
    """One tool's implementation (`python` or `http`) and, optionally, the guidelines it serves
    (`guideminer.offline_runtime.tools_attach`)."""

    python: str | None = Field(None, pattern=IMPORT_PATH)
    arguments: str | None = Field(None, pattern=IMPORT_PATH)
    http: HttpEndpoint | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ToolBinding:
        if (self.python is None) == (self.http is None):
            raise ValueError("give exactly one of `python` (module:attribute) or `http` ({url: ...})")
        return self


class ExtractorBinding(_Strict):
    kind: Literal["none", "llama"] = "none"
    gguf: str = "default"


class ToolsFile(_Strict):
    extractor: ExtractorBinding = ExtractorBinding()
    tools: dict[str, ToolBinding] = Field(default_factory=dict)


@dataclass(frozen=True)
class BoundTools:
    registry: ToolRegistry
    extractor: ExtractorBinding
    unbound: list[str]  # tools guidelines use that the file does not bind (reported as not_registered)
    spec: AgentSpec  # the spec with the file's `serves` / `fills` / `backs_claims` attached
    attached: dict[str, list[str]]  # tool -> guideline ids the file attached it to


class ToolsFileError(ValueError):
    """The tools file cannot be used; the message names the file, the tool and the problem."""


def declared_tools(spec: AgentSpec) -> dict[str, list[ToolSpec]]:
    """Tool name -> its declarations (one per department declaring it)."""
    found: dict[str, list[ToolSpec]] = {}
    for department in spec.guideline_sets:
        for tool in department.tools:
            found.setdefault(tool.name, []).append(tool)
    return found


def used_tools(spec: AgentSpec) -> set[str]:
    return {t for d in spec.guideline_sets for g in d.guidelines for t in g.tools}


def load_tools_file(path: Path | None, spec: AgentSpec) -> BoundTools:
    """Bind the file's tools (none when `path` is None), attach them to the guidelines they
    serve, and list the used tools left unbound. Build the engine from `BoundTools.spec`."""
    config = _read(Path(path)) if path is not None else ToolsFile()
    try:
        spec, attached = attach_tools(spec, config.tools, str(path))
    except ValueError as error:
        raise ToolsFileError(str(error)) from error
    declared = declared_tools(spec)
    registry = ToolRegistry()
    for name, binding in config.tools.items():
        where = f"{path}: tools.{name}"
        if name not in declared:
            raise ToolsFileError(f"{where}: the spec declares no tool {name!r} (declared: {sorted(declared) or 'none'})")
        function = _bind(binding, where)
        for tool in declared[name]:
            _check_signature(function, binding, tool, where)
        registry.register(name, function)
    return BoundTools(registry, config.extractor, sorted(used_tools(spec) - set(config.tools)), spec, attached)


def _read(path: Path) -> ToolsFile:
    try:
        return ToolsFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError) as error:
        raise ToolsFileError(f"cannot read tools file {path}: {error}") from error
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in error.errors())
        raise ToolsFileError(f"tools file {path}: {problems}") from error


def _import(target: str, where: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise ToolsFileError(f"{where}: cannot import {target!r}: {error}") from error
    return value


def _bind(binding: ToolBinding, where: str) -> Callable[..., Any]:
    if binding.http is not None:
        return _http_tool(binding.http)
    function = _import(binding.python or "", f"{where}.python")
    if not callable(function):
        raise ToolsFileError(f"{where}.python: {binding.python!r} is not callable")
    if binding.arguments is None:
        return function
    model = _import(binding.arguments, f"{where}.arguments")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ToolsFileError(f"{where}.arguments: {binding.arguments!r} is not a pydantic model")
    return _validated(function, model)


def _validated(function: Callable[..., Any], model: type[BaseModel]) -> Callable[..., Any]:
    def call(**arguments: Any) -> Any:
        return function(**model.model_validate(arguments).model_dump())

    call.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    return call


def _http_tool(endpoint: HttpEndpoint) -> Callable[..., Any]:
    def call(**arguments: Any) -> Any:
        import httpx

        response = httpx.post(endpoint.url, json=arguments, timeout=endpoint.timeout_s)
        response.raise_for_status()
        return response.json()

    return call


def _check_signature(function: Callable[..., Any], binding: ToolBinding, tool: ToolSpec, where: str) -> None:
    """The callable must accept every declared parameter and need no undeclared one."""
    if binding.http is not None:
        return
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return  # builtins without a signature: the call itself will tell
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    declared = {p.name for p in tool.params}
    refused = sorted(n for n in declared if n not in parameters and not takes_any)
    needed = sorted(n for n, p in parameters.items() if p.default is inspect.Parameter.empty
                    and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
                    and n not in declared)
    if refused or needed:
        problems = ([f"does not accept declared parameter(s) {', '.join(refused)}"] if refused else []) + \
                   ([f"needs undeclared parameter(s) {', '.join(needed)}"] if needed else [])
        raise ToolsFileError(f"{where}: {binding.python} {' and '.join(problems)}")


def engine_with_tools(engine: Any, bound: BoundTools, load_llama: Callable[[str], Any] | None = None) -> Any:
    """A copy of `engine` (built from `bound.spec`) calling the bound tools, arguments from session variables and, with
    `extractor.kind: llama`, from the conversation (`guideminer.offline_runtime.tools_extract`)."""
    from guideminer.engine import Engine
    from guideminer.engine.tools import SessionVariableArguments
    from guideminer.offline_runtime.tools_extract import LlamaToolArguments, VariablesThenExtractor

    extractor: Any = SessionVariableArguments()
    if bound.extractor.kind == "llama":
        if load_llama is None:
            from guideminer.models.gguf import load_gguf

            def load_llama(gguf: str) -> Any:
                return load_gguf(None if gguf == "default" else gguf)

        extractor = VariablesThenExtractor(LlamaToolArguments(load_llama(bound.extractor.gguf)))
    return Engine(bound.spec, router=engine.router, scorer=engine.scorer, composer=engine.composer,
                  verifier=engine.verifier, tools=bound.registry, argument_extractor=extractor,
                  echo_finder=engine.echo_finder, settings=engine.settings)
