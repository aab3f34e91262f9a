"""Properties of evaluate over random electorates, rules and vote sequences.

The oracle is tests/bot/governance/reference.py: the rules written literally, and every way the
remaining electors could vote tried one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.governance import (
    RULE_TYPES,
    Choice,
    Elector,
    Outcome,
    Rule,
    Verdict,
    count,
    evaluate,
    outcome_when_complete,
)
from tests.bot.governance.reference import complete_outcome, possible_outcomes

FUNCTIONS = ("people", "technology", "finance", "legal")
USERS = tuple(f"U{i}" for i in range(7))
OUTSIDERS = ("X1", "X2")
NOT_SINGLE = tuple(t for t in RULE_TYPES if t != "single")
TIE_NEVER_PASSES = ("majority", "supermajority", "unanimous")
FAST = settings(max_examples=200, deadline=None)
BRUTE = settings(max_examples=600, deadline=None)

Vote = tuple[str, Choice]
T = TypeVar("T")

electorates = st.lists(
    st.tuples(st.sampled_from(FUNCTIONS), st.sampled_from(("member", "member", "chair", "Chair"))),
    max_size=7,
).map(lambda seats: tuple(Elector(USERS[i], f, role) for i, (f, role) in enumerate(seats)))

# Each option is left out two times in three, so plain rules (and approvals) are common too.
quorums = st.one_of(
    st.integers(0, 5),
    st.integers(0, 100).map(lambda p: f"{p}%"),
    st.sampled_from(("33.3%", "66.7%", "99.9%")),
)
vetoes = st.sampled_from((("chair",), ("chair",), ("CHAIR",), ("member",)))


def sometimes(draw: st.DrawFn, strategy: st.SearchStrategy[T], otherwise: T) -> T:
    """Draw from the strategy one time in three, else take the default."""
    return draw(strategy) if draw(st.integers(0, 2)) == 0 else otherwise


@st.composite
def rules(draw: st.DrawFn, types: Sequence[str] = RULE_TYPES, functions: Sequence[str] = FUNCTIONS) -> Rule:
    """A random rule with random options, mostly requiring functions from those given."""
    kind = draw(st.sampled_from(types))
    # "audit" has no elector: a rule requiring it can never pass.
    required = st.lists(st.sampled_from((*functions, *functions, "audit")), min_size=1, max_size=2)
    return Rule(
        type=kind,
        n=draw(st.one_of(st.integers(1, 3), st.integers(1, 8))) if kind == "n_of_m" else None,
        quorum=sometimes(draw, quorums, None),
        require_functions=tuple(sometimes(draw, required, [])),
        veto=sometimes(draw, vetoes, ()),
    )


@st.composite
def sequences(draw: st.DrawFn, electorate: Sequence[Elector]) -> list[Vote]:
    """Votes in the order cast, mostly by electors, some changed, some from outsiders."""
    users = st.sampled_from([*(e.user for e in electorate), *OUTSIDERS])
    choices = st.sampled_from((*Choice, Choice.APPROVE))  # approvals a little more often
    return draw(st.lists(st.tuples(users, choices), max_size=10))


@dataclass(frozen=True)
class Scenario:
    """An electorate, a rule, and the votes cast so far in order."""

    electorate: tuple[Elector, ...]
    rule: Rule
    sequence: list[Vote]

    def votes(self) -> dict[str, Choice]:
        """Return the current votes."""
        return replay(self.sequence)


@st.composite
def scenarios(draw: st.DrawFn, types: Sequence[str] = RULE_TYPES) -> Scenario:
    """A random vote in progress."""
    electorate = draw(electorates)
    functions = [e.function for e in electorate] or FUNCTIONS
    return Scenario(electorate, draw(rules(types, functions)), draw(sequences(electorate)))


def cast(votes: dict[str, Choice], user: str, choice: Choice) -> None:
    """Record a vote as the services do: a changed vote counts as cast now."""
    votes.pop(user, None)
    votes[user] = choice


def replay(sequence: Sequence[Vote]) -> dict[str, Choice]:
    """Return the current votes after the whole sequence, changes included."""
    votes: dict[str, Choice] = {}
    for user, choice in sequence:
        cast(votes, user, choice)
    return votes


def closing(rule: Rule, electorate: Sequence[Elector], sequence: Sequence[Vote]) -> Verdict:
    """Replay votes one by one as the services would, stopping at the vote that closes it."""
    votes: dict[str, Choice] = {}
    verdict = evaluate(rule, electorate, votes)
    for user, choice in sequence:
        if verdict.decided:
            break
        cast(votes, user, choice)
        verdict = evaluate(rule, electorate, votes)
    return verdict


@st.composite
def complete_votes(draw: st.DrawFn, electorate: Sequence[Elector]) -> dict[str, Choice]:
    """Every elector's vote, in a random order."""
    order = draw(st.permutations([e.user for e in electorate]))
    return {user: draw(st.sampled_from(Choice)) for user in order}


@BRUTE
@given(scenarios())
def test_an_early_close_agrees_with_every_way_the_rest_could_vote(scenario: Scenario) -> None:
    rule, electorate, votes = scenario.rule, scenario.electorate, scenario.votes()
    verdict = evaluate(rule, electorate, votes)
    if verdict.decided:
        assert possible_outcomes(rule, electorate, votes) == {verdict.outcome}


