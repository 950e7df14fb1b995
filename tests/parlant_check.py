"""Check a generated Parlant module against the installed Parlant SDK without running it.

Every call the module makes is bound (`inspect.signature(...).bind`) to the real SDK method it
targets, awaited exactly when the SDK method is a coroutine, and every `p.X.Y` it names must
exist. No server starts and no model is called: the module is parsed with `ast` and imported
(which only defines functions)."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PLACEHOLDER = object()


@dataclass(frozen=True)
class SdkCall:
    receiver: str
    method: str
    keywords: dict[str, object]  # literal values (ast.literal_eval), PLACEHOLDER otherwise
    line: int


def import_generated(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return PLACEHOLDER


def _receiver_class(receiver: str, sdk: ModuleType):
    if receiver == "server":
        return sdk.Server
    if receiver == "agent":
        return sdk.Agent
    if receiver.startswith("guideline_"):
        return sdk.Guideline
    return None


def _resolve_sdk_attribute(node: ast.Attribute, sdk: ModuleType) -> object | None:
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id == "p"):
        return None
    value = sdk
    for name in reversed(chain):
        if not hasattr(value, name):
            raise AssertionError(f"parlant.sdk has no {'.'.join(reversed(chain))}")
        value = getattr(value, name)
    return value


def check_module(path: Path) -> list[SdkCall]:
    """The SDK calls of the module at `path`, each checked; AssertionError names the first misfit."""
    import parlant.sdk as sdk

    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    generated = import_generated(path)
    top_level = {type(n).__name__ for n in tree.body}
    assert top_level <= {"Expr", "ImportFrom", "Import", "AsyncFunctionDef", "If"}, top_level
    awaited = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Await)}
    awaited |= {id(n.args[0]) for n in ast.walk(tree)  # asyncio.run(main()) runs the coroutine
                if isinstance(n, ast.Call) and ast.unparse(n.func) == "asyncio.run" and n.args}
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            _resolve_sdk_attribute(node, sdk)
        if not isinstance(node, ast.Call):
            continue
        args = [PLACEHOLDER for _ in node.args]
        keywords = {k.arg: _literal(k.value) for k in node.keywords}
        where = f"line {node.lineno}: {ast.unparse(node.func)}"
        if isinstance(node.func, ast.Name):  # the module's own helpers
            target, bound_self = getattr(generated, node.func.id), ()
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            receiver, method = node.func.value.id, node.func.attr
            if receiver == "asyncio":
                continue
            if receiver == "p":
                target, bound_self = _resolve_sdk_attribute(node.func, sdk), ()
            else:
                cls = _receiver_class(receiver, sdk)
                assert cls is not None, f"{where}: unknown receiver {receiver!r}"
                assert hasattr(cls, method), f"{where}: parlant.sdk.{cls.__name__} has no method {method!r}"
                target, bound_self = getattr(cls, method), (PLACEHOLDER,)
                calls.append(SdkCall(receiver, method, keywords, node.lineno))
        else:
            raise AssertionError(f"{where}: unexpected call shape")
        try:
            inspect.signature(target).bind(*bound_self, *args, **keywords)
        except TypeError as error:
            raise AssertionError(f"{where}: does not fit {inspect.signature(target)}: {error}") from error
        is_coroutine = inspect.iscoroutinefunction(target)
        assert is_coroutine == (id(node) in awaited), f"{where}: awaited must match the SDK ({is_coroutine})"
    assert inspect.iscoroutinefunction(generated.main) and inspect.iscoroutinefunction(generated.build)
    return calls
