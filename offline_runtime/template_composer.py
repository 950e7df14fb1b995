"""A deterministic ReplyComposer: no model, so nothing it says was not approved or mined.

Why it is the default: the shipped SLM is a 270M base model, good at narrow scored choices but
not at writing customer-facing replies. For an agent exported from mined proposals, the canned
responses (real agent turns) cover most instructions; for the rest this composer states the
instruction plainly, which keeps replay and demos honest and fast. Bind `composer.kind: llama`
to a GGUF you trust for fluid replies.

Tool outcomes never reach the customer raw: a result only shows through the canned template
fields it fills (rendered before this composer is asked), and an instruction whose tool failed
is left out (the error is in the trace); so is an instruction whose canned template has a field
no tool or session variable filled (its action text may quote one customer's facts, e.g. "say
'I found 2 events'"); if nothing is left, the reply is empty and the engine sends the spec's
fallback.
"""

from __future__ import annotations

from guideminer.engine.compose import render_template
from guideminer.engine.protocols import CompositionRequest


class TemplateComposer:
    model_id = "template-composer"

    def compose(self, request: CompositionRequest) -> str:
        failed = {o.tool for o in request.tool_outcomes if o.error is not None}
        fields = dict(request.variables)
        for outcome in request.tool_outcomes:
            if outcome.error is None and isinstance(outcome.result, dict):
                fields.update(outcome.result)
        parts: list[str] = []
        for guideline in request.instructions:
            if failed & set(guideline.tools):
                continue
            own = [c for c in request.canned_hints if guideline.id in c.guideline_ids]
            hint = next((c for c in own if all(fields.get(f) is not None for f in c.fields)), None)
            if hint is not None:
                text = render_template(hint, fields)
            elif own:
                continue  # its approved reply needs facts nobody supplied: say nothing rather than guess
            elif guideline.action:
                text = f"({guideline.action})"
            else:
                continue
            if text not in parts:
                parts.append(text)
        return "\n\n".join(parts)
