"""Rules a council can never satisfy are refused, in the pure check and in council.yml."""

from __future__ import annotations

import pytest

from bot.council_file import parse
from bot.errors import ConfigError
from bot.governance import Elector, Rule
from bot.governance.feasibility import why_infeasible

COUNCIL = (
    Elector(user="U0PEOPLE1", function="people", role="chair"),
    Elector(user="U0TECH001", function="technology", role="member"),
    Elector(user="U0OWNER01", function="finance", role="member"),
)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            Rule(require_functions=("legal",)),
            "require_functions names 'legal', which no voter has (they have: finance, people, technology)",
        ),
        (Rule(type="n_of_m", n=4), "n is 4, but only 3 members can vote"),
        (Rule(quorum=4), "quorum is 4, but only 3 members can vote"),
        (Rule(veto=("cfo",)), "veto role 'cfo' is held by no member of the council"),
    ],
)
def test_a_rule_asking_more_than_the_council_has_is_infeasible(rule: Rule, problem: str) -> None:
    assert why_infeasible(rule, COUNCIL) == problem


@pytest.mark.parametrize(
    "rule",
    [
        Rule(),
        Rule(type="n_of_m", n=3),
        Rule(quorum=3),
        Rule(quorum="100%"),
        Rule(veto=("CHAIR",)),
        Rule(require_functions=("People", "technology")),
        Rule(type="unanimous", exclude_owner=True),
    ],
)
def test_a_rule_the_council_can_meet_passes(rule: Rule) -> None:
    assert why_infeasible(rule, COUNCIL, owners=["U0OWNER01"]) is None


def test_leaving_the_owner_out_can_make_a_rule_infeasible() -> None:
    alone = (Elector(user="U0OWNER01", function="finance", role="member"),)
    rule = Rule(type="unanimous", exclude_owner=True)
    assert why_infeasible(rule, alone) is None  # for agents owned by someone else, it works
    assert why_infeasible(rule, alone, owners=["U0OWNER01"]) == (
        "unanimous leaves nobody to vote when U0OWNER01, the agent's owner, is left out"
    )
    needs_finance = Rule(require_functions=("finance",), exclude_owner=True)
    assert "no voter has" in (why_infeasible(needs_finance, COUNCIL, owners=["U0OWNER01"]) or "")
    assert why_infeasible(Rule(quorum=3, exclude_owner=True), COUNCIL, owners=["U0OWNER01"]) == (
        "quorum is 3, but only 2 members can vote when U0OWNER01, the agent's owner, is left out"
    )


def test_a_council_without_members_cannot_vote() -> None:
    assert why_infeasible(Rule(), ()) == "the council has no members, so nobody can vote"


FILE = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0OWNER01, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
policies:
  - {name: never, match: {category: never}, decide: reject, rule: {quorum: 9}}
  - {name: refunds, match: {agent: refund-bot}, rule: RULE}
defaults: {council: ai-council}
"""


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (
            "{require_functions: [legal]}",
            "require_functions names 'legal', which no voter has (they have: finance, people)",
        ),
        ("{quorum: 3}", "quorum is 3, but only 2 members can vote"),
        ("{type: n_of_m, n: 3}", "n is 3, but only 2 members can vote"),
        ("{veto: [cfo]}", "veto role 'cfo' is held by no member of the council"),
        (
            "{type: unanimous, exclude_owner: true, require_functions: [finance]}",
            "require_functions names 'finance', which no voter has (they have: people) "
            "when U0OWNER01, the agent's owner, is left out",
        ),
    ],
)
def test_council_yml_refuses_an_infeasible_policy_with_its_path(rule: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse(FILE.replace("RULE", rule), source="council.yml")
    assert refused.value.message == (
        f"council.yml: policies[1].rule: can never be satisfied in council ai-council: {reason}"
    )


def test_a_policy_that_rejects_outright_needs_no_feasible_rule() -> None:
    # policies[0] decides `reject` without a vote, so its impossible quorum is never asked for.
    parse(FILE.replace("RULE", "{type: majority}"), source="council.yml")


def test_the_defaults_rule_is_checked_for_policies_without_their_own() -> None:
    text = FILE.replace("rule: RULE", "council: ai-council").replace(
        "defaults: {council: ai-council}", "defaults: {council: ai-council, rule: {quorum: 5}}"
    )
    with pytest.raises(ConfigError) as refused:
        parse(text, source="council.yml")
    reason = "can never be satisfied in council ai-council: quorum is 5, but only 2 members can vote"
    assert refused.value.details == [f"policies[1]: {reason}", f"defaults.rule: {reason}"]
