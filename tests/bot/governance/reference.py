"""The rules written the slow, literal way, to check bot.governance against by brute force.

Written from docs/governance.md, not from the production code: a complete vote (everyone has
voted or recused) is judged directly, and an open vote is judged by trying every way the electors
still to vote could vote.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction

from bot.governance import Choice, Elector, Outcome, Rule

CHOICES = tuple(Choice)


def complete_outcome(rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Outcome:
    """Judge a vote in which every elector has voted; `votes` is in the order cast."""
    own = {user: choice for user, choice in votes.items() if user in {e.user for e in electorate}}
    assert len(own) == len(electorate), "every elector must have voted"
    vetoing = {role.casefold() for role in rule.veto}
    if any(own[e.user] == Choice.REJECT and e.role.casefold() in vetoing for e in electorate):
        return Outcome.REJECTED
    present = [e for e in electorate if own[e.user] != Choice.RECUSE]
    if len(present) < quorum(rule, len(present)):  # everyone present has cast a vote
        return Outcome.REJECTED
    voted = {e.function.casefold() for e in present}
    if any(name.casefold() not in voted for name in rule.require_functions):
        return Outcome.REJECTED
    return Outcome.APPROVED if rule_passes(rule, list(own.values())) else Outcome.REJECTED


def quorum(rule: Rule, present: int) -> int:
    """Votes needed: the count, or the percentage of present electors, rounded up."""
    if rule.quorum is None:
        return 0
    if isinstance(rule.quorum, int):
        return rule.quorum
    return math.ceil(Fraction(rule.quorum.rstrip("%")) * present / 100)


def rule_passes(rule: Rule, choices: list[Choice]) -> bool:
    """Whether the rule itself passes the choices, given in the order cast."""
    approve, reject = choices.count(Choice.APPROVE), choices.count(Choice.REJECT)
    if rule.type == "single":
        decisive = [c for c in choices if c in (Choice.APPROVE, Choice.REJECT)]
        return bool(decisive) and decisive[0] == Choice.APPROVE
    if rule.type == "n_of_m":
        return rule.n is not None and approve >= rule.n
    if rule.type == "majority":
        return approve > reject
    if rule.type == "supermajority":
        return approve >= 1 and 3 * approve >= 2 * (approve + reject)
    assert rule.type == "unanimous"
    return approve >= 1 and all(c in (Choice.APPROVE, Choice.RECUSE) for c in choices)


def completions(electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Iterator[dict[str, Choice]]:
    """Yield every way the electors still to vote could vote, after the votes already cast.

    The rest vote in electorate order; for `single` any other order reaches the same set of
    outcomes, since each of them may still approve or reject.
    """
    users = {e.user for e in electorate}
    cast = {user: choice for user, choice in votes.items() if user in users}
    waiting = [e.user for e in electorate if e.user not in cast]
    for choices in itertools.product(CHOICES, repeat=len(waiting)):
        yield {**cast, **dict(zip(waiting, choices, strict=True))}


def possible_outcomes(rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> set[Outcome]:
    """Every outcome some way of completing the vote would reach."""
    found: set[Outcome] = set()
    for full in completions(electorate, votes):
        found.add(complete_outcome(rule, electorate, full))
        if len(found) == len(Outcome):
            break  # both are possible: nothing more to learn
    return found
