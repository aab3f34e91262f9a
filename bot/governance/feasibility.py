"""Whether a voting rule can ever be satisfied by a council's members. Pure: no I/O.

council.yml is refused when a rule asks for what the council cannot give (a function nobody has, a
quorum larger than the electorate, a veto role nobody holds, nobody left once the owner steps
aside): such a rule would leave every escalation it governs to expire instead of being decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.governance.ballot import Elector
from bot.governance.electorate import electorate_for
from bot.governance.rules import Rule


def why_infeasible(rule: Rule, members: Sequence[Elector], owners: Iterable[str] = ()) -> str | None:
    """Say why no vote under `rule` by these members can pass, or return None when one can.

    `owners` are the accountable owners of the agents whose escalations the rule may govern: with
    `exclude_owner`, each of them in turn is left out, and the rule must still be satisfiable.
    """
    if not members:
        return "the council has no members, so nobody can vote"
    roles = {member.role.casefold() for member in members}
    for role in rule.veto:
        if role.casefold() not in roles:
            return f"veto role {role!r} is held by no member of the council"
    stepping_aside = [None, *(owner for owner in owners if rule.exclude_owner)]
    for owner in stepping_aside:
        electorate = electorate_for(members, rule, owner or "")
        problem = _unsatisfiable(rule, electorate)
        if problem:
            return f"{problem} when {owner}, the agent's owner, is left out" if owner else problem
    return None


def _unsatisfiable(rule: Rule, electorate: Sequence[Elector]) -> str | None:
    size = len(electorate)
    if size == 0:
        return f"{rule.type} leaves nobody to vote"
    functions = {elector.function.casefold() for elector in electorate}
    for function in rule.require_functions:
        if function.casefold() not in functions:
            have = ", ".join(sorted(functions))
            return f"require_functions names {function!r}, which no voter has (they have: {have})"
    if rule.type == "n_of_m" and rule.n is not None and rule.n > size:
        return f"n is {rule.n}, but only {_voters(size)}"
    if isinstance(rule.quorum, int) and rule.quorum > size:
        return f"quorum is {rule.quorum}, but only {_voters(size)}"
    return None


def _voters(size: int) -> str:
    return f"{size} member{'' if size == 1 else 's'} can vote"
