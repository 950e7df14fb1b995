"""The offline mining report: one self-contained HTML file a reviewer opens without network.

Why one file with plotly.js inlined: the product runs on machines without internet access and
reports get mailed around; a file that loads a CDN script would show blank charts there. Every
text that came from conversations is HTML-escaped (a customer can type "<script>"), and figure
div ids are fixed so the same inputs give the same bytes.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs
from sklearn.decomposition import PCA

from guideminer.mining.proposals_schema import DepartmentSet, GuidelineProposal, GuidelineSet

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
MAX_CLUSTER_BARS = 40
MAX_OUTCOME_BARS = 20
SNIPPET_CHARS = 160

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1340px; }}
h1 {{ font-size: 24px; }} h2 {{ font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }}
th {{ background: #f3f3f3; }} td.num {{ text-align: right; white-space: nowrap; }}
.rule {{ font-weight: 600; }} .muted {{ color: #666; font-size: 12px; }}
.summary span {{ display: inline-block; margin-right: 24px; }} ul {{ margin: 0; padding-left: 16px; }}
</style>
<script type="text/javascript">{plotlyjs}</script>
</head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def snippet(text: str) -> str:
    return esc(short(text, SNIPPET_CHARS))


def short(text: str, limit: int = 70) -> str:
    """`text` cut to `limit` characters at a word boundary: a cut word ("you don…") reads as a
    different word, to people and to the personal-data audit's NER alike."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "\u2026"


