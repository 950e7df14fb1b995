"""A deterministic ReplyComposer: no model, so nothing it says was not approved or mined.

Why it is the default: the shipped SLM is a 270M base model, good at narrow scored choices but
not at writing customer-facing replies. For an agent exported from mined proposals, the canned
responses (real agent turns) cover most instructions; for the rest this composer states the
instruction plainly, which keeps replay and demos honest and fast. Bind `composer.kind: llama`
to a GGUF you trust for fluid replies.
"""

from __future__ import annotations

from guideminer.engine.compose import render_template
from guideminer.engine.protocols import CompositionRequest


class TemplateComposer:
    model_id = "template-composer"

    def compose(self, request: CompositionRequest) -> str:
        parts: list[str] = []
        for guideline in request.instructions:
            hint = next((c for c in request.canned_hints if guideline.id in c.guideline_ids and not c.fields), None)
            if hint is not None:
                text = render_template(hint, {})
            elif guideline.action:
                text = f"({guideline.action})"
            else:
                continue
            if text not in parts:
                parts.append(text)
        for outcome in request.tool_outcomes:
            parts.append(f"[{outcome.tool}: {'error: ' + outcome.error if outcome.error else outcome.result}]")
        return "\n\n".join(parts)
