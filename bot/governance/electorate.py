"""Who may vote on an escalation: the council's members, less the owner if the rule says so."""

from __future__ import annotations

from collections.abc import Sequence

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
