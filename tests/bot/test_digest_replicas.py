"""Two `council serve` processes on one PostgreSQL database post a council's weekly digest once.

Both check at start whether a digest is due; the council's is due (today, 00:00 in its timezone)
and it was set up long ago, so each process races the other for the week's claim. A replica killed
and started again afterwards finds the claim and posts nothing.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.governance.calendar import DAYS
from bot.outbox.digest_effects import METADATA_EVENT
from models import Council, JobRun, OutboxItem
from models.enums import Delivery
from tests.bot.test_restart import _serve
from tests.bot.test_storm_replicas import _cli, _environment, fake  # noqa: F401 - fixture
from tests.fakeslack import FakeSlack
from tests.harness import COUNCIL_YML, free_port

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def _due_now_yml() -> str:
    today = DAYS[datetime.now(ZoneInfo("Europe/Berlin")).weekday()]
    return COUNCIL_YML.replace(
        "    timezone: Europe/Berlin\n",
        f'    timezone: Europe/Berlin\n    digest: {{day: {today}, time: "00:00"}}\n',
    )


async def _settled(slack: FakeSlack) -> None:
    """Wait until nothing but pulse DMs is pending.

    On a Friday afternoon the council's weekly pulse is due as well, and its DMs wait for each
    member's working hours: they are not what this test is about.
    """
    for _ in range(1200):
        if not await OutboxItem.filter(status=Delivery.PENDING).exclude(kind="pulse.asked").exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox never emptied\n{slack.dump()}")


def _digests(slack: FakeSlack) -> int:
    return sum((m.metadata or {}).get("event_type") == METADATA_EVENT for m in slack.messages("C0COUNCIL"))


async def test_two_replicas_post_one_digest_and_a_restart_posts_none(
    tmp_path: Path,
    database: str,
    fake: FakeSlack,  # noqa: F811 - the fixture imported above
) -> None:
    (tmp_path / "council.yml").write_text(_due_now_yml())
    first = _environment(tmp_path, database, fake, free_port())
    second = _environment(tmp_path, database, fake, free_port())
    await _cli(first, "config", "apply", first["COUNCIL_CONFIG"])
    await Council.all().update(created_at=datetime(2025, 1, 1, tzinfo=UTC))
    async with aiohttp.ClientSession() as http:
        servers = list(await asyncio.gather(_serve(first, http), _serve(second, http)))
        try:
            await fake.wait_for(lambda: _digests(fake) and fake.uploads_in("C0COUNCIL"), timeout=60)
            await _settled(fake)
            # The second replica's start-up check has run by now too (both started before the post).
            assert await JobRun.filter(job="digest:ai-council").count() == 1
            servers[0].send_signal(signal.SIGKILL)
            await servers[0].wait()
            servers[0] = await _serve(first, http)
            # Its start-up check: the claim is there, so nothing is queued.
            for _ in range(40):
                await asyncio.sleep(0.05)
            await _settled(fake)
        finally:
            for server in servers:
                if server.returncode is None:
                    server.send_signal(signal.SIGTERM)
            for server in servers:
                await server.wait()
    assert _digests(fake) == 1
    assert len(fake.uploads_in("C0COUNCIL")) == 1
    assert await OutboxItem.filter(kind="digest.ready").count() == 1
    assert await JobRun.filter(job="digest:ai-council").count() == 1
