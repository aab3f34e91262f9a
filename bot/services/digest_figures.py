"""The weekly digest's figures, and the arithmetic on them: percentiles, evenness, changes, advice.

No I/O: `bot.services.digest` reads the week from the database into these shapes, and everything
here is computed from them, so each figure can be checked by hand (docs/digest.md says how).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

# Time-to-decision buckets for the chart, as upper bounds in seconds (the last is open-ended).
WAIT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 15 min", 15 * 60),
    ("< 1 h", 3600),
    ("< 4 h", 4 * 3600),
    ("< 24 h", 24 * 3600),
    ("≥ 24 h", math.inf),
)
# The chart's outcome series, in the order they stack.
DAY_SERIES = ("approved", "rejected", "expired", "withdrawn", "open", "other")
# Advice thresholds (docs/digest.md names each).
BUSIEST_SHARE = 0.40
OUT_OF_HOURS_SHARE = 0.25
EXPIRED_SHARE = 0.10
LOW_PULSE = 2.5
OLD_OPEN_DAYS = 7


class Outcomes(BaseModel):
    """How the week's closed approvals ended (by when they closed, not when they opened)."""

    approved_by_council: int = 0
    approved_by_policy: int = 0
    approved_by_owner_or_admin: int = 0
    rejected: int = 0
    expired: int = 0
    withdrawn: int = 0


class OpenItem(BaseModel):
    id: str
    title: str
    created_at: datetime
    age_seconds: float


class Incidents(BaseModel):
    """Incidents opened in the week: how many were owned and resolved since, and how fast owned."""

    opened: int = 0
    owned: int = 0
    resolved: int = 0
    median_seconds_to_own: float | None = None


class Flow(BaseModel):
    escalations: int = 0
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_agent: dict[str, int] = Field(default_factory=dict)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    decided_by_people: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None
    decided_before_deadline: float | None = None
    backlog: int = 0
    oldest_open: OpenItem | None = None
    incidents: Incidents = Field(default_factory=Incidents)
    execution_mismatches: int = 0
    agents_paused: list[str] = Field(default_factory=list)
    storms: int = 0


class MemberLoad(BaseModel):
    """One member's week: votes asked of them, cast, asked outside their hours, reminders received."""

    user: str
    function: str
    asked: int = 0
    voted: int = 0
    out_of_hours: int = 0
    reminders: int = 0


class Pulse(BaseModel):
    """The week's pulse, in aggregate only: average and counts stay empty below three answers."""

    answered: int = 0
    average: float | None = None
    counts: dict[int, int] | None = None


class Flourishing(BaseModel):
    members: list[MemberLoad] = Field(default_factory=list)
    asks: int = 0
    busiest: str | None = None
    busiest_share: float | None = None
    gini: float | None = None
    reminders: int = 0
    out_of_hours: int = 0
    not_taking_part: list[str] = Field(default_factory=list)
    delegations: dict[str, str] = Field(default_factory=dict)
    pulse: Pulse = Field(default_factory=Pulse)


class Chart(BaseModel):
    """The chart's data: escalations opened per local day by where they stand, and decision waits."""

    days: list[str] = Field(default_factory=list)
    series: dict[str, list[int]] = Field(default_factory=dict)
    waits: dict[str, int] = Field(default_factory=dict)


class Week(BaseModel):
    """One council's figures for one week."""

    week: str
    start: datetime
    end: datetime
    complete: bool
    flow: Flow = Field(default_factory=Flow)
    flourishing: Flourishing = Field(default_factory=Flourishing)
    chart: Chart = Field(default_factory=Chart)


class Change(BaseModel):
    """A figure beside last week's."""

    now: float | None
    before: float | None

    @property
    def arrow(self) -> str:
        if self.now is None or self.before is None or math.isclose(self.now, self.before):
            return "→"
        return "↑" if self.now > self.before else "↓"


class Digest(BaseModel):
    """What the digest says: the week, the one before it, the changes, and what to look at."""

    council: str
    timezone: str
    week: Week
    previous: Week
    changes: dict[str, Change]
    look_at: list[str]


def nearest_rank(n: int, p: float) -> int:
    """The 0-based position of the p-th percentile among n sorted values (nearest-rank method)."""
    return max(math.ceil(p * n), 1) - 1


def gini(values: Sequence[int]) -> float | None:
    """How unevenly values are spread: 0 when all equal, towards 1 when one has all; None when all 0.

    The mean absolute difference over twice the mean: sum |x_i - x_j| / (2 n^2 mean).
    """
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return None
    ordered = sorted(values)
    # With the values sorted, sum_i sum_j |x_i - x_j| = 2 * sum_i (2i - n + 1) x_i (0-based i).
    spread = sum((2 * i - n + 1) * x for i, x in enumerate(ordered))
    return spread / (n * total)


