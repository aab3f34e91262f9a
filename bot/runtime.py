"""What services share at run time, created once by the app factory and passed explicitly."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.metrics import Metrics
from bot.settings import Settings


class DecisionWaiters:
    """Wakes long-polling agents in this process the moment their escalation is decided.

    All the polls of one escalation share one event: a decision wakes them with one `set`, and
    `watched()` is what a single check for other replicas' decisions has to look at.
    """

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: Counter[str] = Counter()
        # Set when the process stops: each poll answers with what it has, so none holds up the stop.
        self.closing = False

    async def wait(self, public_id: str, within: float) -> None:
        """Sleep until `notify(public_id)` or `within` seconds, whichever comes first."""
        if self.closing:
            return
        event = self._events.setdefault(public_id, asyncio.Event())
        self._waiting[public_id] += 1
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting[public_id] -= 1
            if not self._waiting[public_id]:
                del self._waiting[public_id]
                if self._events.get(public_id) is event:
                    del self._events[public_id]

    def notify(self, public_id: str) -> None:
        # The next wait on it starts a fresh event; those woken read the escalation again.
        event = self._events.pop(public_id, None)
        if event is not None:
            event.set()

    def close(self) -> None:
        """Wake every poll and let none wait again: the process is stopping."""
        self.closing = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    def watched(self) -> list[str]:
        """Return the escalations someone in this process is waiting on."""
        return list(self._events)


class LongPolls:
    """The long polls this process holds open, by agent, with when each ends (the loop's clock)."""

    def __init__(self) -> None:
        self._ends: dict[int, list[float]] = defaultdict(list)

    def count(self, agent: int | None = None) -> int:
        """How many are open: the agent's, or everyone's."""
        if agent is not None:
            return len(self._ends.get(agent, ()))
        return sum(len(ends) for ends in self._ends.values())

    def soonest_end(self, agent: int | None = None) -> float:
        """When the first of them ends: the agent's, or anyone's (there must be one)."""
        if agent is not None:
            return min(self._ends[agent])
        return min(min(ends) for ends in self._ends.values())

    def opened(self, agent: int, until: float) -> None:
        self._ends[agent].append(until)

    def closed(self, agent: int, until: float) -> None:
        self._ends[agent].remove(until)
        if not self._ends[agent]:
            del self._ends[agent]


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
    """Settings, the server key, the in-process signals that follow a commit, and the metrics."""

    settings: Settings
    server_key: bytes
    outbox: Doorbell = field(default_factory=Doorbell)
    decided: DecisionWaiters = field(default_factory=DecisionWaiters)
    long_polls: LongPolls = field(default_factory=LongPolls)
    slack: SlackHealth = field(default_factory=SlackHealth)
    # This process's own: tests run many apps in one process, and each counts only its own.
    metrics: Metrics = field(default_factory=Metrics)
    # None unless serving in Socket Mode.
    socket: SocketHealth | None = None

    def after_commit(self, *, decided: str | None = None) -> None:
        """Wake the outbox worker, and any agent waiting on a decided escalation."""
        self.outbox.ring()
        if decided is not None:
            self.decided.notify(decided)
