"""Benchmark the weekly digest: one council's week among a million stored escalations.

    python -m bench.digest [--database sqlite|postgres] [--escalations N] [--in-week M] [--keep PATH]

Seeds a fresh database (bench.digest_seed), then measures in a fresh process, so that seeding's
memory does not count. Baseline, in that process and on the same connection: one `SELECT count(*)`
of the council's escalations opened in the week. Then `bot.services.digest.compute` for that week,
which reads the week before it too.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from bench.database import DEFAULT_POSTGRES_URL, Database, temporary_database
from bench.digest_seed import COUNCIL, TIMEZONE, WEEK, Seeded, seed, snapshot
from bench.figures import Row, table
from bench.machine import describe
from bot import db
from bot.governance.calendar import Week
from bot.services import digest
from bot.services import digest_queries as q
from bot.services.digest_figures import Digest, duration
from models import Council, DigestWeek

TARGET_SECONDS, TARGET_MB = 2.0, 200.0
BASELINE = (
    "SELECT COUNT(*) AS n FROM escalation e "
    "WHERE e.council_id = :council AND e.created_at >= :start AND e.created_at < :end"
)
T = TypeVar("T")
TABLES = ("escalation", "decision", "vote", "outbox")


@dataclass(frozen=True)
class Timing:
    """Seconds: the warm-up run (the first in a fresh process), then the median and max of the runs."""

    first: float
    median: float
    max: float


async def timed(run: Callable[[], Awaitable[T]], runs: int) -> tuple[T, Timing]:
    """Run once to warm up, then `runs` times; return the last result and the timings."""
    samples = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        result = await run()
        samples.append(time.perf_counter() - began)
    return result, Timing(samples[0], statistics.median(samples[1:]), max(samples[1:]))


class Memory:
    """Resident memory in MB (10^6 bytes), from Linux's /proc/self/status."""

    @staticmethod
    def now() -> float:
        return Memory._status("VmRSS")

    @staticmethod
    def peak() -> float:
        """The peak since the last `reset` (since the process started, without one)."""
        return Memory._status("VmHWM")

    @staticmethod
    def reset() -> None:
        """Start a new peak at the present size (Linux 4.0+: writing 5 to clear_refs resets VmHWM)."""
        Path("/proc/self/clear_refs").write_text("5")

    @staticmethod
    def _status(field: str) -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise RuntimeError(f"no {field} in /proc/self/status")


async def measured(run: Callable[[], Awaitable[T]], runs: int) -> tuple[T, Timing, dict[str, float]]:
    """`timed`, with the resident memory before and the peak while it ran."""
    Memory.reset()
    before = Memory.now()
    result, timing = await timed(run, runs)
    return result, timing, {"before": before, "peak": Memory.peak()}


async def measure(url: str, runs: int) -> dict[str, Any]:
    """In a fresh process: time the baseline, then the digest; peak memory before and after the digest."""
    await db.init(url)
    # Not ru_maxrss: a child's counts the parent's size at the fork (Linux copies it over at exec).
    starting = Memory.peak()
    try:
        council = await Council.get(name=COUNCIL)
        week = Week.parse(WEEK, council.timezone)
        reader = q.Reader()
        params = {"council": council.id, "start": week.start, "end": week.end}
        counted, baseline, baseline_mb = await measured(lambda: reader.one(BASELINE, params), runs)

        async def weekly() -> Digest:
            # As the Monday run finds it: last week kept by last week's digest, this week read.
            await DigestWeek.filter(council_id=council.id, week=week.name).delete()
            return await digest.compute(council, week, now=snapshot(week))

        async def cold() -> Digest:
            # Nothing kept (a first digest, or `council digest show` of an old week): both weeks read.
            await DigestWeek.filter(council_id=council.id).delete()
            return await digest.compute(council, week, now=snapshot(week))

        computed, timing, digest_mb = await measured(weekly, runs)
        _, cold_timing, cold_mb = await measured(cold, runs)
        await DigestWeek.filter(council_id=council.id).delete()
        spent = await breakdown(council, week)
        sizes = {name: (await reader.one(f"SELECT COUNT(*) AS n FROM {name}", {}))["n"] for name in TABLES}  # noqa: S608
    finally:
        await db.close()
    return {
        "baseline": asdict(baseline),
        "digest": asdict(timing),
        "cold": asdict(cold_timing),
        "cold_mb": cold_mb,
        "in_week": int(counted["n"]),
        "baseline_mb": baseline_mb,
        "digest_mb": digest_mb,
        "starting_mb": starting,
        "breakdown": spent,
        "rows": sizes,
        "computed": computed.model_dump(mode="json"),
    }


