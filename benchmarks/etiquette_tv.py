"""Exchange-profile distances (total variation) between the etiquette proposals of a mined workspace.

    .venv/bin/python benchmarks/etiquette_tv.py WS

Conditions: TV of the next agent move after each condition cluster; actions: TV of the customer
cluster each action cluster answers. Shows where `HabitParams.answered_alike` (0.5) separates
variants of one etiquette habit from different habits (docs/results.md, fourth session)."""
import json, numpy as np, polars as pl, sys, itertools
from collections import Counter, defaultdict
ws = sys.argv[1]
d = json.load(open(f'{ws}/mining/proposals/guidelines.json'))
a = pl.read_parquet(f'{ws}/mining/turn_assignments.parquet').sort('conversation_id', 'turn_index')
rows = a.select('conversation_id', 'turn_index', pl.col('role').cast(pl.String), 'cluster_id', 'is_noise').rows()
nxt = defaultdict(Counter); prv = defaultdict(Counter)
for (c1, _, r1, k1, n1), (c2, _, r2, k2, n2) in zip(rows, rows[1:]):
    if c1 == c2 and r1 == 'customer' and r2 == 'agent':
        nxt[k1][-1 if n2 else k2] += 1; prv[-1 if n2 else k2][k1] += 1
def tv(p, q):
    sp, sq = sum(p.values()), sum(q.values()); keys = set(p) | set(q)
    return 0.5 * sum(abs(p[k] / sp - q[k] / sq) for k in keys)
et = [p for p in d['proposals'] if p.get('is_etiquette')]
print(len(et), 'etiquette proposals')
conds = sorted({s['condition_cluster_id'] for p in et for s in p['scopes']}); acts = sorted({s['action_cluster_id'] for p in et for s in p['scopes']})
desc = {}
for p in et:
    for s in p['scopes']:
        desc.setdefault(s['condition_cluster_id'], p['condition_text'][:50]); desc.setdefault(s['action_cluster_id'], p['action_text'][:50])
print('conditions (next-move TV)')
for x, y in itertools.combinations(conds, 2):
    print(f"  {x:3d} {y:3d} tv {tv(nxt[x], nxt[y]):.2f}  {desc[x]} | {desc[y]}")
print('actions (previous-turn TV)')
for x, y in itertools.combinations(acts, 2):
    print(f"  {x:3d} {y:3d} tv {tv(prv[x], prv[y]):.2f}  {desc[x]} | {desc[y]}")
