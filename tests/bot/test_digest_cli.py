"""`council digest show`: the week's figures on the command line, as text or JSON, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bot.test_cli import env, run  # noqa: F401 - `env` is a fixture
from tests.harness import COUNCIL_YML


@pytest.fixture
def configured(env: dict[str, str], tmp_path: Path) -> dict[str, str]:  # noqa: F811 - the fixture above
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    assert run("config", "apply", "council.yml", env=env, cwd=tmp_path).returncode == 0
    return env


def test_show_prints_a_named_week_as_text(configured: dict[str, str], tmp_path: Path) -> None:
    result = run(
        "digest", "show", "--council", "ai-council", "--week", "2026-W13", env=configured, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Weekly digest · ai-council"
    # The week of Berlin's spring change, named in the council's timezone.
    assert (
        lines[1] == "Week 2026-W13: Mon 23 Mar – Sun 29 Mar 2026, Europe/Berlin; arrows compare with 2026-W12"
    )
    for heading in ("System flow", "Human flourishing", "What to look at"):
        assert heading in lines
    assert "<@" not in result.stdout and "*" not in result.stdout


def test_show_prints_the_figures_as_json(configured: dict[str, str], tmp_path: Path) -> None:
    result = run(
        "digest",
        "show",
        "--council",
        "ai-council",
        "--week",
        "2026-W13",
        "--json",
        env=configured,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["council"] == "ai-council" and found["timezone"] == "Europe/Berlin"
    assert (found["week"]["start"], found["week"]["end"]) == ("2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z")
    assert found["previous"]["week"] == "2026-W12"
    assert set(found["week"]) == {"week", "start", "end", "complete", "flow", "flourishing", "chart"}
    assert found["changes"]["escalations"] == {"now": 0.0, "before": 0.0}
    assert found["look_at"] == ["Nothing stands out this week: decisions kept up and the load was spread."]
    # Without --council, every council in use, as a list.
    every = json.loads(run("digest", "show", "--json", env=configured, cwd=tmp_path).stdout)
    assert [each["council"] for each in every] == ["ai-council"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--week", "2026-13"), 2, "'2026-13' is not a week; write it as YYYY-Www"),
        (("--week", "2025-W53"), 2, "2025 has no week 53"),
        (("--council", "nope"), 1, "There is no council named 'nope' (councils: ai-council)."),
        (("--council", "Bad Name"), 2, "is not a valid name"),
    ],
)
def test_bad_arguments_get_one_clear_line(
    configured: dict[str, str], tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run("digest", "show", *args, env=configured, cwd=tmp_path)
    assert result.returncode == code and message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
