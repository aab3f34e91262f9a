"""A council's history for bench.digest: a million escalations, written in bulk with raw SQL.

Deterministic (one seeded generator). The benchmarked week and the week before it are busy weeks at
today's load; the rest is spread over the two years before them, growing towards today. Tortoise's
model defaults are applied in Python, so every NOT NULL column is given here. The small tables
(people, pulse answers, storms, audit events) go through the models.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from bot.governance.calendar import Week
from bot.services import agents, config
from models import Agent, AuditEvent, Council, Person, PulseAnswer, Storm

COUNCIL = "bench-council"
TIMEZONE = "Europe/Berlin"
WEEK = "2026-W48"
SEED = 2026
CHUNK = 20_000
WEEK_BEFORE_SHARE = 0.95  # the week before holds 95 % as many escalations as the benchmarked one
DEADLINE, REMIND = 24 * 3600, 12 * 3600  # the policy's `deadline: 24h`, `remind: ["50%"]`
# user, function, role, how often the router puts them in an electorate, timezone, own hours
MEMBERS = (
    ("U0PEOPLE1", "people", "chair", 0.9, "Europe/Berlin", None),
    ("U0TECH001", "technology", "member", 0.7, "Europe/London", ("08:00", "16:00")),
    ("U0FIN0001", "finance", "member", 0.8, "Europe/Berlin", None),
    ("U0LEGAL01", "legal", "member", 0.4, "America/New_York", None),
    ("U0SEC0001", "security", "member", 0.5, "Asia/Kolkata", ("10:00", "19:00")),
    ("U0OPS0001", "operations", "member", 0.3, "Europe/Lisbon", None),
)
AGENTS = (("refund-bot", "U0OWNER01", 0.6), ("ops-bot", "U0OWNER02", 0.3), ("access-bot", "U0OWNER03", 0.1))
COUNCIL_YML = f"""
admins: [U0ADMIN01]
councils:
  - name: {COUNCIL}
    channel: C0BENCH01
    timezone: {TIMEZONE}
    digest: {{day: mon, time: "09:00"}}
    members:
{"".join(f"      - {{user: {u}, function: {f}, role: {r}}}{chr(10)}" for u, f, r, *_ in MEMBERS)}
policies:
  - name: everything
    match: {{}}
    rule: {{type: majority}}
    deadline: 24h
    remind: ["50%"]
"""
# How a voted approval ends, and how often (policy-decided ones are drawn first).
POLICY_SHARE = 0.22
ENDINGS = ("council-approved", "council-rejected", "expired", "withdrawn", "owner", "admin")
ENDING_WEIGHTS = (0.72, 0.12, 0.06, 0.05, 0.03, 0.02)

ESCALATION = (
    "id", "public_id", "agent_id", "request_hash", "kind", "title", "summary", "action", "context",
    "links", "status", "council_id", "policy_name", "rule", "electorate", "on_timeout", "remind_at",
    "reminders_sent", "extended", "channel_id", "message_ts", "deadline", "version", "owner_user_id",
    "acknowledged_at", "resolved_at", "related", "created_at", "updated_at", "closed_at",
)  # fmt: skip
DECISION = ("escalation_id", "outcome", "decided_by", "reasons", "tally", "votes", "decided_at")
VOTE = ("escalation_id", "user_id", "function", "choice", "created_at", "updated_at")
OUTBOX = (
    "kind", "escalation_id", "payload", "status", "attempts", "next_attempt_at", "created_at", "done_at",
)  # fmt: skip
TABLES = (("escalation", ESCALATION), ("decision", DECISION), ("vote", VOTE), ("outbox", OUTBOX))


def snapshot(week: Week) -> datetime:
    """The moment the history ends and the digest is computed: the next Monday, 09:00 local."""
    return week.next().at(0, wall(9))


@dataclass(frozen=True)
class Dialect:
    """How a value is written: SQLite takes Tortoise's text timestamps and 0/1, PostgreSQL the values."""

    stamp: Callable[[float | None], object]
    flag: Callable[[bool], object]


