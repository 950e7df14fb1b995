"""HTML for one proposal as a reviewer reads it: rule, scopes, scores, outcomes, evidence text.

Why plain HTML strings: the notebook shows them in an ipywidgets `HTML` pane, and a test can
read them without a browser. Every text from the corpus is escaped (it is customer-written).
"""

from __future__ import annotations

from html import escape

from guideminer.mining.review import ReviewedGuideline, ReviewedProposals
from guideminer.mining.review_queue import EvidenceConversation, department_label, expected_impact

_STYLE = """<style>
.gm-card {font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4}
.gm-card table {border-collapse: collapse; margin: 4px 0}
.gm-card td, .gm-card th {padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left}
.gm-rule {font-size: 15px; font-weight: 600; margin: 4px 0 8px}
.gm-conv {border: 1px solid #ccc; border-radius: 4px; padding: 4px 8px; margin: 6px 0}
.gm-turn {margin: 2px 0; white-space: pre-wrap}
.gm-condition {background: #fff3c4; border-left: 4px solid #e0a800; padding-left: 4px}
.gm-action {background: #d9f2e3; border-left: 4px solid #2e9e5b; padding-left: 4px}
.gm-tag {display: inline-block; padding: 0 6px; border-radius: 8px; background: #eef; margin-right: 4px}
.gm-status-accepted {background: #d9f2e3} .gm-status-rejected {background: #f8d7da}
.gm-status-deferred {background: #fff3c4}
</style>"""


def _row(label: str, value: object) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(str(value))}</td></tr>"


def _scopes(reviewed: ReviewedProposals, guideline: ReviewedGuideline) -> str:
    proposal = guideline.proposal
    tags = [f"status: {guideline.status}", department_label(reviewed, guideline),
            f"counted over: {'its department' if proposal.condition_scope == 'department' else 'all conversations'}",
            f"when: {proposal.condition_state}"]
    if proposal.after_action is not None:
        tags.append(f"right after: {proposal.after_action.representative_texts[:1] or proposal.after_action.keywords}")
    if guideline.merged_from:
        tags.append(f"merged: {', '.join(guideline.merged_from)}")
    classes = ["gm-tag gm-status-" + guideline.status] + ["gm-tag"] * (len(tags) - 1)
    return "".join(f'<span class="{c}">{escape(t)}</span>' for c, t in zip(classes, tags, strict=True))


def _scores(guideline: ReviewedGuideline) -> str:
    scores, counts = guideline.proposal.scores, guideline.proposal.counts
    rows = [_row("support (conversations)", scores.support),
            _row("confidence P(action | condition)",
                 f"{scores.confidence:.3f} ({counts.followed_occurrences}/{counts.condition_occurrences} occurrences)"),
            _row("base rate / lift", f"{scores.base_rate:.3f} / {scores.lift:.2f}"),
            _row("consistency / top move share", f"{scores.consistency:.3f} / {scores.top_move_share:.3f}"),
            _row("rank", guideline.proposal.rank)]
    return "<table>" + "".join(rows) + "</table>"


def _outcomes(guideline: ReviewedGuideline) -> str:
    outcomes = guideline.proposal.outcomes
    if outcomes is None or not (outcomes.rates or outcomes.means):
        return "<p><i>no outcome figures (the conversations carry no outcome or csat)</i></p>"
    head = "<tr><th>outcome</th><th>followed</th><th>not followed</th><th>difference</th><th>p</th></tr>"
    rows = []
    for rate in outcomes.rates:
        fmt = lambda r, n: "-" if r is None else f"{r:.1%} of {n}"  # noqa: E731
        rows.append(f"<tr><td>{escape(rate.outcome)}</td><td>{fmt(rate.followed_rate, rate.followed_n)}</td>"
                    f"<td>{fmt(rate.not_followed_rate, rate.not_followed_n)}</td>"
                    f"<td>{'-' if rate.difference is None else f'{rate.difference:+.1%}'}</td>"
                    f"<td>{'-' if rate.p_value is None else f'{rate.p_value:.3f}'}</td></tr>")
    for mean in outcomes.means:
        value = lambda m, n: "-" if m is None else f"{m:.2f} (n={n})"  # noqa: E731
        rows.append(f"<tr><td>{escape(mean.outcome)} (mean)</td><td>{value(mean.followed_mean, mean.followed_n)}</td>"
                    f"<td>{value(mean.not_followed_mean, mean.not_followed_n)}</td>"
                    f"<td>{'-' if mean.difference is None else f'{mean.difference:+.2f}'}</td><td></td></tr>")
    impact = expected_impact(guideline)
    summary = "" if impact is None else f"<p>expected impact if always followed: <b>{impact:+.1f}</b> outcomes</p>"
    return "<table>" + head + "".join(rows) + "</table>" + summary


def _conversation(conversation: EvidenceConversation) -> str:
    turns = []
    for turn in conversation.turns:
        css = f"gm-turn gm-{turn.mark}" if turn.mark else "gm-turn"
        label = f" [{turn.mark}]" if turn.mark else ""
        turns.append(f'<div class="{css}"><b>{escape(turn.role)}</b> #{turn.turn_index}{label}: {escape(turn.text)}</div>')
    return f'<div class="gm-conv"><small>{escape(conversation.conversation_id)}</small>{"".join(turns)}</div>'


def proposal_card(reviewed: ReviewedProposals, guideline: ReviewedGuideline,
                  evidence: list[EvidenceConversation]) -> str:
    """Everything a reviewer needs to decide on one proposal, as one HTML fragment."""
    proposal = guideline.proposal
    rule = f"When {guideline.condition_text}, {guideline.action_text}"
    parts = [_STYLE, '<div class="gm-card">', f"<div><code>{escape(guideline.guideline_id)}</code></div>",
             f'<div class="gm-rule">{escape(rule)}</div>', f"<div>{_scopes(reviewed, guideline)}</div>",
             "<h4>Scores</h4>", _scores(guideline), "<h4>Outcomes</h4>", _outcomes(guideline),
             "<h4>Customers in this situation say</h4><ul>",
             *(f"<li>{escape(t)}</li>" for t in proposal.condition.representative_texts[:3]),
             *([f"<li>(anything: it holds at a point of the conversation, the {escape(proposal.position.replace('_', ' '))})</li>"]
               if proposal.position else []),
             "</ul><h4>Agents then say</h4><ul>",
             *(f"<li>{escape(t)}</li>" for t in proposal.action.representative_texts[:3]), "</ul>",
             f"<h4>Evidence ({len(evidence)} of {len(proposal.evidence)} conversations)</h4>",
             *(_conversation(c) for c in evidence), "</div>"]
    return "".join(parts)
