"""Rule validation and wording, counting, and evaluate's edge cases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.governance import (
    Choice,
    Elector,
    Outcome,
    Rule,
    Tally,
    Verdict,
    count,
    evaluate,
    outcome_when_complete,
)

A, R, AB, RE = Choice.APPROVE, Choice.REJECT, Choice.ABSTAIN, Choice.RECUSE
CHAIR = Elector("U0PEOPLE1", "people", "chair")
TECH = Elector("U0TECH001", "technology")
FIN = Elector("U0FIN0001", "finance")
LEGAL = Elector("U0LEGAL01", "legal")
THREE = (CHAIR, TECH, FIN)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "bogus-rule"}, "unknown rule 'bogus-rule'"),
        ({"type": "n_of_m"}, "rule n_of_m needs n"),
        ({"type": "n_of_m", "n": 0}, "greater than or equal to 1"),
        ({"type": "majority", "n": 2}, "n only applies to rule n_of_m, not majority"),
        ({"quorum": -1}, "quorum must be a count (0 or more) or a percentage like '60%'"),
        ({"quorum": True}, "quorum must be a count"),
        ({"quorum": "150%"}, "quorum must be a count"),
        ({"quorum": "60"}, "quorum must be a count"),
        ({"quorum": "-5%"}, "quorum must be a count"),
        ({"quorum": "nan%"}, "quorum must be a count"),
        ({"require_functions": ["legal", " "]}, "names must not be empty"),
        ({"veto": "chair"}, "valid tuple"),
        ({"type": "majority", "quorom": 2}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_rule_is_refused_with_a_clear_message(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=None) as error:
        Rule.model_validate(fields)
    assert message in str(error.value)


@pytest.mark.parametrize("quorum", [0, 3, "0%", "60%", "66.7%", "100%", "100.0%"])
def test_a_quorum_may_be_a_count_or_a_percentage(quorum: int | str) -> None:
    assert Rule(quorum=quorum).quorum == quorum


def test_a_rule_is_frozen_so_a_snapshot_cannot_drift() -> None:
    rule = Rule(type="majority")
    with pytest.raises(ValidationError):
        rule.type = "single"  # type: ignore[misc]


def test_a_rule_round_trips_through_the_stored_snapshot() -> None:
    rule = Rule(type="n_of_m", n=2, quorum="60%", require_functions=("legal",), veto=("chair",))
    assert Rule.model_validate(rule.model_dump(mode="json")) == rule


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (Rule(type="majority", quorum=2), "majority · quorum 2"),
        (Rule(), "majority"),
        (Rule(type="single"), "single decider"),
        (Rule(type="n_of_m", n=1), "1 approval"),
        (Rule(type="n_of_m", n=3), "3 approvals"),
        (Rule(type="supermajority", quorum="60%"), "two-thirds majority · quorum 60%"),
        (Rule(type="unanimous", quorum=0), "unanimous"),
        (
            Rule(
                quorum=2,
                require_functions=("people", "technology"),
                veto=("chair",),
                exclude_owner=True,
            ),
            "majority · quorum 2 · needs people, technology · veto: chair · owner excluded",
        ),
    ],
)
def test_describe_says_the_rule_in_words(rule: Rule, words: str) -> None:
    assert rule.describe() == words


@pytest.mark.parametrize(
    ("quorum", "seated", "needed"),
    [
        (3, 1, 3),
        ("60%", 5, 3),
        ("60%", 3, 2),  # 1.8 rounds up
        ("50%", 3, 2),
        ("33.3%", 3, 1),  # 0.999 rounds up to 1, exactly
        ("66.7%", 3, 3),  # 2.001 rounds up to 3, exactly
        ("100%", 7, 7),
        ("60%", 0, 0),
        (None, 5, 0),
    ],
)
def test_a_percentage_quorum_rounds_up_exactly(quorum: int | str | None, seated: int, needed: int) -> None:
    assert Rule(quorum=quorum).quorum_count(seated) == needed


def test_count_ignores_outsiders_and_a_second_seat() -> None:
    tally = count((CHAIR, TECH, FIN, TECH), {"U0TECH001": A, "U0OUTSIDE": R, "U0FIN0001": RE})
    assert tally == Tally(approve=1, reject=0, abstain=0, recuse=1, waiting=1)
    assert tally.cast == 1
    assert tally.as_dict() == {"approve": 1, "reject": 0, "abstain": 0, "recuse": 1, "waiting": 1}


def test_a_vote_that_is_not_a_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="'maybe' is not a valid Choice"):
        evaluate(Rule(), THREE, {"U0TECH001": "maybe"})  # type: ignore[dict-item]


def test_an_open_verdict_says_how_many_are_waiting() -> None:
    verdict = evaluate(Rule(), THREE, {"U0TECH001": A, "U0OUTSIDE": A})
    assert verdict == Verdict(None, "open: waiting for 2 of 3", Tally(approve=1, waiting=2))
    assert not verdict.decided


def verdict_of(rule: Rule, electorate: tuple[Elector, ...], **votes: Choice) -> tuple[str | None, str]:
    """Evaluate, returning the outcome and reason."""
    verdict = evaluate(rule, electorate, votes)
    return verdict.outcome, verdict.reason


FOUR = (*THREE, LEGAL)
SHORT = {"chair": "U0PEOPLE1", "tech": "U0TECH001", "fin": "U0FIN0001", "legal": "U0LEGAL01"}


def ballot(text: str) -> dict[str, Choice]:
    """Read 'tech=approve fin=reject' as votes in that order."""
    pairs = (item.split("=") for item in text.split())
    return {SHORT[who]: Choice(choice) for who, choice in pairs}


@pytest.mark.parametrize(
    ("rule", "electorate", "votes", "reason"),
    [
        # unanimous: an abstention prevents unanimity at once; a recusal steps aside.
        (Rule(type="unanimous"), THREE, "tech=abstain", "rejected: not unanimous (0–0, 1 abstained)"),
        (Rule(type="unanimous"), THREE, "tech=approve fin=approve", "open: waiting for 1 of 3"),
        (Rule(type="unanimous"), THREE, "chair=recuse tech=recuse fin=recuse", "rejected: no one approved"),
        # supermajority: exactly two-thirds passes, a tie does not, abstentions are not counted.
        (Rule(type="supermajority"), THREE, "chair=approve tech=approve fin=reject",
         "approved by two-thirds majority (2–1)"),
        (Rule(type="supermajority"), THREE, "chair=approve tech=reject fin=abstain",
         "rejected: short of two-thirds (1–1)"),
        (Rule(type="supermajority"), THREE, "chair=approve tech=reject", "open: waiting for 1 of 3"),
        (Rule(type="supermajority"), FOUR, "chair=approve tech=reject fin=reject",
         "rejected: two-thirds out of reach (1–2, 1 to vote)"),
        (Rule(type="supermajority"), THREE, "chair=abstain tech=abstain fin=abstain",
         "rejected: no one approved or rejected"),
        # single: abstentions and recusals decide nothing; with nobody deciding it is rejected.
        (Rule(type="single"), THREE, "tech=abstain fin=recuse", "open: waiting for 1 of 3"),
        (Rule(type="single"), THREE, "tech=abstain fin=recuse chair=abstain",
         "rejected: no one approved or rejected"),
        (Rule(type="single"), THREE, "tech=reject", "rejected by U0TECH001"),
        # n_of_m: more approvals needed than electors can never pass, so it closes at once.
        (Rule(type="n_of_m", n=4), THREE, "", "rejected: 4 approvals needed, at most 3 possible"),
        (Rule(type="n_of_m", n=1), (), "", "rejected: 1 approval needed, only 0 given"),
        (Rule(type="n_of_m", n=2), THREE, "chair=approve tech=reject fin=reject",
         "rejected: 2 approvals needed, only 1 given"),
        # require_functions: a function with nobody who could vote fails at once.
        (Rule(require_functions=("audit",)), THREE, "", "rejected: no vote from audit"),
        (Rule(require_functions=("Legal",)), FOUR, "legal=abstain tech=approve fin=approve",
         "approved by majority (2–0)"),
        # veto: compared ignoring case; a waiting veto holder holds approval back.
        (Rule(veto=("CHAIR",)), THREE, "chair=reject tech=approve fin=approve",
         "rejected: chair veto by U0PEOPLE1"),
        (Rule(veto=("chair",)), FOUR, "tech=approve fin=approve legal=approve", "open: waiting for 1 of 4"),
        # majority: early rejection when approvals can at best tie; nobody at all rejects.
        (Rule(), FOUR, "tech=reject fin=reject legal=approve", "rejected: at best a tie (1–2, 1 to vote)"),
        (Rule(), (), "", "rejected: no one approved or rejected"),
        # quorum: a count larger than the electorate can never be met; recusals do not count.
        (Rule(quorum=4), THREE, "", "rejected: quorum out of reach (at most 3 of 4 votes)"),
        (Rule(quorum=2), THREE, "tech=approve fin=recuse chair=recuse",
         "rejected: quorum not reached (1 of 2 votes cast)"),
    ],
)  # fmt: skip
def test_edge_cases(rule: Rule, electorate: tuple[Elector, ...], votes: str, reason: str) -> None:
    outcome = None if reason.startswith("open") else reason.split()[0].rstrip(":")
    assert verdict_of(rule, electorate, **ballot(votes)) == (outcome, reason)


def test_single_is_decided_by_the_earliest_decisive_vote_when_two_arrive_together() -> None:
    rule = Rule(type="single")
    assert verdict_of(rule, THREE, U0FIN0001=R, U0TECH001=A) == ("rejected", "rejected by U0FIN0001")
    assert verdict_of(rule, THREE, U0TECH001=A, U0FIN0001=R) == ("approved", "approved by U0TECH001")


def test_single_counts_a_changed_vote_from_when_it_was_changed() -> None:
    # The chair could veto, so U0FIN0001's approve does not close it; U0TECH001 then changes
    # an abstention into a reject, which comes after the approve.
    rule = Rule(type="single", veto=("chair",))
    votes = {"U0FIN0001": A, "U0TECH001": R}
    assert verdict_of(rule, THREE, **votes) == (None, "open: waiting for 1 of 3")
    assert verdict_of(rule, THREE, **votes, U0PEOPLE1=A) == ("approved", "approved by U0FIN0001")


@pytest.mark.parametrize(
    ("rule", "votes", "expected"),
    [
        (Rule(quorum="60%"), {"U0TECH001": A}, "rejected: quorum not reached (1 of 2 votes cast)"),
        (Rule(quorum="60%"), {"U0TECH001": A, "U0FIN0001": A}, "approved by majority (2–0)"),
        (Rule(type="unanimous"), {"U0TECH001": A, "U0FIN0001": A},
         "rejected: not unanimous (2–0, 1 did not vote)"),
        (Rule(type="single"), {}, "rejected: no one approved or rejected"),
        (Rule(require_functions=("people",)), {"U0TECH001": A}, "rejected: no vote from people"),
        (Rule(veto=("chair",)), {"U0TECH001": A}, "approved by majority (1–0)"),
    ],
)  # fmt: skip
def test_outcome_when_complete_treats_whoever_has_not_voted_as_never_voting(
    rule: Rule, votes: dict[str, Choice], expected: str
) -> None:
    outcome, reason = outcome_when_complete(rule, THREE, votes)
    assert reason == expected
    assert outcome == (Outcome.APPROVED if expected.startswith("approved") else Outcome.REJECTED)
