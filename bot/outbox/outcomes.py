"""What becomes of a claimed row: delivered through its event's deliverer, then done, retried or dead.

A failure is judged by what it says about the target. Slack that gives no answer (a refused
connection, a timeout, an HTTP 5xx) or answers 429 is no fault of the row: it tries again on
Slack's backoff, or when Slack said, and never dies of it. An error Slack answers for this very
call counts toward the row's limit, and one that retrying cannot fix parks it as dead at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics
from bot.outbox import (
    admin_effects,
    callbacks,
    digest_effects,
    events,
    export_effects,
    pulse_effects,
    recovery,
    slack_effects,
    storm_effects,
)
from bot.outbox.events import Event
from bot.outbox.pacing import Call, Pacer
from bot.outbox.recovery import SlackWatch
from bot.outbox.slack_effects import Transport
from bot.outbox.working_hours import Later
from bot.runtime import SlackHealth
from models import OutboxItem
from models.enums import Delivery

log = logging.getLogger("bot.outbox.worker")
# A follow-up that waits for its escalation's post tries again this soon, and never gives up for it.
NOT_READY_SECONDS = 2.0
# How a row marked done without being sent says so (`last_error`), as coalesced re-renders say "coalesced".
DROPPED = "dropped: "
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
    events.Reminder: slack_effects.remind,
    events.EscalatedToYou: slack_effects.direct_message,
    events.IncidentUnownedAlert: slack_effects.direct_message,
    events.AgentPaused: slack_effects.direct_message,
    events.StormOpened: storm_effects.post,
    events.StormChanged: storm_effects.refresh,
    events.StormAutoPaused: storm_effects.tell_owner,
    events.StormEscalated: storm_effects.tell_escalated,
    events.DigestReady: digest_effects.post,
    events.PulseAsked: pulse_effects.ask,
    events.DecisionLogAsked: export_effects.send,
    events.AdminChanged: admin_effects.post,
    events.AgentCallback: callbacks.send,
}


SLACK_KINDS = frozenset(events.LANE_KINDS["slack"])
Clock = Callable[[], datetime]


class Outcomes:
    """Delivers claimed rows and records how each went, on the worker's clock and pacer."""

    def __init__(
        self,
        transport: Transport,
        *,
        health: SlackHealth,
        metrics: Metrics,
        pacer: Pacer,
        watch: SlackWatch,
        clock: Clock,
    ) -> None:
        self.transport = transport
        self.health = health
        self.metrics = metrics
        self.pacer = pacer
        self.watch = watch
        self.now = clock

    async def deliver(self, row: OutboxItem, calls: list[Call]) -> None:
        """Deliver one claimed row, then mark it done, retry it later, or park it as dead."""
        try:
            event = events.read(row.kind, row.payload)
        except ValidationError as error:
            await self._fail(row, f"not an event this version delivers: {error.errors()[0]['msg']}")
            return
        to_slack = row.kind in SLACK_KINDS
        try:
            await self._send(row, event)
        except slack_effects.NotReady as error:
            await self._retry(row, str(error), delay=NOT_READY_SECONDS, counts=False)
        except Later as later:
            await self._later(row, later)
        except slack_effects.Moot as moot:
            await self._dropped(row, str(moot))
        except (slack_effects.Undeliverable, callbacks.CallbackRefused) as error:
            await self._fail(row, str(error))
        except SlackApiError as error:
            await self._slack_failed(row, error, calls)
        except (callbacks.CallbackFailed, aiohttp.ClientError, TimeoutError, OSError) as error:
            reason = str(error) or type(error).__name__
            if to_slack:
                await self._slack_down(row, reason)
            else:
                await self._retry(row, reason)
        except Exception as error:  # An unforeseen failure still counts toward the dead-letter limit.
            log.exception("outbox %s %s failed unexpectedly", row.id, row.kind)
            await self._retry(row, f"{type(error).__name__}: {error}")
        else:
            if to_slack:
                self.health.ok()
            await self._done(row)

    async def _send(self, row: OutboxItem, event: Event) -> None:
        """Deliver through the event's deliverer, counting each callback attempt and how it failed."""
        if not isinstance(event, events.AgentCallback):
            await DELIVER[type(event)](self.transport, row, event)
            return
        self.metrics.callback_attempts.inc()
        try:
            await DELIVER[type(event)](self.transport, row, event)
        except Exception as error:
            self.metrics.callback_failures.labels(reason=callbacks.failure_reason(error)).inc()
            raise

    async def _slack_failed(self, row: OutboxItem, error: SlackApiError, calls: list[Call]) -> None:
        code = str(error.response.get("error", "unknown"))
        if code in PERMANENT_SLACK_ERRORS:
            await self._fail(row, f"slack: {code}")
            return
        status = int(error.response.status_code or 0)
        if status == 429 or code == "ratelimited":
            # Slack said when to come back: hold that channel (or method) until then, nothing else.
            retry_after = float(_header(error.response.headers, "Retry-After") or 1)
            method = str(error.response.api_url).rstrip("/").rsplit("/", 1)[-1]
            for call in calls:
                if call.method == method:
                    self.pacer.hold(call, retry_after)
            await self._retry(row, f"slack: ratelimited ({method})", delay=retry_after, may_die=False)
            return
        if status >= 500:
            await self._slack_down(row, f"slack: HTTP {status}")
            return
        self.health.failed(f"slack: {code}")
        await self._retry(row, f"slack: {code}")

    async def _slack_down(self, row: OutboxItem, reason: str) -> None:
        """Slack gave no answer: an outage never brings a row closer to dead; probe it soon."""
        self.health.failed(reason)
        self.watch.down(self.now())
        await self._retry(row, reason, may_die=False)

    async def _done(self, row: OutboxItem) -> None:
        await OutboxItem.filter(id=row.id).update(status=Delivery.DONE, done_at=self.now(), locked_until=None)
        log.info("outbox %s %s delivered", row.id, row.kind)

    async def _retry(
        self,
        row: OutboxItem,
        error: str,
        *,
        delay: float | None = None,
        counts: bool = True,
        may_die: bool = True,
    ) -> None:
        """Schedule another try, or park the row as dead once it has failed too often.

        `counts=False`: the row only waited its turn, which is no attempt at all. `may_die=False`:
        Slack was down or rate-limited, which is no fault of the row; it keeps trying.
        """
        if counts and may_die and row.attempts >= recovery.max_attempts(row.kind):
            await self._fail(row, error)
            return
        if delay is None:
            delay = recovery.retry_delay(row.kind, row.attempts)
        log.warning("outbox %s %s: %s; retrying in %.1fs", row.id, row.kind, error, delay)
        await OutboxItem.filter(id=row.id).update(
            attempts=row.attempts if counts else row.attempts - 1,
            last_error=error[:2000],
            locked_until=None,
            next_attempt_at=self.now() + timedelta(seconds=delay),
        )

    async def _dropped(self, row: OutboxItem, why: str) -> None:
        """Mark a row done that has nothing left to say; its note tells it from one delivered."""
        log.info("outbox %s %s dropped: %s", row.id, row.kind, why)
        await OutboxItem.filter(id=row.id).update(
            status=Delivery.DONE, done_at=self.now(), locked_until=None, last_error=f"{DROPPED}{why}"[:2000]
        )

    async def _later(self, row: OutboxItem, later: Later) -> None:
        """Hold the row until its person's working hours: no attempt spent, and no error recorded.

        Its last error stays as it was, so a restart or Slack's recovery does not bring it forward
        (one that failed before may be, and is held again at once).
        """
        log.info("outbox %s %s: %s", row.id, row.kind, later)
        await OutboxItem.filter(id=row.id).update(
            attempts=row.attempts - 1, locked_until=None, next_attempt_at=later.until
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
