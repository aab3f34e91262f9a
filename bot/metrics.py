"""Council's Prometheus metrics: what this process counted, and what the database holds at each scrape.

Counters and the histogram count what happened in this process since it started (Prometheus adds
the replicas up). Gauges read from the database (`Backlog`) are the same on every replica: take
their `max`, not their `sum`. docs/operations.md lists every metric with what to alert on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
MINUTE, HOUR, DAY = 60, 3600, 86400
# People decide in minutes to days; a deadline is hours (4 h by default) and rarely past a week.
DECISION_BUCKETS = (
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    DAY,
    2 * DAY,
    4 * DAY,
    7 * DAY,
)


class Closing(Protocol):
    """What the metrics read of an escalation that has just closed (a `models.Escalation` is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def closed_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Backlog:
    """What the database holds now; each mapping names every label value, zero when there is none."""

    # Escalations still open, by (kind, status).
    open: Mapping[tuple[str, str], int]
    # Outbox rows waiting to be delivered, and those given up on, by lane ("slack", "agents").
    pending: Mapping[str, int]
    dead: Mapping[str, int]
    storms_open: int


class Metrics:
    """One process's metrics, on a registry of their own (a test process runs many apps at once)."""

    def __init__(self) -> None:
        # The text format would show each counter's `_created` as a gauge of its own: clutter that
        # doubles the series. Prometheus reads resets from the counters themselves.
        prometheus_client.disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.escalations_opened = Counter(
            "council_escalations_opened", "Escalations opened by agents, by kind.", ["kind"], registry=r
        )
        self.escalations_closed = Counter(
            "council_escalations_closed",
            "Escalations closed, by kind and final status (approved, rejected, expired, withdrawn, "
            "resolved, posted).",
            ["kind", "status"],
            registry=r,
        )
        self.decision_seconds = Histogram(
            "council_decision_seconds",
            "Seconds from an escalation's creation to its decision, by who decided.",
            ["decided_by"],
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.votes = Counter(
            "council_votes", "Votes cast (a changed vote counts again), by choice.", ["choice"], registry=r
        )
        self.slack_calls = Counter(
            "council_slack_api_calls",
            "Slack Web API requests made, retries included, by method.",
            ["method"],
            registry=r,
        )
        self.slack_errors = Counter(
            "council_slack_api_errors",
            "Slack Web API requests that failed, by method and Slack's error (429s are counted apart).",
            ["method", "error"],
            registry=r,
        )
        self.slack_ratelimited = Counter(
            "council_slack_ratelimited",
            "Slack Web API requests Slack answered 429 (rate-limited), by method.",
            ["method"],
            registry=r,
        )
        self._define_delivery_and_backlog()

    def _define_delivery_and_backlog(self) -> None:
        r = self.registry
        self.callback_attempts = Counter(
            "council_callback_attempts", "Signed callbacks sent to agents, retries included.", registry=r
        )
        self.callback_failures = Counter(
            "council_callback_failures",
            "Callback attempts that failed, by reason (status, timeout, connection, refused, error).",
            ["reason"],
            registry=r,
        )
        self.storms_started = Counter(
            "council_storms_started", "Storms started: an agent's flood grouped into one message.", registry=r
        )
        self.long_polls_open = Gauge(
            "council_long_polls_open", "Agents' long polls (?wait=) this process holds open.", registry=r
        )
        self.escalations_open = Gauge(
            "council_escalations_open",
            "Escalations still open in the database, by kind and status.",
            ["kind", "status"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "council_outbox_pending", "Outbox rows waiting to be delivered, by lane.", ["lane"], registry=r
        )
        self.outbox_dead = Gauge(
            "council_outbox_dead",
            "Outbox rows given up on after retries, by lane (council outbox list --dead).",
            ["lane"],
            registry=r,
        )
        self.storms_open = Gauge("council_storms_open", "Storms not yet ended.", registry=r)

    def opened(self, kind: str) -> None:
        self.escalations_opened.labels(kind=str(kind)).inc()

    def closed(self, escalation: Closing, *, decided_by: str | None = None) -> None:
        """Count an escalation's close; a decision also records how long it took."""
        self.escalations_closed.labels(kind=str(escalation.kind), status=str(escalation.status)).inc()
        if decided_by is not None and escalation.closed_at is not None:
            took = (escalation.closed_at - escalation.created_at).total_seconds()
            self.decision_seconds.labels(decided_by=str(decided_by)).observe(max(took, 0.0))

    def voted(self, choice: str) -> None:
        self.votes.labels(choice=str(choice)).inc()

    def read(self, backlog: Backlog, *, long_polls: int) -> None:
        """Set the gauges to what the database and this process hold now."""
        for (kind, status), n in backlog.open.items():
            self.escalations_open.labels(kind=kind, status=status).set(n)
        for lane, n in backlog.pending.items():
            self.outbox_pending.labels(lane=lane).set(n)
        for lane, n in backlog.dead.items():
            self.outbox_dead.labels(lane=lane).set(n)
        self.storms_open.set(backlog.storms_open)
        self.long_polls_open.set(long_polls)

    def exposition(self) -> bytes:
        """Return every metric in Prometheus's text format (served with CONTENT_TYPE)."""
        return prometheus_client.generate_latest(self.registry)
