"""Slack's rate limits as the fake enforces them: per channel for posts, per method tier for the rest.

Slack's published limits (api.slack.com/docs/rate-limits): chat.postMessage allows about one message
per second per channel with short bursts; other methods belong to a tier of requests per minute
(Tier 2 20+, Tier 3 50+, Tier 4 100+), counted per method per app per workspace. Past a limit Slack
answers HTTP 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}`. The fake keeps each
limit as a token bucket on its own clock, so a test can set the limits, freeze or advance time, and
count the 429s it was given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Limit:
    """`per_minute` calls on average, with up to `burst` at once after a quiet spell."""

    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


TIER_2 = Limit(20, burst=5)
TIER_3 = Limit(50, burst=10)
TIER_4 = Limit(100, burst=20)
# About one message per second per channel, "short bursts >1 allowed".
POST_PER_CHANNEL = Limit(60, burst=4)
# Each method's tier as Slack's method reference gives it (apps.connections.open is left unlimited
# here: Socket Mode tests reconnect on purpose, and the fake serves it outside the Web API table).
METHOD_TIERS: dict[str, Limit] = {
    "auth.test": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.open": TIER_3,
    "conversations.join": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "reactions.add": TIER_3,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
}


@dataclass
class _Bucket:
    limit: Limit
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """Take one call's token; return 0, or the seconds until one is there (taking nothing)."""
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.at) * self.limit.per_second)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.limit.per_second


@dataclass
class RateLimits:
    """The limits the fake enforces; change them per test (or set `enabled = False`)."""

    clock: Callable[[], float]
    enabled: bool = True
    post_per_channel: Limit = POST_PER_CHANNEL
    tiers: dict[str, Limit] = field(default_factory=lambda: dict(METHOD_TIERS))
    # Every call answered 429 because of these limits: (method, channel or None).
    refused: list[tuple[str, str | None]] = field(default_factory=list)
    _buckets: dict[tuple[str, str | None], _Bucket] = field(default_factory=dict)

    def check(self, method: str, args: dict[str, Any]) -> int | None:
        """Count the call; return the Retry-After seconds when it is over its limit, else None."""
        if not self.enabled:
            return None
        key, limit = self._limit_of(method, args)
        if limit is None:
            return None
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(limit, float(limit.burst), now))
        wait = bucket.take(now)
        if wait <= 0:
            return None
        self.refused.append(key)
        return max(1, math.ceil(wait))

    def count(self, method: str | None = None, channel: str | None = None) -> int:
        """How many calls were refused (of `method`, to `channel`, when given)."""
        return sum(
            1
            for m, c in self.refused
            if (method is None or m == method) and (channel is None or c == channel)
        )

    def _limit_of(self, method: str, args: dict[str, Any]) -> tuple[tuple[str, str | None], Limit | None]:
        if method == "chat.postMessage":
            channel = args.get("channel")
            return (method, str(channel) if channel else None), self.post_per_channel
        return (method, None), self.tiers.get(method)
