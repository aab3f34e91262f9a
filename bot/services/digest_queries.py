"""The digest's reads: aggregates in SQL over a council's week, the same figures on SQLite and PostgreSQL.

Each query reads one council's rows by `(council_id, created_at)` or `(council_id, closed_at)`
(indexes from migration 0006), so a week costs what is in it, not what is stored. Python only sees
grouped rows: at most one per member and quarter hour, never one per escalation.

The SQL text is put together from this module's own constant fragments (the dialect's spelling of
a few expressions); every value goes in as a bound parameter, hence the file-wide S608 exemption.
"""
# ruff: noqa: S608

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from bot.services.digest_figures import WAIT_BUCKETS

PEOPLE = ("council", "owner", "admin")
QUARTER = 900
PG_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL random_page_cost = 1.1"
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
        values = [params[name] for name in names]
        if not self.postgres:
            return list(await self.conn.execute_query_dict(text, values))
        # Settings for these reads only (SET LOCAL ends with the transaction): no JIT, which costs more
        # than the queries run (the planner overestimates the grouped rows and compiles for ~1 s);
        # room to group and sort a week's rows in memory instead of spilling them to disk; and an
        # SSD's random-read cost, so joins on a week's rows use the indexes, not whole-table scans.
        async with in_transaction("default") as conn:
            await conn.execute_script(PG_SETTINGS)
            return list(await conn.execute_query_dict(text, values))

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

    def unindexed(self, column: str) -> str:
        """The column, kept off any index: SQLite, without statistics, would walk one by its order."""
        return column if self.postgres else f"+{column}"

    def payload_user(self) -> str:
        return "(o.payload ->> 'user')" if self.postgres else "json_extract(o.payload, '$.user')"


WEEK = "e.council_id = :council AND e.created_at >= :start AND e.created_at < :end"
CLOSED = "e.council_id = :council AND e.closed_at >= :start AND e.closed_at < :end"


