"""Who may vote on an escalation: the council's members, less the owner if the rule says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.governance.ballot import Elector, seats
from bot.governance.rules import Rule


def electorate_for(members: Sequence[Elector], rule: Rule, owner: str) -> tuple[Elector, ...]:
    """Return the electorate to freeze on an escalation, in the members' order, one seat each.

    With `exclude_owner`, the agent's accountable owner is left out: they answer for the agent,
    so they do not also judge it.
    """
    return tuple(
        elector for elector in seats(members).values() if not (rule.exclude_owner and elector.user == owner)
    )


@dataclass(frozen=True)
class Snapshot:
    """The rule and electorate frozen on an escalation when it opened, read from its stored JSON once."""

    rule: Rule | None
    electorate: tuple[Elector, ...]

    @classmethod
    def read(cls, rule: dict[str, Any], electorate: Sequence[dict[str, Any]]) -> Snapshot:
        """Read the stored form; an escalation decided without a vote has no rule."""
        return cls(Rule.model_validate(rule) if rule else None, tuple(Elector(**e) for e in electorate))

    def stored(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """Return the form to store on the escalation: the rule's JSON and the electorate's."""
        rule = self.rule.model_dump(mode="json") if self.rule else {}
        return rule, [{"user": e.user, "function": e.function, "role": e.role} for e in self.electorate]

    def seat(self, user: str) -> Elector | None:
        """The user's seat in the electorate, if they have one."""
        return seats(self.electorate).get(user)

    def users(self) -> list[str]:
        """Everyone seated, in order."""
        return [e.user for e in self.electorate]

    def chairs(self) -> list[str]:
        """The seated chairs, in order."""
        return [e.user for e in self.electorate if e.role == "chair"]

    def describe(self) -> str | None:
        """The rule in words, or None without one."""
        return self.rule.describe() if self.rule else None
