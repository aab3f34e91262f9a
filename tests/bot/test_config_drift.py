"""Slack and council.yml agree: an apply names what it would undo of Slack's changes, and asks for --force."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import config_commands
from bot.app import _database, create_app
from bot.council_file import parse
from bot.services import config, drift, membership
from bot.settings import Settings
from models import AuditEvent, Member
from tests.bot.test_cli import env, run  # noqa: F401 - `env` is a fixture
from tests.harness import COUNCIL_YML

ADMIN, LEGAL = "U0ADMIN01", "U0LEGAL01"
WITH_LEGAL = COUNCIL_YML.replace(
    "      - {user: U0FIN0001, function: finance}\n",
    "      - {user: U0FIN0001, function: finance}\n      - {user: U0LEGAL01, function: legal}\n",
)


def _args(path: Path, *, dry_run: bool = False, force: bool = False) -> argparse.Namespace:
    return argparse.Namespace(file=path, dry_run=dry_run, force=force, allow_empty=False)


@pytest.fixture
async def drifted(database: str, tmp_path: Path) -> Path:
    """council.yml applied, then a member seated from Slack that the file does not list."""
    path = tmp_path / "council.yml"
    path.write_text(COUNCIL_YML)
    await config.apply_text(COUNCIL_YML, source="council.yml")
    await membership.add(actor=ADMIN, user=LEGAL, function="legal", role=None, council=None)
    return path


async def test_a_plain_apply_names_the_slack_change_it_would_undo_and_changes_nothing(
    drifted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await config_commands.apply(_args(drifted)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "- council ai-council: member U0LEGAL01 removed (past votes kept)"
    assert out[1] == "these changes made from Slack since the last apply would be undone:"
    assert out[2].endswith(" UTC U0ADMIN01 member.added U0LEGAL01 on ai-council")
    assert out[3].startswith("council: not applied. Put them in the file (`council config export`")
    assert (await Member.get(user_id=LEGAL)).active
    assert not await AuditEvent.filter(action="config.applied").exclude(actor_id="cli").exists()


async def test_a_dry_run_shows_the_difference_and_the_changes_it_would_undo(
    drifted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await config_commands.apply(_args(drifted, dry_run=True)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "- council ai-council: member U0LEGAL01 removed (past votes kept)"
    assert out[2].endswith("member.added U0LEGAL01 on ai-council")
    assert out[3] == "dry run: nothing applied (1 change)"
    assert (await Member.get(user_id=LEGAL)).active


async def test_force_undoes_it_and_then_the_file_and_the_database_agree(
    drifted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await config_commands.apply(_args(drifted, force=True)) == 0
    assert not (await Member.get(user_id=LEGAL)).active
    assert await drift.since_last_apply() == []
    capsys.readouterr()
    assert await config_commands.apply(_args(drifted)) == 0
    assert capsys.readouterr().out == "no changes: the database already matches\n"


async def test_a_file_that_takes_the_change_in_applies_without_force(
    drifted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `config export` shows the database with the Slack change; a file written from it agrees.
    exported = await config.export()
    assert any(m["user"] == LEGAL for m in exported["councils"][0]["members"])
    await asyncio.to_thread(drifted.write_text, WITH_LEGAL)
    assert await config_commands.apply(_args(drifted)) == 0
    assert capsys.readouterr().out == "no changes: the database already matches\n"
    assert (await Member.get(user_id=LEGAL)).active and await drift.since_last_apply() == []


async def test_only_the_changes_an_apply_touches_count_as_undone(database: str) -> None:
    await config.apply_text(WITH_LEGAL, source="council.yml")
    await membership.away(
        actor=ADMIN, user="U0TECH001", until=date(2099, 1, 1), delegate="U0DEP0001", council=None
    )
    await membership.add(actor=ADMIN, user=LEGAL, function="legal", role="chair", council=None)
    # The file gives U0TECH001 no delegate and U0LEGAL01 no chair: applying it undoes both.
    plan = await drift.plan(parse(WITH_LEGAL, source="x"), source="x", allow_empty=False)
    assert [(c.action, c.subject) for c in plan.undone] == [
        ("member.away", "U0TECH001"),
        ("member.changed", LEGAL),
    ]
    # A line about another subject whose name only starts the same does not touch it.
    limits = drift.SlackChange(
        at=datetime.now(UTC), actor=ADMIN, action="agent.limits", subject="refund-bot", council=None
    )
    assert drift.undone_by(config.ApplyReport(["~ agent refund-bot-2: owner U1 → U2"]), [limits]) == []
    assert drift.undone_by(config.ApplyReport(["~ agent refund-bot: limits"]), [limits]) == [limits]


async def test_serve_keeps_the_database_at_start_up_and_logs_the_difference(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "council.yml"
    path.write_text(COUNCIL_YML)
    app = create_app(settings.model_copy(update={"council_config": path}))
    started = _database(app)
    await anext(started)
    await membership.add(actor=ADMIN, user=LEGAL, function="legal", role=None, council=None)
    with pytest.raises(StopAsyncIteration):
        await anext(started)

    restarted = _database(app)
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await anext(restarted)
    try:
        assert (await Member.get(user_id=LEGAL)).active
        [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
        assert warning.startswith("council.yml not applied: it would undo 1 change(s) made from Slack")
        assert "member.added U0LEGAL01 on ai-council" in warning
        assert "- council ai-council: member U0LEGAL01 removed (past votes kept)" in warning
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(restarted)


def test_the_cli_asks_for_force_with_exit_1(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    assert run("config", "apply", "council.yml", env=env, cwd=tmp_path).returncode == 0
    (tmp_path / "council.yml").write_text(WITH_LEGAL)
    assert run("config", "apply", "council.yml", env=env, cwd=tmp_path).returncode == 0
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    # No change was made from Slack: the file is simply applied.
    result = run("config", "apply", "council.yml", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "- council ai-council: member U0LEGAL01 removed (past votes kept)\n"
    help_text = run("config", "apply", "--help", env=env, cwd=tmp_path).stdout
    assert "--force" in help_text


async def test_time_away_that_is_over_is_no_drift(database: str) -> None:
    await config.apply_text(COUNCIL_YML, source="council.yml")
    await membership.away(
        actor=ADMIN, user="U0FIN0001", until=date(2099, 1, 1), delegate="U0DEP0001", council=None
    )
    await membership.back(actor=ADMIN, user="U0FIN0001", council=None)
    # Back, the seat is as the file says: nothing an apply would undo.
    plan = await drift.plan(parse(COUNCIL_YML, source="x"), source="x", allow_empty=False)
    assert plan.report.changes == [] and plan.undone == []