async def opened(db: Reader, council: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Escalations opened in the week, in one read of them: by kind and agent, by quarter hour and
    status (the chart's days), and the incidents among them (owned, resolved, execution mismatches,
    median time to own)."""
    own = db.seconds("o.ack", "o.created_at")
    if db.postgres:
        median_own = f"percentile_disc(0.5) WITHIN GROUP (ORDER BY {own})"
        owned = (
            f"SELECT 'own', CAST({median_own} AS TEXT), '', COUNT(*) FROM o "
            "WHERE o.kind = 'incident' AND o.ack IS NOT NULL"
        )
    else:
        owned = (
            "SELECT 'own', CAST(MIN(CASE WHEN share >= 0.5 THEN s END) AS TEXT), '', COUNT(*) FROM "
            f"(SELECT {own} AS s, CUME_DIST() OVER (ORDER BY {own}) AS share FROM o "
            "WHERE o.kind = 'incident' AND o.ack IS NOT NULL) AS owned"
        )
    flags = (
        "(CASE WHEN o.ack IS NULL THEN '0' ELSE '1' END)"
        " || (CASE WHEN o.status = 'resolved' THEN '1' ELSE '0' END)"
        " || (CASE WHEN o.related IS NULL THEN '0' ELSE '1' END)"
    )
    sql = f"""
        WITH o AS MATERIALIZED (
          SELECT e.kind AS kind, e.agent_id AS agent, e.status AS status, {db.quarter("e.created_at")} AS q,
                 e.acknowledged_at AS ack, e.related AS related, e.created_at AS created_at
          FROM escalation e WHERE {WEEK}
        )
        SELECT 'kind' AS part, o.kind AS a, CAST(o.agent AS TEXT) AS b, COUNT(*) AS n
        FROM o GROUP BY o.kind, o.agent
        UNION ALL
        SELECT 'day', o.status, CAST(o.q AS TEXT), COUNT(*) FROM o GROUP BY o.status, o.q
        UNION ALL
        SELECT 'incident', {flags}, '', COUNT(*) FROM o WHERE o.kind = 'incident' GROUP BY 2
        UNION ALL
        {owned}
    """
    found: dict[str, Any] = {
        "kinds": [],
        "days": [],
        "incidents": {"opened": 0, "owned": 0, "resolved": 0, "mismatches": 0},
    }
    counted = found["incidents"]
    for row in await db.rows(sql, {"council": council, "start": start, "end": end}):
        part, n = row["part"], int(row["n"] or 0)
        if part == "kind":
            found["kinds"].append((str(row["a"]), int(row["b"]), n))
        elif part == "day":
            found["days"].append((str(row["a"]), int(row["b"]), n))
        elif part == "incident":
            ack, resolved, related = (flag == "1" for flag in str(row["a"]))
            counted["opened"] += n
            counted["owned"] += n if ack else 0
            counted["resolved"] += n if resolved else 0
            counted["mismatches"] += n if related else 0
        else:
            counted["median_to_own"] = float(row["a"]) if row["a"] is not None else None
    counted.setdefault("median_to_own", None)
    return found


async def closings(
    db: Reader, council: int, start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], int, float | None, float | None, dict[str, int]]:
    """Approvals closed in the week, in one read of them: by final status and who decided; and of
    those people decided, how many, the median and p90 seconds to decision, and the wait buckets."""
    people = "c.decided_by IN ('council', 'owner', 'admin')"
    bounds = [limit for _, limit in WAIT_BUCKETS[:-1]]
    cases = []
    lower = None
    for i, upper in enumerate(bounds):
        condition = f"c.s < {upper}" if lower is None else f"c.s >= {lower} AND c.s < {upper}"
        cases.append(f"SUM(CASE WHEN {people} AND {condition} THEN 1 ELSE 0 END) AS b{i}")
        lower = upper
    cases.append(f"SUM(CASE WHEN {people} AND c.s >= {lower} THEN 1 ELSE 0 END) AS b{len(bounds)}")
    if db.postgres:
        ranked = (
            ", ranks AS (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c.s) AS p50, "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY c.s) AS p90 FROM c WHERE {people})"
        )
    else:
        # percentile_disc(p) is the first wait whose cumulative share reaches p (the nearest rank).
        ranked = (
            ", ranks AS (SELECT MIN(CASE WHEN share >= 0.5 THEN s END) AS p50, "
            "MIN(CASE WHEN share >= 0.9 THEN s END) AS p90 FROM "
            f"(SELECT c.s AS s, CUME_DIST() OVER (ORDER BY c.s) AS share FROM c WHERE {people}) AS shares)"
        )
    sql = f"""
        WITH c AS MATERIALIZED (
          SELECT e.status AS status, d.decided_by AS decided_by,
                 {db.seconds("e.closed_at", "e.created_at")} AS s
          FROM escalation e LEFT JOIN decision d ON d.escalation_id = e.id
          WHERE {CLOSED} AND e.kind = 'approval'
        ){ranked}
        SELECT c.status AS status, c.decided_by AS decided_by, COUNT(*) AS n,
               SUM(CASE WHEN {people} THEN 1 ELSE 0 END) AS by_people, {", ".join(cases)},
               MIN(ranks.p50) AS p50, MIN(ranks.p90) AS p90
        FROM c CROSS JOIN ranks GROUP BY c.status, c.decided_by
    """
    rows = await db.rows(sql, {"council": council, "start": start, "end": end})
    waits = {label: sum(int(r[f"b{i}"] or 0) for r in rows) for i, (label, _) in enumerate(WAIT_BUCKETS)}
    n = sum(int(r["by_people"] or 0) for r in rows)
    if n == 0:
        return rows, 0, None, None, waits
    return rows, n, float(rows[0]["p50"]), float(rows[0]["p90"]), waits


async def backlog(db: Reader, council: int, at: datetime) -> tuple[int, dict[str, Any] | None]:
    """What waited for people at `at`: approvals and incidents opened before, not closed by then."""
    params = {"council": council, "at": at}
    opened = f"{db.unindexed('e.created_at')} < :at"
    waiting = f"e.council_id = :council AND e.kind IN ('approval', 'incident') AND {opened}"
    # Read through (council_id, closed_at) only: the never-closed rows and those closed after `at` are
    # few, while everything opened before `at` is the council's whole history. The CTE is a fence, so
    # that no planner walks (council_id, created_at) in order to find the oldest one.
    found = await db.one(
        f"""
        WITH open_then AS MATERIALIZED (
          SELECT e.id, e.public_id, e.title, e.created_at FROM escalation e
          WHERE {waiting} AND e.closed_at IS NULL
          UNION ALL
          SELECT e.id, e.public_id, e.title, e.created_at FROM escalation e
          WHERE {waiting} AND e.closed_at >= :at
        )
        SELECT counted.n AS n, oldest.public_id AS id, oldest.title AS title, oldest.created_at AS created_at
        FROM (SELECT COUNT(*) AS n FROM open_then) AS counted
        LEFT JOIN (SELECT * FROM open_then ORDER BY created_at, id LIMIT 1) AS oldest ON 1 = 1
        """,
        params,
    )
    if found.get("id") is None:
        return int(found.get("n") or 0), None
    return int(found["n"]), {"id": found["id"], "title": found["title"], "created_at": found["created_at"]}


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


async def asks(db: Reader, council: int, start: datetime, end: datetime) -> dict[str, dict[int, int]]:
    """Votes asked in the week: each seat of each approval opened, by member and quarter hour.

    Grouped by the frozen electorate as stored, not seat by seat: a council's approvals share a
    handful of electorates, so the database groups each escalation once (no JSON unpacked per row)
    and each distinct electorate is read here once, however many escalations it froze.
    """
    sql = f"""
        SELECT e.electorate AS seats, {db.quarter("e.created_at")} AS quarter, COUNT(*) AS n
        FROM escalation e
        WHERE {WEEK} AND e.kind = 'approval'
        GROUP BY e.electorate, 2
    """
    seated: dict[str, list[str]] = {}
    found: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in await db.rows(sql, {"council": council, "start": start, "end": end}):
        text = row["seats"] if isinstance(row["seats"], str) else json.dumps(row["seats"])
        if text not in seated:
            seated[text] = [str(seat["user"]) for seat in json.loads(text)]
        quarter, n = int(row["quarter"]), int(row["n"])
        for user in seated[text]:
            found[user][quarter] += n
    return found


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