async def breakdown(council: Council, week: Week) -> dict[str, float]:
    """One more run, with each read of bot.services.digest_queries timed (both weeks added up)."""
    spent: dict[str, float] = defaultdict(float)
    reads = {
        name: read
        for name, read in vars(q).items()
        if inspect.iscoroutinefunction(read) and read.__module__ == q.__name__
    }

    def timing(name: str, read: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await read(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - began

        return run

    for name, read in reads.items():
        setattr(q, name, timing(name, read))
    try:
        began = time.perf_counter()
        await digest.compute(council, week, now=snapshot(week))
        total = time.perf_counter() - began
    finally:
        for name, read in reads.items():
            setattr(q, name, read)
    return {**dict(sorted(spent.items(), key=lambda kv: -kv[1])), "(the rest)": total - sum(spent.values())}


async def measured_apart(url: str, runs: int) -> dict[str, Any]:
    """Run `measure` in a new interpreter and read back what it printed."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.digest",
        "--measure",
        url,
        "--runs",
        str(runs),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the measuring process failed (exit status {child.returncode}); see above")
    found: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return found


@asynccontextmanager
async def database(options: argparse.Namespace) -> AsyncIterator[tuple[Database, bool]]:
    """The database to measure, and whether it is empty (to seed); a kept one stays afterwards."""
    if options.keep is None:
        async with temporary_database(options.database) as fresh:
            yield fresh, True
        return
    path = Path(options.keep)
    empty = not await asyncio.to_thread(path.exists)
    if options.database == "sqlite":
        yield Database(f"sqlite://{path}", "sqlite"), empty
        return
    base = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    conn = await asyncpg.connect(base)
    try:
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
        if empty:
            schema = "bench_digest_" + os.urandom(4).hex()
            await conn.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
            await asyncio.to_thread(path.write_text, url + "\n")
    finally:
        await conn.close()
    url = (await asyncio.to_thread(path.read_text)).strip()
    yield Database(url, "postgres", version), empty


async def seeded_into(url: str, options: argparse.Namespace) -> Seeded:
    await db.init(url)
    try:
        return await seed(
            escalations=options.escalations, in_week=options.in_week, week=Week.parse(WEEK, TIMEZONE)
        )
    finally:
        await db.close()


def figures(found: dict[str, Any]) -> list[Row]:
    ours, theirs = found["digest"], found["baseline"]
    ours_mb, theirs_mb = found["digest_mb"], found["baseline_mb"]
    return [
        Row("time median (ms)", ours["median"] * 1000, theirs["median"] * 1000),
        Row("time max (ms)", ours["max"] * 1000, theirs["max"] * 1000),
        Row("first run, fresh process (ms)", ours["first"] * 1000, theirs["first"] * 1000),
        Row("both weeks read: median (ms)", found["cold"]["median"] * 1000, theirs["median"] * 1000),
        Row("both weeks read: max (ms)", found["cold"]["max"] * 1000, theirs["max"] * 1000),
        Row("RSS before (MB)", ours_mb["before"], theirs_mb["before"], compare=False),
        Row("peak RSS while running (MB)", ours_mb["peak"], theirs_mb["peak"], compare=False),
        Row(
            "peak over RSS before (MB)",
            ours_mb["peak"] - ours_mb["before"],
            theirs_mb["peak"] - theirs_mb["before"],
            compare=False,
        ),
    ]


def verdicts(found: dict[str, Any]) -> list[str]:
    slowest, peak = found["digest"]["max"], found["digest_mb"]["peak"]
    time_said = "within target" if slowest < TARGET_SECONDS else "OVER TARGET"
    memory_said = "within target" if peak < TARGET_MB else "OVER TARGET"
    return [
        f"time: slowest of the runs {slowest * 1000:,.0f} ms, target {TARGET_SECONDS:.0f} s: {time_said}",
        f"memory: peak RSS while computing {peak:,.1f} MB (the whole process; {found['starting_mb']:,.1f} MB "
        f"while it imported, migrated and connected), target {TARGET_MB:.0f} MB: {memory_said}",
    ]


def sanity(found: dict[str, Any]) -> list[str]:
    """What the digest said, so a reader sees it computed real figures, and whether it counted right."""
    computed = Digest.model_validate(found["computed"])
    flow, people, before = computed.week.flow, computed.week.flourishing, computed.previous.flow
    kinds = " · ".join(f"{kind} {n:,}" for kind, n in sorted(flow.by_kind.items()))
    agrees = "= the baseline's count" if flow.escalations == found["in_week"] else "≠ THE BASELINE'S COUNT"
    middle = duration(flow.median_seconds) if flow.median_seconds is not None else "—"
    p90 = duration(flow.p90_seconds) if flow.p90_seconds is not None else "—"
    return [
        f"digest of {computed.week.week}: {flow.escalations:,} opened ({kinds}) {agrees}; "
        f"{flow.decided_by_people:,} decided by people, median {middle}, p90 {p90}; "
        f"{flow.outcomes.expired:,} expired; backlog {flow.backlog:,}; {flow.incidents.opened:,} incidents",
        f"  {people.asks:,} votes asked, {people.reminders:,} reminders, "
        f"{people.out_of_hours:,} out of hours, gini {people.gini or 0:.2f}, "
        f"pulse {people.pulse.answered} answers; "
        f"week before ({computed.previous.week}): {before.escalations:,} opened, "
        f"{before.decided_by_people:,} decided by people",
    ]


async def main(options: argparse.Namespace) -> None:
    async with database(options) as where:
        store, empty = where
        machine = describe(store.kind, store.server_version)
        seeded = await seeded_into(store.url, options) if empty else None
        load = os.getloadavg()[0]
        found = await measured_apart(store.url, options.runs)
    print(machine)
    rows = ", ".join(f"{n:,} {name}" for name, n in found["rows"].items())
    how = f"seeded in {seeded.seconds:.0f} s" if seeded else f"kept from an earlier run ({options.keep})"
    print(f"database: {store.kind}, {rows}; {how}; load average {load:.2f} before measuring")
    title = (
        f"Digest of {WEEK} (and the week before) for {COUNCIL}: {found['in_week']:,} escalations "
        f"in the week, {store.kind}, median and max of {options.runs} runs after one warm-up"
    )
    print(table(title, figures(found), baseline="count(*)"))
    print("\n".join(verdicts(found) + sanity(found)))
    spent = " · ".join(f"{name} {seconds * 1000:,.0f}" for name, seconds in found["breakdown"].items())
    print(f"where the time goes (ms, one more run, both weeks): {spent}")
    if Digest.model_validate(found["computed"]).week.flow.escalations != found["in_week"]:
        raise SystemExit("the digest's count of the week's escalations disagrees with the baseline's")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--escalations", type=int, default=1_000_000, help="escalations stored (default 1000000)"
    )
    parser.add_argument(
        "--in-week", type=int, default=100_000, help=f"of them opened in {WEEK} (default 100000)"
    )
    parser.add_argument(
        "--keep",
        metavar="PATH",
        type=os.path.abspath,
        help="keep the seeded database (SQLite: the file PATH; PostgreSQL: the schema, its URL written to "
        "PATH); when PATH exists, measure that database again without seeding",
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs after the warm-up (default 5)")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the measuring process
    return parser


if __name__ == "__main__":
    parsed = arguments().parse_args()
    if parsed.measure:
        print(json.dumps(asyncio.run(measure(parsed.measure, parsed.runs))))
    else:
        asyncio.run(main(parsed))
