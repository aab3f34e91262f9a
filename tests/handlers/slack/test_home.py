"""The App Home tab end to end for members: signed events and clicks in, the published tab out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.governance.hours import parse_hours
from bot.services import people
from bot.slack import ids
from models import Vote
from tests.fakeslack import event_body, signed_headers, validate_view
from tests.fakeslack.signing import JSON
from tests.handlers.slack.home_tab import (
    buttons,
    click_and_wait,
    click_on_home,
    escalate,
    next_home,
    open_home,
    part,
    publishes,
    shown,
    two_councils,
)
from tests.harness import SIGNING_SECRET, Harness

__all__ = ["two_councils"]


async def test_an_empty_home_is_published_and_accepted(council: Harness) -> None:
    view = await open_home(council, "U0FIN0001")
    assert validate_view(view, surface="home") == []  # the fake checked it on publish, too
    text = shown(council, view)
    assert "Awaiting your vote (0)" in text and "Nothing awaits your vote." in text
    assert "You own no open incidents." in text and "No decisions yet in your councils." in text
    assert "*0* votes asked of you, 0 cast; 0 of the asks came outside your working hours" in text
    assert "Agents (" not in text and "Dead deliveries" not in text  # not an admin


async def test_home_lists_what_awaits_the_viewer_the_soonest_first(two_councils: Harness) -> None:
    later = await escalate(two_councils, title="Refund order 1", deadline_seconds=7200)
    voted = await escalate(two_councils, title="Refund order 2")
    soonest = await escalate(
        two_councils,
        title="Refund order 3",
        deadline_seconds=3600,
        action={"type": "refund", "amount": 99.5, "currency": "EUR"},
    )
    latest = await escalate(two_councils, title="Refund order 4", deadline_seconds=10800)
    legal = await escalate(two_councils, title="Sign the NDA", category="legal")
    await two_councils.click("U0TECH001", ids.APPROVE, voted)
    await two_councils.fake.wait_for(lambda: two_councils.fake.responses)

    view = await open_home(two_councils, "U0TECH001")
    assert validate_view(view, surface="home") == []
    awaiting = part(shown(two_councils, view), "Awaiting your vote", "Incidents you own")
    assert awaiting.startswith(" (3)")
    assert (
        awaiting.index("Refund order 3") < awaiting.index("Refund order 1") < awaiting.index("Refund order 4")
    )
    assert "Refund order 2" not in awaiting and "Sign the NDA" not in awaiting
    assert f"`{soonest}` in #C0COUNCIL" in awaiting and "refund-bot · €99.50 · due " in awaiting
    assert "refund-bot · $1,250 · due " in awaiting
    for esc in (later, soonest, latest):
        assert "[Approve] [Approve with conditions] [Reject] [Abstain] [Recuse]" in part(awaiting, esc)

    lawyer = shown(two_councils, await open_home(two_councils, "U0LEGAL01"))
    assert "Awaiting your vote (1)" in lawyer and f"`{legal}` in #C0LEGAL01" in lawyer
    assert "Refund order" not in lawyer


async def test_home_vote_buttons_are_the_channel_messages(council: Harness) -> None:
    esc = await escalate(council)
    row = await council.posted(esc)
    message = council.fake.find_message("C0COUNCIL", row.message_ts)
    view = await open_home(council, "U0TECH001")
    assert buttons(view["blocks"], ids.home_vote_block(esc)) == buttons(
        message.blocks, ids.VOTE_ACTIONS_BLOCK
    )


@pytest.mark.parametrize(
    ("action_id", "label", "choice"),
    [
        (ids.APPROVE, "Approve", "approve"),
        (ids.ABSTAIN, "Abstain", "abstain"),
        (ids.RECUSE, "Recuse", "recuse"),
    ],
)
async def test_a_vote_from_home_counts_and_the_tab_says_so(
    council: Harness, action_id: str, label: str, choice: str
) -> None:
    esc = await escalate(council)
    other = await escalate(council, title="Refund order 2")
    await council.posted(esc)
    await open_home(council, "U0TECH001")

    view = await click_and_wait(council, "U0TECH001", action_id, ids.home_vote_block(esc))
    text = shown(council, view)
    assert f"Your vote on `{esc}`: *{label}*." in text
    awaiting = part(text, "Awaiting your vote", "Incidents you own")
    assert awaiting.startswith(" (1)") and esc not in awaiting and other in awaiting
    [vote] = await Vote.filter(escalation__public_id=esc)
    assert (vote.user_id, vote.choice) == ("U0TECH001", choice)
    assert council.fake.responses == []  # nothing to answer on: Home has no response_url
    await council.fake.wait_for(lambda: f"{label} 1" in council.message_text(esc))


async def test_a_reject_from_home_asks_a_reason_then_drops_the_item(council: Harness) -> None:
    esc = await escalate(council)
    await council.posted(esc)
    await open_home(council, "U0FIN0001")
    opened_before = len(council.fake.views)
    await click_on_home(council, "U0FIN0001", ids.REJECT, ids.home_vote_block(esc))
    [modal] = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[opened_before:] if v.action == "open"]
    )
    assert modal.user == "U0FIN0001" and modal.view["callback_id"] == ids.REJECT_MODAL

    before = len(publishes(council, "U0FIN0001"))
    values = {ids.REASON_BLOCK: {ids.REASON_INPUT: "Charged once only; no refund due."}}
    body = council.fake.view_submission_body(
        "U0FIN0001", ids.REJECT_MODAL, values, private_metadata=modal.view["private_metadata"]
    )
    assert (await council.slack(body)).status == 200
    text = shown(council, await next_home(council, "U0FIN0001", before))
    assert f"Your vote on `{esc}`: *Reject*." in text and "Awaiting your vote (0)" in text
    [vote] = await Vote.filter(escalation__public_id=esc)
    assert (vote.choice, vote.reason) == ("reject", "Charged once only; no refund due.")


async def test_approve_with_conditions_from_home_goes_through_its_modal(council: Harness) -> None:
    esc = await escalate(council)
    await council.posted(esc)
    await open_home(council, "U0PEOPLE1")
    opened_before = len(council.fake.views)
    await click_on_home(council, "U0PEOPLE1", ids.APPROVE_WITH_CONDITIONS, ids.home_vote_block(esc))
    [modal] = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[opened_before:] if v.action == "open"]
    )
    before = len(publishes(council, "U0PEOPLE1"))
    values = {
        ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "Refund the card, not store credit."},
        ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "900"},
    }
    body = council.fake.view_submission_body(
        "U0PEOPLE1", ids.CONDITIONS_MODAL, values, private_metadata=modal.view["private_metadata"]
    )
    assert (await council.slack(body)).status == 200
    text = shown(council, await next_home(council, "U0PEOPLE1", before))
    assert f"Your vote on `{esc}`: *Approve*." in text and "Awaiting your vote (0)" in text
    [vote] = await Vote.filter(escalation__public_id=esc)
    assert (vote.choice, vote.conditions, vote.approved_amount) == (
        "approve",
        "Refund the card, not store credit.",
        Decimal(900),
    )


async def test_a_stale_home_click_is_refused_on_the_tab(council: Harness) -> None:
    esc = await escalate(council)
    await council.posted(esc)
    stale = await open_home(council, "U0FIN0001")  # shows esc, then the others decide it
    await council.click("U0TECH001", ids.APPROVE, esc)
    await council.click("U0PEOPLE1", ids.APPROVE, esc)
    await council.fake.wait_for(lambda: "Approved" in council.message_text(esc))

    opened = len(council.fake.views)
    view = await click_and_wait(council, "U0FIN0001", ids.REJECT, ids.home_vote_block(esc), view=stale)
    text = shown(council, view)
    assert "This escalation is already approved; votes are closed." in text
    assert "Awaiting your vote (0)" in text
    assert [v.action for v in council.fake.views[opened:]] == ["publish"]  # no modal opened
    view = await click_and_wait(council, "U0FIN0001", ids.APPROVE, ids.home_vote_block(esc), view=stale)
    assert "This escalation is already approved; votes are closed." in shown(council, view)
    assert await Vote.filter(escalation__public_id=esc, user_id="U0FIN0001").count() == 0


async def test_home_shows_owned_incidents_decisions_and_the_weeks_load(council: Harness) -> None:
    incident = await escalate(council, kind="incident", title="Refund loop detected")
    await council.click("U0PEOPLE1", ids.TAKE_OWNERSHIP, incident)
    await council.fake.wait_for(lambda: council.fake.responses)
    decided = await escalate(council, title="Refund order 7")
    await escalate(council, title="Refund order 8")
    await council.click("U0PEOPLE1", ids.APPROVE, decided)
    await council.click("U0TECH001", ids.APPROVE, decided)
    await council.fake.wait_for(lambda: "Approved" in council.message_text(decided))
    # Working hours that start an hour from now: each ask this week came outside them.
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    hours = f"{start:%H:%M}-{start + timedelta(hours=1):%H:%M}"
    await people.set_hours("U0PEOPLE1", hours)

    chair = shown(council, await open_home(council, "U0PEOPLE1"))
    owned = part(chair, "Incidents you own", "Recent decisions")
    assert owned.startswith(" (1)") and "Refund loop detected" in owned and f"`{incident}`" in owned
    decisions = part(chair, "Recent decisions", "Your load this week")
    assert f":white_check_mark: *Approved* `{decided}` Refund order 7 ($1,250) — by council, " in decisions
    assert "you voted Approve" in decisions
    load = part(chair, "Your load this week")
    assert "*2* votes asked of you, 1 cast; 2 of the asks came outside your working hours" in load
    assert f"({parse_hours(hours).text.replace('-', '–')}, UTC)" in load

    tech = shown(council, await open_home(council, "U0TECH001"))
    assert "You own no open incidents." in tech and "you voted Approve" in tech


async def test_the_messages_tab_publishes_nothing(council: Harness) -> None:
    body = event_body({"type": "app_home_opened", "user": "U0TECH001", "tab": "messages"})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    await open_home(council, "U0FIN0001")  # a later event is handled, so the first one has been too
    assert council.fake.home("U0TECH001") is None


async def test_a_failed_publish_is_logged_and_the_next_open_works(
    council: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    council.fake.fail_next("views.publish", status=200, error="internal_error")
    body = event_body({"type": "app_home_opened", "user": "U0TECH001", "tab": "home"})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    await council.fake.wait_for(
        lambda: [r for r in caplog.records if r.getMessage() == "Slack listener failed"]
    )
    assert council.fake.home("U0TECH001") is None
    assert "Nothing awaits your vote." in shown(council, await open_home(council, "U0TECH001"))
