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
from tortoise.expressions import Q

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
        kinds = LANES[lane] if lane is not None else outbox.KINDS
        due = OutboxItem.filter(status="pending", kind__in=kinds, next_attempt_at__lte=datetime.now(UTC))
        groups: dict[str, list[OutboxItem]] = defaultdict(list)
        # The longest-waiting first, so rows stuck in backoff never crowd out new ones.
        for row in await due.order_by("next_attempt_at", "id").limit(limit):
            groups[f"e{row.escalation_id}" if row.escalation_id else f"r{row.id}"].append(row)
        gate = asyncio.Semaphore(PARALLEL)

        async def deliver_in_order(rows: list[OutboxItem]) -> int:
            rows.sort(key=lambda row: row.id)
            if not await self._at_head(rows[0], kinds):
                return 0
            handled = 0
            async with gate:
                for row in rows:
                    if not await self._claim(row):
                        continue  # Coalesced into an update just sent, or taken by another replica.
                    handled += 1
                    if not await self._deliver(row):
                        break  # What follows this escalation's failed row waits for it.
            return handled

        return sum(await asyncio.gather(*(deliver_in_order(rows) for rows in groups.values())))

    async def _at_head(self, row: OutboxItem, kinds: tuple[str, ...]) -> bool:
        """Whether no earlier row of the same escalation must go first.

        An idle earlier tally update does not count: it renders the current state whenever it runs,
        so it cannot overwrite newer news; one in flight does, as it may carry an older state.
        """
        if row.escalation_id is None:
            return True
        earlier = OutboxItem.filter(
            escalation_id=row.escalation_id, status="pending", kind__in=kinds, id__lt=row.id
        ).filter(~Q(kind=outbox.UPDATE_ESCALATION, locked_until__isnull=True))
        return not await earlier.exists()

    async def _claim(self, row: OutboxItem) -> bool:
        now = datetime.now(UTC)
        free = OutboxItem.filter(id=row.id, status="pending", attempts=row.attempts)
        claimed = await free.update(
            attempts=row.attempts + 1,
            locked_until=now + timedelta(seconds=CLAIM_SECONDS),
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
        row.attempts += 1
        return claimed == 1

    async def _deliver(self, row: OutboxItem) -> bool:
        """Deliver one claimed row; return whether it is settled (done, or parked as dead)."""
        try:
            await self._dispatch(row)
        except slack_effects.NotReady as error:
            # Rows wait behind their post, so reaching here means the post is dead or never existed.
            await self._fail(row, str(error))
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown"))
            retry_after = float(error.response.headers.get("Retry-After", 0) or 0)
            if code in PERMANENT_SLACK_ERRORS:
                await self._fail(row, f"slack: {code}")
            else:
                return await self._retry(row, f"slack: {code}", delay=max(retry_after, backoff(row.attempts)))
        except callbacks.CallbackRefused as error:
            await self._fail(row, str(error))
        except (callbacks.CallbackFailed, aiohttp.ClientError, TimeoutError, OSError) as error:
            return await self._retry(row, str(error) or type(error).__name__, delay=backoff(row.attempts))
        except Exception as error:  # An unforeseen failure still counts toward the dead-letter limit.
            log.exception("outbox %s %s failed unexpectedly", row.id, row.kind)
            return await self._retry(row, f"{type(error).__name__}: {error}", delay=backoff(row.attempts))
        else:
            await self._done(row)
        return True

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

    async def _retry(self, row: OutboxItem, error: str, *, delay: float) -> bool:
        """Schedule another try, or park the row as dead past its limit; return whether it is settled."""
        limit = MAX_CALLBACK_ATTEMPTS if row.kind == outbox.CALLBACK else MAX_ATTEMPTS
        if row.attempts >= limit:
            await self._fail(row, error)
            return True
        log.warning("outbox %s %s: %s; retrying in %.0fs", row.id, row.kind, error, delay)
        await OutboxItem.filter(id=row.id).update(
            last_error=error[:2000],
            locked_until=None,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
        )
        return False

    async def _fail(self, row: OutboxItem, error: str) -> None:
        log.error("outbox %s %s gave up: %s", row.id, row.kind, error)
        await OutboxItem.filter(id=row.id).update(status="dead", last_error=error[:2000], locked_until=None)
