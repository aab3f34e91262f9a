"""Slack's published rate limits, kept by Council itself so that a 429 is rare, not the normal flow.

Slack allows chat.postMessage about one message per second per channel (short bursts allowed), and
every other method a tier of calls per minute, per method per workspace: Tier 2 20+, Tier 3 50+
(chat.update, conversations.open/history/join), Tier 4 100+ (chat.postEphemeral, users.info). The
outbox worker asks the pacer before it starts a row, for every call the row will make, and starts it
only when each of them may go now; a row that must wait leaves its lane slot to rows for other
channels.
A 429's `Retry-After` holds that call's channel (or method) until then, and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`per_minute` calls on average, and up to `burst` at once after a quiet spell."""

    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


# Slightly under what Slack allows, so that Council's own pace never meets Slack's limit.
POST_PER_CHANNEL = Limit(60, burst=3)
TIER_2 = Limit(20, burst=3)
TIER_3 = Limit(50, burst=5)
TIER_4 = Limit(100, burst=10)
TIERS: dict[str, Limit] = {
    "chat.update": TIER_3,
    "conversations.open": TIER_3,
    "conversations.history": TIER_3,
    "conversations.join": TIER_3,
    "chat.postEphemeral": TIER_4,
    # A person's timezone, read before a reminder or pulse DM when the cached one is a day old.
    "users.info": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}
POST = "chat.postMessage"


@dataclass(frozen=True)
class Call:
    """One Slack call a delivery will make: the method, and the channel when the limit is per channel.

    A direct message's channel is not known before conversations.open; `channel` is then "@USER",
    which stands for that person's DM.
    """

    method: str
    channel: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.method, self.channel if self.method == POST else None)


@dataclass
class _Bucket:
    limit: Limit
    tokens: float
    at: float
    # Slack said "rate-limited" for this key: nothing goes before this time.
    held_until: float = 0.0

    def wait(self, now: float) -> float:
        self._refill(now)
        short = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.limit.per_second
        return max(short, self.held_until - now, 0.0)

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(float(self.limit.burst), self.tokens + (now - self.at) * self.limit.per_second)
            self.at = now


class Pacer:
    """Token buckets per channel (posts) and per method (the rest), on an injectable clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}

    def wait(self, calls: Iterable[Call]) -> float:
        """Return the seconds until every one of these calls may go (0: now)."""
        now = self._clock()
        return max((self._bucket(call, now).wait(now) for call in calls), default=0.0)

    def take(self, calls: Iterable[Call]) -> None:
        """Spend one token for each call, which is about to be made."""
        now = self._clock()
        for call in calls:
            self._bucket(call, now).take(now)

    def hold(self, call: Call, seconds: float) -> None:
        """Slack answered 429 for this call: hold its channel (or method) for `seconds`."""
        now = self._clock()
        bucket = self._bucket(call, now)
        bucket.held_until = max(bucket.held_until, now + seconds)

    def _bucket(self, call: Call, now: float) -> _Bucket:
        bucket = self._buckets.get(call.key)
        if bucket is None:
            limit = POST_PER_CHANNEL if call.method == POST else TIERS.get(call.method, TIER_2)
            bucket = self._buckets[call.key] = _Bucket(limit, float(limit.burst), now)
        return bucket
