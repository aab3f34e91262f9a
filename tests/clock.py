"""A clock a test moves by hand, for the fake Slack's limits and the outbox worker's backoff alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Time that passes only when the test says so; `sleep` passes it at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def seconds(self) -> float:
        """The time as a number of seconds, for clocks that count in seconds (the fake's)."""
        return self.at.timestamp()

    def catch_up(self) -> None:
        """Move to the real time if it is later (rows written since carry the real time)."""
        self.at = max(self.at, datetime.now(UTC))

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
