"""Tool arguments from the conversation: schema-constrained extraction with a llama backend.

`ToolArgumentExtractor` is the engine's one-method protocol. Session variables come first
(`VariablesThenExtractor`); a model is asked only for the parameters still missing. The model
answers a grammar-constrained JSON object in which every parameter may be null ("not stated"),
and a free-text value (a string or number without an enum) is kept only if it appears in what
the customer wrote: a small model that invents an order number is an explicit error in the
trace, never a call with a guess. Without a llama backend nothing is extracted, and a missing
argument is reported by the engine as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from guideminer.engine import Message, ToolArgumentExtractor, ToolParam, ToolSpec
from guideminer.engine.tools import SessionVariableArguments

_PY_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
EXCERPT_MESSAGES = 6


class UngroundedArgument(ValueError):
    """The model proposed a value the customer never wrote."""


def extraction_model(tool: ToolSpec) -> type[BaseModel]:
    """The JSON the model must produce: every parameter, each nullable (null = not stated)."""
    fields: dict[str, Any] = {}
    for param in tool.params:
        annotation: Any = Literal[param.enum] if param.enum else _PY_TYPES[param.type]
        fields[param.name] = (annotation | None, Field(None, description=param.description or None))
    return create_model(f"{tool.name}_extraction", __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def extraction_prompt(tool: ToolSpec, conversation: Sequence[Message]) -> str:
    lines = "\n".join(f"{'Customer' if m.role == 'customer' else 'Agent'}: {m.text}" for m in conversation[-EXCERPT_MESSAGES:])
    params = "\n".join(f"- {p.name} ({p.type}): {p.description or p.name}" for p in tool.params)
    return (f"Fill the arguments of the tool '{tool.name}' ({tool.description}) from what the customer wrote. "
            "Use null for anything the customer did not state.\n"
            f"Arguments:\n{params}\n\nConversation:\n{lines}\n\nJSON: ")


def _needs_grounding(param: ToolParam) -> bool:
    return param.type in ("string", "integer", "number") and not param.enum


def grounded(value: Any, customer_text: str) -> bool:
    """The value occurs in the customer's words (case- and spacing-insensitive)."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text.lower()).strip()

    wanted = norm(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    return bool(wanted) and wanted in norm(customer_text)


class LlamaToolArguments:
    """ToolArgumentExtractor on a `guideminer.models.gguf.LlamaModel` (`complete_json`)."""

    def __init__(self, model: Any, max_tokens: int = 96) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.model_id = f"llama-arguments:{model.model_id}"

    def extract(self, tool: ToolSpec, conversation: Sequence[Message], variables: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.model.complete_json(extraction_prompt(tool, conversation), extraction_model(tool),
                                          max_tokens=self.max_tokens)
        said = "\n".join(m.text for m in conversation if m.role == "customer")
        values: dict[str, Any] = {}
        for param in tool.params:
            value = getattr(answer, param.name)
            if value is None:
                continue
            if _needs_grounding(param) and not grounded(value, said):
                raise UngroundedArgument(f"{param.name}={value!r} does not appear in the customer's messages")
            values[param.name] = value
        return values


class VariablesThenExtractor:
    """Session variables by parameter name; the inner extractor only for what is missing."""

    def __init__(self, extractor: ToolArgumentExtractor) -> None:
        self.variables = SessionVariableArguments()
        self.extractor = extractor
        self.model_id = f"{self.variables.model_id}+{extractor.model_id}"

    def extract(self, tool: ToolSpec, conversation: Sequence[Message], variables: Mapping[str, Any]) -> dict[str, Any]:
        values = self.variables.extract(tool, conversation, variables)
        if any(p.name not in values for p in tool.params):
            extracted = self.extractor.extract(tool, conversation, variables)
            values.update({k: v for k, v in extracted.items() if k not in values})
        return values
