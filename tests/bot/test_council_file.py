"""docs/governance.md's council.yml for each ownership model: it parses, validates and is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.council_file import CouncilFile, check_complete, parse

DOC = Path(__file__).parents[2] / "docs" / "governance.md"


def ownership_models() -> dict[str, str]:
    """Each `### N. …` heading of the doc's "Ownership models" section, with its council.yml block."""
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split("\n## Ownership models\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"\n### (\d\. [^\n]+)\n.*?```yaml\n(.*?)```", section, flags=re.DOTALL)
    return dict(found)


def test_the_doc_shows_the_three_models() -> None:
    assert list(ownership_models()) == [
        "1. A cross-functional council",
        "2. An expanded existing role",
        "3. A single accountable owner",
    ]


@pytest.mark.parametrize(("title", "text"), ownership_models().items())
def test_each_model_is_a_complete_valid_council_yml(title: str, text: str) -> None:
    config = parse(text, source=title)
    check_complete(config, source=title)
    assert [agent.name for agent in config.agents] == ["refund-bot"]


def _rules(config: CouncilFile) -> dict[str, str]:
    return {p.name: p.rule.type for p in config.policies if p.rule is not None}


def test_each_model_has_the_shape_its_heading_names() -> None:
    cross, role, owner = (parse(text) for text in ownership_models().values())
    functions = {m.function for m in cross.councils[0].members}
    assert len(cross.councils) == 1 and {"people", "technology", "finance", "legal"} <= functions
    refunds = next(p for p in role.policies if p.name == "refunds")
    assert refunds.council == "finance-control" and role.agents[0].council == "finance-control"
    assert {m.function for m in role.councils[0].members} == {"finance"}
    assert len(owner.councils) == 1 and len(owner.councils[0].members) == 1
    assert set(_rules(owner).values()) == {"single"}
