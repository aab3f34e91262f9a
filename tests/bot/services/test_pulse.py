"""The weekly pulse: asked once a week per member, answered within the week, reported only in aggregate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import Invalid, NotAMember, NotFound
from bot.runtime import Runtime
from bot.services import config, pulse
from models import AuditEvent, Council, Member, OutboxItem, PulseAnswer
from tests.bot.services.conftest import council, rt
from tests.harness import COUNCIL_YML

__all__ = ["council", "rt"]

MEMBERS = ["U0PEOPLE1", "U0TECH001", "U0FIN0001"]
# ai-council keeps Europe/Berlin time: week 2026-W49 runs from Monday 30 November 00:00 CET
# (29 November 23:00 UTC); its pulse is asked from Friday 4 December 14:00 CET (13:00 UTC).
WEEK = "2026-W49"
FRIDAY_2PM = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
WEEK_OVER = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


async def _founded_weeks_before() -> None:
    """Date the councils' set-up weeks before the test's week, whatever today's date is."""
    await Council.all().update(created_at=FRIDAY_2PM - timedelta(days=30))


async def _asked() -> list[tuple[str, str, str]]:
    rows = await OutboxItem.filter(kind="pulse.asked").order_by("id")
    return [(r.payload["user"], r.payload["council"], r.payload["week"]) for r in rows]


async def test_nothing_is_asked_before_friday_14_00_on_the_councils_clock(rt: Runtime, council: None) -> None:
    await _founded_weeks_before()
    # A minute before, or on Monday of the same week: nothing.
    assert await pulse.ask_due(rt, now=FRIDAY_2PM - timedelta(minutes=1)) == 0
    assert await pulse.ask_due(rt, now=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)) == 0
    assert await _asked() == []
    assert await pulse.ask_due(rt, now=FRIDAY_2PM) == 3
    assert await _asked() == [(user, "ai-council", WEEK) for user in MEMBERS]


async def test_each_member_is_asked_once_a_week_however_often_and_by_however_many_replicas(
    rt: Runtime, council: None
) -> None:
    await _founded_weeks_before()
    together = await asyncio.gather(
        *(pulse.ask_due(rt, now=FRIDAY_2PM + timedelta(hours=1)) for _ in range(2))
    )
    assert sorted(together) == [0, 3]
    assert await pulse.ask_due(rt, now=WEEK_OVER - timedelta(seconds=1)) == 0
    assert len(await _asked()) == 3
    # The next week asks again, once.
    assert await pulse.ask_due(rt, now=FRIDAY_2PM + timedelta(days=7)) == 3
    assert [week for _, _, week in await _asked()] == [WEEK] * 3 + ["2026-W50"] * 3
    asked = await AuditEvent.filter(action="pulse.asked").order_by("id")
    assert [(e.subject, e.payload) for e in asked] == [
        ("ai-council", {"week": WEEK, "members": 3}),
        ("ai-council", {"week": "2026-W50", "members": 3}),
    ]


async def test_inactive_members_and_retired_councils_are_not_asked(rt: Runtime, council: None) -> None:
    await _founded_weeks_before()
    await Member.filter(user_id="U0FIN0001").update(active=False)
    assert await pulse.ask_due(rt, now=FRIDAY_2PM) == 2
    await Council.filter(name="ai-council").update(retired_at=FRIDAY_2PM)
    assert await pulse.ask_due(rt, now=FRIDAY_2PM + timedelta(days=7)) == 0
    assert [user for user, _, _ in await _asked()] == ["U0PEOPLE1", "U0TECH001"]


async def test_an_answer_can_change_within_its_week_and_not_after(council: None) -> None:
    first = await pulse.answer(council="ai-council", user="U0TECH001", week=WEEK, score=2, now=FRIDAY_2PM)
    assert (first.council, first.week, first.score, first.closes) == ("ai-council", WEEK, 2, WEEK_OVER)
    await pulse.answer(
        council="ai-council", user="U0TECH001", week=WEEK, score=4, now=WEEK_OVER - timedelta(seconds=1)
    )
    assert await PulseAnswer.filter(user_id="U0TECH001").values_list("week", "score") == [(WEEK, 4)]
    with pytest.raises(
        Invalid, match=r"^The pulse for 2026-W49 closed on Sunday; only this week's \(2026-W50\)"
    ):
        await pulse.answer(council="ai-council", user="U0TECH001", week=WEEK, score=1, now=WEEK_OVER)
    with pytest.raises(Invalid, match="The pulse for 2026-W50 has not opened yet"):
        await pulse.answer(council="ai-council", user="U0TECH001", week="2026-W50", score=1, now=FRIDAY_2PM)
    assert await PulseAnswer.filter(user_id="U0TECH001").values_list("week", "score") == [(WEEK, 4)]


