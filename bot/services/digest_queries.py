"""The digest's reads: aggregates in SQL over a council's week, the same figures on SQLite and PostgreSQL.

Each query reads one council's rows by `(council_id, created_at)` or `(council_id, closed_at)`
(indexes from migration 0006), so a week costs what is in it, not what is stored. Python only sees
grouped rows: at most one per member and quarter hour, never one per escalation.

The SQL text is put together from this module's own constant fragments (the dialect's spelling of
a few expressions); every value goes in as a bound parameter, hence the file-wide S608 exemption.
"""
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise import connections

from bot.services.digest_figures import WAIT_BUCKETS, nearest_rank

PEOPLE = ("council", "owner", "admin")
QUARTER = 900
# `:name` parameters; a `::` cast is not one.
_NAMED = re.compile(r"(?<![:\w]):([a-z_]+)")


class Reader:
    """Runs the digest's SQL on the default connection, in its dialect."""

    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.postgres = self.conn.capabilities.dialect == "postgres"

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run `sql` with `:name` parameters (each may appear more than once)."""
        names: list[str] = []

        def place(found: re.Match[str]) -> str:
            names.append(found[1])
            return f"${len(names)}" if self.postgres else "?"

        text = _NAMED.sub(place, sql)
        return list(await self.conn.execute_query_dict(text, [params[name] for name in names]))

    async def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
        found = await self.rows(sql, params)
        return found[0] if found else {}

    # Dialect pieces: seconds between two timestamps, a timestamp's quarter hour since the epoch.
    def seconds(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def quarter(self, column: str) -> str:
        if self.postgres:
            return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {QUARTER}) AS BIGINT)"
        return f"(CAST(strftime('%s', {column}) AS INTEGER) / {QUARTER})"

    def electors(self) -> str:
        """FROM-clause rows of each escalation's frozen electorate, with the seat's user as `seat`."""
        if self.postgres:
            return "escalation e CROSS JOIN LATERAL jsonb_array_elements(e.electorate) AS j(value)"
        return "escalation e, json_each(e.electorate) AS j"

    def seat(self) -> str:
        return "(j.value ->> 'user')" if self.postgres else "json_extract(j.value, '$.user')"

    def payload_user(self) -> str:
        return "(o.payload ->> 'user')" if self.postgres else "json_extract(o.payload, '$.user')"


WEEK = "e.council_id = :council AND e.created_at >= :start AND e.created_at < :end"
CLOSED = "e.council_id = :council AND e.closed_at >= :start AND e.closed_at < :end"


async def opened(db: Reader, council: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Escalations opened in the week, by kind and agent."""
    sql = f"""
        SELECT e.kind AS kind, a.name AS agent, COUNT(*) AS n
        FROM escalation e JOIN agent a ON a.id = e.agent_id
        WHERE {WEEK}
        GROUP BY e.kind, a.name
    """
    return await db.rows(sql, {"council": council, "start": start, "end": end})