def _sqlite_stamp(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(sep=" ", timespec="microseconds")


def _postgres_stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


SQLITE = Dialect(_sqlite_stamp, int)
POSTGRES = Dialect(_postgres_stamp, bool)


@dataclass
class Rows:
    """One chunk's rows, per table, as tuples in the column order above."""

    escalation: list[tuple[object, ...]] = field(default_factory=list)
    decision: list[tuple[object, ...]] = field(default_factory=list)
    vote: list[tuple[object, ...]] = field(default_factory=list)
    outbox: list[tuple[object, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Seat:
    user: str
    function: str


@dataclass(frozen=True)
class Electorate:
    seats: tuple[Seat, ...]
    json: str


def electorates(rng: random.Random, n: int = 64) -> list[Electorate]:
    """A pool of frozen electorates of 3–4 members, each member drawn by how often they are asked."""
    pool = []
    for _ in range(n):
        chosen: list[tuple[str, str, str]] = []
        candidates = [(u, f, r, w) for u, f, r, w, *_ in MEMBERS]
        for _ in range(rng.choice((3, 3, 4))):
            pick = rng.choices(candidates, [w for *_, w in candidates])[0]
            candidates.remove(pick)
            chosen.append(pick[:3])
        text = ", ".join(f'{{"user": "{u}", "function": "{f}", "role": "{r}"}}' for u, f, r in chosen)
        pool.append(Electorate(tuple(Seat(u, f) for u, f, _ in chosen), f"[{text}]"))
    return pool


class History:
    """Turns (id, created-at) pairs into escalation rows and the decisions, votes and outbox rows they had."""

    def __init__(self, rng: random.Random, dialect: Dialect, council: int, agents: Sequence[int], now: float):
        self.rng, self.d, self.now = rng, dialect, now
        self.agents = list(agents)
        self.agent_weights = list(itertools.accumulate(w for *_, w in AGENTS))
        self.pool = electorates(rng)
        self.rows = Rows()
        # The columns every escalation of a kind shares (the rest are given per row).
        self.other: dict[str, object] = {
            "summary": "", "action": "{}", "context": "{}", "links": "[]", "council_id": council,
            "policy_name": None, "rule": "{}", "electorate": "[]", "on_timeout": "reject", "remind_at": "[]",
            "reminders_sent": 0, "extended": dialect.flag(False), "channel_id": "C0BENCH01", "version": 1,
            "owner_user_id": None, "related": None,
        }  # fmt: skip
        self.approval = {
            **self.other,
            "policy_name": "everything",
            "rule": '{"type": "majority"}',
            "remind_at": f"[{REMIND}]",
        }

    def take(self) -> Rows:
        rows, self.rows = self.rows, Rows()
        return rows

    def add(self, eid: int, t: float) -> None:
        kind = self.rng.random()
        if kind < 0.90:
            self._approval(eid, t)
        elif kind < 0.97:
            self._incident(eid, t)
        else:
            self._escalation(eid, t, "notice", "posted", closed_at=t)
        self._outbox(eid, "escalation.opened", "{}", t + self.rng.uniform(0.05, 0.5))

    def _escalation(self, eid: int, t: float, kind: str, status: str, **more: Any) -> None:
        """Append one escalation; its times (`closed_at`, `resolved_at`, …, `touched`) are epoch seconds."""
        stamp, approval = self.d.stamp, kind == "approval"
        moments = (t, more.pop("touched", None), more.get("closed_at"), more.get("acknowledged_at"))
        row = {
            **(self.approval if approval else self.other),
            **more,
            "id": eid,
            "public_id": f"esc_{eid:020x}",
            "agent_id": self.rng.choices(self.agents, cum_weights=self.agent_weights)[0],
            "request_hash": f"{eid:064x}",
            "kind": kind,
            "title": f"{kind.title()} #{eid}",
            "status": status,
            "message_ts": f"{int(t)}.{eid % 1_000_000:06d}",
            "deadline": stamp(t + DEADLINE) if approval else None,
            "created_at": stamp(t),
            "updated_at": stamp(max(x for x in moments if x is not None)),
        }
        for column in ("acknowledged_at", "resolved_at", "closed_at"):
            row[column] = stamp(more.get(column))
        self.rows.escalation.append(tuple(row[column] for column in ESCALATION))

    def _approval(self, eid: int, t: float) -> None:
        rng = self.rng
        if rng.random() < POLICY_SHARE:
            closed = t + rng.uniform(0.05, 1.5)
            self.rows.decision.append((eid, "approved", "policy", "[]", "{}", "[]", self.d.stamp(closed)))
            self._escalation(eid, t, "approval", "approved", closed_at=closed)
            return
        electorate = rng.choice(self.pool)
        ending = rng.choices(ENDINGS, ENDING_WEIGHTS)[0]
        closed: float | None = t + self._wait(ending)
        until = min(closed, self.now)
        voted = self._votes(eid, t, closed, electorate, ending)
        reminded = self._reminders(eid, t, until, electorate, voted)
        status = "pending"
        if closed > self.now:
            closed = None
        elif ending == "withdrawn":
            status = "withdrawn"
        else:
            status, outcome, by = _decided(ending, rng)
            self.rows.decision.append((eid, outcome, by, "[]", "{}", "[]", self.d.stamp(closed)))
        self._escalation(
            eid,
            t,
            "approval",
            status,
            closed_at=closed,
            resolved_at=closed if status == "withdrawn" else None,
            touched=max(voted.values(), default=None),
            electorate=electorate.json,
            reminders_sent=int(bool(reminded)),
        )

    def _wait(self, ending: str) -> float:
        if ending == "expired":
            return DEADLINE + self.rng.uniform(0, 60)  # the scheduler's minute
        median, spread = (900, 1.2) if ending == "withdrawn" else (1800, 1.4)
        return min(self.rng.lognormvariate(math.log(median), spread), DEADLINE - 60)

    def _votes(
        self, eid: int, t: float, closed: float, electorate: Electorate, ending: str
    ) -> dict[str, float]:
        """Cast 1–3 votes (the last one at the close when the council decided); keep those cast by now."""
        rng = self.rng
        by_council = ending.startswith("council")
        n = min(rng.choice((2, 2, 3)) if by_council else rng.choice((1, 1, 2)), len(electorate.seats))
        moments = sorted(rng.uniform(t, closed) for _ in range(n))
        if by_council:
            moments[-1] = closed
        choice = "reject" if ending == "council-rejected" else "approve"
        cast = {}
        for seat, at in zip(rng.sample(electorate.seats, n), moments, strict=True):
            if at <= self.now:
                stamp = self.d.stamp(at)
                self.rows.vote.append((eid, seat.user, seat.function, choice, stamp, stamp))
                cast[seat.user] = at
        return cast

    def _reminders(
        self, eid: int, t: float, until: float, electorate: Electorate, voted: dict[str, float]
    ) -> list[str]:
        """At half the deadline, remind each member who has not voted yet (the reminder delivered)."""
        due = t + REMIND
        if until <= due:
            return []
        late = [s.user for s in electorate.seats if voted.get(s.user, math.inf) > due]
        for user in late:
            self._outbox(eid, "escalation.reminder", f'{{"user": "{user}"}}', due + self.rng.uniform(1, 30))
        return late

    def _incident(self, eid: int, t: float) -> None:
        rng = self.rng
        owned = t + rng.lognormvariate(math.log(600), 1.0) if rng.random() < 0.99 else None
        owned = owned if owned is not None and owned <= self.now else None
        resolved = (
            owned + rng.lognormvariate(math.log(3 * 3600), 1.2) if owned and rng.random() < 0.98 else None
        )
        resolved = resolved if resolved is not None and resolved <= self.now else None
        status = "resolved" if resolved else "acknowledged" if owned else "open"
        self._escalation(
            eid,
            t,
            "incident",
            status,
            closed_at=resolved,
            acknowledged_at=owned,
            resolved_at=resolved,
            owner_user_id=rng.choice(MEMBERS)[0] if owned else None,
            # An execution report beyond what was approved opens an incident about that escalation.
            related=f"esc_{max(eid - 7, 1):020x}" if rng.random() < 0.03 else None,
        )

    def _outbox(self, eid: int, kind: str, payload: str, done: float) -> None:
        if done <= self.now:
            stamp = self.d.stamp(done)
            self.rows.outbox.append((kind, eid, payload, "done", 1, stamp, stamp, stamp))


def _decided(ending: str, rng: random.Random) -> tuple[str, str, str]:
    """Status, decision outcome and who decided, for a voted approval that closed."""
    if ending == "expired":
        return "expired", "rejected", "timeout"
    if ending in ("owner", "admin"):
        outcome = "approved" if rng.random() < 0.7 else "rejected"
        return outcome, outcome, ending
    outcome = "rejected" if ending == "council-rejected" else "approved"
    return outcome, outcome, "council"


def created_times(rng: random.Random, week: Week, escalations: int, in_week: int) -> list[float]:
    """When each escalation opened, sorted (ids follow time, as autoincrement ids do)."""
    before = min(round(in_week * WEEK_BEFORE_SHARE), escalations - in_week)
    previous = week.previous()
    start, end = (previous.start - timedelta(days=730)).timestamp(), previous.start.timestamp()
    # Linearly growing load: the density of sqrt(u) rises from nothing two years ago to now.
    older = [start + (end - start) * math.sqrt(rng.random()) for _ in range(escalations - in_week - before)]
    return sorted([*older, *_working_week(rng, previous, before), *_working_week(rng, week, in_week)])


def _working_week(rng: random.Random, week: Week, n: int) -> list[float]:
    """n moments in the week: mostly on weekdays, three in four between 08:00 and 18:00 local."""
    days = week.days()
    picked = rng.choices(range(7), (1, 1, 1, 1, 1, 0.35, 0.25), k=n)
    moments = []
    for day in picked:
        _, start, end = days[day]
        if rng.random() < 0.75:
            offset = rng.uniform(8 * 3600, 18 * 3600)
        else:
            offset = rng.uniform(0, (end - start).total_seconds())
        moments.append(start.timestamp() + offset)
    return moments


async def insert(
    conn: BaseDBAsyncClient, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]
) -> None:
    """Write rows in bulk: COPY on PostgreSQL, one executemany in a transaction on SQLite."""
    if not rows:
        return
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    marks = ", ".join("?" * len(columns))
    # Table and column names are this module's constants; the values are bound.
    await conn.execute_many(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})', rows)  # noqa: S608


@dataclass
class Seeded:
    """What was written, table by table, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def seed(*, escalations: int, in_week: int, week: Week) -> Seeded:
    """Apply the council, create its agents, and write its history up to `snapshot(week)`."""
    began = time.perf_counter()
    await config.apply_text(COUNCIL_YML, source="bench council.yml")
    council = await Council.get(name=COUNCIL)
    key = secrets.token_bytes(32)
    for name, owner, _ in AGENTS:
        await agents.create(name=name, owner=owner, council=COUNCIL, server_key=key)
    agent_ids = [(await Agent.get(name=name)).id for name, *_ in AGENTS]
    await _people(council, week)
    await _storms_and_pauses(council, agent_ids, week)
    seeded = await _history(council, agent_ids, week, escalations, in_week, began)
    await _settle(connections.get("default"))
    seeded.seconds = time.perf_counter() - began
    return seeded


async def _history(
    council: Council, agent_ids: list[int], week: Week, escalations: int, in_week: int, began: float
) -> Seeded:
    conn, rng = connections.get("default"), random.Random(SEED)
    dialect = POSTGRES if conn.capabilities.dialect == "postgres" else SQLITE
    history = History(rng, dialect, council.id, agent_ids, snapshot(week).timestamp())
    times = created_times(rng, week, escalations, in_week)
    seeded = Seeded({table: 0 for table, _ in TABLES})
    for first in range(0, len(times), CHUNK):
        for offset, t in enumerate(times[first : first + CHUNK]):
            history.add(first + offset + 1, t)
        rows = history.take()
        for table, columns in TABLES:
            await insert(conn, table, columns, getattr(rows, table))
            seeded.rows[table] += len(getattr(rows, table))
        written = min(first + CHUNK, len(times))
        if written == len(times) or written % (10 * CHUNK) == 0:
            took = time.perf_counter() - began
            print(f"  seeded {written:,} of {len(times):,} escalations ({took:.0f} s)", flush=True)
    return seeded


async def _people(council: Council, week: Week) -> None:
    """Each member's timezone and hours, and pulse answers for the two weeks (five of six answer)."""
    rng = random.Random(SEED + 1)
    for user, _, _, _, tz, hours in MEMBERS:
        start, end = hours or (None, None)
        await Person.create(
            user_id=user, timezone=tz, timezone_checked_at=week.start, work_start=start, work_end=end
        )
    for asked in (week.previous(), week):
        for user, *_ in MEMBERS[:5]:
            await PulseAnswer.create(
                council=council, user_id=user, week=asked.name, score=rng.choice((2, 3, 3, 4, 5))
            )


async def _storms_and_pauses(council: Council, agent_ids: list[int], week: Week) -> None:
    """A few storms (two in the week, one the week before, a dozen earlier) and the agents they paused.

    The `agent.paused` events get unique made-up hashes: the audit chain is not verified here.
    """
    rng = random.Random(SEED + 2)
    starts = [week.start + timedelta(days=1.4), week.start + timedelta(days=4.6)]
    starts += [week.previous().start + timedelta(days=2.2)]
    starts += [week.previous().start - timedelta(days=rng.uniform(1, 700)) for _ in range(12)]
    for n, started in enumerate(starts):
        agent = agent_ids[n % len(agent_ids)]
        ended = started + timedelta(minutes=rng.uniform(5, 90))
        await Storm.create(agent_id=agent, council=council, started_at=started, last_at=ended, ended_at=ended)
        if n % 2 == 0:
            name = AGENTS[n % len(AGENTS)][0]
            await AuditEvent.create(
                at=ended,
                actor_type="system",
                actor_id="storm-control",
                action="agent.paused",
                subject=name,
                payload={"reason": "storm"},
                prev_hash=f"bench-prev-{n:053d}",
                hash=f"bench-hash-{n:053d}",
            )


async def _settle(conn: BaseDBAsyncClient) -> None:
    """PostgreSQL: move the id sequence past the ids given, and VACUUM ANALYZE as autovacuum soon would.

    SQLite is left as Council leaves it: Council never runs ANALYZE, so its planner has no statistics.
    """
    if conn.capabilities.dialect != "postgres":
        return
    await conn.execute_script(
        "SELECT setval(pg_get_serial_sequence('escalation', 'id'), (SELECT max(id) FROM escalation))"
    )
    for table in [name for name, _ in TABLES] + ["audit_event", "storm", "person", "pulse_answer"]:
        await conn.execute_script(f'VACUUM ANALYZE "{table}"')
