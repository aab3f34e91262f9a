"""The weekly digest: each council's week in flow and flourishing, posted once at its own local time.

A council's digest is due at its `digest` day and time in its timezone; it reports the last
complete ISO week (Monday 00:00 to Monday 00:00 local) beside the week before. The scheduler calls
`post_due` every minute: the first replica to claim `(digest:<council>, <week>)` computes the
figures and queues the message in one transaction, so a restart or a second replica never posts
it twice, and one that was down at the time posts it when it comes back.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from bot.db import transaction
from bot.errors import Invalid, NotFound
from bot.governance.calendar import Week, parse_wall, weekly_moment
from bot.governance.hours import DEFAULT_HOURS, WorkingHours
from bot.outbox.enqueue import enqueue
from bot.outbox.events import DigestReady
from bot.runtime import Runtime
from bot.services import audit, people, pulse
from bot.services import digest_figures as figures
from bot.services import digest_queries as q
from bot.services.digest_figures import Digest, MemberLoad
from models import Agent, Council, DigestWeek, JobRun, Member

log = logging.getLogger(__name__)
JOB = "digest"


async def council_named(name: str | None) -> list[Council]:
    """The councils a command names: one by name, or every council still in use."""
    if name is None:
        return list(await Council.filter(retired_at__isnull=True).order_by("name"))
    council = await Council.filter(name=name).first()
    if council is None:
        names = await Council.all().order_by("name").values_list("name", flat=True)
        known = ", ".join(str(n) for n in names) or "none yet"
        raise NotFound(f"There is no council named {name!r} (councils: {known}).")
    return [council]


def last_complete_week(council: Council, now: datetime) -> Week:
    """The week a digest posted at `now` reports: the last one that has ended, in the council's time."""
    return Week.of(now, council.timezone).previous()


def due_at(council: Council, now: datetime) -> datetime:
    """When this week's digest is due: the council's digest day and time, in its own timezone."""
    return weekly_moment(Week.of(now, council.timezone), council.digest_day, parse_wall(council.digest_time))


def read_week(council: Council, text: str | None, now: datetime | None = None) -> Week:
    """The week a command names (`2026-W49`), or by default the last complete one."""
    if text is None:
        return last_complete_week(council, now or datetime.now(UTC))
    try:
        return Week.parse(text, council.timezone)
    except ValueError as error:
        raise Invalid(str(error)) from None


async def compute(council: Council, week: Week, *, now: datetime | None = None) -> Digest:
    """The council's digest for `week`: its figures, last week's, the changes and what to look at."""
    now = now or datetime.now(UTC)
    seats = list(await Member.filter(council_id=council.id).order_by("id"))
    this = await _kept_or_read(council, week, seats, now=now)
    before = await _kept_or_read(council, week.previous(), seats, now=now)
    functions = {seat.user_id: seat.function for seat in seats}
    return Digest(
        council=council.name,
        timezone=council.timezone,
        week=this,
        previous=before,
        changes=figures.changes(this, before),
        look_at=figures.look_at(this, before, functions),
    )


async def _kept_or_read(council: Council, week: Week, seats: list[Member], *, now: datetime) -> figures.Week:
    """A week's figures: as kept when the week was first read after it ended, else read now.

    A week that is over is kept once read, so next week's digest compares with what this one said
    and reads one week, not two. A week not over yet is always read afresh.
    """
    kept = await DigestWeek.filter(council_id=council.id, week=week.name).first()
    if kept is not None:
        return figures.Week.model_validate(kept.figures)
    found = await _week(council, week, seats, now=now)
    if found.complete:
        with contextlib.suppress(IntegrityError):  # Another replica kept it a moment ago.
            await DigestWeek.create(
                council_id=council.id, week=week.name, figures=found.model_dump(mode="json")
            )
    return found


