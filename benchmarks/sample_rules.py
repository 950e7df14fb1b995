"""Print N seeded random rules of a mined workspace as a reviewer sees them (markdown).

Usage:
    .venv/bin/python benchmarks/sample_rules.py WORKSPACE [--n 20] [--seed 0] [--truth DEMO_TRUTH]

Each rule: where it applies (department name or the etiquette set), the rule text (condition and
action in plain words), the canned template with its fields. For a demo workspace, `--truth`
(the folder holding demo_corpus/, or truth.json) adds the hidden label mix of the rule's
condition turns (its evidence), so a reader can check "reads as a customer need" against what
the customers were actually doing; the assessment itself is the reader's.

Why a script and not a CLI command: it is a review aid for docs/rules_sample.md, nothing ships it.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from guideminer.mining.proposals import read_proposals


def truth_labels(truth: Path) -> dict[tuple[str, int], str]:
    from guideminer.ingest.demo_truth import load_truth

    return {(c.conversation_id, t.turn_index): t.label for c in load_truth(truth).conversations for t in c.turns}


def describe(number: int, proposal, department_names: dict[str, str], labels: dict | None) -> str:
    where = "etiquette (every department)" if proposal.is_etiquette else department_names.get(
        proposal.department_id, str(proposal.department_id))
    canned = proposal.canned.text if proposal.canned else "-"
    fields = ", ".join(f"{f.name}: {f.kind}/{f.source}" for f in proposal.canned.fields) if proposal.canned else ""
    lines = [f"{number}. **[{where}]** {proposal.rule_text}",
             f"   canned: `{canned}`" + (f" (fields {fields})" if fields else "")]
    if labels is not None:
        condition = Counter(labels.get((e.conversation_id, e.condition_turn_index), "?") for e in proposal.evidence)
        action = Counter(labels.get((e.conversation_id, e.action_turn_index), "?") for e in proposal.evidence)
        lines.append(f"   truth of evidence: condition {dict(condition.most_common(3))}, "
                     f"action {dict(action.most_common(3))}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truth", type=Path, default=None)
    args = parser.parse_args()
    guidelines, departments = read_proposals(args.workspace)
    names = {d.department_id: d.name for d in departments.departments}
    proposals = guidelines.proposals
    chosen = sorted(random.Random(args.seed).sample(range(len(proposals)), min(args.n, len(proposals))))
    labels = truth_labels(args.truth) if args.truth else None
    etiquette = sum(p.is_etiquette for p in proposals)
    print(f"{len(proposals)} proposals ({etiquette} etiquette), {len(departments.departments)} departments; "
          f"sample of {len(chosen)} (seed {args.seed}), in rank order:\n")
    for number, index in enumerate(chosen, start=1):
        print(describe(number, proposals[index], names, labels))


if __name__ == "__main__":
    main()
