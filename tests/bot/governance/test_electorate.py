"""Who may vote on an escalation."""

from __future__ import annotations

from bot.governance import Elector, Rule
from bot.governance.electorate import electorate_for

OWNER = Elector("U0OWNER01", "technology")
CHAIR = Elector("U0PEOPLE1", "people", "chair")
FIN = Elector("U0FIN0001", "finance")
MEMBERS = (CHAIR, OWNER, FIN)


def test_the_owner_is_left_out_when_the_rule_excludes_them() -> None:
    rule = Rule(exclude_owner=True)
    assert electorate_for(MEMBERS, rule, OWNER.user) == (CHAIR, FIN)


def test_the_owner_votes_like_anyone_else_otherwise() -> None:
    assert electorate_for(MEMBERS, Rule(), OWNER.user) == MEMBERS


def test_an_owner_who_is_not_a_member_changes_nothing() -> None:
    assert electorate_for(MEMBERS, Rule(exclude_owner=True), "U0SOMEONE") == MEMBERS


def test_each_member_holds_one_seat_in_the_order_given() -> None:
    twice = [FIN, CHAIR, Elector(FIN.user, "legal", "chair")]
    assert electorate_for(twice, Rule(), OWNER.user) == (FIN, CHAIR)


def test_no_members_is_an_empty_electorate() -> None:
    assert electorate_for([], Rule(exclude_owner=True), OWNER.user) == ()