async def _week(council: Council, week: Week, seats: list[Member], *, now: datetime) -> figures.Week:
    db = q.Reader()
    start, end = week.start, week.end
    # A week not over yet is read up to now: its backlog is what waits now.
    until = min(end, now)
    flow = figures.Flow()
    found = await q.opened(db, council.id, start, end)
    names = dict(
        await Agent.filter(id__in={agent for _, agent, _ in found["kinds"]}).values_list("id", "name")
    )
    for kind, agent, n in found["kinds"]:
        flow.escalations += n
        flow.by_kind[kind] = flow.by_kind.get(kind, 0) + n
        name = str(names.get(agent, agent))
        flow.by_agent[name] = flow.by_agent.get(name, 0) + n
    flow.by_agent = dict(sorted(flow.by_agent.items(), key=lambda kv: (-kv[1], kv[0])))
    rows, flow.decided_by_people, flow.median_seconds, flow.p90_seconds, waits = await q.closings(
        db, council.id, start, end
    )
    _outcomes(flow, rows)
    on_clock = flow.decided_by_people + flow.outcomes.expired
    flow.decided_before_deadline = flow.decided_by_people / on_clock if on_clock else None
    flow.backlog, oldest = await q.backlog(db, council.id, until)
    if oldest is not None:
        opened_at = _aware(oldest["created_at"])
        flow.oldest_open = figures.OpenItem(
            id=oldest["id"],
            title=oldest["title"],
            created_at=opened_at,
            age_seconds=(until - opened_at).total_seconds(),
        )
    counted = found["incidents"]
    flow.incidents = figures.Incidents(
        opened=counted["opened"],
        owned=counted["owned"],
        resolved=counted["resolved"],
        median_seconds_to_own=counted["median_to_own"],
    )
    flow.execution_mismatches = counted["mismatches"]
    flow.storms = await q.storms(db, council.id, start, end)
    ours = set(await Agent.filter(council_id=council.id).values_list("name", flat=True)) | set(flow.by_agent)
    flow.agents_paused = [name for name in await q.paused_agents(db, start, end) if name in ours]

    flourishing = await _flourishing(db, council, week, seats)
    return figures.Week(
        week=week.name,
        start=start,
        end=end,
        complete=end <= now,
        flow=flow,
        flourishing=flourishing,
        chart=_chart(week, found["days"], waits),
    )


def _outcomes(flow: figures.Flow, rows: list[dict[str, object]]) -> None:
    outcomes = flow.outcomes
    for row in rows:
        status, by, n = row["status"], row["decided_by"], int(str(row["n"]))
        if status == "approved" and by == "council":
            outcomes.approved_by_council += n
        elif status == "approved" and by == "policy":
            outcomes.approved_by_policy += n
        elif status == "approved":
            outcomes.approved_by_owner_or_admin += n
        elif status == "rejected":
            outcomes.rejected += n
        elif status == "expired":
            outcomes.expired += n
        elif status == "withdrawn":
            outcomes.withdrawn += n


async def _flourishing(
    db: q.Reader, council: Council, week: Week, seats: list[Member]
) -> figures.Flourishing:
    start, end = week.start, week.end
    quarters = await q.asks(db, council.id, start, end)
    asked = {user: sum(by_quarter.values()) for user, by_quarter in quarters.items()}
    voted = await q.votes(db, council.id, start, end)
    reminded = await q.reminders(db, council.id, start, end)
    # Everyone seated now, then anyone asked this week who has left since.
    order = [seat.user_id for seat in seats if seat.active]
    order += [user for user in asked if user not in order]
    functions = {seat.user_id: seat.function for seat in seats}
    hours = await people.hours_for(order)
    loads = []
    for user in order:
        working, tz = hours.get(user, (DEFAULT_HOURS, "UTC"))
        loads.append(
            MemberLoad(
                user=user,
                function=functions.get(user, ""),
                asked=asked.get(user, 0),
                voted=voted.get(user, 0),
                out_of_hours=outside_hours(quarters.get(user, {}), working, tz),
                reminders=reminded.get(user, 0),
            )
        )
    top, share = figures.busiest(loads)
    summary = await pulse.summary(council.id, week.name)
    return figures.Flourishing(
        members=loads,
        asks=sum(load.asked for load in loads),
        busiest=top,
        busiest_share=share,
        gini=figures.gini([load.asked for load in loads]),
        reminders=sum(reminded.values()),
        out_of_hours=sum(load.out_of_hours for load in loads),
        not_taking_part=[load.user for load in loads if load.asked and not load.voted],
        delegations={
            seat.user_id: seat.delegate_user_id for seat in seats if seat.active and seat.delegate_user_id
        },
        pulse=figures.Pulse(answered=summary.answered, average=summary.average, counts=summary.counts),
    )