def busiest(members: Sequence[MemberLoad]) -> tuple[str | None, float | None]:
    """The member asked most often, and the top count's share of all asks.

    The share is there whenever anyone was asked; the member only when one stands out (a tie at
    the top names no one).
    """
    total = sum(m.asked for m in members)
    if total == 0:
        return None, None
    top = max(m.asked for m in members)
    leaders = [m.user for m in members if m.asked == top]
    return (leaders[0] if len(leaders) == 1 else None), top / total


# The figures compared week over week: key, and how to read it from a week.
def scalars(week: Week) -> dict[str, float | None]:
    flow, people = week.flow, week.flourishing
    return {
        "escalations": flow.escalations,
        "approved_by_council": flow.outcomes.approved_by_council,
        "approved_by_policy": flow.outcomes.approved_by_policy,
        "rejected": flow.outcomes.rejected,
        "expired": flow.outcomes.expired,
        "withdrawn": flow.outcomes.withdrawn,
        "median_seconds": flow.median_seconds,
        "p90_seconds": flow.p90_seconds,
        "decided_before_deadline": flow.decided_before_deadline,
        "backlog": flow.backlog,
        "incidents_opened": flow.incidents.opened,
        "median_seconds_to_own": flow.incidents.median_seconds_to_own,
        "execution_mismatches": flow.execution_mismatches,
        "agents_paused": len(flow.agents_paused),
        "storms": flow.storms,
        "asks": people.asks,
        "busiest_share": people.busiest_share,
        "gini": people.gini,
        "reminders": people.reminders,
        "out_of_hours": people.out_of_hours,
        "not_taking_part": len(people.not_taking_part),
        "delegations": len(people.delegations),
        "pulse_average": people.pulse.average,
    }


def changes(week: Week, previous: Week) -> dict[str, Change]:
    before = scalars(previous)
    return {key: Change(now=value, before=before[key]) for key, value in scalars(week).items()}


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def look_at(week: Week, previous: Week, functions: dict[str, str]) -> list[str]:
    """What the figures ask someone to do, most pressing first; one line when nothing stands out.

    `functions` maps each member to their function, to name the kind of member a busy council lacks.
    Member ids are written `<@U…>` for the Slack message to show as names.
    """
    flow, people = week.flow, week.flourishing
    lines: list[str] = []
    share = people.busiest_share
    if people.busiest and share is not None and len(people.members) >= 2 and share >= BUSIEST_SHARE:
        function = functions.get(people.busiest, "")
        lines.append(
            f"<@{people.busiest}> was asked {_percent(share)} of all votes; "
            f"consider adding a {function or 'second'} member to share the load"
        )
    before_p90 = previous.flow.p90_seconds
    if flow.p90_seconds is not None and before_p90 and flow.p90_seconds >= 2 * before_p90:
        times = flow.p90_seconds / before_p90
        verb = "doubled" if times < 3 else f"grew {times:.0f}×"
        lines.append(
            f"p90 time to decision {verb} ({duration(before_p90)} → {duration(flow.p90_seconds)}); "
            "look at who was not reached in time"
        )
    closed_by_people_or_clock = flow.decided_by_people + flow.outcomes.expired
    if flow.outcomes.expired and flow.outcomes.expired >= EXPIRED_SHARE * closed_by_people_or_clock:
        lines.append(
            f"{_many(flow.outcomes.expired, 'approval')} expired undecided; check deadlines, reminders and "
            "whether the right members are asked"
        )
    if flow.execution_mismatches:
        lines.append(
            f"{_many(flow.execution_mismatches, 'execution report')} went beyond what was approved; "
            "review the agents' mandates"
        )
    if people.asks and people.out_of_hours >= OUT_OF_HOURS_SHARE * people.asks:
        lines.append(
            f"{_percent(people.out_of_hours / people.asks)} of asks came outside members' working hours; "
            "consider longer deadlines or a member in another timezone"
        )
    if people.pulse.average is not None and people.pulse.average <= LOW_PULSE:
        lines.append(
            f"Members rated their load {people.pulse.average:.1f}/5; talk about it at the next council"
        )
    if flow.oldest_open and flow.oldest_open.age_seconds >= OLD_OPEN_DAYS * 86400:
        lines.append(
            f"The oldest open item has waited {duration(flow.oldest_open.age_seconds)}; close it or chase it"
        )
    if people.not_taking_part:
        who = ", ".join(f"<@{user}>" for user in people.not_taking_part[:5])
        lines.append(f"{who} did not vote this week although asked; check their availability or delegation")
    return lines or ["Nothing stands out this week: decisions kept up and the load was spread."]


def _many(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def duration(seconds: float) -> str:
    """A length of time as a person says it: 45 s, 12 min, 3.5 h, 2.0 d."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
