"""When the digest is posted: at each council's local day and time, once per week, whatever happens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.runtime import Runtime
from bot.services import config, digest
from models import AuditEvent, Council, JobRun, OutboxItem

YML = """
admins: [U0ADMIN01]
councils:
  - name: berlin
    channel: C0BERLIN1
    timezone: Europe/Berlin
    digest: {day: mon, time: "09:00"}
    members: [{user: U0PEOPLE1, function: people, role: chair}]
  - name: new-york
    channel: C0NEWYORK
    timezone: America/New_York
    digest: {day: mon, time: "09:00"}
    members: [{user: U0PEOPLE1, function: people, role: chair}]
policies:
  - {name: everything, match: {}, rule: {type: majority}}
"""


@pytest.fixture
async def councils(database: str) -> None:
    await config.apply_text(YML, source="council.yml")
    # Set up long ago, so every week in these tests has one to report.
    await Council.all().update(created_at=datetime(2025, 1, 1, tzinfo=UTC))


async def _queued() -> list[tuple[str, str]]:
    rows = await OutboxItem.filter(kind="digest.ready").order_by("id")
    return [(row.payload["council"], row.payload["week"]) for row in rows]


@pytest.mark.parametrize(
    ("council", "before", "at"),
    [
        # Berlin springs forward on 29 March: 09:00 is 08:00 UTC the Monday before, 07:00 after.
        ("berlin", datetime(2026, 3, 23, 7, 59, tzinfo=UTC), datetime(2026, 3, 23, 8, 0, tzinfo=UTC)),
        ("berlin", datetime(2026, 3, 30, 6, 59, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        # New York springs forward on 8 March: 09:00 is 14:00 UTC before, 13:00 after.
        ("new-york", datetime(2026, 3, 2, 13, 59, tzinfo=UTC), datetime(2026, 3, 2, 14, 0, tzinfo=UTC)),
        ("new-york", datetime(2026, 3, 9, 12, 59, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        # And back in the autumn (Berlin 25 October, New York 1 November).
        ("berlin", datetime(2026, 10, 26, 7, 59, tzinfo=UTC), datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
        ("new-york", datetime(2026, 11, 2, 13, 59, tzinfo=UTC), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
    ],
)
async def test_the_digest_comes_at_nine_local_on_both_sides_of_a_dst_change(
    councils: None, rt: Runtime, council: str, before: datetime, at: datetime
) -> None:
    await Council.exclude(name=council).update(retired_at=datetime(2025, 6, 1, tzinfo=UTC))
    assert await digest.post_due(rt, now=before) == []
    assert await digest.post_due(rt, now=at) == [council]
    reported = (at - timedelta(days=7)).isocalendar()
    assert await _queued() == [(council, f"{reported[0]}-W{reported[1]:02d}")]


async def test_each_week_is_posted_once_however_often_the_job_runs(councils: None, rt: Runtime) -> None:
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 Berlin, 03:00 New York
    assert await digest.post_due(rt, now=monday) == ["berlin"]
    for minutes in (1, 60, 60 * 24 * 3):
        assert await digest.post_due(rt, now=monday + timedelta(minutes=minutes)) in ([], ["new-york"])
    assert await _queued() == [("berlin", "2026-W49"), ("new-york", "2026-W49")]
    # The next Monday brings the next week.
    assert await digest.post_due(rt, now=monday + timedelta(days=7)) == ["berlin"]
    assert await JobRun.filter(job="digest:berlin").count() == 2
    events = await AuditEvent.filter(action="digest.queued").values_list("subject", "payload")
    assert events[0] == ("berlin", {"week": "2026-W49", "scheduled": True})


async def test_a_replica_down_at_the_time_posts_when_it_is_back_and_only_once(
    councils: None, rt: Runtime
) -> None:
    # Down from Sunday to Wednesday: the first run after the restart posts Monday's digest.
    wednesday = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
    assert await digest.post_due(rt, now=wednesday) == ["berlin", "new-york"]
    # A second restart the same week finds the claims and posts nothing.
    assert await digest.post_due(rt, now=wednesday + timedelta(hours=2)) == []
    assert len(await _queued()) == 2


async def test_replicas_racing_for_the_same_digest_queue_it_once(councils: None, rt: Runtime) -> None:
    monday = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    results = await asyncio.gather(*(digest.post_due(rt, now=monday) for _ in range(4)))
    assert sorted(name for result in results for name in result) == ["berlin", "new-york"]
    assert await _queued() == [("berlin", "2026-W49"), ("new-york", "2026-W49")]


async def test_a_council_set_up_this_week_waits_for_its_first_whole_week(councils: None, rt: Runtime) -> None:
    await Council.filter(name="berlin").update(created_at=datetime(2026, 12, 8, tzinfo=UTC))
    assert await digest.post_due(rt, now=datetime(2026, 12, 8, 9, 0, tzinfo=UTC)) == ["new-york"]
    assert await digest.post_due(rt, now=datetime(2026, 12, 14, 8, 0, tzinfo=UTC)) == ["berlin"]
    assert await _queued() == [("new-york", "2026-W49"), ("berlin", "2026-W50")]


async def test_an_admin_asking_now_gets_a_copy_and_the_weekly_run_still_posts(
    councils: None, rt: Runtime
) -> None:
    monday = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # before Berlin's 09:00
    queued = await digest.post_now(rt, "berlin", actor="U0ADMIN01", now=monday)
    assert [(q.council, q.channel, q.week) for q in queued] == [("berlin", "C0BERLIN1", "2026-W49")]
    assert await digest.post_due(rt, now=monday + timedelta(hours=1)) == ["berlin"]
    assert await _queued() == [("berlin", "2026-W49"), ("berlin", "2026-W49")]
    flags = [row.payload["scheduled"] for row in await OutboxItem.filter(kind="digest.ready").order_by("id")]
    assert flags == [False, True]


async def test_one_councils_failure_holds_up_neither_the_others_nor_its_next_try(
    councils: None, rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    compute = digest.compute

    async def broken_for_berlin(council: Council, week: object, **kw: object) -> object:
        if council.name == "berlin":
            raise RuntimeError("database hiccup")
        return await compute(council, week, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(digest, "compute", broken_for_berlin)
    monday = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert await digest.post_due(rt, now=monday) == ["new-york"]
    assert "the digest for berlin, week 2026-W49, could not be queued" in caplog.text
    # Nothing was claimed for it, so the next minute's run posts it.
    monkeypatch.setattr(digest, "compute", compute)
    assert await digest.post_due(rt, now=monday + timedelta(minutes=1)) == ["berlin"]