def outside_hours(quarters: dict[int, int], working: WorkingHours, tz: str) -> int:
    """How many asks fell outside the person's hours, from their counts per quarter hour."""
    return sum(
        n
        for quarter, n in quarters.items()
        if not working.covers(datetime.fromtimestamp(quarter * q.QUARTER, UTC), tz)
    )


def _chart(week: Week, quarters: list[tuple[str, int, int]], waits: dict[str, int]) -> figures.Chart:
    """The chart's days from the week's (status, quarter hour, count) rows, in the council's days."""
    bounds = week.days()
    series = {name: [0] * len(bounds) for name in figures.DAY_SERIES}
    for status, quarter, n in quarters:
        at = datetime.fromtimestamp(quarter * q.QUARTER, UTC)
        index = next((i for i, (_, start, end) in enumerate(bounds) if start <= at < end), None)
        if index is not None:
            series[_series(status)][index] += n
    labels = [day.strftime("%a %d") for day, _, _ in bounds]
    return figures.Chart(days=labels, series=series, waits=waits)


def _series(status: str) -> str:
    if status in ("approved", "rejected", "expired", "withdrawn"):
        return status
    return "open" if status in ("pending", "open", "acknowledged") else "other"


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def post_due(rt: Runtime, *, now: datetime | None = None) -> list[str]:
    """Queue each council's digest whose time has come this week; return the councils queued.

    Each council's week is claimed once: the claim and the queued message commit together, so a
    replica that loses the race, or a restart after the post, finds the claim and does nothing.
    """
    now = now or datetime.now(UTC)
    queued = []
    for council in await Council.filter(retired_at__isnull=True).order_by("name"):
        try:
            if now < due_at(council, now):
                continue
        except ValueError:
            log.warning("council %s has an unreadable digest time %r", council.name, council.digest_time)
            continue
        week = last_complete_week(council, now)
        if council.created_at >= week.end:
            continue  # A council set up this week has no week to report yet.
        if await JobRun.filter(job=_job(council), period=week.name).exists():
            continue
        try:
            if await _queue(rt, council, week, now=now, claim=True):
                queued.append(council.name)
        except Exception:  # One council's failure must not hold up the others; the next run retries it.
            log.exception("the digest for %s, week %s, could not be queued", council.name, week.name)
    return queued


@dataclass(frozen=True)
class Queued:
    """A digest on its way to a council's channel."""

    council: str
    channel: str
    week: str


async def post_now(
    rt: Runtime | None, name: str | None, *, actor: str, now: datetime | None = None
) -> list[Queued]:
    """Post the last complete week's digest of one council, or of every council, now (an admin asked).

    This is a copy on request: the weekly run still posts at its time.
    """
    now = now or datetime.now(UTC)
    queued = []
    for council in await council_named(name):
        week = last_complete_week(council, now)
        await _queue(rt, council, week, now=now, claim=False, actor=actor)
        queued.append(Queued(council.name, council.channel_id, week.name))
    return queued


async def _queue(
    rt: Runtime | None, council: Council, week: Week, *, now: datetime, claim: bool, actor: str = "scheduler"
) -> bool:
    digest = await compute(council, week, now=now)
    try:
        async with transaction() as conn:
            if claim:
                await JobRun.create(using_db=conn, job=_job(council), period=week.name)
            await enqueue(
                conn,
                DigestReady(
                    council=council.name,
                    channel=council.channel_id,
                    week=week.name,
                    digest=digest.model_dump(mode="json"),
                    scheduled=claim,
                ),
            )
            await audit.record(
                conn,
                actor_type="system" if claim else "admin",
                actor_id=actor,
                action="digest.queued",
                subject=council.name,
                payload={"week": week.name, "scheduled": claim},
            )
    except IntegrityError:
        return False  # Another replica claimed it a moment ago.
    if rt is not None:
        rt.after_commit()
    log.info("digest for %s, week %s, queued", council.name, week.name)
    return True


def _job(council: Council) -> str:
    return f"{JOB}:{council.name}"[:64]
