"""The thresholds of the proposal stage, apart from the step code so `MineConfig` can hold them
without an import cycle (the proposal steps import the pipeline runner)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from guideminer.mining.departments import DepartmentParams
from guideminer.mining.guidelines import GuidelineParams
from guideminer.mining.habits import HabitParams
from guideminer.mining.openers import OpeningParams


class ProposalConfig(BaseModel):
    """Every threshold of the proposal stage (recorded in the run manifest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    guidelines: GuidelineParams = GuidelineParams()
    departments: DepartmentParams = DepartmentParams()
    habits: HabitParams = HabitParams()
    opening: OpeningParams = OpeningParams()
