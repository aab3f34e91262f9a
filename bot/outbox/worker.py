"""The outbox worker: delivers each event once, in order per escalation, with retries and fair lanes.

Two lanes run side by side, so a slow agent never holds up Slack, nor Slack an agent:
- **slack**: one row of an escalation in flight at a time, in id order (a post before its replies);
- **agents**: callbacks, a few in flight per agent, so one agent's slow endpoint never delays another's.

Rows are claimed with a compare-and-set on `attempts`, so several replicas can share one outbox: a
row another replica holds, or an earlier row of the same escalation, makes this one wait its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from tortoise.expressions import Q

from bot.outbox import callbacks, events, slack_effects, storm_effects
from bot.outbox.events import Event
from bot.outbox.slack_effects import Transport
from bot.runtime import Runtime
from models import Escalation, OutboxItem
from models.enums import Delivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 25
# Agents may be down for a while: their callbacks keep trying for about three days.
MAX_CALLBACK_ATTEMPTS = 80
MAX_BACKOFF = 3600
CLAIM_SECONDS = 60
# A follow-up that waits for its escalation's post tries again this soon, and never gives up for it.
NOT_READY_SECONDS = 2.0
BATCH = 200
# Slack errors that retrying cannot fix; the row is parked as dead for an admin to see.
PERMANENT_SLACK_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "msg_too_long",
}

Deliver = Callable[[Transport, OutboxItem, Event], Awaitable[None]]
DELIVER: dict[type[Event], Deliver] = {
    events.Opened: slack_effects.post,
    events.TallyChanged: slack_effects.refresh,
    events.ExecutionReported: slack_effects.refresh,
    events.Decided: slack_effects.refresh_and_reply,
    events.Amended: slack_effects.refresh_and_reply,
    events.Withdrawn: slack_effects.refresh_and_reply,
    events.Extended: slack_effects.refresh_and_reply,
    events.IncidentOwned: slack_effects.refresh_and_reply,
    events.IncidentResolved: slack_effects.refresh_and_reply,
    events.IncidentUnowned: slack_effects.reply,
    events.Breach: slack_effects.reply,
    events.Reminder: slack_effects.direct_message,
    events.EscalatedToYou: slack_effects.direct_message,
    events.IncidentUnownedAlert: slack_effects.direct_message,
    events.AgentPaused: slack_effects.direct_message,
    events.StormOpened: storm_effects.post,
    events.StormChanged: storm_effects.refresh,
    events.StormAutoPaused: storm_effects.tell_owner,
    events.AgentCallback: callbacks.send,
}


@dataclass(frozen=True)
class Lane:
    """A queue of kinds delivered side by side, at most `per_key` rows of one key and `total` in all."""

    name: str
    kinds: tuple[str, ...]
    per_key: int
    total: int
    ordered: bool  # rows of one escalation go strictly in id order


LANES = {
    "slack": Lane("slack", events.LANE_KINDS["slack"], per_key=1, total=8, ordered=True),
    "agents": Lane("agents", events.LANE_KINDS["agents"], per_key=2, total=16, ordered=False),
}


SLACK_KINDS = frozenset(LANES["slack"].kinds)


def backoff(attempts: int) -> float:
    """Seconds before the next try: 2, 4, 8 … capped at an hour."""
    return float(min(2**attempts, MAX_BACKOFF))


class OutboxWorker:
    """Claims due rows (safe with several replicas) and delivers each through its event's deliverer."""

    def __init__(self, rt: Runtime, slack: AsyncWebClient, http: aiohttp.ClientSession) -> None:
        self.rt = rt
        self.transport = Transport(
            slack=slack,
            http=http,
            server_key=rt.server_key,
            allow_private=rt.settings.council_allow_private_callbacks,
        )
        self._flying: dict[str, dict[int, asyncio.Task[None]]] = {lane: {} for lane in LANES}
        self._keys: dict[str, Counter[str]] = {lane: Counter() for lane in LANES}
        self._landed: dict[str, asyncio.Event] = {lane: asyncio.Event() for lane in LANES}

    async def run(self) -> None:
        """Deliver every lane until cancelled; in-flight deliveries are cancelled with it."""
        try:
            await asyncio.gather(*(self._run_lane(lane) for lane in LANES.values()))
        finally:
            flying = [task for tasks in self._flying.values() for task in tasks.values()]
            for task in flying:
                task.cancel()
            await asyncio.gather(*flying, return_exceptions=True)

    async def _run_lane(self, lane: Lane) -> None:
        """Start due rows as room frees up, woken by commits, by a landed delivery or by the poll."""
        doorbell = self.rt.outbox.subscribe()
        landed = self._landed[lane.name]
        while True:
            # Cleared before the pass, so a commit or a landing during it wakes the next one.
            doorbell.clear()
            landed.clear()
            try:
                await self._fill(lane, until=datetime.now(UTC))
            except Exception:  # A broken row or database hiccup must not stop delivery for good.
                log.exception("outbox pass failed (%s)", lane.name)
            waits = [asyncio.ensure_future(doorbell.wait()), asyncio.ensure_future(landed.wait())]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rt.settings.council_outbox_poll):
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def deliver_due(self, lane: str | None = None) -> int:
        """Deliver what is due now, in order, waiting until it has all landed; return how many started.

        For tests and the demo, which drive delivery step by step instead of running the loop.
        """
        until = datetime.now(UTC)
        lanes = [LANES[lane]] if lane is not None else list(LANES.values())
        started = 0
        while True:
            begun = 0
            for each in lanes:
                begun += await self._fill(each, until=until)
            started += begun
            flying = [task for each in lanes for task in self._flying[each.name].values()]
            if not flying:
                if not begun:
                    return started
                continue
            await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)

    async def _fill(self, lane: Lane, *, until: datetime) -> int:
        """Claim and start the due rows this lane has room for; return how many started."""
        flying, keys = self._flying[lane.name], self._keys[lane.name]
        if len(flying) >= lane.total:
            return 0
        due = OutboxItem.filter(status=Delivery.PENDING, kind__in=lane.kinds, next_attempt_at__lte=until)
        # The longest-waiting first, so rows stuck in backoff never crowd out new ones.
        rows = await due.exclude(id__in=list(flying)).order_by("next_attempt_at", "id").limit(BATCH)
        key_of = await self._key_of(lane, rows)
        blocked: set[str] = set()
        started = 0
        for row in rows:
            key = key_of[row.id]
            if len(flying) >= lane.total:
                break
            if key in blocked or keys[key] >= lane.per_key:
                continue
            if (lane.ordered and not await self._at_head(row, lane)) or not await self._claim(row):
                # Its turn has not come, or another replica holds it: this key waits for the next pass.
                blocked.add(key)
                continue
            keys[key] += 1
            flying[row.id] = asyncio.create_task(self._fly(lane, key, row), name=f"outbox-{row.id}")
            started += 1
        return started

    async def _fly(self, lane: Lane, key: str, row: OutboxItem) -> None:
        try:
            await self._deliver(row)
        finally:
            del self._flying[lane.name][row.id]
            self._keys[lane.name][key] -= 1
            self._landed[lane.name].set()

    async def _key_of(self, lane: Lane, rows: list[OutboxItem]) -> dict[int, str]:
        """Group rows: by escalation for Slack (their order matters), by agent for callbacks."""
        if lane.ordered:
            return {r.id: f"e{r.escalation_id}" if r.escalation_id else f"r{r.id}" for r in rows}
        ids = {r.escalation_id for r in rows if r.escalation_id}
        agents = dict(await Escalation.filter(id__in=list(ids)).values_list("id", "agent_id")) if ids else {}
        return {r.id: f"a{agents.get(r.escalation_id, 0)}" for r in rows}

    async def _at_head(self, row: OutboxItem, lane: Lane) -> bool:
        """Whether no earlier row of the same escalation must go first.

        An idle earlier re-render does not count: it renders the current state whenever it runs,
        so it cannot overwrite newer news; one in flight does, as it may carry an older state.
        """
        if row.escalation_id is None:
            return True
        earlier = OutboxItem.filter(
            escalation_id=row.escalation_id, status=Delivery.PENDING, kind__in=lane.kinds, id__lt=row.id
        ).filter(~Q(kind__in=events.COALESCING_KINDS, locked_until__isnull=True))
        return not await earlier.exists()

    async def _claim(self, row: OutboxItem) -> bool:
        now = datetime.now(UTC)
        free = OutboxItem.filter(id=row.id, status=Delivery.PENDING, attempts=row.attempts)
        claimed = await free.update(
            attempts=row.attempts + 1,
            locked_until=now + timedelta(seconds=CLAIM_SECONDS),
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
        row.attempts += 1
        return claimed == 1

    async def _deliver(self, row: OutboxItem) -> None:
        """Deliver one claimed row, then mark it done, retry it later, or park it as dead."""
        try:
            event = events.read(row.kind, row.payload)
        except ValidationError as error:
            await self._fail(row, f"not an event this version delivers: {error.errors()[0]['msg']}")
            return
        to_slack = row.kind in SLACK_KINDS
        try:
            await DELIVER[type(event)](self.transport, row, event)
        except slack_effects.NotReady as error:
            await self._retry(row, str(error), delay=NOT_READY_SECONDS, final=False)
        except (slack_effects.Undeliverable, callbacks.CallbackRefused) as error:
            await self._fail(row, str(error))
        except SlackApiError as error:
            await self._slack_failed(row, error)
        except (callbacks.CallbackFailed, aiohttp.ClientError, TimeoutError, OSError) as error:
            reason = str(error) or type(error).__name__
            if to_slack:
                self.rt.slack.failed(reason)
            await self._retry(row, reason, delay=backoff(row.attempts))
        except Exception as error:  # An unforeseen failure still counts toward the dead-letter limit.
            log.exception("outbox %s %s failed unexpectedly", row.id, row.kind)
            await self._retry(row, f"{type(error).__name__}: {error}", delay=backoff(row.attempts))
        else:
            if to_slack:
                self.rt.slack.ok()
            await self._done(row)

    async def _slack_failed(self, row: OutboxItem, error: SlackApiError) -> None:
        code = str(error.response.get("error", "unknown"))
        if code in PERMANENT_SLACK_ERRORS:
            await self._fail(row, f"slack: {code}")
            return
        self.rt.slack.failed(f"slack: {code}")
        # A 429 says when to come back; the worker waits for it rather than holding the call open.
        retry_after = float(_header(error.response.headers, "Retry-After") or 0)
        await self._retry(row, f"slack: {code}", delay=max(retry_after, backoff(row.attempts)))

    async def _done(self, row: OutboxItem) -> None:
        await OutboxItem.filter(id=row.id).update(
            status=Delivery.DONE, done_at=datetime.now(UTC), locked_until=None
        )

    async def _retry(self, row: OutboxItem, error: str, *, delay: float, final: bool = True) -> None:
        """Schedule another try, or park the row as dead past its limit (unless it only waits its turn)."""
        limit = MAX_CALLBACK_ATTEMPTS if row.kind == events.kind_of(events.AgentCallback) else MAX_ATTEMPTS
        if final and row.attempts >= limit:
            await self._fail(row, error)
            return
        log.warning("outbox %s %s: %s; retrying in %.0fs", row.id, row.kind, error, delay)
        await OutboxItem.filter(id=row.id).update(
            # Waiting for its turn is not a failed attempt: it never brings a row closer to dead.
            attempts=row.attempts if final else row.attempts - 1,
            last_error=error[:2000],
            locked_until=None,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
        )

    async def _fail(self, row: OutboxItem, error: str) -> None:
        log.error("outbox %s %s gave up: %s", row.id, row.kind, error)
        await OutboxItem.filter(id=row.id).update(
            status=Delivery.DEAD, last_error=error[:2000], locked_until=None
        )


def _header(headers: Any, name: str) -> str | None:
    """Read a header from slack-sdk's response headers (a dict of str or of lists, by version)."""
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None
