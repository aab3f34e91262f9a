"""The outbox worker: delivers queued side effects, in order, with retries, once each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import callbacks, slack_effects
from bot.runtime import Runtime
from bot.services import outbox
from models import Escalation, OutboxItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 25
# Agents may be down for a while: their callbacks keep trying for about three days.
MAX_CALLBACK_ATTEMPTS = 80
MAX_BACKOFF = 3600
CLAIM_SECONDS = 60
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


# Agent callbacks never queue behind Slack messages, nor Slack messages behind a slow agent.
LANES = {
    "slack": (outbox.POST_ESCALATION, outbox.UPDATE_ESCALATION, outbox.THREAD_REPLY, outbox.DIRECT_MESSAGE),
    "agents": (outbox.CALLBACK,),
}
PARALLEL = 8


def backoff(attempts: int) -> float:
    """Seconds before the next try: 2, 4, 8 … capped at an hour."""
    return float(min(2**attempts, MAX_BACKOFF))


class OutboxWorker:
    """Claims due rows (safe with several replicas) and delivers each by its kind."""

    def __init__(self, rt: Runtime, slack: AsyncWebClient, http: aiohttp.ClientSession) -> None:
        self.rt = rt
        self.slack = slack
        self.http = http

    async def run(self) -> None:
        """Deliver every lane until cancelled."""
        await asyncio.gather(*(self._run_lane(lane) for lane in LANES))

    async def _run_lane(self, lane: str) -> None:
        """Deliver one lane's rows, woken by commits or by the poll interval."""
        doorbell = self.rt.outbox.subscribe()
        while True:
            # Cleared before the pass, so a commit during it rings for the next one.
            doorbell.clear()
            try:
                delivered = await self.deliver_due(lane=lane)
            except Exception:  # A broken row or database hiccup must not stop delivery for good.
                log.exception("outbox pass failed (%s)", lane)
                delivered = 0
            if delivered:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rt.settings.council_outbox_poll):
                    await doorbell.wait()

    async def deliver_due(self, limit: int = 50, lane: str | None = None) -> int:
        """Deliver the rows due now; one escalation's rows in order, different escalations at once."""
        now = datetime.now(UTC)
        due = OutboxItem.filter(status="pending", next_attempt_at__lte=now)
        if lane is not None:
            due = due.filter(kind__in=LANES[lane])
        groups: dict[str, list[OutboxItem]] = defaultdict(list)
        for row in await due.order_by("id").limit(limit):
            groups[f"e{row.escalation_id}" if row.escalation_id else f"r{row.id}"].append(row)
        gate = asyncio.Semaphore(PARALLEL)

        async def deliver_in_order(rows: list[OutboxItem]) -> int:
            handled = 0
            async with gate:
                for row in rows:
                    if await self._claim(row, now):
                        await self._deliver(row)
                        handled += 1
            return handled

        return sum(await asyncio.gather(*(deliver_in_order(rows) for rows in groups.values())))

    async def _claim(self, row: OutboxItem, now: datetime) -> bool:
        free = OutboxItem.filter(id=row.id, status="pending", attempts=row.attempts)
        claimed = await free.update(
            attempts=row.attempts + 1,
            locked_until=now + timedelta(seconds=CLAIM_SECONDS),
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
        row.attempts += 1
        return claimed == 1

    async def _deliver(self, row: OutboxItem) -> None:
        try:
            await self._dispatch(row)
        except slack_effects.NotReady as error:
            await self._retry(row, str(error), delay=1.0, counts=False)
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown"))
            retry_after = float(error.response.headers.get("Retry-After", 0) or 0)
            if code in PERMANENT_SLACK_ERRORS:
                await self._fail(row, f"slack: {code}")
            else:
                await self._retry(row, f"slack: {code}", delay=max(retry_after, backoff(row.attempts)))
        except callbacks.CallbackRefused as error:
            await self._fail(row, str(error))
        except (callbacks.CallbackFailed, aiohttp.ClientError, TimeoutError, OSError) as error:
            await self._retry(row, str(error) or type(error).__name__, delay=backoff(row.attempts))
        else:
            await self._done(row)

    async def _dispatch(self, row: OutboxItem) -> None:
        escalation = await Escalation.get(id=row.escalation_id) if row.escalation_id else None
        if row.kind == outbox.POST_ESCALATION and escalation is not None:
            await slack_effects.post(self.slack, escalation, retry=row.attempts > 1)
        elif row.kind == outbox.UPDATE_ESCALATION and escalation is not None:
            # Coalesce: one render of the current state answers every update queued so far,
            # including a debounced one that is not due yet (its vote is already in the database).
            queued = (
                await OutboxItem.filter(escalation_id=escalation.id, kind=row.kind, status="pending")
                .exclude(id=row.id)
                .values_list("id", flat=True)
            )
            await slack_effects.update(self.slack, escalation)
            if queued:
                await OutboxItem.filter(id__in=list(queued)).update(
                    status="done", done_at=datetime.now(UTC), last_error="coalesced"
                )
        elif row.kind == outbox.THREAD_REPLY and escalation is not None:
            await slack_effects.thread_reply(self.slack, escalation, row.payload)
        elif row.kind == outbox.DIRECT_MESSAGE:
            await slack_effects.direct_message(self.slack, row.payload)
        elif row.kind == outbox.CALLBACK and escalation is not None:
            await callbacks.send(
                self.http,
                escalation,
                row.payload,
                server_key=self.rt.server_key,
                allow_private=self.rt.settings.council_allow_private_callbacks,
            )
        else:
            raise ValueError(f"outbox row {row.id} has kind {row.kind!r} without what it needs")

    async def _done(self, row: OutboxItem) -> None:
        await OutboxItem.filter(id=row.id).update(status="done", done_at=datetime.now(UTC), locked_until=None)

    async def _retry(self, row: OutboxItem, error: str, *, delay: float, counts: bool = True) -> None:
        limit = MAX_CALLBACK_ATTEMPTS if row.kind == outbox.CALLBACK else MAX_ATTEMPTS
        if counts and row.attempts >= limit:
            await self._fail(row, error)
            return
        log.warning("outbox %s %s: %s; retrying in %.0fs", row.id, row.kind, error, delay)
        attempts = row.attempts if counts else row.attempts - 1
        await OutboxItem.filter(id=row.id).update(
            attempts=attempts,
            last_error=error[:2000],
            locked_until=None,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
        )

    async def _fail(self, row: OutboxItem, error: str) -> None:
        log.error("outbox %s %s gave up: %s", row.id, row.kind, error)
        await OutboxItem.filter(id=row.id).update(status="dead", last_error=error[:2000], locked_until=None)
