"""Reminders and the pulse DM wait for each member's working hours, on the worker's own clock.

The test's clock starts on Tuesday 15 January 2030 at 19:00 UTC: 20:00 in Berlin, 14:00 in New York.
Rows written now (by the real clock) are due at once on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.app import slack_client
from bot.governance import Choice
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.schemas import EscalationIn, WithdrawIn
from bot.services import agents, amendments, config, deadlines, escalations, people, pulse, votes
from bot.services.votes import Ballot
from bot.settings import Settings
from handlers.slack import commands
from models import Escalation, OutboxItem, Person
from tests.bot.outbox.clocked import fake
from tests.clock import ManualClock
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

__all__ = ["fake"]

BERLIN, NEW_YORK, VOTER, RECUSER = "U0BERLIN1", "U0NEWYORK", "U0VOTER01", "U0RECUSE1"
TUESDAY_8PM_BERLIN = datetime(2030, 1, 15, 19, 0, tzinfo=UTC)
WEDNESDAY_9AM_BERLIN = datetime(2030, 1, 16, 8, 0, tzinfo=UTC)
COUNCIL = f"""
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    timezone: Europe/Berlin
    members:
      - {{user: {BERLIN}, function: people, role: chair}}
      - {{user: {NEW_YORK}, function: technology}}
      - {{user: {VOTER}, function: finance}}
      - {{user: {RECUSER}, function: legal}}
agents:
  - {{name: refund-bot, owner: U0OWNER01, council: ai-council}}
policies:
  - {{name: refunds, match: {{kind: approval}}, rule: {{type: n_of_m, n: 3}}, deadline: 4h}}
defaults: {{council: ai-council}}
"""
TIMEZONES = {BERLIN: "Europe/Berlin", NEW_YORK: "America/New_York", VOTER: "America/New_York"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(TUESDAY_8PM_BERLIN)


@pytest.fixture
async def worker(
    rt: Runtime, settings: Settings, fake: FakeSlack, clock: ManualClock, database: str
) -> AsyncIterator[OutboxWorker]:
    await config.apply_text(COUNCIL, source="council.yml")
    for user, tz in TIMEZONES.items():
        fake.users[user] = {"tz": tz}
    fake.users[RECUSER] = {"tz": "America/New_York"}
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}))
    async with aiohttp.ClientSession() as http:
        yield OutboxWorker(rt, client, http, clock=clock.now, sleep=clock.sleep)


async def _reminded(rt: Runtime, *, deadline: timedelta) -> Escalation:
    """An approval whose deadline is `deadline` away on the test's clock, with its first reminder queued."""
    creds = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    escalation, _ = await escalations.create(
        rt, agent=agent, body=EscalationIn.model_validate(REFUND), idempotency_key=None
    )
    await Escalation.filter(id=escalation.id).update(deadline=TUESDAY_8PM_BERLIN + deadline)
    await deadlines.remind(rt, escalation.id, count=1)
    return escalation


def _reminders(fake: FakeSlack, user: str) -> list[str]:
    return [m.text for m in fake.dms(user) if m.text.startswith("Reminder:")]


async def _row(user: str, kind: str = "escalation.reminder") -> OutboxItem:
    rows = [row for row in await OutboxItem.filter(kind=kind) if row.payload["user"] == user]
    assert len(rows) == 1
    return rows[0]


