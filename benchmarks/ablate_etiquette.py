"""`guideminer ...` with the fourth session's etiquette changes switched off (the "before" rows of
docs/results.md "Etiquette: judged on the latest message..."): habits not merged by behaviour and
the etiquette set scored with the scorer's window again. Same arguments as the CLI:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ablate_etiquette.py eval agent --fit FIT --test TEST --gold demo --truth T --json
"""
import sys
import guideminer.engine.matching as m
import guideminer.mining.habits as h
orig = m._scores
m._scores = lambda s, c, g, latest_only=False: orig(s, c, g, False)
h.HabitParams.model_fields["answered_alike"].default = None
h.HabitParams.model_rebuild(force=True)
import guideminer.mining.proposals_config as pc
pc.ProposalConfig.model_fields["habits"].default = h.HabitParams()
pc.ProposalConfig.model_rebuild(force=True)
from guideminer.cli import app
sys.argv = ["guideminer", *sys.argv[1:]]
app()
