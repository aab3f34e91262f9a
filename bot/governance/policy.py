"""Policy matching, durations and reminders: how council.yml policies apply to an escalation.

Pure: no I/O. Policies are tried in order and the first whose `match` holds wins; docs/governance.md
describes the keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, Protocol, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["approval", "incident", "notice"]
Risk = Literal["low", "medium", "high", "critical"]

UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
# Whole numbers with units, largest first, each unit at most once: '90s', '2d', '1h30m'.
DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
# A deadline further out than a year is a typo, and would overflow date arithmetic long before
# a number of digits does.
LONGEST = 365 * UNIT_SECONDS["d"]
PERCENTAGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)%")


class PolicyMatch(BaseModel):
    """The conditions of a policy; every key given must hold, and no keys match everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str | None = None
    kind: Kind | None = None
    category: str | None = None
    risk: Risk | None = None
    amount_lt: Decimal | None = Field(default=None, ge=0)
    amount_gte: Decimal | None = Field(default=None, ge=0)
    currency: str | None = None

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError(f"currency must be a 3-letter code like 'EUR', not {value!r}")
        return value.upper()

    @model_validator(mode="after")
    def _amount_range(self) -> PolicyMatch:
        low, high = self.amount_gte, self.amount_lt
        if low is not None and high is not None and low >= high:
            raise ValueError(f"amount_gte ({low}) must be below amount_lt ({high}): nothing matches")
        return self


@dataclass(frozen=True)
class Facts:
    """What policy matching may look at in an escalation."""

    agent: str
    kind: str
    category: str | None
    risk: str | None
    amount: Decimal | None
    currency: str | None


def matches(match: PolicyMatch, facts: Facts) -> bool:
    """Whether every condition the match gives holds for the escalation's facts."""
    if match.agent is not None and match.agent != facts.agent:
        return False
    if match.kind is not None and match.kind != facts.kind:
        return False
    if match.risk is not None and match.risk != facts.risk:
        return False
    if match.category is not None and (
        facts.category is None or match.category.casefold() != facts.category.casefold()
    ):
        return False
    if match.currency is not None and (facts.currency is None or match.currency != facts.currency.upper()):
        return False
    return amount_matches(match, facts.amount)


def amount_matches(match: PolicyMatch, amount: Decimal | None) -> bool:
    """Whether the amount is in range; an amount condition never matches a missing amount."""
    if match.amount_lt is None and match.amount_gte is None:
        return True
    if amount is None:
        return False
    if match.amount_lt is not None and not amount < match.amount_lt:
        return False
    return match.amount_gte is None or amount >= match.amount_gte


class HasMatch(Protocol):
    """A policy: anything with a `match`."""

    @property
    def match(self) -> PolicyMatch: ...


T = TypeVar("T")
P = TypeVar("P", bound=HasMatch)


@overload
def first_match(policies: Sequence[P], facts: Facts) -> P | None: ...


@overload
def first_match(policies: Sequence[T], facts: Facts, key: Callable[[T], PolicyMatch]) -> T | None: ...


def first_match(
    policies: Sequence[Any],
    facts: Facts,
    key: Callable[[Any], PolicyMatch] | None = None,
) -> Any | None:
    """Return the first policy, in order, whose match holds for the facts; None if none does."""
    match_of = key or (lambda policy: policy.match)
    return next((policy for policy in policies if matches(match_of(policy), facts)), None)


def parse_duration(text: str) -> int:
    """Read a duration such as '90s', '30m', '4h', '2d' or '1h30m' as seconds."""
    found = DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None or not any(found.groups()):
        raise ValueError(
            f"invalid duration {text!r}: use whole numbers with units d, h, m, s (largest first), "
            "like '90s', '30m', '4h', '2d' or '1h30m'"
        )
    seconds = sum(
        int(number) * unit
        for number, unit in zip(found.groups(), UNIT_SECONDS.values(), strict=True)
        if number
    )
    if seconds == 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    if seconds > LONGEST:
        raise ValueError(f"invalid duration {text!r}: it must be at most 365d")
    return seconds


def format_duration(seconds: int) -> str:
    """Write seconds the way parse_duration reads them, e.g. 5400 as '1h30m'."""
    parts = []
    for unit, size in UNIT_SECONDS.items():
        number, seconds = divmod(seconds, size)
        if number:
            parts.append(f"{number}{unit}")
    return "".join(parts) or "0s"


def parse_reminders(items: Iterable[str], deadline_seconds: int) -> list[int]:
    """Read reminders ('50%' of the deadline, or '1h' after creation) as sorted offsets in seconds.

    Each must fall after creation and strictly before the deadline; duplicates collapse into one.
    """
    if isinstance(items, str):
        raise ValueError(f"reminders must be a list, like ['50%', '1h'], not {items!r}")
    if deadline_seconds <= 0:
        raise ValueError(f"the deadline must be in the future, not {deadline_seconds} seconds")
    return sorted({reminder_offset(item, deadline_seconds) for item in items})


def reminders_within(items: Iterable[str], deadline_seconds: int) -> list[int]:
    """Read reminders as sorted offsets for one escalation's own deadline, leaving out any outside it.

    A policy's '1h' on an escalation the agent gave 10 minutes falls after its deadline, and '1%' of
    60 seconds at its creation: neither can remind anyone, so neither is kept. The items were checked
    against the policy's deadline when council.yml was applied.
    """
    offsets = set()
    for item in items:
        try:
            offsets.add(reminder_offset(item, deadline_seconds))
        except ValueError:
            continue
    return sorted(offsets)


def reminder_offset(item: str, deadline_seconds: int) -> int:
    """Read one reminder as seconds after creation, checking it falls before the deadline."""
    deadline = format_duration(deadline_seconds)
    percentage = PERCENTAGE.fullmatch(item.strip()) if isinstance(item, str) else None
    if percentage is not None:
        # Round down: a reminder a second early is better than one a second late.
        offset = math.floor(Fraction(percentage[1]) * deadline_seconds / 100)
    else:
        try:
            offset = parse_duration(item)
        except ValueError:
            raise ValueError(
                f"invalid reminder {item!r}: use a share of the deadline like '50%' "
                "or a time after creation like '1h'"
            ) from None
    if offset >= deadline_seconds:
        raise ValueError(f"reminder {item!r} is not before the deadline ({deadline})")
    if offset <= 0:
        raise ValueError(f"reminder {item!r} falls at creation (deadline {deadline})")
    return offset
