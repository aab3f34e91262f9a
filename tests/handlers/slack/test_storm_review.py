"""A storm's Review individually: ten pending escalations at a time, each with its vote buttons."""

from __future__ import annotations

from typing import Any

from bot.slack import ids
from models import Escalation, Vote
from tests.handlers.slack.storming import (
    button,
    click_grouped,
    council,
    flood,
    grouped,
    limits,
    opened_view,
    refund,
    stormed,
)
from tests.harness import Harness

__all__ = ["council", "limits"]


async def test_review_individually_pages_ten_at_a_time_with_vote_buttons(council: Harness) -> None:
    sent = await flood(council, 28)
    in_storm = [e.public_id for e in await stormed(sent)]
    assert len(in_storm) == 25
    await grouped(council, "25 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0TECH001", ids.STORM_REVIEW)
    page = await opened_view(council, "U0TECH001", before)
    shown = _listed(page)
    assert shown == in_storm[:10] and "page 1 of 3" in str(page["blocks"])
    assert button(page, ids.REVIEW_PREVIOUS) is None

    page = await _turn(council, page, ids.REVIEW_NEXT)
    assert _listed(page) == in_storm[10:20] and "page 2 of 3" in str(page["blocks"])
    page = await _turn(council, page, ids.REVIEW_NEXT)
    assert _listed(page) == in_storm[20:] and button(page, ids.REVIEW_NEXT) is None
    page = await _turn(council, page, ids.REVIEW_PREVIOUS)
    assert _listed(page) == in_storm[10:20]

    # A vote from the page counts, and the page shows it.
    target = in_storm[12]
    page = await _turn(council, page, ids.REVIEW_APPROVE, block=ids.review_block(target))
    assert "your vote: *Approve*" in str(page["blocks"])
    status, body = await council.get(target)
    assert status == 200 and body["status"] == "pending"
    # Reject asks for a reason on top of the page, as Reject always does.
    before = len(council.fake.views)
    click = council.fake.block_action_body(
        "U0TECH001", ids.REVIEW_REJECT, None, view=page, block_id=ids.review_block(in_storm[13])
    )
    await council.slack(click)
    pushed = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[before:] if v.action == "push"]
    )
    reason = council.fake.view_submission_body(
        "U0TECH001",
        pushed[-1].view["callback_id"],
        {ids.REASON_BLOCK: {ids.REASON_INPUT: "Duplicate of another refund."}},
        private_metadata=pushed[-1].view["private_metadata"],
    )
    await council.slack(reason)
    escalation = await Escalation.get(public_id=in_storm[13])
    votes = await Vote.filter(escalation=escalation)
    assert [(v.user_id, v.choice, v.reason) for v in votes] == [
        ("U0TECH001", "reject", "Duplicate of another refund.")
    ]


async def test_a_vote_refused_on_the_review_page_is_said_on_the_page(council: Harness) -> None:
    sent = await flood(council, 5)
    target = (await stormed(sent))[0].public_id
    await grouped(council, "2 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0STRANGER", ids.STORM_REVIEW)
    page = await opened_view(council, "U0STRANGER", before)
    page = await _turn(council, page, ids.REVIEW_APPROVE, block=ids.review_block(target), user="U0STRANGER")
    assert "You are not on this council" in str(page["blocks"])
    assert await Vote.filter(escalation__public_id=target).count() == 0


def _listed(view: dict[str, Any]) -> list[str]:
    return [
        block["block_id"].removeprefix("council_review_")
        for block in view["blocks"]
        if block.get("block_id", "").startswith("council_review_esc_")
    ]


async def _turn(
    council: Harness,
    view: dict[str, Any],
    action_id: str,
    *,
    block: str | None = None,
    user: str = "U0TECH001",
) -> dict[str, Any]:
    """Click a button inside the review modal; return the modal as it was updated."""
    before = len(council.fake.views)
    current = council.fake.find_view(view_id=view["id"])
    click = council.fake.block_action_body(user, action_id, None, view=current, block_id=block)
    response = await council.slack(click)
    assert response.status == 200
    updated = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[before:] if v.action == "update" and v.view_id == view["id"]]
    )
    return dict(updated[-1].view)


async def test_untrusted_titles_are_escaped_on_the_review_page(council: Harness) -> None:
    for n in range(5):
        await council.escalate({**refund(n), "title": "<!channel> <https://evil.example|click> & co"})
    await grouped(council, "2 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0TECH001", ids.STORM_REVIEW)
    raw = str((await opened_view(council, "U0TECH001", before))["blocks"])
    assert "<!channel>" not in raw and "<https://evil.example" not in raw
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co" in raw
