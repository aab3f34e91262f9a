"""The outbox worker: delivers each event once, in order per escalation, with retries and fair lanes.

Two lanes run side by side, so a slow agent never holds up Slack, nor Slack an agent:
- **slack**: one row of an escalation in flight at a time, in id order (a post before its replies);
- **agents**: callbacks, a few in flight per agent, so one agent's slow endpoint never delays another's.

Rows are claimed with a compare-and-set on `attempts`, so several replicas can share one outbox: a
row another replica holds, or an earlier row of the same escalation, makes this one wait its turn.
A Slack row starts only once Slack's rate limits allow every call it makes (`bot.outbox.pacing`);
a failed row tries again on the backoff that suits its target (`bot.outbox.recovery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from pydantic import ValidationError
from slack_sdk.web.async_client import AsyncWebClient
from tortoise.expressions import Q

from bot import log_context
from bot.outbox import (
    admin_effects,
    digest_effects,
    events,
    export_effects,
    pulse_effects,
    recovery,
    slack_effects,
    storm_effects,
)
from bot.outbox.outcomes import DELIVER, Outcomes
from bot.outbox.pacing import Call, Pacer
from bot.outbox.recovery import SlackWatch
from bot.outbox.slack_effects import Transport
from bot.runtime import Runtime
from bot.services import log_scope
from models import Escalation, OutboxItem
from models.enums import Delivery

log = logging.getLogger(__name__)
CLAIM_SECONDS = 60
BATCH = 200
# Seconds a stopping worker gives the deliveries in flight before it cancels them (they retry later).
DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class Lane:
    """A queue of kinds delivered side by side, at most `per_key` rows of one key and `total` in all."""

    name: str
    kinds: tuple[str, ...]
    per_key: int
    total: int
    ordered: bool  # rows of one escalation go strictly in id order
    paced: bool  # rows start only when Slack's rate limits let each of their calls go


LANES = {
    "slack": Lane("slack", events.LANE_KINDS["slack"], per_key=1, total=8, ordered=True, paced=True),
    "agents": Lane("agents", events.LANE_KINDS["agents"], per_key=2, total=16, ordered=False, paced=False),
}


SLACK_KINDS = frozenset(LANES["slack"].kinds)
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    """Claims due rows (safe with several replicas) and delivers each through its event's deliverer.

    `clock` and `sleep` are the worker's time: tests pass their own to drive an outage of minutes
    in no time; the pacer keeps Slack's rate limits on the same clock.
    """

    def __init__(
        self,
        rt: Runtime,
        slack: AsyncWebClient,
        http: aiohttp.ClientSession,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rt = rt
        transport = Transport(
            slack=slack,
            http=http,
            server_key=rt.server_key,
            allow_private=rt.settings.council_allow_private_callbacks,
            clock=clock,
        )
        self.now, self._sleep = clock, sleep
        self.pacer = Pacer(clock=lambda: clock().timestamp())
        self.watch = SlackWatch(rt.slack)
        self.outcomes = Outcomes(
            transport, health=rt.slack, metrics=rt.metrics, pacer=self.pacer, watch=self.watch, clock=clock
        )
        self._flying: dict[str, dict[int, asyncio.Task[None]]] = {lane: {} for lane in LANES}
        self._keys: dict[str, Counter[str]] = {lane: Counter() for lane in LANES}
        self._landed: dict[str, asyncio.Event] = {lane: asyncio.Event() for lane in LANES}
        # Seconds until a row held back by the pacer may go, from the lane's last pass.
        self._paced: dict[str, float | None] = {lane: None for lane in LANES}
        self._stopping = False

    async def run(self) -> None:
        """Deliver every lane until cancelled; in-flight deliveries are cancelled with it."""
        try:
            await self._due_after_restart()
            await asyncio.gather(*(self._run_lane(lane) for lane in LANES.values()))
        finally:
            flying = [task for tasks in self._flying.values() for task in tasks.values()]
            for task in flying:
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)

    def stop_taking_work(self) -> None:
        """Start nothing more; what is in flight goes on."""
        self._stopping = True

    async def drain(self, within: float = DRAIN_SECONDS) -> int:
        """Stop taking work, let deliveries in flight land for up to `within` s; return how many did not."""
        self.stop_taking_work()
        flying = [task for tasks in self._flying.values() for task in tasks.values()]
        if not flying:
            return 0
        log.info("outbox stopping: waiting up to %gs for %d deliveries in flight", within, len(flying))
        _, late = await asyncio.wait(flying, timeout=within)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            log.warning("outbox stopped with %d deliveries cut short; they are retried at start", len(late))
        return len(late)

    async def _due_after_restart(self) -> None:
        try:
            waiting = await recovery.due_after_restart(self.now())
        except Exception:  # Delivery still starts; the rows come due on their own schedule.
            log.exception("outbox: could not bring pending rows forward at start")
            return
        if waiting:
            log.info("outbox: %d pending rows are due at once after the restart", waiting)

    async def _run_lane(self, lane: Lane) -> None:
        """Start due rows as room frees up, woken by commits, by a landed delivery or by the poll."""
        doorbell = self.rt.outbox.subscribe()
        landed = self._landed[lane.name]
        while True:
            # Cleared before the pass, so a commit or a landing during it wakes the next one.
            doorbell.clear()
            landed.clear()
            try:
                await self._fill(lane)
            except Exception:  # A broken row or database hiccup must not stop delivery for good.
                log.exception("outbox pass failed (%s)", lane.name)
            waits = [asyncio.ensure_future(doorbell.wait()), asyncio.ensure_future(landed.wait())]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_pass_in(lane)):
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    def _next_pass_in(self, lane: Lane) -> float:
        """Seconds until the poll, or sooner when a paced row may go or Slack is due a probe."""
        soonest = [self.rt.settings.council_outbox_poll]
        if self._paced[lane.name] is not None:
            soonest.append(self._paced[lane.name] or 0.0)
        probe = self.watch.next_probe_in(self.now()) if lane.paced else None
        if probe is not None:
            soonest.append(probe)
        return max(min(soonest), 0.001)

    async def deliver_due(self, lane: str | None = None) -> int:
        """Deliver what is due, paced, waiting until it has all landed; return how many started.

        For tests and the demo, which drive delivery step by step instead of running the loop.
        Rows in backoff are left for a later call; rows only held back by the pacer are waited for.
        """
        lanes = [LANES[lane]] if lane is not None else list(LANES.values())
        started = 0
        while True:
            begun = 0
            for each in lanes:
                begun += await self._fill(each)
            started += begun
            flying = [task for each in lanes for task in self._flying[each.name].values()]
            if flying:
                await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                continue
            if begun:
                continue
            paced = [wait for each in lanes if (wait := self._paced[each.name]) is not None]
            if not paced:
                return started
            await self._sleep(min(paced))

    async def _fill(self, lane: Lane) -> int:
        """Claim and start the due rows this lane has room for; return how many started."""
        flying, keys = self._flying[lane.name], self._keys[lane.name]
        self._paced[lane.name] = None
        if self._stopping or len(flying) >= lane.total:
            return 0
        now = self.now()
        if lane.paced:
            await self.watch.follow(now)
        due = OutboxItem.filter(status=Delivery.PENDING, kind__in=lane.kinds, next_attempt_at__lte=now)
        # The longest-waiting first, so rows stuck in backoff never crowd out new ones.
        rows = await due.exclude(id__in=list(flying)).order_by("next_attempt_at", "id").limit(BATCH)
        key_of = await self._key_of(lane, rows)
        channels = await self._channels(rows) if lane.paced else {}
        about = await log_scope.names_by_id(r.escalation_id for r in rows)
        blocked: set[str] = set()
        started = 0
        for row in rows:
            key = key_of[row.id]
            if len(flying) >= lane.total:
                break
            if key in blocked or keys[key] >= lane.per_key:
                continue
            calls = self._planned(row, channels) if lane.paced else []
            wait = self.pacer.wait(calls)
            if wait > 0:
                # Slack would refuse it now; rows for other channels go ahead, its escalation waits.
                blocked.add(key)
                self._paced[lane.name] = min(wait, self._paced[lane.name] or wait)
                continue
            if lane.ordered and not await self._at_head(row, lane):
                # Its turn has not come. The earlier row may still be in this batch, later in it (a
                # retry after a 429 can come due after the rows queued behind it): the key stays open.
                continue
            if not await self._claim(row):
                # Another replica holds it: this key waits for the next pass.
                blocked.add(key)
                continue
            self.pacer.take(calls)
            keys[key] += 1
            # The task keeps a copy of the context: its lines name the row's escalation, and no other's.
            with log_context.bind(**about.get(row.escalation_id or 0, {})):
                task = asyncio.create_task(self._fly(lane, key, row, calls), name=f"outbox-{row.id}")
            flying[row.id] = task
            started += 1
        return started

    async def _channels(self, rows: list[OutboxItem]) -> dict[int, str | None]:
        ids = {r.escalation_id for r in rows if r.escalation_id}
        if not ids:
            return {}
        return dict(await Escalation.filter(id__in=list(ids)).values_list("id", "channel_id"))

    def _planned(self, row: OutboxItem, channels: dict[int, str | None]) -> list[Call]:
        """The Slack calls the row will make (none known for a row this version cannot read)."""
        try:
            event = events.read(row.kind, row.payload)
        except ValidationError:
            return []
        channel = channels.get(row.escalation_id) if row.escalation_id else None
        deliverer = DELIVER[type(event)]
        return (
            slack_effects.planned_calls(deliverer, row, event, channel)
            or storm_effects.planned_calls(deliverer, row, event, channel)
            or digest_effects.planned_calls(deliverer, row, event)
            or pulse_effects.planned_calls(deliverer, row, event)
            or admin_effects.planned_calls(deliverer, row, event)
            or export_effects.planned_calls(deliverer, row, event)
        )

    async def _fly(self, lane: Lane, key: str, row: OutboxItem, calls: list[Call]) -> None:
        try:
            await self.outcomes.deliver(row, calls)
        finally:
            del self._flying[lane.name][row.id]
            self._keys[lane.name][key] -= 1
            self._landed[lane.name].set()

    async def _key_of(self, lane: Lane, rows: list[OutboxItem]) -> dict[int, str]:
        """Group rows: by escalation for Slack (their order matters), by agent for callbacks."""
        if lane.ordered:
            return {r.id: f"e{r.escalation_id}" if _in_order(r) else f"r{r.id}" for r in rows}
        ids = {r.escalation_id for r in rows if r.escalation_id}
        agents = dict(await Escalation.filter(id__in=list(ids)).values_list("id", "agent_id")) if ids else {}
        return {r.id: f"a{agents.get(r.escalation_id, 0)}" for r in rows}

    async def _at_head(self, row: OutboxItem, lane: Lane) -> bool:
        """Whether no earlier row of the same escalation must go first.

        An idle earlier re-render does not count: it renders the current state whenever it runs,
        so it cannot overwrite newer news; one in flight does, as it may carry an older state.
        """
        if not _in_order(row):
            return True
        earlier = (
            OutboxItem.filter(
                escalation_id=row.escalation_id, status=Delivery.PENDING, kind__in=lane.kinds, id__lt=row.id
            )
            .filter(~Q(kind__in=events.COALESCING_KINDS, locked_until__isnull=True))
            .exclude(kind__in=events.UNORDERED_KINDS)
        )
        return not await earlier.exists()

    async def _claim(self, row: OutboxItem) -> bool:
        now = self.now()
        free = OutboxItem.filter(id=row.id, status=Delivery.PENDING, attempts=row.attempts)
        claimed = await free.update(
            attempts=row.attempts + 1,
            locked_until=now + timedelta(seconds=CLAIM_SECONDS),
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
        row.attempts += 1
        return claimed == 1


def _in_order(row: OutboxItem) -> bool:
    """Whether the row goes in its escalation's order (a DM waiting for working hours does not)."""
    return row.escalation_id is not None and row.kind not in events.UNORDERED_KINDS
