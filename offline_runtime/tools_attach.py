"""Which guidelines call a tool, said where the tool is bound: `serves`, `fills`, `backs_claims`.

Why here and not only in the spec: the mined spec is what the support lead reviewed (conditions,
actions, canned texts); which back-end call serves which guideline is deployment wiring that the
team binding `lookup_order` knows ("it fills {delivery_date} and backs 'I've cancelled it'").
Listing a tool by hand in each of sixty guidelines of an exported YAML is where the wiring goes
wrong, so a tools-file entry may say:

```yaml
tools:
  lookup_order:
    python: my_company.orders:lookup_order
    serves: [g-1a2b3c4d5e]            # these guidelines call it
    fills: [date, status]             # and every guideline with a canned reply using these fields
    backs_claims: false               # true: every guideline whose reply states an outcome
    description: order status and delivery date   # declares the tool when the spec does not
    params: [{name: order_id, type: string}]
```

`fills: ["*"]` stands for every field of every canned reply that a read-back does not fill.
Nothing is guessed: an unknown guideline id or a field no canned reply uses is an error naming
the tool and the value, and each tool's attached guideline ids are reported.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from guideminer.engine import AgentSpec, ToolSpec
from guideminer.engine.spec import CannedResponse, Department, ToolParam

EVERY_FIELD = "*"


class ToolAttachment(BaseModel):
    """The attaching part of a tools-file entry (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    serves: tuple[str, ...] = ()
    fills: tuple[str, ...] = ()
    backs_claims: bool = False
    description: str = ""
    params: tuple[ToolParam, ...] = ()

    @property
    def attaches(self) -> bool:
        return bool(self.serves or self.fills or self.backs_claims)


def _tool_fields(canned: CannedResponse) -> set[str]:
    """Fields a tool could fill: every field but the read-backs (filled from the customer's words)."""
    return set(canned.fields) - set(canned.echoes)


def _served_in(department: Department, attachment: ToolAttachment) -> set[str]:
    served = {g.id for g in department.guidelines if g.id in attachment.serves}
    every = EVERY_FIELD in attachment.fills
    for canned in department.canned_responses:
        fields = _tool_fields(canned)
        if (every and fields) or fields & set(attachment.fills) or (attachment.backs_claims and canned.needs_tool):
            served.update(canned.guideline_ids)
    return served


def _check(spec: AgentSpec, name: str, attachment: ToolAttachment, where: str) -> None:
    known = {g.id for d in spec.guideline_sets for g in d.guidelines}
    unknown = sorted(set(attachment.serves) - known)
    if unknown:
        raise ValueError(f"{where}.serves: no guideline {', '.join(map(repr, unknown))} in the spec")
    used = {f for d in spec.guideline_sets for c in d.canned_responses for f in _tool_fields(c)}
    unused = sorted(set(attachment.fills) - used - {EVERY_FIELD})
    if unused:
        raise ValueError(f"{where}.fills: no canned response has field(s) {', '.join(map(repr, unused))} "
                         f"a tool could fill (fields: {', '.join(sorted(used)) or 'none'})")


def _declaration(name: str, attachment: ToolAttachment, declared: Mapping[str, ToolSpec], where: str) -> ToolSpec:
    if name in declared:
        return declared[name]
    description = attachment.description or f"bound in {where}"
    return ToolSpec(name=name, description=description, params=attachment.params)


def attach_tools(spec: AgentSpec, attachments: Mapping[str, ToolAttachment],
                 where: str = "tools file") -> tuple[AgentSpec, dict[str, list[str]]]:
    """(spec with each attaching tool declared in the guideline sets it serves and listed by
    those guidelines, tool -> attached guideline ids). Tools that attach nothing are left as
    the spec has them."""
    declared = {t.name: t for d in spec.guideline_sets for t in d.tools}
    sets = {d.id: d for d in spec.guideline_sets}
    attached: dict[str, list[str]] = {}
    for name, attachment in attachments.items():
        if not attachment.attaches:
            continue
        _check(spec, name, attachment, f"{where}: tools.{name}")
        tool = _declaration(name, attachment, declared, f"{where}: tools.{name}")
        for set_id, department in sets.items():
            served = _served_in(department, attachment)
            if not served:
                continue
            attached.setdefault(name, []).extend(sorted(served))
            guidelines = tuple(g.model_copy(update={"tools": (*g.tools, name)})
                               if g.id in served and name not in g.tools else g for g in department.guidelines)
            tools = department.tools if any(t.name == name for t in department.tools) else (*department.tools, tool)
            sets[set_id] = department.model_copy(update={"guidelines": guidelines, "tools": tools})
    departments = tuple(sets[d.id] for d in spec.departments)
    etiquette = sets[spec.etiquette.id] if spec.etiquette is not None else None
    rebuilt = AgentSpec.model_validate({**spec.model_dump(), "departments": [d.model_dump() for d in departments],
                                        "etiquette": etiquette.model_dump() if etiquette is not None else None})
    return rebuilt, attached