@pytest.mark.parametrize(
    ("changes", "refusal", "problem"),
    [
        ({"score": 0}, Invalid, "from 1 .not sustainable. to 5 .very sustainable."),
        ({"score": 6}, Invalid, "from 1"),
        ({"week": "last week"}, Invalid, "is not a week"),
        ({"user": "U0OWNER01"}, NotAMember, "You are not an active member of ai-council"),
        ({"council": "no-such-council"}, NotFound, "There is no council no-such-council"),
    ],
)
async def test_what_is_not_an_answer_is_refused(
    council: None, changes: dict[str, object], refusal: type[Exception], problem: str
) -> None:
    given: dict = {"council": "ai-council", "user": "U0TECH001", "week": WEEK, "score": 3, **changes}
    with pytest.raises(refusal, match=problem):
        await pulse.answer(**given, now=FRIDAY_2PM)
    assert not await PulseAnswer.exists()


async def test_a_member_who_left_cannot_answer(council: None) -> None:
    await Member.filter(user_id="U0FIN0001").update(active=False)
    with pytest.raises(NotAMember):
        await pulse.answer(council="ai-council", user="U0FIN0001", week=WEEK, score=3, now=FRIDAY_2PM)


async def test_the_summary_shows_nothing_but_a_count_below_three_answers(council: None) -> None:
    ai = await Council.get(name="ai-council")
    assert await pulse.summary(ai.id, WEEK) == pulse.PulseSummary(0, None, None)
    for user, score in [("U0PEOPLE1", 2), ("U0TECH001", 5)]:
        await pulse.answer(council="ai-council", user=user, week=WEEK, score=score, now=FRIDAY_2PM)
    assert await pulse.summary(ai.id, WEEK) == pulse.PulseSummary(2, None, None)
    await pulse.answer(council="ai-council", user="U0FIN0001", week=WEEK, score=5, now=FRIDAY_2PM)
    shown = await pulse.summary(ai.id, WEEK)
    assert shown == pulse.PulseSummary(3, 4.0, {1: 0, 2: 1, 3: 0, 4: 0, 5: 2})
    # Another week, or another council, is counted apart.
    assert await pulse.summary(ai.id, "2026-W50") == pulse.PulseSummary(0, None, None)
    assert await pulse.summary(ai.id + 1, WEEK) == pulse.PulseSummary(0, None, None)


async def test_the_audit_trail_says_who_answered_never_what(council: None) -> None:
    for score in (1, 5):
        await pulse.answer(council="ai-council", user="U0TECH001", week=WEEK, score=score, now=FRIDAY_2PM)
    trail = await AuditEvent.filter(action="pulse.answered").order_by("id")
    assert [(e.actor_id, e.subject, e.payload) for e in trail] == [
        ("U0TECH001", "ai-council", {"council": "ai-council", "week": WEEK}),
    ] * 2


async def test_a_council_asked_in_its_own_timezone(rt: Runtime, database: str) -> None:
    tokyo = COUNCIL_YML.replace("timezone: Europe/Berlin", "timezone: Asia/Tokyo")
    await config.apply_text(tokyo, source="council.yml")
    await _founded_weeks_before()
    # Friday 14:00 in Tokyo is 05:00 UTC, long before it is 14:00 in Berlin.
    assert await pulse.ask_due(rt, now=datetime(2026, 12, 4, 4, 59, tzinfo=UTC)) == 0
    assert await pulse.ask_due(rt, now=datetime(2026, 12, 4, 5, 0, tzinfo=UTC)) == 3


async def test_a_council_set_up_after_the_weeks_asking_time_is_first_asked_the_next_week(
    rt: Runtime, council: None
) -> None:
    await Council.all().update(created_at=FRIDAY_2PM + timedelta(hours=2))
    assert await pulse.ask_due(rt, now=FRIDAY_2PM + timedelta(hours=3)) == 0
    assert await pulse.ask_due(rt, now=FRIDAY_2PM + timedelta(days=7)) == 3
    assert {week for _, _, week in await _asked()} == {"2026-W50"}