async def closed(db: Reader, council: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Approvals closed in the week, by final status and who decided."""
    sql = f"""
        SELECT e.status AS status, d.decided_by AS decided_by, COUNT(*) AS n
        FROM escalation e LEFT JOIN decision d ON d.escalation_id = e.id
        WHERE {CLOSED} AND e.kind = 'approval'
        GROUP BY e.status, d.decided_by
    """
    return await db.rows(sql, {"council": council, "start": start, "end": end})


async def decision_times(
    db: Reader, council: int, start: datetime, end: datetime
) -> tuple[int, float | None, float | None, dict[str, int]]:
    """Approvals people decided in the week: how many, median and p90 seconds, and the wait buckets."""
    wait = db.seconds("e.closed_at", "e.created_at")
    params = {"council": council, "start": start, "end": end}
    people = "d.decided_by IN ('council', 'owner', 'admin')"
    base = (
        "FROM escalation e JOIN decision d ON d.escalation_id = e.id "
        f"WHERE {CLOSED} AND e.kind = 'approval' AND {people}"
    )
    bounds = [limit for _, limit in WAIT_BUCKETS[:-1]]
    cases = []
    lower = None
    for i, upper in enumerate(bounds):
        condition = f"{wait} < {upper}" if lower is None else f"{wait} >= {lower} AND {wait} < {upper}"
        cases.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS b{i}")
        lower = upper
    cases.append(f"SUM(CASE WHEN {wait} >= {lower} THEN 1 ELSE 0 END) AS b{len(bounds)}")
    counted = await db.one(f"SELECT COUNT(*) AS n, {', '.join(cases)} {base}", params)
    n = int(counted.get("n") or 0)
    waits = {label: int(counted.get(f"b{i}") or 0) for i, (label, _) in enumerate(WAIT_BUCKETS)}
    if n == 0:
        return 0, None, None, waits
    if db.postgres:
        found = await db.one(
            f"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY {wait}) AS p50, "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY {wait}) AS p90 {base}",
            params,
        )
        return n, float(found["p50"]), float(found["p90"]), waits
    p50 = await db.one(f"SELECT {wait} AS s {base} ORDER BY s LIMIT 1 OFFSET {nearest_rank(n, 0.5)}", params)
    p90 = await db.one(f"SELECT {wait} AS s {base} ORDER BY s LIMIT 1 OFFSET {nearest_rank(n, 0.9)}", params)
    return n, float(p50["s"]), float(p90["s"]), waits


async def backlog(db: Reader, council: int, at: datetime) -> tuple[int, dict[str, Any] | None]:
    """What waited for people at `at`: approvals and incidents opened before, not closed by then."""
    params = {"council": council, "at": at}
    waiting = "e.council_id = :council AND e.kind IN ('approval', 'incident') AND e.created_at < :at"
    # Two index ranges (never closed; closed after `at`) rather than one OR that reads every row.
    counted = await db.one(
        f"""
        SELECT
          (SELECT COUNT(*) FROM escalation e WHERE {waiting} AND e.closed_at IS NULL)
          + (SELECT COUNT(*) FROM escalation e WHERE {waiting} AND e.closed_at >= :at) AS n
        """,
        params,
    )
    oldest = await db.rows(
        f"""
        SELECT * FROM (
          SELECT * FROM (SELECT e.public_id AS id, e.title AS title, e.created_at AS created_at
                         FROM escalation e WHERE {waiting} AND e.closed_at IS NULL
                         ORDER BY e.created_at, e.id LIMIT 1) AS never
          UNION ALL
          SELECT * FROM (SELECT e.public_id AS id, e.title AS title, e.created_at AS created_at
                         FROM escalation e WHERE {waiting} AND e.closed_at >= :at
                         ORDER BY e.created_at, e.id LIMIT 1) AS later
        ) AS candidates ORDER BY created_at LIMIT 1
        """,
        params,
    )
    return int(counted.get("n") or 0), (oldest[0] if oldest else None)


async def incidents(db: Reader, council: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Incidents opened in the week: owned, resolved, execution mismatches, and the median time to own."""
    params = {"council": council, "start": start, "end": end}
    where = f"{WEEK} AND e.kind = 'incident'"
    counted = await db.one(
        f"""
        SELECT COUNT(*) AS opened,
               SUM(CASE WHEN e.acknowledged_at IS NOT NULL THEN 1 ELSE 0 END) AS owned,
               SUM(CASE WHEN e.status = 'resolved' THEN 1 ELSE 0 END) AS resolved,
               SUM(CASE WHEN e.related IS NOT NULL THEN 1 ELSE 0 END) AS mismatches
        FROM escalation e WHERE {where}
        """,
        params,
    )
    owned = int(counted.get("owned") or 0)
    median = None
    if owned:
        own = db.seconds("e.acknowledged_at", "e.created_at")
        found = await db.one(
            f"SELECT {own} AS s FROM escalation e WHERE {where} AND e.acknowledged_at IS NOT NULL "
            f"ORDER BY s LIMIT 1 OFFSET {nearest_rank(owned, 0.5)}",
            params,
        )
        median = float(found["s"])
    return {
        "opened": int(counted.get("opened") or 0),
        "owned": owned,
        "resolved": int(counted.get("resolved") or 0),
        "mismatches": int(counted.get("mismatches") or 0),
        "median_to_own": median,
    }


async def storms(db: Reader, council: int, start: datetime, end: datetime) -> int:
    found = await db.one(
        "SELECT COUNT(*) AS n FROM storm "
        "WHERE council_id = :council AND started_at >= :start AND started_at < :end",
        {"council": council, "start": start, "end": end},
    )
    return int(found.get("n") or 0)


async def paused_agents(db: Reader, start: datetime, end: datetime) -> list[str]:
    """Agents paused in the week (by anyone: an admin, storm control, an execution beyond approval)."""
    found = await db.rows(
        "SELECT DISTINCT subject FROM audit_event "
        "WHERE action = 'agent.paused' AND at >= :start AND at < :end",
        {"start": start, "end": end},
    )
    return sorted(str(row["subject"]) for row in found if row["subject"])


async def asks(db: Reader, council: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Votes asked in the week: each seat of each approval opened, by member and quarter hour."""
    quarter = db.quarter("e.created_at")
    sql = f"""
        SELECT {db.seat()} AS user_id, {quarter} AS quarter, COUNT(*) AS n
        FROM {db.electors()}
        WHERE {WEEK} AND e.kind = 'approval'
        GROUP BY 1, 2
    """
    return await db.rows(sql, {"council": council, "start": start, "end": end})


async def votes(db: Reader, council: int, start: datetime, end: datetime) -> dict[str, int]:
    """Votes cast on the approvals opened in the week, by member (a recusal is taking part too)."""
    sql = f"""
        SELECT v.user_id AS user_id, COUNT(*) AS n
        FROM escalation e JOIN vote v ON v.escalation_id = e.id
        WHERE {WEEK} AND e.kind = 'approval'
        GROUP BY v.user_id
    """
    found = await db.rows(sql, {"council": council, "start": start, "end": end})
    return {str(row["user_id"]): int(row["n"]) for row in found}


async def reminders(db: Reader, council: int, start: datetime, end: datetime) -> dict[str, int]:
    """Reminders delivered in the week about the council's escalations, by member.

    A reminder the worker dropped (the member voted while it waited for their hours) is done but was
    never sent; its note says so (`bot.outbox.outcomes.DROPPED`).
    """
    sql = f"""
        SELECT {db.payload_user()} AS user_id, COUNT(*) AS n
        FROM outbox o JOIN escalation e ON e.id = o.escalation_id
        WHERE o.kind = 'escalation.reminder' AND o.status = 'done'
          AND (o.last_error IS NULL OR o.last_error NOT LIKE 'dropped: %')
          AND o.done_at >= :start AND o.done_at < :end AND e.council_id = :council
        GROUP BY 1
    """
    found = await db.rows(sql, {"council": council, "start": start, "end": end})
    return {str(row["user_id"]): int(row["n"]) for row in found}


async def days(db: Reader, council: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Escalations opened in the week by quarter hour and status (for the chart's days)."""
    sql = f"""
        SELECT {db.quarter("e.created_at")} AS quarter, e.status AS status, COUNT(*) AS n
        FROM escalation e WHERE {WEEK}
        GROUP BY 1, 2
    """
    return await db.rows(sql, {"council": council, "start": start, "end": end})