def figure_html(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(template="plotly_white", margin={"l": 40, "r": 20, "t": 40, "b": 40})
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def department_map(departments: DepartmentSet, clusters: pl.DataFrame) -> go.Figure | None:
    """Situation centroids in 2-D (PCA), one colour per department, marker size ~ traffic."""
    rows = [(d, s) for d in departments.departments for s in d.situations]
    if len(rows) < 2:
        return None
    centroids = dict(clusters.select("cluster_id", "centroid").iter_rows())
    points = PCA(n_components=2, random_state=0).fit_transform(
        np.stack([np.asarray(centroids[s.cluster_id], dtype=np.float64) for _, s in rows]))
    figure = go.Figure()
    for department in departments.departments:
        index = [i for i, (d, _) in enumerate(rows) if d.department_id == department.department_id]
        figure.add_trace(go.Scatter(
            x=points[index, 0], y=points[index, 1], mode="markers", name=department.name,
            marker={"size": [10 + 30 * min(1.0, rows[i][1].size / max(s.size for _, s in rows)) for i in index]},
            hovertext=[" / ".join(rows[i][1].keywords[:5]) for i in index], hoverinfo="text+name"))
    figure.update_layout(title="Customer situations (PCA of centroids), coloured by department", height=440,
                         xaxis_title="PC 1", yaxis_title="PC 2")
    return figure


def cluster_sizes(clusters: pl.DataFrame) -> go.Figure:
    figure = go.Figure()
    for role, label in (("customer", "customer situations"), ("agent", "agent moves")):
        top = clusters.filter(pl.col("role") == role).sort("size", descending=True).head(MAX_CLUSTER_BARS)
        figure.add_trace(go.Bar(x=[f"{c}: {', '.join(k[:2])}" for c, k in top.select("cluster_id", "keywords").iter_rows()],
                                y=top["size"].to_list(), name=label))
    figure.update_layout(title=f"Cluster sizes (largest {MAX_CLUSTER_BARS} per role)", height=420, xaxis_tickangle=-45)
    return figure


def k_choice(departments: DepartmentSet) -> go.Figure:
    ks = [c.k for c in departments.candidates]
    figure = go.Figure([go.Scatter(x=ks, y=[c.silhouette for c in departments.candidates], name="weighted silhouette"),
                        go.Scatter(x=ks, y=[c.transfer_rate for c in departments.candidates], name="transfer rate")])
    figure.update_layout(title=f"Choosing the number of departments (chosen k = {departments.chosen_k})",
                         xaxis_title="k", height=340)
    return figure


def outcome_chart(proposals: list[GuidelineProposal]) -> go.Figure | None:
    """Primary outcome rate followed vs not followed, Wilson 95 % intervals as error bars."""
    rated = [p for p in proposals if p.outcomes and p.outcomes.rates and p.outcomes.rates[0].difference is not None]
    if not rated:
        return None
    rated = rated[:MAX_OUTCOME_BARS]
    names = [f"#{p.rank} {p.guideline_id}" for p in rated]
    figure = go.Figure()
    for label, rate_of, interval_of in (
            ("followed", lambda r: r.followed_rate, lambda r: r.followed_interval),
            ("not followed", lambda r: r.not_followed_rate, lambda r: r.not_followed_interval)):
        rates = [rate_of(p.outcomes.rates[0]) for p in rated]
        intervals = [interval_of(p.outcomes.rates[0]) for p in rated]
        figure.add_trace(go.Bar(x=names, y=rates, name=label, error_y={
            "type": "data", "symmetric": False, "array": [hi - r for r, (_, hi) in zip(rates, intervals, strict=True)],
            "arrayminus": [r - lo for r, (lo, _) in zip(rates, intervals, strict=True)]}))
    figure.update_layout(title=f"{rated[0].outcomes.rates[0].outcome} rate when the guideline was followed vs not",
                         barmode="group", height=420, yaxis_range=[0, 1], xaxis_tickangle=-30)
    return figure


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{snippet(i)}</li>" for i in items) + "</ul>"


EVIDENCE_SHOWN = 3


def _evidence_list(items: list[str]) -> str:
    """The first EVIDENCE_SHOWN examples, the rest folded (a rule's row stays one screen line
    of reading, not a page: merged habits carry a dozen examples)."""
    if len(items) <= EVIDENCE_SHOWN:
        return _list(items)
    return (_list(items[:EVIDENCE_SHOWN]) + f"<details><summary>{len(items) - EVIDENCE_SHOWN} more</summary>"
            f"{_list(items[EVIDENCE_SHOWN:])}</details>")


def _outcome_cell(proposal: GuidelineProposal) -> str:
    if not proposal.outcomes or not proposal.outcomes.rates:
        return "<span class='muted'>no outcome data</span>"
    r = proposal.outcomes.rates[0]
    if r.difference is None:
        return f"{esc(r.outcome)}: followed {r.followed_positive}/{r.followed_n}, not {r.not_followed_positive}/{r.not_followed_n}"
    return (f"{esc(r.outcome)}: {r.followed_rate:.0%} ({r.followed_positive}/{r.followed_n}) vs "
            f"{r.not_followed_rate:.0%} ({r.not_followed_positive}/{r.not_followed_n}); "
            f"diff {r.difference:+.2f}, p={r.p_value if r.p_value is not None else 'n/a'}; "
            f"impact {r.expected_impact:+.1f}")


def _habit_notes(p: GuidelineProposal) -> str:
    canned = (f"<div>canned: <code>{esc(p.canned.text)}</code>"
              + (f" <span class='muted'>fields: {esc(', '.join(f'{f.name} ({f.source})' for f in p.canned.fields))}</span>"
                 if p.canned.fields else "") + "</div>") if p.canned else ""
    scopes = (f"<div class='muted'>one habit over {len(p.scopes)} mined variants: "
              f"{esc(', '.join(sorted({s.department_id or 'all' for s in p.scopes})))}; states "
              f"{esc(', '.join(sorted({s.condition_state for s in p.scopes})))}</div>") if len(p.scopes) > 1 else ""
    return canned + scopes


def guideline_table(guidelines: GuidelineSet, turn_text: dict[tuple[str, int], str],
                    proposals: list[GuidelineProposal] | None = None, table_id: str = "guidelines") -> str:
    """Readable rules first (with canned template and scopes), keyword tags second."""
    head = ("<tr><th>#</th><th>rule</th><th>tags</th><th>support</th><th>conf.</th><th>lift</th><th>base</th>"
            "<th>consist.</th><th>outcome</th><th>condition cluster</th><th>action cluster</th><th>evidence</th></tr>")
    rows = []
    for p in guidelines.proposals if proposals is None else proposals:
        evidence = [f"{e.conversation_id}#{e.condition_turn_index}\u2192#{e.action_turn_index}"
                    + (f" (need: {short(turn_text.get((e.conversation_id, e.said_turn_index), ''))})"
                       if e.need_turn_index is not None and turn_text else "")
                    + (f": {short(turn_text.get((e.conversation_id, e.condition_turn_index), ''))} \u2192 "
                       f"{short(turn_text.get((e.conversation_id, e.action_turn_index), ''))}" if turn_text else "")
                    for e in p.evidence]
        rows.append(
            f"<tr><td class='num'>{p.rank}</td><td><div class='rule'>{esc(p.rule_text)}</div>"
            f"<div class='muted'>{esc(p.guideline_id)} &middot; state {esc(p.condition_state)} &middot; "
            f"{'every department (etiquette)' if p.is_etiquette else 'dept ' + esc(p.department_id or '-')} &middot; {p.counts.followed_occurrences}/{p.counts.condition_occurrences} occurrences</div>"
            f"{_habit_notes(p)}</td><td class='muted'>{esc(', '.join(p.tags))}</td>"
            f"<td class='num'>{p.scores.support}</td><td class='num'>{p.scores.confidence:.2f}</td>"
            f"<td class='num'>{p.scores.lift:.2f}</td><td class='num'>{p.scores.base_rate:.2f}</td>"
            f"<td class='num'>{p.scores.consistency:.2f}</td><td>{_outcome_cell(p)}</td>"
            + (f"<td>{esc(p.position.replace('_', ' '))}: a point of the conversation, whatever the customer says</td>"
               if p.position else f"<td>{p.condition.cluster_id}: {_list(p.condition.representative_texts[:3])}</td>")
            + f"<td>{p.action.cluster_id}: {_list(p.action.representative_texts[:3])}</td><td>{_evidence_list(evidence)}</td></tr>")
    return f"<table id='{table_id}'>{head}{''.join(rows)}</table>"


def department_table(departments: DepartmentSet) -> str:
    head = ("<tr><th>department</th><th>traffic</th><th>transfer rate</th><th>situations</th>"
            "<th>example openings</th><th>guidelines</th></tr>")
    rows = [f"<tr><td><b>{esc(d.name)}</b><div class='muted'>{esc(d.department_id)}</div></td>"
            f"<td class='num'>{d.traffic_share:.1%} ({d.n_conversations})</td><td class='num'>{d.transfer_rate:.1%}</td>"
            f"<td>{_list([(s.representative_texts[0] if s.representative_texts else '') + ' [' + ' / '.join(s.keywords[:3]) + ']' for s in d.situations])}</td><td>{_list(d.example_openings)}</td>"
            f"<td class='num'>{len(d.guideline_ids)}</td></tr>" for d in departments.departments]
    return f"<table id='departments'>{head}{''.join(rows)}</table>"


def slot_table(slots: list[dict]) -> str:
    """The slot classes the customer turns were clustered without (mining/slots.py)."""
    if not slots:
        return "<p class='muted'>no slot fillers found: customer turns were clustered on their raw text</p>"
    head = "<tr><th>slot (most frequent member)</th><th>read as</th><th>members (turns)</th></tr>"
    rows = [f"<tr><td>{esc(s['canonical'])}</td><td>{esc(s.get('read_as', 'item'))}</td><td>"  # absent: before 2026-12-07
            f"{esc(', '.join(f'{m} ({n})' for m, n in zip(s['members'], s['turns'], strict=True)))}</td></tr>"
            for s in slots]
    return (f"<table id='slots'>{head}{''.join(rows)}</table><p class='muted'>Noun phrases said in the same "
            "places and answered alike: when situations were clustered, each member was read as shown ('item' "
            "for things such as products), so that turns are grouped by need rather than by product. Rules and "
            "examples keep the customers' own words.</p>")


def render_report(guidelines: GuidelineSet, departments: DepartmentSet, clusters: pl.DataFrame,
                  turns: pl.DataFrame | None = None, title: str = "guideminer mining report",
                  slots: list[dict] | None = None) -> str:
    """The report HTML (see module docstring); `turns` adds evidence texts when given, `slots`
    the slot classes (`mining/slot_classes.json`)."""
    turn_text = {}
    if turns is not None:
        turn_text = {(c, i): t for c, i, t in turns.select("conversation_id", "turn_index", "text").iter_rows()}
    n_customer = clusters.filter(pl.col("role") == "customer").height
    parts = [
        "<div class='summary'>"
        f"<span>{departments.n_conversations} conversations</span><span>{n_customer} situations, "
        f"{clusters.height - n_customer} moves</span><span>{len(guidelines.proposals)} guidelines "
        f"(ranked by {esc(guidelines.ranked_by)})</span><span>{len(departments.departments)} departments, "
        f"transfer rate {departments.overall_transfer_rate:.1%}</span></div>",
        ]
    etiquette = [p for p in guidelines.proposals if p.is_etiquette]
    parts += ["<h2>Conversation etiquette (global set, every department)</h2>",
              guideline_table(guidelines, turn_text, etiquette, "etiquette") if etiquette
              else "<p class='muted'>no etiquette proposals (the etiquette step marked no cluster)</p>",
              "<h2>Departments and the needs they serve</h2>", department_table(departments),
              f"<p class='muted'>criterion: {esc(departments.criterion)}</p>",
              "<h2>Guidelines (readable rules; keyword tags second)</h2>",
              guideline_table(guidelines, turn_text, [p for p in guidelines.proposals if not p.is_etiquette]),
              "<h2>Department map</h2>"]
    dept_map = department_map(departments, clusters)
    parts.append(figure_html(dept_map, "department-map") if dept_map else "<p class='muted'>fewer than 2 situations</p>")
    parts += [figure_html(k_choice(departments), "k-choice"), "<h2>Outcomes</h2>"]
    chart = outcome_chart(guidelines.proposals)
    parts.append(figure_html(chart, "outcomes") if chart else "<p class='muted'>no outcome metadata</p>")
    parts += ["<h2>Clusters</h2>", figure_html(cluster_sizes(clusters), "cluster-sizes"),
              "<h2>Slot fillers (interchangeable words)</h2>", slot_table(slots or [])]
    return PAGE.format(title=esc(title), plotlyjs=get_plotlyjs(), body="\n".join(parts))


def write_report(path: Path, guidelines: GuidelineSet, departments: DepartmentSet, clusters: pl.DataFrame,
                 turns: pl.DataFrame | None = None, slots: list[dict] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(guidelines, departments, clusters, turns, slots=slots), encoding="utf-8")
    return path
