"""`council outbox list` and `council outbox retry`: dead letters as an admin finds and re-sends them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli, db
from models import AuditEvent, OutboxItem


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command line pointed at the test's database, from a folder with no .env or council.yml."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "COUNCIL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COUNCIL_SECRET_KEY_FILE", str(tmp_path / "council.key"))
    return database_url


def _in_database(url: str, work: object) -> object:
    async def run() -> object:
        await db.init(url)
        try:
            return await work()  # type: ignore[operator]
        finally:
            await db.close()

    return asyncio.run(run())


async def _rows() -> list[int]:
    later = datetime.now(UTC) + timedelta(minutes=5)
    made = [
        await OutboxItem.create(
            kind="escalation.opened",
            payload={},
            status="dead",
            attempts=25,
            last_error="slack: is_archived",
            next_attempt_at=later,
        ),
        await OutboxItem.create(
            kind="agent.callback",
            payload={},
            status="dead",
            attempts=400,
            last_error="agent answered HTTP 500",
            next_attempt_at=later,
        ),
        await OutboxItem.create(
            kind="escalation.tally",
            payload={},
            attempts=2,
            last_error="slack: HTTP 503",
            next_attempt_at=later,
        ),
        await OutboxItem.create(kind="escalation.opened", payload={}, status="done", next_attempt_at=later),
    ]
    return [row.id for row in made]


async def _state() -> list[tuple[int, str, int]]:
    return [(r.id, str(r.status), r.attempts) for r in await OutboxItem.all().order_by("id")]


def test_list_shows_waiting_and_dead_deliveries(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    dead_post, dead_callback, waiting, _ = _in_database(cli_env, _rows)  # type: ignore[misc]
    assert cli.main(["outbox", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines[:-1]] == [dead_post, dead_callback, waiting]
    assert "dead" in lines[0] and "slack" in lines[0] and "slack: is_archived" in lines[0]
    assert "agent" in lines[1] and "agent answered HTTP 500" in lines[1]
    assert "pending" in lines[2] and "next 20" in lines[2]
    assert lines[-1].startswith("2 dead; `council outbox retry ID`")

    assert cli.main(["outbox", "list", "--dead", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["id"], row["target"], row["status"], row["attempts"]) for row in listed] == [
        (dead_post, "slack", "dead", 25),
        (dead_callback, "agent", "dead", 400),
    ]
    fields = "id kind target status attempts escalation next_attempt_at last_error created_at"
    assert set(listed[0]) == set(fields.split())


def test_retry_one_then_all_dead_requeues_them_due_now(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dead_post, dead_callback, waiting, done = _in_database(cli_env, _rows)  # type: ignore[misc]
    before = datetime.now(UTC)
    assert cli.main(["outbox", "retry", str(dead_post)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"re-queued outbox row {dead_post} (escalation.opened to slack); it is due now"
    )
    assert _in_database(cli_env, _state) == [
        (dead_post, "pending", 0),
        (dead_callback, "dead", 400),
        (waiting, "pending", 2),
        (done, "done", 0),
    ]
    for row_id, why in (
        (done, "is done, not dead"),
        (waiting, "is pending, not dead"),
        (999, "no outbox row"),
    ):
        assert cli.main(["outbox", "retry", str(row_id)]) == 1
        assert why in capsys.readouterr().err

    assert cli.main(["outbox", "retry", "--all-dead"]) == 0
    assert capsys.readouterr().out.strip() == "re-queued 1 dead deliveries"
    assert cli.main(["outbox", "retry", "--all-dead"]) == 0
    assert capsys.readouterr().out.strip() == "no dead deliveries to retry"

    async def requeued() -> tuple[list[datetime], list[object]]:
        rows = await OutboxItem.filter(id__in=[dead_post, dead_callback]).order_by("id")
        events = (
            await AuditEvent.filter(action="outbox.retried").order_by("id").values_list("payload", flat=True)
        )
        return [r.next_attempt_at for r in rows], list(events)

    due, audited = _in_database(cli_env, requeued)  # type: ignore[misc]
    assert all(before <= at <= datetime.now(UTC) for at in due)
    assert audited == [{"rows": [dead_post]}, {"rows": [dead_callback]}]
    assert cli.main(["audit", "verify"]) == 0


def test_retry_needs_an_id_or_all_dead(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["outbox", "retry"], ["outbox", "retry", "7", "--all-dead"], ["outbox", "retry", "x"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
    assert "is not an outbox row id" in capsys.readouterr().err
