"""What services share at run time, created once by the app factory and passed explicitly."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.settings import Settings


class DecisionWaiters:
    """Wakes long-polling agents in this process the moment their escalation is decided."""

    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def wait(self, public_id: str, within: float) -> None:
        """Sleep until `notify(public_id)` or `within` seconds, whichever comes first."""
        event = asyncio.Event()
        self._events[public_id].add(event)
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._events[public_id].discard(event)
            if not self._events[public_id]:
                del self._events[public_id]

    def notify(self, public_id: str) -> None:
        for event in self._events.get(public_id, ()):
            event.set()


class Doorbell:
    """Wakes every outbox lane after a commit; each lane keeps its own event so no ring is lost."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def ring(self) -> None:
        for event in self._events:
            event.set()


@dataclass
class SlackHealth:
    """How this process's calls to Slack are going, for /readyz: the last failure and since when.

    `failing_since` is the first failure after the last success; a success clears it and counts one
    more recovery, which tells the outbox worker to bring forward the Slack rows waiting in backoff.
    """

    last_error: str | None = None
    failing_since: datetime | None = None
    last_ok: datetime | None = None
    recoveries: int = 0
    # 429s Slack answered this process, for /metrics: Council's own pacing should keep it near zero.
    rate_limited: int = 0

    def ok(self) -> None:
        self.last_ok = datetime.now(UTC)
        if self.failing_since is not None:
            self.recoveries += 1
        self.failing_since = None

    def failed(self, error: str) -> None:
        self.last_error = error
        if self.failing_since is None:
            self.failing_since = datetime.now(UTC)


@dataclass
class SocketHealth:
    """The Socket Mode connection, for /readyz: connected or not, attempts, and the last error.

    `since` is when `connected` took its present value; `attempts` counts the tries since the
    socket was last connected (0 while it is), and `last_error` says why the last one failed.
    """

    connected: bool = False
    attempts: int = 0
    last_error: str | None = None
    since: datetime | None = None

    def attempting(self) -> int:
        """Count one more try to connect; return its number."""
        self.attempts += 1
        return self.attempts

    def failed(self, error: str) -> None:
        self.last_error = error

    def up(self) -> None:
        self.connected, self.attempts, self.last_error = True, 0, None
        self.since = datetime.now(UTC)

    def down(self, error: str) -> None:
        self.connected, self.last_error = False, error
        self.since = datetime.now(UTC)


@dataclass
class Runtime:
    """Settings, the server key and the in-process signals that follow a commit."""

    settings: Settings
    server_key: bytes
    outbox: Doorbell = field(default_factory=Doorbell)
    decided: DecisionWaiters = field(default_factory=DecisionWaiters)
    slack: SlackHealth = field(default_factory=SlackHealth)
    # None unless serving in Socket Mode.
    socket: SocketHealth | None = None

    def after_commit(self, *, decided: str | None = None) -> None:
        """Wake the outbox worker, and any agent waiting on a decided escalation."""
        self.outbox.ring()
        if decided is not None:
            self.decided.notify(decided)
