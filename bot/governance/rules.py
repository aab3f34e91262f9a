"""Voting rules: what a rule is, and what a set of votes decides under it.

Pure: no I/O, no ORM. The services freeze a `Rule` and an electorate on each escalation and call
`evaluate` after every vote; docs/governance.md defines each rule in words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RULE_TYPES = ("single", "n_of_m", "majority", "supermajority", "unanimous")
RuleType = Literal["single", "n_of_m", "majority", "supermajority", "unanimous"]


class Choice(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"
    RECUSE = "recuse"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Rule(BaseModel):
    """A voting rule with its options, as written in council.yml and frozen on an escalation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: RuleType = "majority"
    n: int | None = Field(default=None, ge=1)
    quorum: int | str | None = None
    require_functions: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    exclude_owner: bool = False

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if value not in RULE_TYPES:
            raise ValueError(f"unknown rule {value!r} (expected one of {', '.join(RULE_TYPES)})")
        return value

    @field_validator("quorum", mode="before")
    @classmethod
    def _quorum_shape(cls, value: object) -> object:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        if isinstance(value, str) and value.endswith("%"):
            try:
                percent = float(value[:-1])
            except ValueError:
                percent = -1.0
            if 0 < percent <= 100:
                return value
        raise ValueError(f"quorum must be a count (0 or more) or a percentage like '60%', not {value!r}")

    @model_validator(mode="after")
    def _n_for_n_of_m(self) -> Rule:
        if self.type == "n_of_m" and self.n is None:
            raise ValueError("rule n_of_m needs n (how many approvals pass it)")
        if self.type != "n_of_m" and self.n is not None:
            raise ValueError(f"n only applies to rule n_of_m, not {self.type}")
        return self

    def describe(self) -> str:
        """Say the rule in words, e.g. 'majority · quorum 2 · needs people, technology'."""
        head = {
            "single": "single decider",
            "n_of_m": f"{self.n} approvals",
            "majority": "majority",
            "supermajority": "two-thirds majority",
            "unanimous": "unanimous",
        }[self.type]
        parts = [head]
        if self.quorum:
            parts.append(f"quorum {self.quorum}")
        if self.require_functions:
            parts.append("needs " + ", ".join(self.require_functions))
        if self.veto:
            parts.append("veto: " + ", ".join(self.veto))
        if self.exclude_owner:
            parts.append("owner excluded")
        return " · ".join(parts)

    def quorum_count(self, electorate_size: int) -> int:
        """Return how many votes must be cast, given the electorate left after recusals."""
        if self.quorum is None:
            return 0
        if isinstance(self.quorum, int):
            return self.quorum
        return math.ceil(float(self.quorum[:-1]) * electorate_size / 100)


@dataclass(frozen=True)
class Elector:
    """One member entitled to vote on an escalation, as frozen at its creation."""

    user: str
    function: str
    role: str = "member"


@dataclass(frozen=True)
class Tally:
    approve: int = 0
    reject: int = 0
    abstain: int = 0
    recuse: int = 0
    waiting: int = 0

    @property
    def cast(self) -> int:
        """Votes cast: approve, reject and abstain (a recusal leaves the electorate)."""
        return self.approve + self.reject + self.abstain

    def as_dict(self) -> dict[str, int]:
        return {
            "approve": self.approve,
            "reject": self.reject,
            "abstain": self.abstain,
            "recuse": self.recuse,
            "waiting": self.waiting,
        }


@dataclass(frozen=True)
class Verdict:
    """What the votes so far decide: an outcome once no remaining vote can change it."""

    outcome: Outcome | None
    reason: str
    tally: Tally = field(default_factory=Tally)

    @property
    def decided(self) -> bool:
        return self.outcome is not None


def count(electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Tally:
    """Count the electorate's votes; votes from outside the electorate are ignored."""
    users = {elector.user for elector in electorate}
    cast = [choice for user, choice in votes.items() if user in users]
    return Tally(
        approve=cast.count(Choice.APPROVE),
        reject=cast.count(Choice.REJECT),
        abstain=cast.count(Choice.ABSTAIN),
        recuse=cast.count(Choice.RECUSE),
        waiting=len(users) - len(cast),
    )


def outcome_when_complete(
    rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]
) -> tuple[Outcome, str]:
    """Decide as if every elector has voted (missing votes count as not cast)."""
    tally = count(electorate, votes)
    present = len(electorate) - tally.recuse
    needed = rule.quorum_count(present)
    if tally.cast < needed:
        return Outcome.REJECTED, f"quorum not reached ({tally.cast} of {needed} votes cast)"
    if tally.approve > tally.reject:
        return Outcome.APPROVED, f"majority approved ({tally.approve}–{tally.reject})"
    if tally.approve == tally.reject:
        return Outcome.REJECTED, f"tie ({tally.approve}–{tally.reject}) does not pass"
    return Outcome.REJECTED, f"majority rejected ({tally.approve}–{tally.reject})"


def evaluate(rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Verdict:
    """Return the outcome if no way the remaining electors vote could change it, else open."""
    tally = count(electorate, votes)
    voted = {user for user in votes}
    remaining = [elector for elector in electorate if elector.user not in voted]
    results = {
        outcome_when_complete(rule, electorate, {**votes, **dict.fromkeys(
            (e.user for e in remaining), choice)})
        for choice in (Choice.APPROVE, Choice.REJECT)
    }
    outcomes = {outcome for outcome, _ in results}
    if len(outcomes) == 1 and remaining:
        outcome, reason = outcome_when_complete(
            rule, electorate, {**votes, **dict.fromkeys((e.user for e in remaining), Choice.REJECT if outcomes == {Outcome.APPROVED} else Choice.APPROVE)}
        )
        return Verdict(outcome=outcome, reason=reason, tally=tally)
    if not remaining:
        outcome, reason = outcome_when_complete(rule, electorate, votes)
        return Verdict(outcome=outcome, reason=reason, tally=tally)
    return Verdict(outcome=None, reason="waiting for votes", tally=tally)
