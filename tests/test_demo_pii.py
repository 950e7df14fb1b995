"""The demo's outputs hold no generated name, and the demo fails when its audit finds anything.

The generator knows every name it put into the corpus (customers' first and last names, agents'
first names), so this check is stronger than the audit, which only finds what the recognisers
find: a lower-case "thanks casey" that no recogniser flags is still caught here.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import typer

from guideminer.ingest import demo_catalog
from guideminer.ingest.audit import AuditHit, strings_of_file, workspace_outputs

NAME_TUPLES = ("FIRST_NAMES", "LAST_NAMES", "AGENT_NAMES")
CATALOG_MODULES = sorted(Path(demo_catalog.__file__).parent.glob("demo_catalog*.py"))


def generated_names() -> set[str]:
    return {name for tuple_name in NAME_TUPLES for name in getattr(demo_catalog, tuple_name)}


def template_words() -> set[str]:
    """Words the generator writes in lower case outside its name tuples ("30-day grace period"),
    with the typos its `add_typos` makes of them ("been" -> "ben"): a name that is also one of
    them counts only when capitalised."""
    words: set[str] = set()
    for path in CATALOG_MODULES:
        text = path.read_text(encoding="utf-8")
        for tuple_name in NAME_TUPLES:
            text = re.sub(rf"{tuple_name} = \([^)]*\)", "", text)
        words.update(re.findall(r"\b[a-z]+\b", re.sub(r"\{\w+\}", " ", text)))
    typos = set()
    for word in (w for w in words if len(w) >= 4):  # add_typos: drop or swap one inner letter
        typos.update(word[:j] + word[j + 1 :] for j in range(1, len(word) - 2))
        typos.update(word[:j] + word[j + 1] + word[j] + word[j + 2 :] for j in range(1, len(word) - 2))
    return words | typos


def name_leaks(files: list[Path], root: Path) -> list[str]:
    names = generated_names()
    ordinary = template_words()
    pattern = re.compile(r"(?<![\w-])(" + "|".join(sorted(names, key=len, reverse=True)) + r")(?![\w-])", re.IGNORECASE)
    leaks = []
    for path in files:
        for field, text in strings_of_file(path):
            for match in pattern.finditer(text):
                word = match.group(0)
                if word.lower() in ordinary and word[0].islower():
                    continue
                where = path.relative_to(root) if root in path.parents else path
                leaks.append(f"{where} :: {field} :: ...{text[max(0, match.start() - 40) : match.end() + 20]}...")
    return leaks


def test_the_generated_names_are_known_and_some_are_ordinary_words() -> None:
    names = generated_names()
    assert {"Jane", "Smith", "Sam"} <= names and len(names) > 40
    assert "grace" in template_words()  # "30-day grace period": only "Grace" counts as a name
    assert "ben" in template_words()  # "been" with a letter dropped
    assert "jane" not in template_words() and "kim" not in template_words()


def test_the_leak_check_finds_a_name_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"x": "great thanks for your help casey", "y": "a 30-day grace period"}')
    (tmp_path / "b.yaml").write_text("examples:\n  - Thanks Grace, bye\n")
    leaks = name_leaks([tmp_path / "a.json", tmp_path / "b.yaml"], tmp_path)
    assert [leak.split(" :: ")[:2] for leak in leaks] == [["a.json", "x"], ["b.yaml", "examples[0]"]]


def test_no_generated_name_in_any_demo_output(demo_run) -> None:
    workspace = demo_run.workspace.resolve()
    files = workspace_outputs(workspace)
    assert {"agent.yaml", "report.html", "guidelines.json"} <= {f.name for f in files}
    assert any(f.parent.name == "turns.parquet" for f in files)
    leaks = name_leaks(files, workspace)
    assert leaks == [], f"{len(leaks)} generated names left in the demo outputs:\n" + "\n".join(leaks[:30])


def test_the_demo_audit_is_clean_and_keeps_the_company_name(demo_run) -> None:
    assert demo_run.pii_hits == [], "\n".join(f"{h.file} :: {h.field} :: {h.snippet}" for h in demo_run.pii_hits[:30])
    assert demo_catalog.COMPANY in demo_run.allow_terms
    assert not set(demo_run.allow_terms) & generated_names()
    spec_text = demo_run.agent_spec.read_text(encoding="utf-8")
    report = (demo_run.workspace / "mining" / "report.html").read_text(encoding="utf-8")
    assert demo_catalog.COMPANY in spec_text + report  # kept as vocabulary, not <PERSON_n>


def test_the_demo_fails_loudly_when_its_audit_finds_something(demo_run, capsys: pytest.CaptureFixture) -> None:
    from guideminer.evaluation.demo_cli import finish_demo

    hit = AuditHit("mining/report.html", "text line 3", "PERSON", "thanks [Jane Smith]")
    with pytest.raises(typer.Exit) as raised:
        finish_demo(dataclasses.replace(demo_run, pii_hits=[hit]))
    assert raised.value.exit_code == 1
    shown = capsys.readouterr().out
    assert "1 possible personal data hit" in shown and "thanks [Jane Smith]" in shown
    finish_demo(demo_run)  # clean: no exit
