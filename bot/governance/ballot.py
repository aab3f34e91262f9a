"""What is voted and how it is counted: choices, electors, the tally and the verdict.

Pure: no I/O. `bot.governance.rules` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Choice(StrEnum):
    """What an elector can answer."""

    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"
    RECUSE = "recuse"


class Outcome(StrEnum):
    """How a closed vote ended."""

    APPROVED = "approved"
    REJECTED = "rejected"


# A cast vote counts towards quorum and required functions; a recusal leaves the electorate.
CAST = frozenset({Choice.APPROVE, Choice.REJECT, Choice.ABSTAIN})


@dataclass(frozen=True)
class Elector:
    """One member entitled to vote on an escalation, as frozen at its creation."""

    user: str
    function: str
    role: str = "member"
    # Set when a delegate holds an away member's seat: the member whose function and role these are.
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class Tally:
    """How many electors chose what so far; `waiting` have not voted."""

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
        """Return the counts by name, as stored on a decision and shown in the API."""
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
        """Whether the vote is closed."""
        return self.outcome is not None


def seats(electorate: Sequence[Elector]) -> dict[str, Elector]:
    """Index the electorate by user; a user listed twice holds the first seat only."""
    index: dict[str, Elector] = {}
    for elector in electorate:
        index.setdefault(elector.user, elector)
    return index


def ballots(electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> dict[str, Choice]:
    """Keep the electorate's votes in their given order; anyone else's vote is ignored."""
    index = seats(electorate)
    return {user: Choice(choice) for user, choice in votes.items() if user in index}


def count(electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Tally:
    """Count the electorate's votes; votes from outside the electorate are ignored."""
    chosen = list(ballots(electorate, votes).values())
    return Tally(
        approve=chosen.count(Choice.APPROVE),
        reject=chosen.count(Choice.REJECT),
        abstain=chosen.count(Choice.ABSTAIN),
        recuse=chosen.count(Choice.RECUSE),
        waiting=len(seats(electorate)) - len(chosen),
    )
