"""Evaluate a rule over the votes so far: decided exactly when no remaining vote can change it.

Each elector still to vote may approve, reject, abstain or recuse. A vote passes when no veto was
used, the quorum is met, every required function has voted, and the rule itself passes. Each of
these only gets easier when a waiting elector's vote becomes an approve, so:

- the vote is certainly rejected when it fails even if everyone waiting approves;
- it is certainly approved when each condition holds in its own worst case (they are joined by
  "and", so their worst cases can be taken one at a time).

Both checks are linear in the electorate: no enumeration of the 4^k ways the rest could vote.
tests/bot/governance checks them against exactly that enumeration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.governance.ballot import (
    CAST,
    Choice,
    Elector,
    Outcome,
    Verdict,
    ballots,
    count,
    seats,
)
from bot.governance.rules import Rule

NOBODY_DECIDED = "rejected: no one approved or rejected"


@dataclass(frozen=True)
class Standing:
    """Where a vote stands, reduced to what the rules need."""

    approve: int
    reject: int
    abstain: int
    waiting: int  # electors who may still vote
    absent: int  # electors who did not vote before the vote ended
    seated: int  # electors who have not recused, whether they voted or not
    first_decisive: tuple[str, Choice] | None  # the earliest approve or reject, for `single`
    vetoed_by: Elector | None
    veto_waiting: bool  # someone who could still veto has not voted
    functions_cast: frozenset[str]  # casefolded functions with a cast vote
    functions_waiting: frozenset[str]  # casefolded functions with an elector still to vote

    @property
    def cast(self) -> int:
        """Votes cast: approve, reject and abstain."""
        return self.approve + self.reject + self.abstain


def stand(rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice], *, ended: bool) -> Standing:
    """Reduce the votes to a standing; once `ended`, those who have not voted never will."""
    index = seats(electorate)
    chosen = ballots(electorate, votes)
    tally = count(electorate, votes)
    waiting = [elector for user, elector in index.items() if user not in chosen]
    decisive = ((user, c) for user, c in chosen.items() if c in (Choice.APPROVE, Choice.REJECT))
    vetoes = (e for u, e in index.items() if chosen.get(u) == Choice.REJECT and rule.vetoes(e))
    return Standing(
        approve=tally.approve,
        reject=tally.reject,
        abstain=tally.abstain,
        waiting=0 if ended else len(waiting),
        absent=len(waiting) if ended else 0,
        seated=len(index) - tally.recuse,
        first_decisive=next(decisive, None),
        vetoed_by=next(vetoes, None),
        veto_waiting=not ended and any(rule.vetoes(elector) for elector in waiting),
        functions_cast=frozenset(index[user].function.casefold() for user, c in chosen.items() if c in CAST),
        functions_waiting=frozenset(() if ended else (elector.function.casefold() for elector in waiting)),
    )


def evaluate(rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]) -> Verdict:
    """Return the outcome once no way the remaining electors vote could change it, else open.

    `votes` holds each elector's current vote in the order those votes were cast; only `single`
    depends on that order. Votes from users outside the electorate are ignored.
    """
    tally = count(electorate, votes)
    standing = stand(rule, electorate, votes, ended=False)
    rejection = certain_rejection(rule, standing)
    if rejection is not None:
        return Verdict(outcome=Outcome.REJECTED, reason=rejection, tally=tally)
    approval = certain_approval(rule, standing)
    if approval is not None:
        return Verdict(outcome=Outcome.APPROVED, reason=approval, tally=tally)
    voters = tally.waiting + tally.cast + tally.recuse
    return Verdict(outcome=None, reason=f"open: waiting for {tally.waiting} of {voters}", tally=tally)


def outcome_when_complete(
    rule: Rule, electorate: Sequence[Elector], votes: Mapping[str, Choice]
) -> tuple[Outcome, str]:
    """Decide the vote as if it ended now: whoever has not voted never will (nor recused)."""
    standing = stand(rule, electorate, votes, ended=True)
    rejection = certain_rejection(rule, standing)
    if rejection is not None:
        return Outcome.REJECTED, rejection
    approval = certain_approval(rule, standing)
    if approval is None:  # with nobody left to vote the best and worst cases are the same
        raise RuntimeError(f"rule {rule.describe()!r} neither passed nor failed a closed vote")
    return Outcome.APPROVED, approval


def certain_rejection(rule: Rule, s: Standing) -> str | None:
    """Say why the vote fails even if everyone waiting approves, or None if it still could pass."""
    if s.vetoed_by is not None:
        return f"rejected: {s.vetoed_by.role} veto by {s.vetoed_by.user}"
    needed = rule.quorum_count(s.seated)
    most = s.cast + s.waiting
    if most < needed:
        if s.waiting:
            return f"rejected: quorum out of reach (at most {most} of {needed} votes)"
        return f"rejected: quorum not reached ({s.cast} of {needed} votes cast)"
    can_vote = s.functions_cast | s.functions_waiting
    missing = [name for name in rule.require_functions if name.casefold() not in can_vote]
    if missing:
        return "rejected: no vote from " + ", ".join(missing)
    return RULES[rule.type].rejection(rule, s)


def certain_approval(rule: Rule, s: Standing) -> str | None:
    """Say why the vote passes however everyone waiting votes, or None if it could still fail."""
    if s.vetoed_by is not None or s.veto_waiting:
        return None
    # Worst case for a quorum: everyone waiting recuses. Each recusal lowers a percentage quorum
    # by at most one vote, so it never helps more than casting that vote would.
    if s.cast < rule.quorum_count(s.seated - s.waiting):
        return None
    if any(name.casefold() not in s.functions_cast for name in rule.require_functions):
        return None
    return RULES[rule.type].approval(rule, s)


def score(s: Standing) -> str:
    """Return approvals against rejections, e.g. '3–1'."""
    return f"{s.approve}–{s.reject}"


def single_rejection(rule: Rule, s: Standing) -> str | None:
    """The earliest approve or reject decides; without one, anyone waiting may still approve."""
    if s.first_decisive is not None:
        user, choice = s.first_decisive
        return f"rejected by {user}" if choice == Choice.REJECT else None
    return None if s.waiting else NOBODY_DECIDED


def single_approval(rule: Rule, s: Standing) -> str | None:
    """Pass when the earliest approve or reject is an approve."""
    if s.first_decisive is not None and s.first_decisive[1] == Choice.APPROVE:
        return f"approved by {s.first_decisive[0]}"
    return None


def approvals(number: int) -> str:
    """Say '1 approval' or '3 approvals'."""
    return f"{number} approval" + ("" if number == 1 else "s")


def n_of_m_rejection(rule: Rule, s: Standing) -> str | None:
    """Fail once n approvals are out of reach; rejections themselves do not count against."""
    n = rule.n or 1
    most = s.approve + s.waiting
    if most >= n:
        return None
    if s.waiting:
        return f"rejected: {approvals(n)} needed, at most {most} possible"
    return f"rejected: {approvals(n)} needed, only {s.approve} given"


def n_of_m_approval(rule: Rule, s: Standing) -> str | None:
    """Pass as soon as n electors approve."""
    n = rule.n or 1
    return f"approved with {approvals(s.approve)} ({n} needed)" if s.approve >= n else None


def majority_rejection(rule: Rule, s: Standing) -> str | None:
    """Fail once approvals can no longer outnumber rejections; a tie fails."""
    if s.approve + s.waiting > s.reject:
        return None
    if s.reject > s.approve + s.waiting:
        return f"rejected by majority ({score(s)})"
    if s.waiting:
        return f"rejected: at best a tie ({score(s)}, {s.waiting} to vote)"
    if s.reject == 0:
        return NOBODY_DECIDED
    return f"rejected: tie ({score(s)}) does not pass"


def majority_approval(rule: Rule, s: Standing) -> str | None:
    """Pass once approvals outnumber rejections even if everyone waiting rejects."""
    if s.approve > s.reject + s.waiting:
        return f"approved by majority ({score(s)})"
    return None


def two_thirds(approve: int, reject: int) -> bool:
    """Whether approvals are at least two-thirds of approvals and rejections, and not zero."""
    return approve >= 1 and approve >= 2 * reject


def supermajority_rejection(rule: Rule, s: Standing) -> str | None:
    """Fail once two-thirds are out of reach even if everyone waiting approves."""
    if two_thirds(s.approve + s.waiting, s.reject):
        return None
    if s.waiting:
        return f"rejected: two-thirds out of reach ({score(s)}, {s.waiting} to vote)"
    if s.approve == s.reject == 0:
        return NOBODY_DECIDED
    return f"rejected: short of two-thirds ({score(s)})"


def supermajority_approval(rule: Rule, s: Standing) -> str | None:
    """Pass once two-thirds hold even if everyone waiting rejects."""
    if two_thirds(s.approve, s.reject + s.waiting):
        return f"approved by two-thirds majority ({score(s)})"
    return None


def unanimous_rejection(rule: Rule, s: Standing) -> str | None:
    """Fail on any reject, abstain or missing vote; recusals step aside."""
    if s.reject or s.abstain or s.absent:
        others = [f"{s.abstain} abstained"] if s.abstain else []
        others += [f"{s.absent} did not vote"] if s.absent else []
        return f"rejected: not unanimous ({', '.join([score(s), *others])})"
    if s.approve + s.waiting == 0:
        return "rejected: no one approved"
    return None


def unanimous_approval(rule: Rule, s: Standing) -> str | None:
    """Pass when everyone who has not recused approved, and at least one did."""
    if s.waiting or s.absent or s.reject or s.abstain or not s.approve:
        return None
    return f"approved unanimously ({score(s)})"


@dataclass(frozen=True)
class RuleCheck:
    """A rule's own condition: why it surely fails (best case) and surely passes (worst case)."""

    rejection: Callable[[Rule, Standing], str | None]
    approval: Callable[[Rule, Standing], str | None]


RULES: dict[str, RuleCheck] = {
    "single": RuleCheck(single_rejection, single_approval),
    "n_of_m": RuleCheck(n_of_m_rejection, n_of_m_approval),
    "majority": RuleCheck(majority_rejection, majority_approval),
    "supermajority": RuleCheck(supermajority_rejection, supermajority_approval),
    "unanimous": RuleCheck(unanimous_rejection, unanimous_approval),
}
