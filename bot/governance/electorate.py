"""Who may vote on an escalation: the council's members, less the owner if the rule says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def in_seats(members: Sequence[Elector], away: Mapping[str, str]) -> list[Elector]:
    """The members as they sit today: an away member's seat held by their delegate (`away`: member →
    delegate). A delegate who has a seat of their own keeps only that one, so the away member keeps
    theirs: one person, one seat."""
    seated = {member.user for member in members}
    held: list[Elector] = []
    for member in members:
        delegate = away.get(member.user)
        if delegate is None or delegate in seated or delegate in {e.user for e in held}:
            held.append(member)
        else:
            held.append(
                Elector(user=delegate, function=member.function, role=member.role, on_behalf_of=member.user)
            )
    return held


def _stored(elector: Elector) -> dict[str, str]:
    stored = {"user": elector.user, "function": elector.function, "role": elector.role}
    if elector.on_behalf_of:
        stored["on_behalf_of"] = elector.on_behalf_of
    return stored


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
        return rule, [_stored(e) for e in self.electorate]

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
