"""Voting rules: what a rule is, as written in council.yml and frozen on an escalation.

Pure: no I/O, no ORM. `bot.governance.verdict` decides what a set of votes means under a rule;
docs/governance.md defines each rule in words.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.governance.ballot import Elector

# 0 to 100 with optional decimals: '60%', '66.7%', '100%'.
PERCENT = re.compile(r"(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)%")
RULE_TYPES = ("single", "n_of_m", "majority", "supermajority", "unanimous")
RuleType = Literal["single", "n_of_m", "majority", "supermajority", "unanimous"]


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
        if isinstance(value, str) and PERCENT.fullmatch(value):
            return value
        raise ValueError(f"quorum must be a count (0 or more) or a percentage like '60%', not {value!r}")

    @field_validator("require_functions", "veto")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(name.strip() for name in value)
        if not all(names):
            raise ValueError("names must not be empty")
        return names

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
            "n_of_m": f"{self.n} approval" + ("" if self.n == 1 else "s"),
            "majority": "majority",
            "supermajority": "two-thirds majority",
            "unanimous": "unanimous",
        }[self.type]
        parts = [head]
        if self.quorum_count(100):  # a zero quorum asks nothing, so it is not worth saying
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
        percent = _percent(self.quorum)
        # Exact arithmetic, rounded up: 60% of 5 is 3, 50% of 3 is 2, and no float error adds one.
        return math.ceil(percent * electorate_size / 100)

    def vetoes(self, elector: Elector) -> bool:
        """Whether this elector's reject alone decides rejection (roles compare case-blind)."""
        return elector.role.casefold() in {role.casefold() for role in self.veto}

    def rejects_alone(self, elector: Elector) -> bool:
        """Whether this elector's reject decides by itself: a veto, or `single` with nothing more asked."""
        plain_single = self.type == "single" and not self.quorum and not self.require_functions
        return self.vetoes(elector) or plain_single


def _percent(text: str) -> Fraction:
    """Read a validated percentage such as '60%' or '66.7%' as an exact number."""
    return Fraction(text[:-1])
