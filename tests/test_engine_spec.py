"""Agent spec: YAML round trip, strictness, and errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from engine_fakes import RETAIL_SPEC_PATH, retail_spec

from guideminer.engine import (
    AgentSpec,
    CannedResponse,
    CompositionMode,
    SpecLoadError,
    dump_agent_spec,
    load_agent_spec,
)


def _raw() -> dict:
    return yaml.safe_load(RETAIL_SPEC_PATH.read_text())


def _write(tmp_path: Path, data: dict, name: str = "agent.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_fixture_loads_with_defaults_and_overrides():
    spec = retail_spec()
    assert spec.schema_version == 1
    assert [d.id for d in spec.departments] == ["orders", "billing", "app_support"]
    orders = spec.department("orders")
    assert orders.guideline("return_request").provenance == "proposal-0042"
    assert orders.guideline("warranty_question").provenance == "hand-written"
    assert spec.mode_for(orders) is CompositionMode.fluid
    assert spec.mode_for(spec.department("app_support")) is CompositionMode.canned_strict
    assert orders.canned_responses[2].fields == ("order_id", "status")


def test_yaml_round_trip_is_lossless(tmp_path):
    spec = retail_spec()
    path = dump_agent_spec(spec, tmp_path / "out.yaml")
    again = load_agent_spec(path)
    assert again == spec
    dump_agent_spec(again, tmp_path / "out2.yaml")
    assert (tmp_path / "out.yaml").read_text() == (tmp_path / "out2.yaml").read_text()


def test_models_are_frozen():
    spec = retail_spec()
    with pytest.raises(ValidationError):
        spec.departments[0].guidelines[0].priority = 5  # type: ignore[misc]


def test_type_error_names_file_field_path_and_line(tmp_path):
    data = _raw()
    data["departments"][1]["guidelines"][1]["priority"] = "very high"
    with pytest.raises(SpecLoadError) as info:
        load_agent_spec(_write(tmp_path, data))
    message = str(info.value)
    assert message.startswith("agent.yaml: departments.1.guidelines.1.priority: ")
    assert "valid integer" in message
    assert "(line " in message


def test_unknown_key_is_rejected_not_ignored(tmp_path):
    data = _raw()
    data["departments"][0]["guidelines"][0]["acton"] = "typo"
    with pytest.raises(SpecLoadError, match=r"departments\.0\.guidelines\.0\.acton: Extra inputs"):
        load_agent_spec(_write(tmp_path, data))


def test_unknown_schema_version_is_rejected(tmp_path):
    data = _raw()
    data["schema_version"] = 2
    with pytest.raises(SpecLoadError, match="schema_version"):
        load_agent_spec(_write(tmp_path, data))


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ndepartments: [\n  - id: a\n")
    with pytest.raises(SpecLoadError, match=r"^broken\.yaml: invalid YAML: .*line \d+"):
        load_agent_spec(path)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(SpecLoadError, match="nope.yaml: cannot read file"):
        load_agent_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["departments"][0].setdefault("relationships", []).append(
            {"kind": "priority", "source": "return_request", "target": "ghost"}),
         "departments.0.relationships.0.target: unknown guideline 'ghost'"),
        (lambda d: d["departments"][0]["canned_responses"][0].update(guideline_ids=["ghost"]),
         "departments.0.canned_responses.0.guideline_ids: unknown guideline 'ghost'"),
        (lambda d: d["departments"][1]["guidelines"][0].update(tools=["lookup_order"]),
         "departments.1.guidelines.0.tools: tool 'lookup_order' is not declared"),
        (lambda d: d["departments"][1]["guidelines"][1].update(id="refund_status"),
         "departments.1.guidelines.1.id: duplicate guideline id 'refund_status' "
         "(first used at departments.1.guidelines.0.id)"),
        (lambda d: d["departments"][0]["guidelines"][3].update(transfer_to="nowhere"),
         "departments.0.guidelines.3.transfer_to: 'nowhere' is not another department"),
        (lambda d: d["departments"][2].update(id="orders"),
         "departments.2.id: duplicate department id 'orders'"),
    ],
    ids=["relationship", "canned", "tool", "dup-guideline", "transfer", "dup-department"],
)
def test_cross_references_are_checked(tmp_path, mutate, expected):
    data = _raw()
    mutate(data)
    with pytest.raises(SpecLoadError) as info:
        load_agent_spec(_write(tmp_path, data))
    assert f"agent.yaml: {expected}" in str(info.value)


def test_priority_cycle_is_rejected(tmp_path):
    data = _raw()
    data["departments"][1]["relationships"] = [
        {"kind": "priority", "source": "refund_status", "target": "invoice_request"},
        {"kind": "priority", "source": "invoice_request", "target": "refund_status"},
    ]
    with pytest.raises(SpecLoadError, match="priority cycle"):
        load_agent_spec(_write(tmp_path, data))


def test_canned_template_fields_must_be_plain_names():
    with pytest.raises(ValidationError, match="plain name"):
        CannedResponse(id="c", template="Order {order.id}", guideline_ids=("g",))
    with pytest.raises(ValidationError, match="plain name"):
        CannedResponse(id="c", template="Total {amount:.2f}", guideline_ids=("g",))


def test_constructing_in_code_runs_the_same_checks():
    data = _raw()
    data["departments"][0]["canned_responses"][0]["guideline_ids"] = ["ghost"]
    with pytest.raises(ValidationError, match="unknown guideline 'ghost'"):
        AgentSpec.model_validate(data)