async def test_a_reminder_due_at_20_00_local_goes_at_09_00_next_morning(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    escalation = await _reminded(rt, deadline=timedelta(days=2))
    await worker.deliver_due()
    # 14:00 in New York: at once. 20:00 in Berlin: not tonight.
    assert len(_reminders(fake, NEW_YORK)) == 1
    assert _reminders(fake, BERLIN) == []
    waiting = await _row(BERLIN)
    assert (waiting.status, waiting.next_attempt_at, waiting.attempts) == ("pending", WEDNESDAY_9AM_BERLIN, 0)
    assert waiting.last_error is None  # waiting for someone's morning is no failure
    # The channel's own messages are not held up by the reminder waiting for its morning.
    await votes.cast(rt, public_id=escalation.public_id, user=VOTER, ballot=Ballot(Choice.APPROVE))
    await worker.deliver_due()
    assert [c for c in fake.calls if c.method == "chat.update" and c.ok]

    clock.at = WEDNESDAY_9AM_BERLIN - timedelta(seconds=1)
    await worker.deliver_due()
    assert _reminders(fake, BERLIN) == []
    clock.at = WEDNESDAY_9AM_BERLIN
    await worker.deliver_due()
    assert len(_reminders(fake, BERLIN)) == 1
    assert (await _row(BERLIN)).status == "done"
    # Slack was asked for each person's timezone once: the second try read the cache.
    asked = [c.args["user"] for c in fake.calls if c.method == "users.info"]
    assert sorted(asked) == sorted([BERLIN, NEW_YORK, VOTER, RECUSER])


async def test_a_reminder_goes_at_once_when_the_deadline_is_under_an_hour_away(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack
) -> None:
    await _reminded(rt, deadline=timedelta(minutes=30))
    await worker.deliver_due()
    assert len(_reminders(fake, BERLIN)) == 1


async def test_a_reminder_waits_no_later_than_an_hour_before_the_deadline(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    await _reminded(rt, deadline=timedelta(hours=3))
    await worker.deliver_due()
    assert _reminders(fake, BERLIN) == []
    # Deadline at 23:00 in Berlin: the reminder goes at 22:00, not the next morning after it closed.
    assert (await _row(BERLIN)).next_attempt_at == TUESDAY_8PM_BERLIN + timedelta(hours=2)
    clock.advance(2 * 3600)
    await worker.deliver_due()
    assert len(_reminders(fake, BERLIN)) == 1


async def test_members_who_voted_or_recused_after_the_reminder_was_queued_never_get_it(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    escalation = await _reminded(rt, deadline=timedelta(days=2))
    assert {row.payload["user"] for row in await OutboxItem.filter(kind="escalation.reminder")} == {
        BERLIN,
        NEW_YORK,
        VOTER,
        RECUSER,
    }
    await votes.cast(rt, public_id=escalation.public_id, user=VOTER, ballot=Ballot(Choice.APPROVE))
    await votes.cast(rt, public_id=escalation.public_id, user=RECUSER, ballot=Ballot(Choice.RECUSE))
    await worker.deliver_due()
    assert _reminders(fake, VOTER) == [] and _reminders(fake, RECUSER) == []
    assert len(_reminders(fake, NEW_YORK)) == 1
    for user in (VOTER, RECUSER):
        row = await _row(user)
        assert (row.status, row.last_error) == ("done", f"dropped: {user} has voted")
    # Berlin's waits for the morning; by then the agent has withdrawn the escalation.
    await _withdraw(rt, escalation)
    clock.at = WEDNESDAY_9AM_BERLIN
    await worker.deliver_due()
    assert _reminders(fake, BERLIN) == []
    assert (await _row(BERLIN)).last_error == "dropped: voting has closed"


async def _withdraw(rt: Runtime, escalation: Escalation) -> None:
    await escalation.fetch_related("agent")
    await amendments.withdraw(rt, agent=escalation.agent, public_id=escalation.public_id, body=WithdrawIn())


async def test_hours_set_with_council_me_change_when_the_reminder_comes(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack
) -> None:
    answer = await commands.answer("me hours=19:00-23:00", BERLIN)
    assert answer.startswith("Your working hours are now *19:00–23:00*")
    # And the other way round: 14:00 in New York is outside a late shift.
    await commands.answer("me hours=22:00-06:00", NEW_YORK)
    await _reminded(rt, deadline=timedelta(days=2))
    await worker.deliver_due()
    assert len(_reminders(fake, BERLIN)) == 1
    assert _reminders(fake, NEW_YORK) == []
    # 22:00 in New York (EST) is 03:00 UTC.
    assert (await _row(NEW_YORK)).next_attempt_at == datetime(2030, 1, 16, 3, 0, tzinfo=UTC)


async def test_a_failing_users_info_never_loses_a_reminder(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    # Slack would say Tokyo (04:00 there) but fails: Council knows nothing better than UTC (19:00).
    fake.users[NEW_YORK] = {"tz": "Asia/Tokyo"}
    # Berlin's timezone was read two days ago: stale, but better than UTC while Slack fails.
    await people.remember_timezone(BERLIN, "Europe/Berlin", now=TUESDAY_8PM_BERLIN - timedelta(days=2))
    fake.fail_next("users.info", error="ratelimited", status=429, times=2)
    fake.fail_next("users.info", error="fatal_error", status=200, times=2)
    await _reminded(rt, deadline=timedelta(days=2))
    await worker.deliver_due()
    assert [c.error for c in fake.calls if c.method == "users.info"] == ["429:ratelimited"] * 2 + [
        "200:fatal_error"
    ] * 2
    assert _reminders(fake, NEW_YORK) == [] and _reminders(fake, BERLIN) == []
    # Each waits for 09:00 in the timezone Council could use: UTC for one, Berlin for the other.
    assert (await _row(NEW_YORK)).next_attempt_at == datetime(2030, 1, 16, 9, 0, tzinfo=UTC)
    assert (await _row(BERLIN)).next_attempt_at == WEDNESDAY_9AM_BERLIN
    assert (await _row(BERLIN)).attempts == (await _row(NEW_YORK)).attempts == 0
    clock.at = datetime(2030, 1, 16, 9, 0, tzinfo=UTC)
    await worker.deliver_due()
    assert len(_reminders(fake, BERLIN)) == 1
    # Slack answers again: Tokyo is read now, where 18:00 has just ended the day; the next morning then.
    assert (await Person.get(user_id=NEW_YORK)).timezone == "Asia/Tokyo"
    assert (await _row(NEW_YORK)).next_attempt_at == datetime(2030, 1, 17, 0, 0, tzinfo=UTC)
    clock.at = datetime(2030, 1, 17, 0, 0, tzinfo=UTC)
    await worker.deliver_due()
    assert len(_reminders(fake, NEW_YORK)) == 1


# Week 2030-W03 in Berlin: asked from Friday 18 January, 14:00 CET (13:00 UTC); over when Sunday
# ends (23:00 UTC).
FRIDAY_2PM_BERLIN = datetime(2030, 1, 18, 13, 0, tzinfo=UTC)
WEEK_OVER = datetime(2030, 1, 20, 23, 0, tzinfo=UTC)


async def test_the_pulse_waits_for_each_members_hours_but_not_past_the_week(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    clock.at = FRIDAY_2PM_BERLIN
    fake.users[VOTER] = {"tz": "Asia/Tokyo"}  # 22:00 on Friday there
    fake.users[RECUSER] = {"tz": "Europe/Berlin"}
    assert await pulse.ask_due(rt, now=FRIDAY_2PM_BERLIN) == 4
    await worker.deliver_due()
    # 14:00 in Berlin: at once. 08:00 in New York: at 09:00 there. 22:00 in Tokyo: on Saturday morning.
    question = "How sustainable was your council load this week? (ai-council, 2030-W03)"
    assert [m.text for m in fake.dms(BERLIN)] == [m.text for m in fake.dms(RECUSER)] == [question]
    assert fake.dms(NEW_YORK) == [] and fake.dms(VOTER) == []
    assert (await _row(NEW_YORK, "pulse.asked")).next_attempt_at == datetime(2030, 1, 18, 14, 0, tzinfo=UTC)
    assert (await _row(VOTER, "pulse.asked")).next_attempt_at == datetime(2030, 1, 19, 0, 0, tzinfo=UTC)
    clock.at = datetime(2030, 1, 18, 14, 0, tzinfo=UTC)
    await worker.deliver_due()
    assert [m.text for m in fake.dms(NEW_YORK)] == [question]

    # Slack is down when Tokyo's morning comes, and back only late on Sunday: 06:00 on Monday in
    # Tokyo, whose hours begin after the week is over. The question is dropped, not sent late.
    fake.down = True
    clock.at = datetime(2030, 1, 19, 0, 0, tzinfo=UTC)
    await worker.deliver_due()
    fake.down = False
    clock.at = WEEK_OVER - timedelta(hours=2)
    await worker.deliver_due()
    assert fake.dms(VOTER) == []
    row = await _row(VOTER, "pulse.asked")
    assert (row.status, row.last_error) == (
        "done",
        f"dropped: the hours of {VOTER} begin after the week is over",
    )


async def test_a_pulse_delivered_after_its_week_is_dropped(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock
) -> None:
    assert await pulse.ask_due(rt, now=FRIDAY_2PM_BERLIN) == 4
    clock.at = WEEK_OVER
    await worker.deliver_due()
    assert not any(fake.dms(user) for user in (BERLIN, NEW_YORK, VOTER, RECUSER))
    rows = await OutboxItem.filter(kind="pulse.asked")
    assert {(r.status, r.last_error) for r in rows} == {
        ("done", "dropped: the week is over, the council retired, or they left it")
    }
