"""The weekly pulse: ask each member how sustainable their council load was, 1 to 5, and count answers.

Asked once a week per council, from Friday 14:00 in the council's timezone; each member may answer,
and change their answer, until the week ends (Sunday midnight, council time). Answers are reported
only in aggregate, and only when at least MIN_ANSWERS members answered: never who said what. The
audit trail records that a member answered, never the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from bot.db import transaction
from bot.errors import Invalid, NotAMember, NotFound
from bot.governance.calendar import Week
from bot.outbox.enqueue import enqueue
from bot.outbox.events import PulseAsked
from bot.runtime import Runtime
from bot.services import audit, jobs
from models import Council, JobRun, Member, PulseAnswer

MIN_ANSWERS = 3
SCORES = range(1, 6)
# Friday (day 4 of the ISO week) at 14:00 on the council's clock.
ASK_DAY, ASK_AT = 4, time(14)


@dataclass(frozen=True)
class PulseSummary:
    """A council's pulse for one week: how many answered, and the rest only once enough did."""

    answered: int
    average: float | None
    counts: dict[int, int] | None  # every score 1–5, with how many chose it


@dataclass(frozen=True)
class Asking:
    """One member's pulse for one council and week, as it stands: what their DM shows."""

    council: str
    week: str
    closes: datetime  # the end of the week, on the council's clock
    score: int | None  # their answer so far


def job_name(council: str) -> str:
    """The once-a-week job of asking one council (see bot.services.jobs)."""
    return f"pulse:{council}"[:64]


async def ask_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Ask every council whose week has reached Friday 14:00, once per week; return how many were asked."""
    now = now or datetime.now(UTC)
    asked = 0
    for council in await Council.filter(retired_at__isnull=True).order_by("id"):
        week = Week.of(now, council.timezone)
        ask_at = week.at(ASK_DAY, ASK_AT)
        # A council set up after this week's asking time is first asked the next week.
        if now >= ask_at and council.created_at < ask_at:
            asked += await _ask(council, week)
    if asked:
        rt.after_commit()
    return asked


async def _ask(council: Council, week: Week) -> int:
    """Ask the council's active members for `week` unless done; the claim and the DMs commit together.

    The claim is `jobs.claim`'s row, written here in the transaction of the DMs, so a crash between
    the two can neither lose the week's pulse nor send it twice.
    """
    job = job_name(council.name)
    if await jobs.claimed(job, week.name):
        return 0
    try:
        async with transaction() as conn:
            await JobRun.create(using_db=conn, job=job, period=week.name)
            members = Member.filter(council=council, active=True).using_db(conn).order_by("id")
            users: list[str] = await members.values_list("user_id", flat=True)  # type: ignore[assignment]
            for user in users:
                await enqueue(conn, PulseAsked(user=user, council=council.name, week=week.name))
            await audit.record(
                conn,
                actor_type="system",
                actor_id="scheduler",
                action="pulse.asked",
                subject=council.name,
                payload={"week": week.name, "members": len(users)},
            )
    except IntegrityError:
        return 0  # Another replica claimed this week a moment ago.
    return len(users)


async def answer(*, council: str, user: str, week: str, score: int, now: datetime | None = None) -> Asking:
    """Record or change a member's answer for the council's current week."""
    now = now or datetime.now(UTC)
    if score not in SCORES:
        raise Invalid("The pulse takes a score from 1 (not sustainable) to 5 (very sustainable).")
    found = await Council.filter(name=council).first()
    if found is None:
        raise NotFound(f"There is no council {council}.")
    if not await Member.filter(council=found, user_id=user, active=True).exists():
        raise NotAMember(
            f"You are not an active member of {found.name}, so its pulse is not yours to answer."
        )
    asked, current = _week(week, found.timezone), Week.of(now, found.timezone)
    if asked.start < current.start:
        raise Invalid(
            f"The pulse for {asked.name} closed on Sunday; only this week's ({current.name}) can be "
            "answered now, once it is asked on Friday."
        )
    if asked != current:
        raise Invalid(f"The pulse for {asked.name} has not opened yet.")
    await _store(found, user, asked.name, score, now=now)
    return Asking(found.name, asked.name, asked.end, score)


def _week(name: str, tz: str) -> Week:
    try:
        return Week.parse(name, tz)
    except ValueError as error:
        raise Invalid(str(error)) from None


async def _store(council: Council, user: str, week: str, score: int, *, now: datetime) -> None:
    """Upsert the one answer per member and week; a double click racing itself updates on its retry."""
    for attempt in range(2):
        try:
            async with transaction() as conn:
                mine = PulseAnswer.filter(council=council, user_id=user, week=week).using_db(conn)
                if not await mine.update(score=score, updated_at=now):
                    await PulseAnswer.create(
                        using_db=conn, council=council, user_id=user, week=week, score=score
                    )
                # Who answered, never what: the trail is for admins, the pulse only ever in aggregate.
                await audit.record(
                    conn,
                    actor_type="member",
                    actor_id=user,
                    action="pulse.answered",
                    subject=council.name,
                    payload={"council": council.name, "week": week},
                )
            return
        except IntegrityError:
            if attempt:
                raise


async def asking(*, council: str, user: str, week: str, now: datetime) -> Asking | None:
    """The pulse to put to a member now; None once moot: the week over, the council retired, or they left."""
    found = await Council.filter(name=council, retired_at__isnull=True).first()
    if found is None or not await Member.filter(council=found, user_id=user, active=True).exists():
        return None
    asked = Week.parse(week, found.timezone)
    if now >= asked.end:
        return None
    mine = await PulseAnswer.filter(council=found, user_id=user, week=asked.name).first()
    return Asking(found.name, asked.name, asked.end, mine.score if mine else None)


async def summary(council_id: int, week: str) -> PulseSummary:
    """Count a council's answers for `week`; the average and counts only from MIN_ANSWERS answers."""
    rows = (
        await PulseAnswer.filter(council_id=council_id, week=week)
        .annotate(answers=Count("id"))
        .group_by("score")
        .values_list("score", "answers")
    )
    counts = {int(score): int(answers) for score, answers in rows}
    answered = sum(counts.values())
    if answered < MIN_ANSWERS:
        return PulseSummary(answered, None, None)
    average = sum(score * n for score, n in counts.items()) / answered
    return PulseSummary(answered, average, {score: counts.get(score, 0) for score in SCORES})
