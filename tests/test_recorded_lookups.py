"""Recorded look-ups (SGD's back end replayed as a tool): what it knows at a turn, and nothing later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guideminer.engine import AgentSpec
from guideminer.evaluation.recorded_lookups import (
    TOOL_NAME, RecordedLookups, fields_for, read_recorded, read_required_slots, wire_recorded_lookups,
)


def _frame(service: str, intent: str, slots: dict) -> dict:
    return {"service": service, "actions": [], "slots": [],
            "state": {"active_intent": intent, "requested_slots": [], "slot_values": {k: [v] for k, v in slots.items()}}}


def write_sgd(tmp_path: Path) -> Path:
    schema = [{"service_name": "Restaurants_1", "intents": [
        {"name": "FindRestaurants", "required_slots": ["city", "cuisine"], "is_transactional": False}]}]
    call = {"service": "Restaurants_1", "actions": [], "slots": [],
            "service_call": {"method": "FindRestaurants", "parameters": {"city": "San Jose", "cuisine": "American"}},
            "service_results": [{"restaurant_name": "71 Saint Peter", "city": "San Jose", "phone_number": "408-971-8523",
                                 "time": "7 pm"}, {"restaurant_name": "Other", "city": "San Jose"}]}
    turns = [
        {"speaker": "USER", "utterance": "I want to eat.", "frames": [_frame("Restaurants_1", "FindRestaurants", {})]},
        {"speaker": "SYSTEM", "utterance": "Which city?", "frames": [{"service": "Restaurants_1", "actions": [], "slots": []}]},
        {"speaker": "USER", "utterance": "San Jose, American food.",
         "frames": [_frame("Restaurants_1", "FindRestaurants", {"city": "San Jose", "cuisine": "American"})]},
        {"speaker": "SYSTEM", "utterance": "I found 2 restaurants. 71 Saint Peter is in San Jose.", "frames": [call]},
    ]
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "dialogues_001.json").write_text(json.dumps([{"dialogue_id": "1_00001", "services": ["Restaurants_1"],
                                                              "turns": turns}]))
    return tmp_path


def test_lookup_needs_the_required_slots_said_by_then(tmp_path: Path) -> None:
    sgd = write_sgd(tmp_path)
    lookups = RecordedLookups(read_recorded(sgd, {"1_00001"}), read_required_slots(sgd), ["name", "number", "phone"])
    lookups.position("1_00001", 0)
    with pytest.raises(LookupError, match="FindRestaurants needs city, cuisine"):
        lookups()
    lookups.position("1_00001", 2)
    assert lookups() == {"name": "71 Saint Peter", "number": "2", "phone": "408-971-8523"}
    lookups.position("1_00002", 0)
    with pytest.raises(LookupError, match="no recorded back end"):
        lookups()


def test_fields_by_kind_in_slot_order() -> None:
    values = {"city": "San Jose", "restaurant_name": "71 Saint Peter", "time": "7 pm", "count": "10", "party_size": "4"}
    assert fields_for(values, ["name", "name_2", "number", "number_2", "time", "date"]) == {
        "name": "San Jose", "name_2": "71 Saint Peter", "number": "10", "number_2": "4", "time": "7 pm"}


def test_wiring_serves_field_and_claim_guidelines_only(tmp_path: Path) -> None:
    sgd = write_sgd(tmp_path)
    spec = AgentSpec.model_validate({"name": "r", "departments": [{
        "id": "food", "name": "Food", "description": "restaurants", "guidelines": [
            {"id": "g_offer", "condition": "wants a restaurant", "action": "offer one"},
            {"id": "g_booked", "condition": "confirms", "action": "book"},
            {"id": "g_ask", "condition": "wants food", "action": "ask the city"}],
        "canned_responses": [
            {"id": "c_offer", "template": "I found {number} places. {name} is nice.", "guideline_ids": ["g_offer"]},
            {"id": "c_booked", "template": "Your table is booked.", "guideline_ids": ["g_booked"], "needs_tool": True},
            {"id": "c_ask", "template": "Which city?", "guideline_ids": ["g_ask"]}]}]})
    wired, registry, _, attached = wire_recorded_lookups(spec, sgd, {"1_00001"})
    assert attached == {TOOL_NAME: ["g_booked", "g_offer"]} and registry.names() == [TOOL_NAME]
    assert {g.id: g.tools for g in wired.departments[0].guidelines} == {
        "g_offer": (TOOL_NAME,), "g_booked": (TOOL_NAME,), "g_ask": ()}