@BRUTE
@given(scenarios())
def test_it_closes_as_soon_as_every_way_the_rest_could_vote_agrees(scenario: Scenario) -> None:
    rule, electorate, votes = scenario.rule, scenario.electorate, scenario.votes()
    possible = possible_outcomes(rule, electorate, votes)
    verdict = evaluate(rule, electorate, votes)
    if len(possible) == 1:
        assert verdict.decided, possible
    else:
        assert not verdict.decided
        assert verdict.reason.startswith("open: waiting for")


@FAST
@given(scenarios(NOT_SINGLE), st.data())
def test_the_outcome_does_not_depend_on_the_order_of_votes(scenario: Scenario, data: st.DataObject) -> None:
    rule, electorate, votes = scenario.rule, scenario.electorate, scenario.votes()
    reordered = dict(data.draw(st.permutations(list(votes.items()))))
    assert evaluate(rule, electorate, reordered) == evaluate(rule, electorate, votes)
    in_order = list(votes.items())
    shuffled = data.draw(st.permutations(in_order))
    assert closing(rule, electorate, shuffled).outcome == closing(rule, electorate, in_order).outcome


@FAST
@given(scenarios(), st.sampled_from(Choice))
def test_changing_a_vote_before_the_close_equals_having_voted_that_way(
    scenario: Scenario, choice: Choice
) -> None:
    rule, electorate, sequence = scenario.rule, scenario.electorate, scenario.sequence
    if not sequence or closing(rule, electorate, sequence).decided:
        return  # nothing to change, or too late to change it
    user = sequence[0][0]
    changed = replay([*sequence, (user, choice)])
    direct = replay([*(vote for vote in sequence if vote[0] != user), (user, choice)])
    assert evaluate(rule, electorate, changed) == evaluate(rule, electorate, direct)
    if rule.type != "single":  # elsewhere not even the moment of the vote matters
        in_place = {u: (choice if u == user else c) for u, c in replay(sequence).items()}
        assert evaluate(rule, electorate, in_place) == evaluate(rule, electorate, changed)


@FAST
@given(scenarios(), st.dictionaries(st.sampled_from(OUTSIDERS), st.sampled_from(Choice)))
def test_votes_from_outside_the_electorate_change_nothing(
    scenario: Scenario, outsiders: dict[str, Choice]
) -> None:
    rule, electorate = scenario.rule, scenario.electorate
    users = {e.user for e in electorate}
    votes = {u: c for u, c in scenario.votes().items() if u in users}
    assert evaluate(rule, electorate, {**outsiders, **votes}) == evaluate(rule, electorate, votes)
    assert evaluate(rule, electorate, {**votes, **outsiders}) == evaluate(rule, electorate, votes)


@FAST
@given(scenarios())
def test_a_quorum_is_never_met_by_recusals_or_outsiders(scenario: Scenario) -> None:
    rule, electorate = scenario.rule, scenario.electorate
    verdict = evaluate(rule, electorate, scenario.votes())
    if isinstance(rule.quorum, int) and verdict.outcome == Outcome.APPROVED:
        # tally.cast leaves out recusals and outsiders; everyone still waiting could recuse.
        assert verdict.tally.cast >= rule.quorum
    seated = len(electorate) - verdict.tally.recuse
    if verdict.tally.waiting == 0 and seated < rule.quorum_count(seated):
        assert verdict.outcome == Outcome.REJECTED
        assert verdict.reason.startswith("rejected: quorum not reached") or " veto by " in verdict.reason


@FAST
@given(electorates, rules(TIE_NEVER_PASSES), st.data())
def test_a_tie_never_passes(electorate: tuple[Elector, ...], rule: Rule, data: st.DataObject) -> None:
    votes = data.draw(complete_votes(electorate))
    verdict = evaluate(rule, electorate, votes)
    if verdict.tally.approve == verdict.tally.reject:
        assert verdict.outcome == Outcome.REJECTED


@FAST
@given(electorates, rules(), st.data())
def test_when_everyone_has_voted_the_verdict_is_decided(
    electorate: tuple[Elector, ...], rule: Rule, data: st.DataObject
) -> None:
    votes = data.draw(complete_votes(electorate))
    verdict = evaluate(rule, electorate, votes)
    assert verdict.outcome == complete_outcome(rule, electorate, votes)
    assert outcome_when_complete(rule, electorate, votes) == (verdict.outcome, verdict.reason)


@FAST
@given(scenarios())
def test_the_verdict_counts_the_electorate_and_explains_itself_plainly(scenario: Scenario) -> None:
    rule, electorate, votes = scenario.rule, scenario.electorate, scenario.votes()
    verdict = evaluate(rule, electorate, votes)
    assert verdict.tally == count(electorate, votes)
    assert verdict.reason.startswith(verdict.outcome or "open")
    assert not set(verdict.reason) & set("*_`<>~")  # Slack markup would render, not read


@FAST
@given(electorates.flatmap(lambda electorate: st.tuples(st.just(electorate), sequences(electorate))))
def test_single_without_options_is_decided_by_the_first_approve_or_reject(
    electorate_and_sequence: tuple[tuple[Elector, ...], list[Vote]],
) -> None:
    electorate, sequence = electorate_and_sequence
    users = {e.user for e in electorate}
    votes: dict[str, Choice] = {}
    for user, choice in sequence:
        cast(votes, user, choice)
        verdict = evaluate(Rule(type="single"), electorate, votes)
        if user in users and choice == Choice.APPROVE:
            assert verdict.reason == f"approved by {user}"
            return
        if user in users and choice == Choice.REJECT:
            assert verdict.reason == f"rejected by {user}"
            return
        if verdict.decided:  # everyone abstained or recused before anyone decided
            assert verdict.tally.waiting == 0
            assert verdict.reason == "rejected: no one approved or rejected"
            return
